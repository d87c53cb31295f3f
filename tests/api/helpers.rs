//! Test harness: a real Snag on port 0 with a fresh SQLite file, and a raw HTTP/1.1 sender
//! that replays captured requests byte for byte (header order, chunked bodies).

use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use snag::Config;
use snag::store::projects::NewProject;
use snag::store::{ProjectId, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct TestApp {
    pub port: u16,
    pub store: Store,
    pub database_url: String,
    pub handle: ServerHandle,
    /// Retention, to run a pass at a time of the test's choosing, and the disk guard.
    pub retention: snag::retention::Retention,
    pub disk: std::sync::Arc<snag::retention::disk::DiskGuard>,
    pub config: Config,
    _dir: Option<tempfile::TempDir>,
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sdk")
}

impl TestApp {
    /// Creates a project with a chosen id and key (the captures use key `publickey`).
    pub async fn project(&self, name: &str, id: ProjectId, key: &str) {
        let new = NewProject {
            name: name.into(),
            id: Some(id),
            public_key: Some(key.into()),
        };
        self.store
            .create_project(&new)
            .await
            .expect("create project");
    }

    /// Records the alerts due now, as the evaluator's next round would: tests that set
    /// [`alerts_on_demand`] call this after each step instead of waiting for a round.
    /// `/metrics` as the holder of the metrics token `token` reads it.
    pub async fn metrics(&self, token: &str) -> String {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}/metrics", self.port))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Sets key `key`'s rate limit to `count` per `window_secs`.
    pub async fn limit_key(&self, key: &str, count: u64, window_secs: u64) {
        let limit = snag::store::quotas::KeyRateLimit { count, window_secs };
        assert!(
            self.store
                .set_key_rate_limit(key, Some(limit))
                .await
                .unwrap()
        );
    }

    pub async fn evaluate_alerts(&self) {
        let base_url = self
            .config
            .public_base_url(Some(([127, 0, 0, 1], self.port).into()));
        snag::alerts::Evaluator::new(
            self.store.clone(),
            Default::default(),
            base_url,
            self.config.mail.smtp_url.is_some(),
            std::time::Duration::ZERO,
        )
        .run_once(snag::store::now_ms())
        .await
        .expect("evaluate alerts");
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Alert workers for tests: due alerts are delivered every 100 ms and evaluated every
/// 100 ms, instead of the server's 1 s and 2 s.
pub fn quick_alerts(config: &mut Config) {
    config.workers.alert_evaluate_interval = std::time::Duration::from_millis(100);
    config.workers.alert_send_interval = std::time::Duration::from_millis(100);
}

/// Alerts evaluated only when the test calls [`TestApp::evaluate_alerts`] (and once at
/// start), delivered every 100 ms.
pub fn alerts_on_demand(config: &mut Config) {
    quick_alerts(config);
    config.workers.alert_evaluate_interval = std::time::Duration::from_secs(3600);
    config.workers.alert_idle_evaluate_interval = std::time::Duration::from_secs(3600);
}

/// Starts Snag with default limits.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts Snag after `tune` adjusted its configuration.
pub async fn spawn_app_with(tune: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database_url(&dir).await;
    start(database_url, Some(dir), tune).await
}

/// Starts Snag on SQLite whichever database the suite runs on: for tests of SQLite's own
/// machinery (its file, its write lock, its pages).
pub async fn spawn_sqlite_app_with(tune: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = format!("sqlite://{}", dir.path().join("snag.db").display());
    start(database_url, Some(dir), tune).await
}

/// Which database the suite runs on: `SNAG_TEST_BACKEND=postgres` (set by `./scripts/test`
/// for its second pass) runs it on the PostgreSQL server at `SNAG_TEST_POSTGRES_URL`.
pub fn on_postgres() -> bool {
    std::env::var("SNAG_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A new, empty database: a SQLite file in `dir`, or on PostgreSQL a database of its own on
/// the test server (the server is thrown away with them all).
pub async fn fresh_database_url(dir: &tempfile::TempDir) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.path().join("snag.db").display());
    }
    use sqlx::Connection;
    let server = std::env::var("SNAG_TEST_POSTGRES_URL").expect(
        "SNAG_TEST_BACKEND=postgres needs SNAG_TEST_POSTGRES_URL: ./scripts/test starts a \
         throwaway PostgreSQL (scripts/postgres-cluster) and sets both",
    );
    let name = format!("snag_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&server)
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let (base, _) = server.rsplit_once('/').expect("a database URL");
    format!("{base}/{name}")
}

/// Starts another Snag on an existing database (as after a restart).
pub async fn spawn_app_on(database_url: &str) -> TestApp {
    start(database_url.to_owned(), None, |_| {}).await
}

/// [`spawn_app_on`] after `tune` adjusted its configuration.
pub async fn spawn_app_on_with(database_url: &str, tune: impl FnOnce(&mut Config)) -> TestApp {
    start(database_url.to_owned(), None, tune).await
}

async fn start(
    database_url: String,
    dir: Option<tempfile::TempDir>,
    tune: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::for_tests(&database_url);
    tune(&mut config);
    let app = snag::Application::build(config.clone())
        .await
        .expect("build app");
    let port = app.port();
    let handle = app.handle();
    let retention = app.retention().clone();
    let disk = app.disk();
    tokio::spawn(app.run_until_stopped());
    let store = Store::open(&config).await.expect("open store");
    TestApp {
        port,
        store,
        database_url,
        handle,
        retention,
        disk,
        config,
        _dir: dir,
    }
}

/// A response as read off the socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends one HTTP/1.1 request over a fresh connection. `chunked` sends the body with
/// `Transfer-Encoding: chunked` (as Node's SDK does), else with `Content-Length`.
pub async fn send_raw(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    chunked: bool,
) -> RawResponse {
    try_send_raw(port, method, target, headers, body, chunked)
        .await
        .expect("HTTP exchange")
}

/// [`send_raw`] that reports connection failures instead of panicking (servers being killed).
pub async fn try_send_raw(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    chunked: bool,
) -> std::io::Result<RawResponse> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    }
    stream.write_all(head.as_bytes()).await?;
    if chunked {
        for chunk in body.chunks(1000) {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            stream.write_all(chunk).await?;
            stream.write_all(b"\r\n").await?;
        }
        stream.write_all(b"0\r\n\r\n").await?;
    } else {
        stream.write_all(body).await?;
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_response(&raw).ok_or_else(|| std::io::Error::other("incomplete HTTP response"))
}

fn parse_response(raw: &[u8]) -> Option<RawResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let is_chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if is_chunked {
        body = dechunk(&body);
    }
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

/// A POST of `body` to the envelope endpoint authenticated with `key`.
pub async fn post_envelope(app: &TestApp, project_id: i64, key: &str, body: &[u8]) -> RawResponse {
    let headers = vec![(
        "X-Sentry-Auth".to_owned(),
        format!("Sentry sentry_key={key}, sentry_version=7"),
    )];
    send_raw(
        app.port,
        "POST",
        &format!("/api/{project_id}/envelope/"),
        &headers,
        body,
        false,
    )
    .await
}

/// An envelope holding one event item.
pub fn event_envelope(event: &serde_json::Value) -> Vec<u8> {
    let payload = event.to_string();
    format!(
        "{{}}\n{{\"type\":\"event\",\"length\":{}}}\n{payload}\n",
        payload.len()
    )
    .into_bytes()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The `snag` binary of this build, run with a database of its own.
pub fn snag_command(database_url: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_snag"));
    command
        .env("SNAG_DATABASE_URL", database_url)
        .env("SNAG_LOG", "warn")
        .kill_on_drop(true);
    command
}

/// Runs a `snag` subcommand to completion: (success, stdout, stderr).
pub async fn run_snag(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let output = snag_command(database_url)
        .args(args)
        .output()
        .await
        .expect("run snag");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A `snag serve` process on a free port.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub port: u16,
    pub stdout: Vec<String>,
}

impl ServerProcess {
    pub async fn start(database_url: &str) -> ServerProcess {
        ServerProcess::start_with(database_url, &[]).await
    }

    /// `snag serve` with more flags.
    pub async fn start_with(database_url: &str, flags: &[&str]) -> ServerProcess {
        use tokio::io::AsyncBufReadExt;
        let mut child = snag_command(database_url)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(flags)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn snag serve");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut stdout = Vec::new();
        let port = loop {
            let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
                .await
                .expect("snag serve did not start within 30 s")
                .expect("read stdout")
                .unwrap_or_else(|| panic!("snag serve exited early: {stdout:?}"));
            stdout.push(line.clone());
            if let Some(rest) = line.strip_prefix("Snag is listening on http://127.0.0.1:") {
                break rest
                    .split(' ')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("port");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess {
            child,
            port,
            stdout,
        }
    }
}

/// The path of a client installed from npm into `tests/e2e` (`./scripts/test` installs them,
/// pinned in `tests/e2e/package.json`); a clear failure when it is not there.
pub fn npm_tool(bin: &str, what: &str) -> String {
    let path = format!(
        "{}/tests/e2e/node_modules/.bin/{bin}",
        env!("CARGO_MANIFEST_DIR")
    );
    assert!(
        std::path::Path::new(&path).exists(),
        "{what} is missing: ./scripts/test installs it (npm install --prefix tests/e2e)"
    );
    path
}
