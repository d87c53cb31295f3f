//! `snag bench`: load-tests a running Snag the way SDKs do and reports what it measured.
//!
//! Each request is a gzip envelope (as sentry-python sends it) holding one realistic error
//! event of several KB: a chained exception with a 12-frame stack with context lines, tags,
//! breadcrumbs, contexts, a user. Events spread over `--issues` distinct issues. With `--verify`
//! the acknowledged event ids are looked up in the database afterwards.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Args;

use crate::config::Config;
use crate::ingest::auth::parse_dsn;
use crate::store::Store;

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
    bytes_raw: u64,
}

pub async fn run(config: Config, args: BenchArgs) -> anyhow::Result<()> {
    let dsn = parse_dsn(&args.dsn).map_err(|e| anyhow::anyhow!("{e}: {:?}", args.dsn))?;
    let url = envelope_url(&args.dsn, dsn.project_id)?;
    let auth = format!(
        "Sentry sentry_key={}, sentry_version=7, sentry_client=snag-bench/1.0",
        dsn.public_key
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    println!(
        "bench: {} concurrent senders for {:?} to {url}, {} distinct issues",
        args.concurrency, args.duration, args.issues
    );

    let started = Instant::now();
    let deadline = started + args.duration;
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let (client, url, auth) = (client.clone(), url.clone(), auth.clone());
        let issues = args.issues.max(1);
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = worker;
            while Instant::now() < deadline {
                let event_id = uuid::Uuid::new_v4().simple().to_string();
                let raw = envelope(&event_id, n % issues);
                let body = gzip(raw.as_bytes());
                n += 7;
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("X-Sentry-Auth", &auth)
                    .header("Content-Type", "application/x-sentry-envelope")
                    .header("Content-Encoding", "gzip")
                    .body(body.clone())
                    .send()
                    .await;
                match response.map(|r| r.status().as_u16()) {
                    Ok(200) => {
                        tally.latencies_us.push(sent.elapsed().as_micros() as u64);
                        tally.accepted.push(event_id);
                        tally.bytes_sent += body.len() as u64;
                        tally.bytes_raw += raw.len() as u64;
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
        total.bytes_raw += t.bytes_raw;
    }
    let elapsed = started.elapsed().as_secs_f64();
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
    let per_event = |bytes: u64| bytes.checked_div(accepted as u64).unwrap_or(0);
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
        "envelope size: {} B gzip on the wire, {} B decompressed",
        per_event(total.bytes_sent),
        per_event(total.bytes_raw)
    );
    if args.verify {
        let store = Store::open(&config).await?;
        let stored = store.count_events(dsn.project_id, &total.accepted).await?;
        println!("stored: {stored} of {accepted} acknowledged events are in the database");
        store.close().await;
        if stored != accepted as i64 {
            anyhow::bail!(
                "{} acknowledged events are missing",
                accepted as i64 - stored
            );
        }
    }
    Ok(())
}

/// `http://key@host:port/prefix/42` → `http://host:port/prefix/api/42/envelope/`.
fn envelope_url(dsn: &str, project_id: i64) -> anyhow::Result<String> {
    let (scheme, rest) = dsn
        .split_once("://")
        .ok_or_else(|| anyhow::anyhow!("invalid dsn"))?;
    let (_, location) = rest
        .split_once('@')
        .ok_or_else(|| anyhow::anyhow!("invalid dsn"))?;
    let base = location
        .trim_end_matches('/')
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(location);
    Ok(format!("{scheme}://{base}/api/{project_id}/envelope/"))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::new(6),
    );
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

const EXCEPTIONS: [&str; 6] = [
    "ValueError",
    "KeyError",
    "TimeoutError",
    "DatabaseError",
    "PermissionError",
    "RuntimeError",
];

/// One envelope of a realistic Python error event that groups into issue `issue`.
fn envelope(event_id: &str, issue: usize) -> String {
    let now = chrono::Utc::now();
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
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
    let header = serde_json::json!({"event_id": event_id, "sent_at": ts});
    let payload = event.to_string();
    format!(
        "{header}\n{{\"type\":\"event\",\"length\":{}}}\n{payload}\n",
        payload.len()
    )
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
    fn urls_from_dsns() {
        assert_eq!(
            envelope_url("http://k@127.0.0.1:8000/3", 3).unwrap(),
            "http://127.0.0.1:8000/api/3/envelope/"
        );
        assert_eq!(
            envelope_url("https://k@h/sentry/3", 3).unwrap(),
            "https://h/sentry/api/3/envelope/"
        );
    }

    #[test]
    fn envelopes_parse_and_are_several_kb() {
        let raw = envelope("0123456789abcdef0123456789abcdef", 5);
        let env = crate::protocol::envelope::parse(raw.as_bytes()).unwrap();
        assert_eq!(env.items.len(), 1);
        assert!(raw.len() > 4000, "{}", raw.len());
    }
}
