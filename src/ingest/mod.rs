//! HTTP in: the Sentry ingest endpoints.
//!
//! ```text
//! POST [/{prefix}]/api/{project_id}/envelope[/]   envelope (any Content-Type, any Content-Encoding)
//! POST [/{prefix}]/api/{project_id}/store[/]      JSON event (legacy), or an envelope by Content-Type
//! POST [/{prefix}]/api/{project_id}/security[/]   browser security reports (CSP, HPKP, Expect-CT),
//!      [/{prefix}]/api/{project_id}/csp-report[/] key in the query string (security.rs)
//! GET|POST [/{prefix}]/api/{project_id}/cron/{slug}[/{key}][/]   HTTP check-ins (cron.rs): 202
//! OPTIONS on each                                  CORS preflight
//! → 200 {"id": "<event id>"} only after the envelope's rows are committed
//!   (security reports: an empty 200, as Relay)
//! ```
//!
//! A request's work is bounded before it is done: its key is checked before its body is read,
//! the body and everything made from it are charged to [`budget::Budget`] (429 when spent),
//! and the CPU work runs on [`offload::CpuPool`], never on the HTTP workers.

pub mod auth;
pub mod body;
pub mod budget;
mod cron;
mod envelope;
pub mod error;
pub mod keys;
pub mod offload;
pub mod outcomes;
pub mod rejections;
mod security;
mod store;

use actix_web::http::Method;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use crate::config::Limits;
use crate::ingest::error::IngestError;
use crate::pipeline::{self, Prepared, ProjectSetup, Received};
use crate::protocol::rate_limits::{self, RateLimit};
use crate::protocol::{Envelope, ItemType};
use crate::rates::quota;
use crate::store::{ProjectId, ProjectKey};
use budget::{Budget, Charge, ChargedBuf};

/// CORS as Relay: any origin; the rate-limit headers readable by browser SDKs.
fn cors_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Access-Control-Allow-Origin", "*"))
        .add((
            "Access-Control-Expose-Headers",
            "x-sentry-error, x-sentry-rate-limits, retry-after",
        ))
}

async fn preflight() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Methods", "POST, OPTIONS"))
        .insert_header((
            "Access-Control-Allow-Headers",
            "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, \
             authentication, authorization, content-encoding, transfer-encoding",
        ))
        .insert_header(("Access-Control-Max-Age", "3600"))
        .finish()
}

/// What the ingest endpoints use, and nothing else.
#[derive(Debug)]
pub struct IngestState {
    pub limits: Limits,
    pub store: crate::store::Store,
    pub writer: crate::store::writer::Writer,
    pub keys: keys::KeyCache,
    /// Bytes held by ingest requests in flight.
    pub budget: Budget,
    /// Where ingest's CPU work runs.
    pub cpu: offload::CpuPool,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Free space on the database's disk.
    pub disk: std::sync::Arc<crate::retention::disk::DiskGuard>,
    /// Events and attachments taken from the quotas.
    pub quotas: quota::Quotas,
    /// Ingest rejections in the log, a line per reason now and then.
    pub rejections: rejections::RejectionLog,
    /// What became of the items of each project (accepted, rate limited, invalid).
    pub outcomes: std::sync::Arc<outcomes::Outcomes>,
}

/// Registers the ingest routes, with and without a trailing slash and a DSN path prefix, and
/// the state they use.
pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<IngestState>) {
    cfg.app_data(state);
    for prefix in ["", "/{prefix:.+}"] {
        for slash in ["/", ""] {
            cfg.service(
                web::resource(format!("{prefix}/api/{{project_id}}/envelope{slash}"))
                    .wrap(cors_headers())
                    .route(web::post().to(envelope::handle))
                    .route(web::method(Method::OPTIONS).to(preflight)),
            );
            for name in ["security", "csp-report"] {
                cfg.service(
                    web::resource(format!("{prefix}/api/{{project_id}}/{name}{slash}"))
                        .wrap(cors_headers())
                        .route(web::post().to(security::handle))
                        .route(web::method(Method::OPTIONS).to(preflight)),
                );
            }
            for key in ["/{public_key}", ""] {
                cfg.service(
                    web::resource(format!(
                        "{prefix}/api/{{project_id}}/cron/{{monitor_slug}}{key}{slash}"
                    ))
                    .wrap(cors_headers())
                    .route(web::get().to(cron::handle))
                    .route(web::post().to(cron::handle))
                    .route(web::method(Method::OPTIONS).to(preflight)),
                );
            }
            cfg.service(
                web::resource(format!("{prefix}/api/{{project_id}}/store{slash}"))
                    .wrap(cors_headers())
                    .route(web::post().to(store::handle))
                    .route(web::method(Method::OPTIONS).to(preflight)),
            );
        }
    }
}

/// The project id of the path.
fn project_id(req: &HttpRequest) -> Result<ProjectId, IngestError> {
    req.match_info()
        .get("project_id")
        .and_then(|p| p.parse::<ProjectId>().ok())
        .filter(|p| p.get() > 0)
        .ok_or(IngestError::BadProjectId)
}

/// The project of the path and the key the request names outside its body (header or
/// query), checked before the body is read: the preamble of the store and security endpoints.
async fn admitted_key(
    req: &HttpRequest,
    state: &IngestState,
) -> Result<(ProjectId, ProjectKey), IngestError> {
    let project_id = project_id(req)?;
    admit(state)?;
    let key = auth::request_key(req)?.ok_or(IngestError::MissingAuth)?;
    Ok((project_id, authorize(req, state, &key, project_id).await?))
}

/// The request's key checked for the project; the request remembers it was (its outcomes then
/// count for the project).
async fn authorize(
    req: &HttpRequest,
    state: &IngestState,
    key: &str,
    project_id: ProjectId,
) -> Result<ProjectKey, IngestError> {
    let key = state.keys.authorize(key, project_id).await?;
    req.extensions_mut().insert(Authorized(project_id));
    Ok(key)
}

/// Set on a request once its key is checked for this project.
#[derive(Debug, Clone, Copy)]
struct Authorized(ProjectId);

/// Refuses every request while the disk is short (see [`crate::retention::disk`]): nothing is
/// read, and the SDK keeps its events and backs off.
fn admit(state: &IngestState) -> Result<(), IngestError> {
    match state.disk.rate_limit() {
        Some(limit) => Err(IngestError::RateLimited(limit)),
        None => Ok(()),
    }
}

/// What events of the project are grouped and compressed with.
async fn project_setup(
    state: &IngestState,
    project_id: ProjectId,
) -> Result<ProjectSetup, IngestError> {
    Ok(ProjectSetup {
        rules: state.keys.project_rules(project_id).await?,
        dictionary: state.store.current_dictionary(project_id),
    })
}

fn received(req: &HttpRequest, project_id: ProjectId) -> Received {
    Received {
        project_id,
        received_ms: crate::store::now_ms(),
        client_ip: req.peer_addr().map(|a| a.ip().to_string()),
    }
}

/// Memory an attachment costs until it is committed, in multiples of its size.
const ATTACHMENT_COST: usize = 4;

/// Bytes held per byte of a log item while it is parsed and packed (see [`open_rows`]).
const LOG_COST: usize = 3;

/// An envelope's rows, with the bytes they hold charged to the budget until their COMMIT.
pub struct Rows {
    prepared: Prepared,
    _charge: Charge,
}

/// What the CPU half of an envelope request ends with.
enum Opened {
    Rows(Box<Rows>),
    /// Credentials only in the envelope header: checked before the rows are made.
    Tunnel {
        key: String,
        body: ChargedBuf,
    },
}

/// The request's body as sent (charged to the budget) and how it is compressed.
async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &IngestState,
    kind: &'static str,
) -> Result<(Option<body::Encoding>, ChargedBuf), IngestError> {
    let encoding = body::encoding(req)?;
    let raw = body::read(req, payload, &state.limits, kind, &state.budget).await?;
    Ok((encoding, raw))
}

/// Turns a parsed envelope into rows (on a pool thread), charging the rows' bytes first.
fn open_rows(
    envelope: &Envelope,
    received: &Received,
    project: &ProjectSetup,
    limits: &Limits,
    budget: &Budget,
) -> Result<Rows, IngestError> {
    let mut charge = budget.start();
    // An event becomes a compressed row, smaller than its payload. An attachment is copied
    // into its row, and three times more while the writer stores it (the batch's blob
    // parameter, SQLite's copy of it, the record SQLite builds).
    let bytes = |ty: ItemType| {
        envelope
            .items
            .iter()
            .filter(|i| i.ty == ty)
            .map(|i| i.payload.len())
            .sum::<usize>()
    };
    // A log item's lines, parsed, take about three times its JSON, until they are blocks.
    charge.add(
        bytes(ItemType::Event)
            + ATTACHMENT_COST * bytes(ItemType::Attachment)
            + LOG_COST * bytes(ItemType::Log),
    )?;
    let prepared = pipeline::prepare(envelope, received, project, limits)?;
    Ok(Rows {
        prepared,
        _charge: charge,
    })
}

/// Applies the quotas to prepared rows, commits what is left; answers its event id, with the
/// rate limits SDKs must know of (see [`crate::rates::quota`]).
async fn accept(
    state: &IngestState,
    rows: Rows,
    received: &Received,
    key: &ProjectKey,
) -> Result<HttpResponse, IngestError> {
    let Rows {
        mut prepared,
        _charge,
    } = rows;
    let (taken, mut limits) = apply_quotas(state, &mut prepared, received, key).await?;
    let check_ins = take_check_ins(state, &mut prepared, received, key, &mut limits).await?;
    take_logs(state, &mut prepared, received, key, &mut limits).await?;
    let refused = limits.first().cloned();
    if let Some(limit) = quota::not_stored(&prepared.not_kept) {
        limits.push(limit);
    }
    if prepared.job.is_empty()
        && check_ins.is_empty()
        && let Some(limit) = refused
    {
        return Err(IngestError::RateLimited(limit));
    }
    let has_event = prepared.job.event.is_some();
    let attachment_bytes = attachment_bytes(&prepared.job.attachments);
    let project = received.project_id;
    let at = received.received_ms;
    // Check-ins first: one the monitors refuse refuses the envelope before anything is stored.
    let mut recorded = Ok(());
    for check_in in &check_ins {
        recorded = crate::crons::record::record(
            &state.store,
            &state.writer,
            &state.metrics,
            project,
            check_in,
            at,
        )
        .await
        .map(drop);
        if recorded.is_err() {
            break;
        }
        let monitor = outcomes::MONITOR;
        state
            .outcomes
            .record(project, at, monitor, outcomes::ACCEPTED, "", 1);
    }
    let committed = match recorded {
        Ok(()) => pipeline::commit(&state.writer, prepared.job).await,
        Err(e) => Err(e),
    };
    if let Err(e) = committed {
        if let Some(taken) = taken {
            state.quotas.give_back(taken);
        }
        return Err(e);
    }
    if has_event {
        state
            .outcomes
            .record(project, at, outcomes::ERROR, outcomes::ACCEPTED, "", 1);
    }
    count_logs(state, project, at, &prepared.logs);
    if attachment_bytes > 0 {
        let attachment = outcomes::ATTACHMENT;
        state.outcomes.record(
            project,
            at,
            attachment,
            outcomes::ACCEPTED,
            "",
            attachment_bytes,
        );
    }
    for ty in prepared.counts {
        state.metrics.accepted(ty, 1);
        if ty == "event" {
            state.metrics.project_accepted(received.project_id);
        }
    }
    let mut response = HttpResponse::Ok();
    if !limits.is_empty() {
        response.insert_header(("x-sentry-rate-limits", rate_limits::header_value(&limits)));
    }
    Ok(match prepared.event_id {
        Some(id) => response.json(serde_json::json!({ "id": id })),
        None => response.json(serde_json::json!({})),
    })
}

/// Takes one event from the key's rate limit and the project's daily cap; when nodes share the
/// database, takes shares of their common counts as it goes (at most one per limit).
async fn take_event(
    state: &IngestState,
    key: &ProjectKey,
    project_id: ProjectId,
    daily_cap: Option<u64>,
    now_secs: i64,
) -> Result<Result<quota::Taken, RateLimit>, IngestError> {
    let failed = |e| IngestError::internal("taking a share of a quota", e);
    for _ in 0..3 {
        let need = match state.quotas.take_event(
            &key.public_key,
            key.rate_limit(),
            project_id,
            daily_cap,
            now_secs,
        ) {
            Ok(taken) => return Ok(Ok(taken)),
            Err(quota::Refused::Limited(limit)) => return Ok(Err(limit)),
            Err(quota::Refused::NeedShare(need)) => need,
        };
        // A day's count starts from what the project received that day before it was shared.
        let start = match need.share {
            quota::Share::Day(project) => state
                .store
                .events_received_since(project, need.slot * 1440)
                .await
                .map_err(failed)?,
            quota::Share::Key(_) => 0,
        };
        let granted = state
            .store
            .take_quota(
                &need.share.scope(),
                need.slot,
                need.want,
                need.limit,
                start,
                need.ends_secs,
            )
            .await
            .map_err(failed)?;
        state.quotas.add_share(&need, granted);
    }
    Err(IngestError::internal(
        "taking a share of a quota",
        std::io::Error::other("no share after three asks"),
    ))
}

/// Takes each check-in from the key's rate limit, as an event: a flood of check-ins is
/// refused as one of events would be. Returns those that fit; the limit of the others joins
/// `limits`, for the `monitor` category.
async fn take_check_ins(
    state: &IngestState,
    prepared: &mut Prepared,
    received: &Received,
    key: &ProjectKey,
    limits: &mut Vec<RateLimit>,
) -> Result<Vec<crate::crons::check_in::CheckIn>, IngestError> {
    let project_id = received.project_id;
    let now_secs = received.received_ms.div_euclid(1000);
    let mut kept = Vec::with_capacity(prepared.check_ins.len());
    for check_in in std::mem::take(&mut prepared.check_ins) {
        match take_event(state, key, project_id, None, now_secs).await? {
            Ok(_) => kept.push(check_in),
            Err(limit) => {
                state.metrics.rate_limited(limit.reason, 1);
                let (at, limited) = (received.received_ms, outcomes::RATE_LIMITED);
                state
                    .outcomes
                    .record(project_id, at, outcomes::MONITOR, limited, limit.reason, 1);
                if !limits.iter().any(|l| l.categories == ["monitor"]) {
                    limits.push(RateLimit {
                        categories: vec!["monitor"],
                        ..limit
                    });
                }
            }
        }
    }
    Ok(kept)
}

/// Takes a log item from the key's rate limit as one event (an SDK sends its lines in
/// envelopes of up to a hundred, or a thousand from Python): a flood of envelopes is refused
/// as one of events would be. Over it, the lines are dropped and the limit joins `limits` for
/// the `log_item` and `log_byte` categories.
async fn take_logs(
    state: &IngestState,
    prepared: &mut Prepared,
    received: &Received,
    key: &ProjectKey,
    limits: &mut Vec<RateLimit>,
) -> Result<(), IngestError> {
    if prepared.job.log_blocks.is_empty() {
        return Ok(());
    }
    let project_id = received.project_id;
    let now_secs = received.received_ms.div_euclid(1000);
    if let Err(limit) = take_event(state, key, project_id, None, now_secs).await? {
        let tally = std::mem::take(&mut prepared.logs);
        state.metrics.rate_limited(limit.reason, tally.lines());
        let (at, limited) = (received.received_ms, outcomes::RATE_LIMITED);
        let lines = tally.lines();
        let o = &state.outcomes;
        o.record(
            project_id,
            at,
            outcomes::LOG_ITEM,
            limited,
            limit.reason,
            lines,
        );
        o.record(
            project_id,
            at,
            outcomes::LOG_BYTE,
            limited,
            limit.reason,
            tally.bytes,
        );
        prepared.job.log_blocks.clear();
        limits.push(RateLimit {
            categories: vec![outcomes::LOG_ITEM, outcomes::LOG_BYTE],
            ..limit
        });
    }
    Ok(())
}

/// Counts committed log lines (metrics per project and level, outcomes) and dropped ones.
fn count_logs(state: &IngestState, project: ProjectId, at: i64, logs: &pipeline::LogTally) {
    let o = &state.outcomes;
    if logs.dropped_lines > 0 {
        let (item, invalid) = (outcomes::LOG_ITEM, outcomes::INVALID);
        o.record(
            project,
            at,
            item,
            invalid,
            "invalid_log",
            logs.dropped_lines,
        );
    }
    if logs.lines() == 0 {
        return;
    }
    for (level, n) in crate::logs::item::Level::ALL.iter().zip(logs.kept) {
        if n > 0 {
            state.metrics.log_lines(project, level.as_str(), n);
        }
    }
    let accepted = outcomes::ACCEPTED;
    o.record(project, at, outcomes::LOG_ITEM, accepted, "", logs.lines());
    o.record(project, at, outcomes::LOG_BYTE, accepted, "", logs.bytes);
}

/// Takes the event from the key's rate limit and the project's daily cap, and the attachments
/// from the project's attachment cap; what does not fit is dropped from the job. Returns what
/// was taken (to give back if the write fails) and the limits that dropped something.
async fn apply_quotas(
    state: &IngestState,
    prepared: &mut Prepared,
    received: &Received,
    key: &ProjectKey,
) -> Result<(Option<quota::Taken>, Vec<RateLimit>), IngestError> {
    let project_id = received.project_id;
    let quotas = state.keys.project_quotas(project_id).await?;
    let now_secs = received.received_ms.div_euclid(1000);
    let failed = |e| IngestError::internal("reading the quotas", e);
    let mut limits = Vec::new();
    let mut taken = None;
    if prepared.job.event.is_some() {
        // Shared counts start from the database's own count instead (see `take_event`).
        if quotas.daily_events.is_some()
            && !state.quotas.is_shared()
            && !state.quotas.knows_day(project_id, now_secs)
        {
            let midnight_minute = now_secs.div_euclid(86_400) * 1440;
            let received = state
                .store
                .events_received_since(project_id, midnight_minute)
                .await
                .map_err(failed)?;
            state.quotas.seed_day(project_id, now_secs, received);
        }
        match take_event(state, key, project_id, quotas.daily_events, now_secs).await? {
            Ok(t) => taken = Some(t),
            Err(limit) => {
                // The event goes, and the attachments that came with it.
                state
                    .metrics
                    .rate_limited(limit.reason, 1 + prepared.job.attachments.len() as u64);
                let (at, limited) = (received.received_ms, outcomes::RATE_LIMITED);
                state
                    .outcomes
                    .record(project_id, at, outcomes::ERROR, limited, limit.reason, 1);
                let bytes = attachment_bytes(&prepared.job.attachments);
                if bytes > 0 {
                    let attachment = outcomes::ATTACHMENT;
                    state
                        .outcomes
                        .record(project_id, at, attachment, limited, limit.reason, bytes);
                }
                prepared.job.event = None;
                prepared.job.attachments.clear();
                limits.push(limit);
            }
        }
    }
    if quotas.attachment_bytes.is_some() && !prepared.job.attachments.is_empty() {
        let incoming = attachment_bytes(&prepared.job.attachments);
        let stored = state
            .store
            .attachment_bytes(project_id)
            .await
            .map_err(failed)?;
        if let Err(limit) = quota::attachments_fit(quotas.attachment_bytes, stored, incoming) {
            state
                .metrics
                .rate_limited(limit.reason, prepared.job.attachments.len() as u64);
            state.outcomes.record(
                project_id,
                received.received_ms,
                outcomes::ATTACHMENT,
                outcomes::RATE_LIMITED,
                limit.reason,
                incoming,
            );
            prepared.job.attachments.clear();
            limits.push(limit);
        }
    }
    Ok((taken, limits))
}

fn attachment_bytes(attachments: &[crate::store::rows::AttachmentRow]) -> u64 {
    attachments.iter().map(|a| a.data.len() as u64).sum()
}

/// Counts a rejection (by reason, and by project when the path names one whose key was
/// accepted before: labels never come from unauthenticated requests) before it becomes the
/// response.
fn counted<T>(
    state: &IngestState,
    req: &HttpRequest,
    result: Result<T, IngestError>,
) -> Result<T, IngestError> {
    if let Err(e) = &result {
        state.metrics.rejected(e.reason());
        let project = project_id(req)
            .ok()
            .filter(|p| state.keys.is_authorized_project(*p));
        if let Some(project) = project {
            state.metrics.project_rejected(project, e.reason());
        }
        // Outcomes only for a request whose key was checked: nobody counts against a project
        // by naming it. A quota's refusal is counted per item where it was made.
        let authorized = req.extensions().get::<Authorized>().copied();
        let outcome = match e {
            IngestError::RateLimited(l) if l.scope != rate_limits::Scope::Organization => None,
            IngestError::RateLimited(_) => Some(outcomes::RATE_LIMITED),
            _ => Some(outcomes::INVALID),
        };
        if let (Some(Authorized(project)), Some(outcome)) = (authorized, outcome) {
            let now = crate::store::now_ms();
            state
                .outcomes
                .record(project, now, outcomes::ERROR, outcome, e.reason(), 1);
        }
        state.rejections.note(e, project);
    }
    result
}
