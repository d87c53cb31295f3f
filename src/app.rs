//! The HTTP application: state, routes, and a server that drains the writer when it stops.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::cookie::Key;
use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpResponse, HttpServer, web};

use crate::api::ApiState;
use crate::config::Config;
use crate::ingest::{self, IngestState, keys::KeyCache};
use crate::metrics::Metrics;
use crate::retention::disk::DiskGuard;
use crate::retention::{Policy, Retention};
use crate::store::WriterRole;
use crate::store::writer::{Writer, WriterStats, WriterTask};
use crate::store::{ProjectId, Store};
use crate::web::WebState;
use crate::workers::Workers;

/// What `/healthz` and `/metrics` read. Each part of the server registers its own state
/// ([`IngestState`], [`ApiState`], [`WebState`]); nothing hands every handler everything.
#[derive(Debug)]
pub struct ServerState {
    store: Store,
    disk: Arc<DiskGuard>,
    metrics_token: Option<crate::secret::Secret>,
    writer: Writer,
    writer_stats: Arc<WriterStats>,
    budget: ingest::budget::Budget,
    metrics: Arc<Metrics>,
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    writer: WriterTask,
    store: Store,
    /// Everything that runs beside the server (checkpoints, retention, alerts…).
    workers: Workers,
    retention: Retention,
    disk: Arc<DiskGuard>,
    /// Ingest's outcome counts, added to the database once more when the server stops.
    outcomes: Arc<ingest::outcomes::Outcomes>,
}

impl Application {
    /// Opens the database, starts the writer and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let store = Store::open(&config).await?;
        let stats = Arc::new(WriterStats::default());
        if store.dialect() == crate::store::sql::Dialect::Postgres {
            stats
                .others_write
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let (writer, writer_task) = store.start_writer(
            WriterRole::Server,
            config.limits.queue_size,
            config.limits.max_batch,
            stats.clone(),
        )?;
        let disk = Arc::new(DiskGuard::new(
            store.file_path().as_deref(),
            config.retention.min_free_disk.as_u64(),
        ));
        let retention = Retention::new(
            store.clone(),
            writer.clone(),
            Policy::new(&config.retention),
            Some(disk.clone()),
        );
        let listener = TcpListener::bind(&config.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr()?.port();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let http_workers = config.limits.workers.unwrap_or(cores);
        // Signs and encrypts the web session cookie; kept in the database so sessions survive
        // restarts and work on every node.
        let session_key = Key::from(&store.secret("session_key", 64).await?);
        let secure_cookie = config
            .base_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let config = Arc::new(config);
        let counters: Arc<Metrics> = Arc::default();
        let budget = ingest::budget::Budget::new(config.limits.ingest_memory);
        let base_url = config.public_base_url(Some(std::net::SocketAddr::new(
            listener.local_addr()?.ip(),
            port,
        )));
        let outcomes: Arc<ingest::outcomes::Outcomes> = Arc::default();
        let workers = crate::workers::start(
            &config,
            crate::workers::Handles {
                store: store.clone(),
                writer: writer.clone(),
                stats: stats.clone(),
                metrics: counters.clone(),
                disk: disk.clone(),
                retention: retention.clone(),
                base_url,
                outcomes: outcomes.clone(),
            },
        );
        let ingest_state = web::Data::new(IngestState {
            limits: config.limits.clone(),
            store: store.clone(),
            writer: writer.clone(),
            keys: KeyCache::new(store.clone()),
            budget: budget.clone(),
            cpu: ingest::offload::CpuPool::new(config.limits.ingest_threads.unwrap_or(cores))?,
            metrics: counters.clone(),
            disk: disk.clone(),
            // Nodes on one PostgreSQL database share their quotas' counts.
            quotas: match store.dialect() {
                crate::store::sql::Dialect::Postgres => crate::rates::quota::Quotas::shared(),
                crate::store::sql::Dialect::Sqlite => Default::default(),
            },
            rejections: Default::default(),
            outcomes: outcomes.clone(),
        });
        let api_state = web::Data::new(ApiState {
            config: config.clone(),
            store: store.clone(),
        });
        let web_state = web::Data::new(WebState {
            config: config.clone(),
            store: store.clone(),
            disk: disk.clone(),
            login_limiter: Default::default(),
        });
        let server_state = web::Data::new(ServerState {
            store: store.clone(),
            disk: disk.clone(),
            metrics_token: config.metrics_token.clone(),
            writer,
            writer_stats: stats,
            budget,
            metrics: counters,
        });
        let limits = config.limits.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    crate::telemetry::request_span,
                ))
                .configure(|cfg| ingest::routes(cfg, ingest_state.clone()))
                .configure(|cfg| crate::api::routes(cfg, api_state.clone()))
                .app_data(server_state.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/metrics", web::get().to(metrics))
                .configure(|cfg| {
                    crate::web::routes(cfg, web_state.clone(), session_key.clone(), secure_cookie)
                })
                .default_service(web::to(not_found))
        })
        .workers(http_workers)
        // actix counts connections per worker.
        .max_connections(limits.max_connections.div_ceil(http_workers).max(1))
        .client_request_timeout(limits.header_timeout)
        .keep_alive(limits.keep_alive)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            server,
            writer: writer_task,
            store,
            workers,
            retention,
            disk,
            outcomes,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Retention, to run a pass at a time of the test's choosing.
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// The disk guard (tests change its threshold while serving).
    pub fn disk(&self) -> Arc<DiskGuard> {
        self.disk.clone()
    }

    /// Stops the server gracefully from elsewhere (tests).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or [`ServerHandle::stop`]); then finishes in-flight requests,
    /// writes everything queued, and closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = self.server.await;
        self.workers.stop().await;
        if let Err(e) = self.outcomes.flush(&self.store).await {
            tracing::warn!(error = %e, "the last outcome counts were not saved");
        }
        self.writer.stop().await;
        self.store.close().await;
        tracing::info!("stopped");
        Ok(served?)
    }
}

/// `{"status": "ok"}`; 503 when the database does not answer. While the disk is short it
/// stays 200 (the server is alive and serves reads; restarting it would not help) and says
/// so: `{"status": "degraded", "problems": ["Free disk space is low: …"]}`.
async fn healthz(state: web::Data<ServerState>) -> HttpResponse {
    if !state.store.ping().await {
        return HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database unreachable"}));
    }
    match state.disk.problem() {
        None => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Some(problem) => HttpResponse::Ok()
            .json(serde_json::json!({"status": "degraded", "problems": [problem]})),
    }
}

/// Prometheus text. Behind `--metrics-token` when set; the series per project (ids and
/// volumes) only then.
async fn metrics(req: actix_web::HttpRequest, state: web::Data<ServerState>) -> HttpResponse {
    let per_project = match &state.metrics_token {
        None => false,
        Some(token) => {
            let given = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if !crate::secret::same_secret(given.trim(), token.expose()) {
                return HttpResponse::Unauthorized()
                    .insert_header(("WWW-Authenticate", "Bearer"))
                    .json(serde_json::json!({"detail": "a metrics token is required"}));
            }
            true
        }
    };
    let per_minute = if per_project {
        let last_minute = crate::time::minute_of(crate::time::now_ms()) - 1;
        match state.store.events_per_project(last_minute).await {
            Ok(rows) => Some(rows),
            Err(e) => {
                tracing::warn!(error = %e, "per-project rates for /metrics");
                Some(Vec::new())
            }
        }
    } else {
        None
    };
    let file = state.store.file_size().await.unwrap_or_default();
    let ingest = crate::metrics::IngestGauges {
        database_bytes: file.bytes(),
        database_free_bytes: file.free_pages * file.page_size,
        disk_free_bytes: state.disk.free_bytes(),
        queue_depth: state.writer.queue_depth(),
        budget_in_use: state.budget.in_use(),
        budget_total: state.budget.total(),
        monitors: state.store.monitors_by_state().await.unwrap_or_default(),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(
            state
                .metrics
                .render(&state.writer_stats, &ingest, per_minute.as_deref()),
        )
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"detail": "not found"}))
}

/// `http://<public_key>@host:port/<project_id>` from a base URL.
pub fn dsn(base_url: &str, public_key: &str, project_id: ProjectId) -> String {
    let base = base_url.trim_end_matches('/');
    match base.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{public_key}@{rest}/{project_id}"),
        None => format!("http://{public_key}@{base}/{project_id}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dsns() {
        assert_eq!(
            super::dsn("http://127.0.0.1:8000", "abc", super::ProjectId(1)),
            "http://abc@127.0.0.1:8000/1"
        );
        assert_eq!(
            super::dsn(
                "https://snag.example.com/sentry/",
                "abc",
                super::ProjectId(7)
            ),
            "https://abc@snag.example.com/sentry/7"
        );
    }
}
