//! Structured logs: the captured traffic of the Python and Node SDKs replayed, then found
//! through Sentry's logs dataset (`events/?dataset=logs`), `trace-logs/` and `/metrics`; bad
//! log items refused with their reason.

use serde_json::{Value, json};
use snag::store::ProjectId;

use crate::helpers::{TestApp, post_envelope, spawn_app};
use crate::replay::{load, replay};
use crate::rest::{call, full_token};

/// The captures' lines were logged on 2026-12-04 around 05:09 UTC.
const CAPTURED: &str = "start=2026-12-04T00:00:00&end=2026-12-05T00:00:00";

/// Snag with the captures of `groups` replayed into project `captures` (id 1), and a token.
async fn app_with_captures(groups: &[&str]) -> (TestApp, String) {
    let app = spawn_app().await;
    app.project("captures", ProjectId(1), "publickey").await;
    for group in groups {
        for capture in load(group) {
            let response = replay(&app, &capture).await;
            assert_eq!(
                response.status,
                200,
                "{}: {}",
                capture.name,
                String::from_utf8_lossy(&response.body)
            );
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

    for (query, says) in [
        ("field=message&query=severity:loud", "unknown severity"),
        ("field=message&per_page=0", "Must be between 1 and 9999"),
        ("field=p99(x)", "unknown function"),
        ("field=message&sort=message", "sort by timestamp"),
        ("field=message&query=project:nope", "no project"),
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
