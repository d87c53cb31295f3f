//! Structured logs: the captured traffic of the Python and Node SDKs replayed, then found
//! through Sentry's logs dataset (`events/?dataset=logs`), `trace-logs/` and `/metrics`; bad
//! log items refused with their reason.

use serde_json::{Value, json};
use snag::store::ProjectId;

use crate::helpers::{TestApp, post_envelope, spawn_app};
use crate::replay::{load, replay_accepted};
use crate::rest::{call, full_token};

/// The captures' lines were logged on 2026-12-04 around 05:09 UTC; a month later Snag takes
/// their arrival time instead (lines older than 30 days are stamped when they arrive).
const CAPTURED: &str = "start=2026-12-01T00:00:00&end=2100-01-01T00:00:00";

/// Snag with the captures of `groups` replayed into project `captures` (id 1), and a token.
async fn app_with_captures(groups: &[&str]) -> (TestApp, String) {
    let app = spawn_app().await;
    app.project("captures", ProjectId(1), "publickey").await;
    for group in groups {
        for capture in load(group) {
            let response = replay_accepted(&app, &capture).await;
            assert_eq!(
                response.header("x-sentry-rate-limits"),
                None,
                "{}",
                capture.name
            );
        }
    }
    let token = full_token(&app).await;
    (app, token)
}

/// An envelope of one log item holding `lines` (each `{"timestamp", "trace_id", "level",
/// "body", "attributes"}` as the SDKs write them).
pub(crate) fn log_item_envelope(lines: &[Value]) -> Vec<u8> {
    let header = json!({"type": "log", "item_count": lines.len(),
                        "content_type": "application/vnd.sentry.items.log+json"});
    format!("{{}}\n{header}\n{}\n", json!({ "items": lines })).into_bytes()
}

/// A line logged `ago_ms` before now, with string attributes.
pub(crate) fn log_line(
    ago_ms: i64,
    trace: &str,
    level: &str,
    body: &str,
    attributes: &[(&str, &str)],
) -> Value {
    let attributes: serde_json::Map<String, Value> = attributes
        .iter()
        .map(|(k, v)| (k.to_string(), json!({"value": v, "type": "string"})))
        .collect();
    json!({"timestamp": (snag::store::now_ms() - ago_ms) as f64 / 1000.0, "trace_id": trace,
           "level": level, "body": body, "attributes": attributes})
}

async fn logs(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    let query = query.replace(' ', "%20");
    let path = format!("/api/0/organizations/snag/events/?dataset=logs&{query}");
    call(app, "GET", &path, Some(token), "").await
}

fn column<'a>(body: &'a Value, field: &str) -> Vec<&'a Value> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {body}"))
        .iter()
        .map(|row| &row[field])
        .collect()
}

#[tokio::test]
async fn captured_log_lines_are_stored_and_found_as_sentry_finds_them() {
    let (app, token) = app_with_captures(&["python-logs", "node-logs"]).await;
    let fields = "field=sentry.item_id&field=trace&field=severity&field=timestamp&field=timestamp_precise&field=message&field=logger.name";
    // Every line, newest first: 2 + 4 + 1 + 150 Python lines and 3 Node lines.
    let (status, all) = logs(&app, &token, &format!("{fields}&{CAPTURED}&per_page=1000")).await;
    assert_eq!(status, 200, "{all}");
    let stamps: Vec<i64> = column(&all, "timestamp_precise")
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(stamps.len() > 150, "{} lines", stamps.len());
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let ids: std::collections::HashSet<&str> = column(&all, "sentry.item_id")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), stamps.len(), "ids are unique");
    assert_eq!(all["meta"]["dataset"], "logs");
    assert_eq!(all["meta"]["fields"]["timestamp_precise"], "integer");
    assert!(
        column(&all, "timestamp")[0]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );

    // Free text and level, as the Logs page and the MCP server ask.
    let (_, found) = logs(
        &app,
        &token,
        &format!("{fields}&{CAPTURED}&query=severity:[warn,error] stock"),
    )
    .await;
    let messages: Vec<&str> = column(&found, "message")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(messages, ["low stock", "stock low for SKU A-1"], "{found}");
    // An attribute, by its name as sent.
    let (_, orders) = logs(
        &app,
        &token,
        &format!("{fields}&{CAPTURED}&query=logger.name:shop.orders order"),
    )
    .await;
    assert!(
        column(&orders, "message")
            .iter()
            .any(|m| m.as_str() == Some("order 42 created for alice")),
        "{orders}"
    );
    assert!(
        column(&orders, "logger.name")
            .iter()
            .all(|l| l.as_str() == Some("shop.orders"))
    );
    // A message parameter, by Sentry's short name, and Node's typed attributes.
    let (_, paid) = logs(
        &app,
        &token,
        &format!(
            "field=message&field=message.parameter.0&{CAPTURED}&query=message.parameter.0:1001 paid"
        ),
    )
    .await;
    assert_eq!(
        column(&paid, "message"),
        [&json!("order 1001 paid")],
        "{paid}"
    );
    assert_eq!(column(&paid, "message.parameter.0"), [&json!(1001)]);

    // Counts per severity.
    let (status, counts) = logs(
        &app,
        &token,
        &format!("field=severity&field=count()&{CAPTURED}&query=project:captures"),
    )
    .await;
    assert_eq!(status, 200, "{counts}");
    let total: i64 = column(&counts, "count()")
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(total as usize, stamps.len());
    assert_eq!(counts["meta"]["dataScanned"], "full");

    // The lines of the trace of the error that `logging.exception` reported.
    let trace = "5c9a1c24191a40d486d2cf547bb59096";
    let (status, traced) = call(
        &app,
        "GET",
        &format!("/api/0/organizations/snag/trace-logs/?traceId={trace}&sort=timestamp"),
        Some(&token),
        "",
    )
    .await;
    assert_eq!(status, 200, "{traced}");
    assert!(!column(&traced, "message").is_empty(), "{traced}");
    assert!(column(&traced, "trace").iter().all(|t| *t == trace));

    // Paging: the Link header's next cursor.
    let (_, first) = logs(
        &app,
        &token,
        &format!("field=message&{CAPTURED}&per_page=2"),
    )
    .await;
    let (_, second) = logs(
        &app,
        &token,
        &format!("field=message&{CAPTURED}&per_page=2&cursor=0:2:0"),
    )
    .await;
    assert_eq!(column(&first, "message").len(), 2);
    assert_eq!(column(&second, "message")[0], column(&all, "message")[2]);
    app.stop().await;
}

#[tokio::test]
async fn bad_log_items_and_bad_log_searches_say_why() {
    let (app, token) = app_with_captures(&[]).await;
    let item = |header: Value, payload: &str| format!("{{}}\n{header}\n{payload}\n").into_bytes();
    let line = r#"{"timestamp":1796360983.7,"trace_id":"49aed8c636be4695a77c5b93beee44fd","level":"info","body":"hi"}"#;
    for (body, says) in [
        (
            item(
                json!({"type":"log","item_count":2,"content_type":"application/vnd.sentry.items.log+json"}),
                &format!(r#"{{"items":[{line}]}}"#),
            ),
            "item_count 2",
        ),
        (
            item(
                json!({"type":"log","item_count":1,"content_type":"application/json"}),
                &format!(r#"{{"items":[{line}]}}"#),
            ),
            "content_type",
        ),
        (
            item(json!({"type":"log","item_count":1}), r#"{"items":"no"}"#),
            "not a",
        ),
    ] {
        let r = post_envelope(&app, 1, "publickey", &body).await;
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.contains(says), "{detail}");
    }
    // A line without a trace id goes alone; the good one is stored.
    let mixed = item(
        json!({"type":"log","item_count":2,"content_type":"application/vnd.sentry.items.log+json"}),
        &format!(
            r#"{{"items":[{line},{{"timestamp":1796360983.8,"level":"info","body":"no trace"}}]}}"#
        ),
    );
    assert_eq!(
        post_envelope(&app, 1, "publickey", &mixed).await.status,
        200
    );
    let (_, found) = logs(&app, &token, &format!("field=message&{CAPTURED}")).await;
    assert_eq!(column(&found, "message"), [&json!("hi")]);
    // A thousand lines of words no other line has: stored (in several blocks, each of whose
    // words fit PostgreSQL's tsvector) and found by the last line's last word.
    let distinct: Vec<Value> = (0..1000)
        .map(|n| {
            let words: Vec<String> = (0..100).map(|w| format!("w{n}x{w}")).collect();
            log_line(
                0,
                "49aed8c636be4695a77c5b93beee44fd",
                "info",
                &words.join(" "),
                &[],
            )
        })
        .collect();
    let r = post_envelope(&app, 1, "publickey", &log_item_envelope(&distinct)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let (_, found) = logs(&app, &token, "field=message&statsPeriod=1h&query=w999x99").await;
    assert_eq!(column(&found, "message").len(), 1, "{found}");

    for (query, says) in [
        ("field=message&query=severity:loud", "unknown severity"),
        ("field=message&per_page=0", "Must be between 1 and 9999"),
        ("field=p99(x)", "unknown function"),
        ("field=message&sort=message", "sort by timestamp"),
        ("field=message&query=project:nope", "no project"),
        ("field=message&query=logger.name:[]", "lists no value"),
        ("field=message&statsPeriod=soon", ""),
    ] {
        let (status, body) = logs(&app, &token, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(says), "{query}: {detail}");
    }
    let (status, _) = call(
        &app,
        "GET",
        "/api/0/organizations/snag/trace-logs/?traceId=xyz",
        Some(&token),
        "",
    )
    .await;
    assert_eq!(status, 400);
    app.stop().await;
}

/// Runs a driver of tests/e2e with the DSN; what it printed, as JSON.
async fn drive(program: String, script: &str, dsn: &str) -> Value {
    let script = format!("{}/tests/e2e/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new(program)
        .args([script.as_str(), dsn])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits until the lines of `trace` (sent after their error) are stored.
async fn wait_for_lines(app: &TestApp, token: &str, trace: &str, at_least: usize) -> Value {
    for _ in 0..100 {
        let (_, found) = logs(
            app,
            token,
            &format!("field=message&field=severity&field=logger.name&field=sentry.environment&per_page=100&statsPeriod=1h&query=trace:{trace}"),
        )
        .await;
        if found["data"]
            .as_array()
            .is_some_and(|d| d.len() >= at_least)
        {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the lines of trace {trace} never came");
}

#[tokio::test]
async fn the_python_and_node_sdks_lines_are_stored_searched_shown_beside_their_error_and_listed_by_sentry_cli()
 {
    let app =
        crate::helpers::spawn_app_with(|c| c.metrics_token = Some("metrics-secret".into())).await;
    app.project("shop", ProjectId(3), "shopkey").await;
    let token = full_token(&app).await;
    let dsn = format!("http://shopkey@127.0.0.1:{}/3", app.port);

    // Python: four `logging`/`sentry_sdk.logger` lines, a hostile one, and the exception's.
    let python = drive(crate::python_sdk::python(), "python_logs.py", &dsn).await;
    let trace = python["trace_id"].as_str().unwrap().to_owned();
    let found = wait_for_lines(&app, &token, &trace, 5).await;
    let messages: Vec<&str> = column(&found, "message")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for expected in [
        "cart 7 opened by alice",
        "payment slow: 1234 ms",
        "order 42 paid",
        "checkout of order 42 failed",
    ] {
        assert!(messages.contains(&expected), "{expected} in {messages:?}");
    }
    assert!(!messages.iter().any(|m| m.contains("below INFO")));
    assert!(
        column(&found, "sentry.environment")
            .iter()
            .all(|e| e.as_str() == Some("production"))
    );
    // Found by a word and a level, and by the logger.
    let (_, slow) = logs(
        &app,
        &token,
        "field=message&statsPeriod=1h&query=severity:warn slow logger.name:shop.checkout",
    )
    .await;
    assert_eq!(column(&slow, "message"), [&json!("payment slow: 1234 ms")]);

    // Node: three lines and an error of one trace.
    let node = drive("node".into(), "node_logs.js", &dsn).await;
    let node_trace = node["trace_id"].as_str().unwrap().to_owned();
    let found = wait_for_lines(&app, &token, &node_trace, 3).await;
    assert_eq!(
        column(&found, "message"),
        [
            &json!("charge for order 1001 declined"),
            &json!("inventory low"),
            &json!("order 1001 received")
        ]
    );
    let (_, declined) = logs(
        &app,
        &token,
        "field=message&field=reason&statsPeriod=1h&query=reason:card_declined",
    )
    .await;
    assert_eq!(column(&declined, "reason"), [&json!("card_declined")]);

    // The issue page of the Python exception shows its trace's lines; hostile ones dead.
    let event = app
        .store
        .get_event(ProjectId(3), python["event_id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("the exception was stored");
    let browser = crate::web::Browser::new(&app);
    app.store
        .create_user("oncall@example.com", crate::web::PASSWORD, true)
        .await
        .unwrap();
    browser.sign_in("oncall@example.com").await;
    let page = browser.html(&format!("/issues/{}", event.issue_id)).await;
    assert!(page.contains("Logs of this trace"), "{page}");
    for line in [
        "cart 7 opened by alice",
        "order 42 paid",
        "checkout of order 42 failed",
    ] {
        assert!(page.contains(line), "{line} on the issue page");
    }
    assert!(page.contains("event-after"), "the event's place is marked");
    for page in [page, browser.html("/logs?period=1h&query=odd").await] {
        assert!(
            page.contains("&#60;script&#62;alert("),
            "escaped body: {page}"
        );
        assert!(
            page.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "escaped key"
        );
        assert!(
            page.contains("&#60;b&#62;bold&#60;/b&#62;"),
            "escaped value"
        );
        assert!(!page.contains("<script>alert") && !page.contains("<img src=x"));
    }
    // The Logs page: filters, and a line's links.
    let page = browser
        .html("/logs?period=1h&level=warn&environment=production&logger=shop.checkout")
        .await;
    assert!(page.contains("payment slow: 1234 ms"), "{page}");
    assert!(!page.contains("cart 7 opened by alice"));
    assert!(
        page.contains(&format!("trace%3A{trace}")),
        "a link to the trace's lines"
    );

    // sentry-cli logs list, as a team runs it.
    let (ok, out) = crate::rest::cli_outcome(
        &app,
        &token,
        &["logs", "list", "--project", "shop", "--max-rows", "50"],
    )
    .await;
    assert!(ok, "{out}");
    for line in [
        "cart 7 opened by alice",
        "inventory low",
        "charge for order 1001 declined",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }
    let (ok, out) = crate::rest::cli_outcome(
        &app,
        &token,
        &[
            "logs",
            "list",
            "--project",
            "shop",
            "--query",
            "severity:error",
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("checkout of order 42 failed") && !out.contains("inventory low"),
        "{out}"
    );

    // The npm `sentry` CLI: a project's lines as JSON, and a trace's lines.
    let (ok, out) = crate::new_cli::run(
        &app,
        &token,
        &[
            "log",
            "list",
            "snag/shop",
            "--json",
            "-q",
            "severity:error",
            "--period",
            "1h",
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("charge for order 1001 declined") && !out.contains("inventory low"),
        "{out}"
    );
    let trace_target = format!("snag/{node_trace}");
    let (ok, out) =
        crate::new_cli::run(&app, &token, &["log", "list", &trace_target, "--json"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("order 1001 received") && !out.contains("cart 7 opened"),
        "{out}"
    );
    // /metrics: lines per level, and per project and level.
    let metrics = app.metrics("metrics-secret").await;
    for line in [
        "snag_log_lines_total{level=\"error\"} 2",
        "snag_project_log_lines_total{project=\"3\",level=\"warn\"} 3",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_flood_of_log_envelopes_meets_the_keys_rate_limit_and_nothing_over_it_is_stored() {
    let app = spawn_app().await;
    app.project("flood", ProjectId(1), "publickey").await;
    app.limit_key("publickey", 2, 3600).await;
    let trace = "0123456789abcdef0123456789abcdef";
    let mut statuses = Vec::new();
    for n in 0..4 {
        let lines: Vec<Value> = (0..10)
            .map(|i| log_line(0, trace, "info", &format!("flood {n} line {i}"), &[]))
            .collect();
        let r = post_envelope(&app, 1, "publickey", &log_item_envelope(&lines)).await;
        statuses.push(r.status);
        if r.status == 429 {
            let limits = r.header("x-sentry-rate-limits").unwrap_or_default();
            assert!(
                limits.contains(":log_item;log_byte:key:key_quota"),
                "{limits}"
            );
        }
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
    assert_eq!(app.store.log_usage().await.unwrap().lines, 20);
    app.stop().await;
}
