//! `snag bench`: load-tests a running Snag the way SDKs do and reports what it measured.
//!
//! Each request is a gzip envelope (as sentry-python sends it) holding one realistic error
//! event of several KB: a chained exception with a 12-frame stack with context lines, tags,
//! breadcrumbs, contexts, a user. Events spread over `--issues` distinct issues. With `--verify`
//! the acknowledged event ids are looked up in the database afterwards.
//!
//! With `--logs N` each request is instead a log envelope of N lines as sentry-python's
//! `logging` integration sends them (`log_lines`). `--rate` caps the requests per second.

use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Config;
use crate::ingest::auth::parse_dsn;
use crate::store::{ProjectId, Store};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// DSN of the project to send to.
    #[arg(long)]
    pub dsn: String,
    /// How long to send, e.g. `30s`, `2m`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Distinct issues the events spread over.
    #[arg(long, default_value_t = 300)]
    pub issues: usize,
    /// Afterwards, count the acknowledged events in the database (`--database-url`).
    #[arg(long)]
    pub verify: bool,
    /// Send log envelopes of this many lines instead of events.
    #[arg(long)]
    pub logs: Option<usize>,
    /// Requests per second at most, all senders together.
    #[arg(long)]
    pub rate: Option<f64>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        _ => return Err(format!("invalid duration unit in {s:?} (use ms, s or m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[derive(Default)]
struct Tally {
    accepted: Vec<String>,
    latencies_us: Vec<u64>,
    throttled: u64,
    failed: u64,
    bytes_sent: u64,
}

pub async fn run(config: Config, args: BenchArgs) -> anyhow::Result<()> {
    let dsn = parse_dsn(&args.dsn).map_err(|e| anyhow::anyhow!("{e}: {:?}", args.dsn))?;
    let target = Target::from_dsn(&args.dsn, dsn.project_id)?;
    let auth = format!(
        "Sentry sentry_key={}, sentry_version=7, sentry_client=snag-bench/1.0",
        dsn.public_key
    );
    let issues = args.issues.max(1);
    let lines = args.logs;
    let render = move || match lines {
        Some(n) => log_envelopes(issues, n),
        None => compressed_events(issues),
    };
    let bodies = Arc::new(RwLock::new(render()));
    match lines {
        Some(n) => println!(
            "bench: {} concurrent senders for {:?} to {}{}, log envelopes of {n} lines",
            args.concurrency, args.duration, target.addr, target.path
        ),
        None => println!(
            "bench: {} concurrent senders for {:?} to {}{}, {issues} distinct issues",
            args.concurrency, args.duration, target.addr, target.path
        ),
    }
    // Each sender waits this long between its requests (`--rate`).
    let pace = args
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(args.concurrency as f64 / r));

    let started = Instant::now();
    let deadline = started + args.duration;
    // Event timestamps move on: every issue's event is re-rendered and re-compressed every
    // five seconds (each second, that alone cost a twentieth of the client's CPU).
    let refresher = {
        let bodies = bodies.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let fresh = tokio::task::spawn_blocking(render).await.expect("render");
                *bodies.write().expect("bodies lock") = fresh;
            }
        })
    };
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let (target, auth, bodies) = (target.clone(), auth.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut connection = None;
            let mut n = worker;
            while Instant::now() < deadline {
                let event_id = uuid::Uuid::new_v4().simple().to_string();
                let event = {
                    let bodies = bodies.read().expect("bodies lock");
                    bodies[n % bodies.len()].clone()
                };
                n += 7;
                let body = [gzip_stored(envelope_header(&event_id).as_bytes()), event].concat();
                let sent = Instant::now();
                if let Some(pace) = pace {
                    tokio::time::sleep(pace.saturating_sub(sent.elapsed())).await;
                }
                match target.post(&mut connection, &auth, &body).await {
                    Ok(200) => {
                        tally.latencies_us.push(sent.elapsed().as_micros() as u64);
                        tally.accepted.push(event_id);
                        tally.bytes_sent += body.len() as u64;
                    }
                    Ok(429) => {
                        tally.throttled += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    _ => tally.failed += 1,
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        let t = task.await?;
        total.accepted.extend(t.accepted);
        total.latencies_us.extend(t.latencies_us);
        total.throttled += t.throttled;
        total.failed += t.failed;
        total.bytes_sent += t.bytes_sent;
    }
    let elapsed = started.elapsed().as_secs_f64();
    refresher.abort();
    report(&mut total, elapsed);
    if let Some(n) = lines {
        println!(
            "accepted log lines/s: {:.0}",
            (total.accepted.len() * n) as f64 / elapsed
        );
    }
    if args.verify
        && let Some(n) = lines
    {
        // Log envelopes have no event id to look up: every acknowledged line must be there.
        let acknowledged = (total.accepted.len() * n) as i64;
        let store = Store::open(&config).await?;
        let stored = store.log_usage().await?.lines;
        store.close().await;
        println!("stored: {stored} log lines in the database, {acknowledged} acknowledged");
        if stored < acknowledged {
            anyhow::bail!(
                "{} acknowledged log lines are missing",
                acknowledged - stored
            );
        }
    } else if args.verify {
        let accepted = total.accepted.len() as i64;
        let store = Store::open(&config).await?;
        let stored = store.count_events(dsn.project_id, &total.accepted).await?;
        println!("stored: {stored} of {accepted} acknowledged events are in the database");
        store.close().await;
        if stored != accepted {
            anyhow::bail!("{} acknowledged events are missing", accepted - stored);
        }
    }
    Ok(())
}

fn report(total: &mut Tally, elapsed: f64) {
    let accepted = total.accepted.len();
    total.latencies_us.sort_unstable();
    let pct = |p: f64| {
        let v = &total.latencies_us;
        if v.is_empty() {
            0.0
        } else {
            v[((v.len() - 1) as f64 * p) as usize] as f64 / 1000.0
        }
    };
    println!(
        "sent {} requests in {elapsed:.1}s: {accepted} accepted (200), {} throttled (429), {} failed",
        accepted as u64 + total.throttled + total.failed,
        total.throttled,
        total.failed
    );
    println!("accepted events/s: {:.0}", accepted as f64 / elapsed);
    println!(
        "latency of accepted requests: p50 {:.1} ms, p99 {:.1} ms",
        pct(0.50),
        pct(0.99)
    );
    println!(
        "envelope size: {} B gzip on the wire",
        total.bytes_sent.checked_div(accepted as u64).unwrap_or(0),
    );
}

/// Where envelopes go, and a minimal HTTP/1.1 keep-alive client for it: one write per
/// request, so the load generator leaves as much CPU as it can to the server it measures.
#[derive(Clone)]
struct Target {
    addr: String,
    path: String,
}

impl Target {
    /// `http://key@host:port/prefix/42` → `host:port` and `/prefix/api/42/envelope/`.
    fn from_dsn(dsn: &str, project_id: ProjectId) -> anyhow::Result<Target> {
        let rest = dsn
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("the bench speaks plain http:// only"))?;
        let (_, location) = rest
            .split_once('@')
            .ok_or_else(|| anyhow::anyhow!("invalid dsn"))?;
        let (host, path) = location.split_once('/').unwrap_or((location, ""));
        let prefix = path
            .trim_end_matches('/')
            .rsplit_once('/')
            .map(|(p, _)| format!("/{p}"))
            .unwrap_or_default();
        let addr = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        Ok(Target {
            addr,
            path: format!("{prefix}/api/{project_id}/envelope/"),
        })
    }

    /// POSTs `body` and returns the status; reconnects when the connection was closed.
    async fn post(
        &self,
        connection: &mut Option<TcpStream>,
        auth: &str,
        body: &[u8],
    ) -> std::io::Result<u16> {
        if connection.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            *connection = Some(stream);
        }
        let stream = connection.as_mut().expect("connected");
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nX-Sentry-Auth: {auth}\r\nContent-Type: application/x-sentry-envelope\r\n\
             Content-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            self.path,
            self.addr,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        let result = exchange(stream, &request).await;
        if result.is_err() {
            *connection = None;
        }
        result
    }
}

async fn exchange(stream: &mut TcpStream, request: &[u8]) -> std::io::Result<u16> {
    stream.write_all(request).await?;
    let mut response = Vec::with_capacity(512);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        response.extend_from_slice(&buf[..n]);
        if let Some(status) = complete_response_status(&response) {
            return Ok(status);
        }
    }
}

/// The status of an HTTP/1.1 response once its head and Content-Length body are complete.
fn complete_response_status(response: &[u8]) -> Option<u16> {
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&response[..head_end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    (response.len() >= head_end + 4 + length).then_some(status)
}

/// Every issue's event item (item header + payload), gzipped, stamped with the current time.
/// A request sends a small gzip member with its envelope header (a fresh event id, which takes
/// precedence over the payload's) followed by one of these: valid multi-member gzip, which the
/// server inflates in full like any other body.
fn compressed_events(issues: usize) -> Vec<Vec<u8>> {
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    (0..issues)
        .map(|issue| {
            let id = uuid::Uuid::new_v4().simple().to_string();
            let payload = event_template(issue)
                .replace(TIME_SLOT, &ts)
                .replace(ID_SLOT, &id);
            gzip(
                format!(
                    "{{\"type\":\"event\",\"length\":{}}}\n{payload}\n",
                    payload.len()
                )
                .as_bytes(),
            )
        })
        .collect()
}

fn envelope_header(event_id: &str) -> String {
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    format!("{{\"event_id\":\"{event_id}\",\"sent_at\":\"{ts}\"}}\n")
}

/// A gzip member that stores `data` uncompressed (one stored deflate block): valid gzip for
/// the server to inflate, at a fraction of the client CPU of a compressor per request.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).expect("an envelope header fits one stored block");
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let mut out = Vec::with_capacity(data.len() + 23);
    // magic, deflate, no flags, no mtime, no extra flags, unknown OS
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    out.push(1); // the final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::default(),
    );
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// Log templates as a shop's `logging` calls make them: (logger, level, template, parameters).
const LOG_CALLS: [(&str, &str, &str, usize); 12] = [
    ("shop.orders", "info", "order %s created for user %s", 2),
    ("shop.orders", "info", "loading order %s from cache", 1),
    ("shop.payments", "info", "payment %s authorized: %s EUR", 2),
    ("shop.payments", "warn", "payment %s slow: %s ms", 2),
    (
        "shop.payments",
        "error",
        "payment %s declined: card_declined for user %s",
        2,
    ),
    ("shop.cart", "info", "cart %s updated with %s items", 2),
    ("shop.cart", "debug", "cart %s recalculated", 1),
    ("shop.inventory", "warn", "stock low for SKU %s: %s left", 2),
    ("shop.inventory", "info", "reserved %s units of SKU %s", 2),
    ("shop.http", "info", "GET /api/orders/%s 200 in %s ms", 2),
    (
        "shop.http",
        "error",
        "POST /api/checkout/%s 500 after %s ms: timeout",
        2,
    ),
    ("shop.mail", "info", "receipt for order %s sent to %s", 2),
];

/// `envelopes` log envelope items of `lines` lines each (item header + payload), gzipped,
/// stamped with the current time: a line per call of [`LOG_CALLS`] in turn with sentry-python's
/// twenty attributes, a trace per ten lines.
fn log_envelopes(envelopes: usize, lines: usize) -> Vec<Vec<u8>> {
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    let mut seed = now.to_bits();
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..envelopes.max(1))
        .map(|_| {
            let mut trace = String::new();
            let items: Vec<serde_json::Value> = (0..lines)
                .map(|i| {
                    if i % 10 == 0 {
                        trace = format!("{:016x}{:016x}", random(), random());
                    }
                    let (logger, level, template, params) =
                        LOG_CALLS[(random() % LOG_CALLS.len() as u64) as usize];
                    let values: Vec<String> = (0..params)
                        .map(|p| match p {
                            0 => (10_000 + random() % 90_000).to_string(),
                            _ => format!("u{}", random() % 5_000),
                        })
                        .collect();
                    let mut body = template.to_owned();
                    for v in &values {
                        body = body.replacen("%s", v, 1);
                    }
                    let number = match level {
                        "debug" => 5,
                        "info" => 9,
                        "warn" => 13,
                        _ => 17,
                    };
                    let mut attributes = serde_json::json!({
                        "sentry.origin": {"value": "auto.log.stdlib", "type": "string"},
                        "sentry.message.template": {"value": template, "type": "string"},
                        "code.line.number": {"value": 40 + i % 7, "type": "integer"},
                        "code.file.path": {"value": format!("{}.py", logger.replace('.', "/")), "type": "string"},
                        "code.function.name": {"value": "handle", "type": "string"},
                        "thread.id": {"value": 140_593_250_151_296_u64 as i64, "type": "integer"},
                        "thread.name": {"value": "MainThread", "type": "string"},
                        "process.pid": {"value": 6672, "type": "integer"},
                        "process.executable.name": {"value": "MainProcess", "type": "string"},
                        "logger.name": {"value": logger, "type": "string"},
                        "sentry.sdk.name": {"value": "sentry.python.django", "type": "string"},
                        "sentry.sdk.version": {"value": "2.76.0", "type": "string"},
                        "process.runtime.name": {"value": "CPython", "type": "string"},
                        "process.runtime.version": {"value": "3.12.7", "type": "string"},
                        "server.address": {"value": "web-3", "type": "string"},
                        "sentry.environment": {"value": "production", "type": "string"},
                        "sentry.release": {"value": "shop@2.4.1", "type": "string"},
                        "sentry.severity_number": {"value": number, "type": "integer"},
                        "sentry.severity_text": {"value": level, "type": "string"},
                    });
                    for (p, v) in values.iter().enumerate() {
                        attributes[format!("sentry.message.parameter.{p}")] =
                            serde_json::json!({"value": v, "type": "string"});
                    }
                    serde_json::json!({
                        "timestamp": now + i as f64 * 1e-4,
                        "level": level,
                        "body": body,
                        "trace_id": trace,
                        "span_id": format!("{:016x}", random()),
                        "attributes": attributes,
                    })
                })
                .collect();
            let payload = serde_json::json!({ "version": 2, "items": items }).to_string();
            gzip(
                format!(
                    "{{\"type\":\"log\",\"item_count\":{lines},\"content_type\":\"application/vnd.sentry.items.log+json\",\"length\":{}}}\n{payload}\n",
                    payload.len()
                )
                .as_bytes(),
            )
        })
        .collect()
}

const EXCEPTIONS: [&str; 6] = [
    "ValueError",
    "KeyError",
    "TimeoutError",
    "DatabaseError",
    "PermissionError",
    "RuntimeError",
];

const ID_SLOT: &str = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@";
const TIME_SLOT: &str = "%%%%%%%%%%%%%%%%%%%%%%%%%%%";

/// A realistic Python error event that groups into issue `issue`, with slots for id and time.
fn event_template(issue: usize) -> String {
    let (event_id, ts) = (ID_SLOT, TIME_SLOT);
    let ty = EXCEPTIONS[issue % EXCEPTIONS.len()];
    let module = format!("shop.services.area{}", issue / EXCEPTIONS.len());
    let frames: Vec<serde_json::Value> = (0..12)
        .map(|i| {
            let in_app = i >= 6;
            let function = if i == 11 { format!("handle_{issue}") } else { format!("step_{i}") };
            serde_json::json!({
                "filename": if in_app { format!("shop/services/area{}.py", issue / EXCEPTIONS.len()) } else { format!("django/core/handlers/base{i}.py") },
                "abs_path": format!("/srv/app/{}/file{i}.py", if in_app { "shop" } else { "venv/lib/python3.12/site-packages/django" }),
                "module": if in_app { module.clone() } else { format!("django.core.handlers.base{i}") },
                "function": function,
                "lineno": 40 + i * 7,
                "context_line": format!("    result = {function}(request, order_id=order.id, retries={i})"),
                "pre_context": ["    order = load_order(order_id)", "    if not order.ready:", "        raise NotReady(order_id)"],
                "post_context": ["    audit.log(result)", "    return result"],
                "in_app": in_app,
                "vars": {"order_id": "'10023'", "retries": format!("{i}"), "request": "<WSGIRequest: POST '/api/orders'>"},
            })
        })
        .collect();
    let event = serde_json::json!({
        "event_id": event_id,
        "timestamp": ts,
        "platform": "python",
        "level": "error",
        "logger": "shop.orders",
        "server_name": "web-3",
        "release": "shop@2.4.1",
        "environment": "production",
        "transaction": "/api/orders",
        "exception": {"values": [
            {"type": "ConnectionError", "value": "connection to db://primary:5432 refused", "module": "builtins",
             "mechanism": {"type": "chained", "handled": true, "exception_id": 1, "parent_id": 0, "source": "__context__"}},
            {"type": ty, "value": format!("order 10023 failed in step {issue}"), "module": "shop.errors",
             "mechanism": {"type": "django", "handled": false, "exception_id": 0},
             "stacktrace": {"frames": frames}}
        ]},
        "tags": {"region": "eu-west-1", "customer_tier": "gold", "feature": "checkout-v2"},
        "user": {"id": format!("user-{}", issue % 97), "email": "shopper@example.com", "ip_address": "10.0.4.12"},
        "request": {"url": "https://shop.example.com/api/orders", "method": "POST",
                    "headers": {"User-Agent": "Mozilla/5.0", "Content-Type": "application/json"}},
        "contexts": {"runtime": {"name": "CPython", "version": "3.12.7"}, "os": {"name": "Linux"},
                     "trace": {"trace_id": "03d32dd52c95463ab9c05de6a0173c6b", "span_id": "a9c05de6a0173c6b"}},
        "breadcrumbs": {"values": (0..5).map(|i| serde_json::json!({"timestamp": ts, "category": "query", "message": format!("SELECT * FROM orders WHERE id = {i}"), "level": "info"})).collect::<Vec<_>>()},
        "sdk": {"name": "sentry.python.django", "version": "2.75.0"},
    });
    event.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn targets_from_dsns() {
        let t = Target::from_dsn("http://k@127.0.0.1:8000/3", ProjectId(3)).unwrap();
        assert_eq!(
            (t.addr.as_str(), t.path.as_str()),
            ("127.0.0.1:8000", "/api/3/envelope/")
        );
        let t = Target::from_dsn("http://k@h/sentry/3", ProjectId(3)).unwrap();
        assert_eq!(
            (t.addr.as_str(), t.path.as_str()),
            ("h:80", "/sentry/api/3/envelope/")
        );
        assert!(Target::from_dsn("https://k@h/3", ProjectId(3)).is_err());
    }

    #[test]
    fn bodies_are_multi_member_gzip_envelopes_of_several_kb() {
        use std::io::Read;
        let event = &compressed_events(3)[1];
        let body = [
            gzip_stored(envelope_header("0123456789abcdef0123456789abcdef").as_bytes()),
            event.clone(),
        ]
        .concat();
        let mut raw = Vec::new();
        flate2::read::MultiGzDecoder::new(body.as_slice())
            .read_to_end(&mut raw)
            .unwrap();
        let env = crate::protocol::envelope::parse(&raw, usize::MAX).unwrap();
        assert_eq!(
            env.header_str("event_id"),
            Some("0123456789abcdef0123456789abcdef")
        );
        let payload: serde_json::Value = serde_json::from_slice(env.items[0].payload).unwrap();
        assert!(env.items[0].payload.len() > 4000);
        assert_eq!(payload["exception"]["values"][1]["type"], "KeyError");
    }

    #[test]
    fn response_completeness() {
        assert_eq!(
            complete_response_status(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"),
            Some(200)
        );
        assert_eq!(
            complete_response_status(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{"),
            None
        );
        assert_eq!(complete_response_status(b"HTTP/1.1 429 Too"), None);
    }
}
