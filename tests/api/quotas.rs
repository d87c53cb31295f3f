//! Quotas as Sentry has them, against a real Snag and the real Python SDK: a key's rate
//! limit, a project's daily cap and attachment cap, and data Snag does not keep.

use snag::store::ProjectId;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, event_envelope, post_envelope, send_raw, spawn_app};
use crate::python_sdk::python;

async fn metrics(app: &TestApp) -> String {
    let r = send_raw(app.port, "GET", "/metrics", &[], b"", false).await;
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The value of one series of `/metrics`, 0 when absent.
fn series(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

async fn api_put(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let (token, _) = app.store.create_token("quotas", &[], None).await.unwrap();
    let r = reqwest::Client::new()
        .put(format!("http://127.0.0.1:{}/api/0{path}", app.port))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn the_python_sdk_backs_off_when_its_key_is_rate_limited() {
    let app = spawn_app().await;
    app.project("limited", ProjectId(1), "limitedkey").await;
    // As Sentry's clients set it: PUT the key with {"rateLimit": {"count", "window"}}.
    let (status, key) = api_put(
        &app,
        "/projects/snag/limited/keys/limitedkey/",
        json!({"rateLimit": {"count": 10, "window": 60}}),
    )
    .await;
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["rateLimit"], json!({"count": 10, "window": 60}));
    // The windows are whole minutes: start early in one, so that all 15 fall in it.
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 40 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    let dsn = format!("http://limitedkey@127.0.0.1:{}/1", app.port);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/rate_limited.py");
    let output = tokio::process::Command::new(python())
        .args([script, &dsn, "15"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let sent: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(sent.len(), 15, "{stderr}");
    // The first ten were stored; the eleventh was answered 429, and the SDK sent nothing
    // more of its kind: Snag saw exactly one refused request.
    let stored = app.store.event_ids(ProjectId(1)).await.unwrap();
    assert_eq!(stored.len(), 10, "{stored:?}");
    assert!(sent[..10].iter().all(|id| stored.contains(id)));
    let text = metrics(&app).await;
    assert_eq!(
        series(&text, "snag_requests_rejected_total{reason=\"key_quota\"}"),
        1,
        "{text}"
    );
    assert_eq!(
        series(&text, "snag_items_rate_limited_total{reason=\"key_quota\"}"),
        1
    );
    // What the SDK was told: Relay's headers, the wait until the minute ends.
    let r = post_envelope(
        &app,
        1,
        "limitedkey",
        &event_envelope(&json!({"message": "more"})),
    )
    .await;
    assert_eq!(r.status, 429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        r.header("x-sentry-rate-limits").unwrap(),
        format!("{retry}:default;error;security:key:key_quota")
    );
    assert!(r.json()["detail"].as_str().unwrap().contains("key_quota"));
    // Lifting the limit lets events in again (within the key cache's 30 s at most).
    let (status, _) = api_put(
        &app,
        "/projects/snag/limited/keys/limitedkey/",
        json!({"rateLimit": null}),
    )
    .await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_project_cap_counts_the_day_and_attachments_past_their_cap_are_dropped() {
    let app = spawn_app().await;
    app.project("capped", ProjectId(1), "cappedkey").await;
    // Two events before the cap is set: they count toward today.
    for n in 0..2 {
        let r = post_envelope(
            &app,
            1,
            "cappedkey",
            &event_envelope(&json!({"message": format!("early {n}")})),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let (status, project) = api_put(
        &app,
        "/projects/snag/capped/",
        json!({"quotas": {"dailyEvents": 3, "attachmentBytes": 100}}),
    )
    .await;
    assert_eq!(status, 200, "{project}");
    assert_eq!(
        project["quotas"],
        json!({"dailyEvents": 3, "attachmentBytes": 100})
    );
    // Bad caps are refused with a reason.
    let (status, bad) = api_put(
        &app,
        "/projects/snag/capped/",
        json!({"quotas": {"dailyEvents": -1}}),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad["detail"].as_str().unwrap().contains("dailyEvents"));
    // A server started now reads today's count back: one event more fits, with an
    // attachment under the cap; then the day is spent.
    let app2 = crate::helpers::spawn_app_on(&app.database_url).await;
    let with_attachment = |n: usize, size: usize| {
        let id = format!("{:032x}", 0xabc0 + n);
        let event = json!({"event_id": id, "message": format!("capped {n}")}).to_string();
        let attachment = "x".repeat(size);
        format!(
            "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{event}\n{{\"type\":\"attachment\",\"length\":{},\"filename\":\"a.txt\"}}\n{attachment}\n",
            event.len(),
            attachment.len()
        )
        .into_bytes()
    };
    let r = post_envelope(&app2, 1, "cappedkey", &with_attachment(1, 60)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-sentry-rate-limits"), None);
    let r = post_envelope(&app2, 1, "cappedkey", &with_attachment(2, 60)).await;
    assert_eq!(r.status, 429);
    let limits = r.header("x-sentry-rate-limits").unwrap();
    assert!(
        limits.ends_with(":default;error;security:project:project_quota"),
        "{limits}"
    );
    assert_eq!(app2.store.event_ids(ProjectId(1)).await.unwrap().len(), 3);
    // Attachments alone, past the attachment cap: refused, and the SDK told for which kind.
    let late = format!(
        "{{\"event_id\":\"{:032x}\"}}\n{{\"type\":\"attachment\",\"length\":60,\"filename\":\"b.txt\"}}\n{}\n",
        0xabc1,
        "y".repeat(60)
    );
    let r = post_envelope(&app2, 1, "cappedkey", late.as_bytes()).await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.header("x-sentry-rate-limits"),
        Some("3600:attachment:project:attachment_quota")
    );
    let usage = app2.store.project_usage().await.unwrap();
    assert_eq!((usage[0].attachments, usage[0].attachment_bytes), (1, 60));
    app2.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn data_snag_does_not_keep_is_held_back_and_what_it_keeps_never_is() {
    let app = spawn_app().await;
    app.project("tracing", ProjectId(1), "tracingkey").await;
    let transaction = json!({"type": "transaction", "transaction": "GET /", "start_timestamp": 1, "timestamp": 2});
    let event = json!({"message": "kept"});
    let body = format!(
        "{{}}\n{{\"type\":\"transaction\"}}\n{transaction}\n{{\"type\":\"profile\"}}\n{{}}\n{{\"type\":\"event\"}}\n{event}\n"
    );
    let r = post_envelope(&app, 1, "tracingkey", body.as_bytes()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-sentry-rate-limits"),
        Some("3600:profile;transaction:organization:not_stored")
    );
    assert_eq!(app.store.event_ids(ProjectId(1)).await.unwrap().len(), 1);
    // An envelope of kept items alone carries no limit.
    let r = post_envelope(
        &app,
        1,
        "tracingkey",
        &event_envelope(&json!({"message": "also kept"})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-sentry-rate-limits"), None);
    app.stop().await;
}
