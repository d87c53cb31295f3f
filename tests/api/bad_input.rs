//! Hostile and malformed input: a clear 4xx with a JSON `detail`, and the server keeps serving.

use serde_json::json;
use snag::store::ProjectId;

use crate::helpers::{
    TestApp, event_envelope, gzip, post_envelope, send_raw, spawn_app, spawn_app_with,
    spawn_sqlite_app_with,
};

fn auth() -> Vec<(String, String)> {
    vec![(
        "X-Sentry-Auth".to_owned(),
        "Sentry sentry_key=goodkey, sentry_version=7".to_owned(),
    )]
}

async fn expect(
    app: &TestApp,
    status: u16,
    body: &[u8],
    extra_headers: &[(&str, &str)],
    detail_contains: &str,
) {
    let mut headers = auth();
    headers.extend(
        extra_headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let response = send_raw(app.port, "POST", "/api/1/envelope/", &headers, body, false).await;
    assert_eq!(
        response.status,
        status,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let detail = response.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let causes = response.json()["causes"].to_string();
    assert!(
        detail.contains(detail_contains) || causes.contains(detail_contains),
        "{detail:?} / {causes} does not mention {detail_contains:?}"
    );
}

async fn still_serving(app: &TestApp) {
    let response = send_raw(app.port, "GET", "/healthz", &[], b"", false).await;
    assert_eq!(response.status, 200);
    let ok = post_envelope(
        app,
        1,
        "goodkey",
        &event_envelope(&json!({"message": "still alive"})),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
}

#[tokio::test]
async fn malformed_bodies_get_400() {
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "goodkey").await;
    expect(&app, 400, b"", &[], "empty request body").await;
    expect(
        &app,
        400,
        b"not json at all\n",
        &[],
        "invalid envelope header",
    )
    .await;
    expect(&app, 400, b"[1,2]\n", &[], "invalid envelope header").await;
    expect(
        &app,
        400,
        b"{}\n{\"length\":2}\n{}",
        &[],
        "missing item type",
    )
    .await;
    expect(
        &app,
        400,
        b"{}\n{\"type\":\"event\",\"length\":100}\n{}",
        &[],
        "shorter than its length",
    )
    .await;
    expect(
        &app,
        400,
        b"{}\n{\"type\":\"event\",\"length\":1}\n{}",
        &[],
        "not followed by a newline",
    )
    .await;
    expect(
        &app,
        400,
        b"{}\n{\"type\":\"event\"}\n{\"message\": ",
        &[],
        "invalid JSON data",
    )
    .await;
    expect(
        &app,
        400,
        b"{}\n{\"type\":\"event\"}\n[\"an array\"]",
        &[],
        "not a JSON object",
    )
    .await;
    // Invalid UTF-8 inside a JSON string.
    expect(
        &app,
        400,
        b"{}\n{\"type\":\"event\"}\n{\"message\":\"\xff\xfe\"}",
        &[],
        "invalid JSON data",
    )
    .await;
    // 100,000 nested arrays: refused by the parser's depth limit, not by a stack overflow.
    let deep = format!(
        "{{}}\n{{\"type\":\"event\"}}\n{{\"extra\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    expect(&app, 400, deep.as_bytes(), &[], "recursion limit").await;
    expect(
        &app,
        400,
        b"{}",
        &[("Content-Encoding", "gzip")],
        "invalid gzip body",
    )
    .await;
    let truncated = gzip(&event_envelope(&json!({"message": "x".repeat(5000)})));
    expect(
        &app,
        400,
        &truncated[..truncated.len() / 2],
        &[("Content-Encoding", "gzip")],
        "invalid gzip body",
    )
    .await;
    expect(
        &app,
        400,
        b"{}",
        &[("Content-Encoding", "compress")],
        "unsupported content encoding",
    )
    .await;
    expect(
        &app,
        400,
        b"{}\n{\"type\":\"user_report\"}\n{\"name\":\"x\"}",
        &[],
        "without comments",
    )
    .await;
    expect(
        &app,
        400,
        b"{}\n{\"type\":\"attachment\"}\nbytes",
        &[],
        "attachment without an event_id",
    )
    .await;
    still_serving(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn oversized_input_gets_413_even_when_compressed() {
    let app = spawn_app_with(|c| c.limits.max_envelope_size = 4 << 20).await;
    app.project("p", ProjectId(1), "goodkey").await;
    // An event above 1 MiB.
    let big = event_envelope(&json!({"message": "x".repeat(1_100_000)}));
    expect(&app, 413, &big, &[], "'event'").await;
    // The same event gzipped is small on the wire, but its size counts after decompression.
    expect(
        &app,
        413,
        &gzip(&big),
        &[("Content-Encoding", "gzip")],
        "'event'",
    )
    .await;
    // A decompression bomb: 64 MiB of zeros in ~64 KiB of gzip.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    expect(
        &app,
        413,
        &bomb,
        &[("Content-Encoding", "gzip")],
        "'envelope'",
    )
    .await;
    // More attachment items than one envelope may store.
    let mut many = b"{\"event_id\":\"ffffffffffffffffffffffffffffffff\"}\n".to_vec();
    for _ in 0..101 {
        many.extend_from_slice(b"{\"type\":\"attachment\",\"length\":1}\nx\n");
    }
    expect(&app, 413, &many, &[], "'attachment'").await;
    // A raw body above the envelope limit.
    expect(&app, 413, &vec![b' '; 5 << 20], &[], "'envelope'").await;
    still_serving(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn bad_credentials_get_401_or_403() {
    let app = spawn_app().await;
    app.project("p", ProjectId(1), "goodkey").await;
    app.project("q", ProjectId(2), "otherkey").await;
    app.store
        .create_project(&snag::store::projects::NewProject {
            name: "r".into(),
            id: Some(ProjectId(3)),
            public_key: Some("offkey".into()),
        })
        .await
        .unwrap();
    assert!(app.store.set_key_active("offkey", false).await.unwrap());
    let body = event_envelope(&json!({"message": "hi"}));
    /// (path, headers, expected status, expected detail)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: [Case; 7] = [
        (
            "/api/1/envelope/",
            vec![],
            401,
            "missing authorization information",
        ),
        (
            "/api/1/envelope/",
            vec![("X-Sentry-Auth", "Sentry sentry_key=nosuchkey")],
            401,
            "unknown public key",
        ),
        (
            "/api/1/envelope/",
            vec![("X-Sentry-Auth", "Sentry sentry_key=otherkey")],
            403,
            "ProjectId",
        ),
        (
            "/api/3/envelope/",
            vec![("X-Sentry-Auth", "Sentry sentry_key=offkey")],
            403,
            "DisabledKey",
        ),
        (
            "/api/1/envelope/",
            vec![("X-Sentry-Auth", "Bearer abc")],
            401,
            "bad x-sentry-auth header",
        ),
        (
            "/api/1/envelope/?sentry_key=otherkey",
            vec![("X-Sentry-Auth", "Sentry sentry_key=goodkey")],
            401,
            "multiple",
        ),
        (
            "/api/abc/envelope/",
            vec![("X-Sentry-Auth", "Sentry sentry_key=goodkey")],
            400,
            "invalid project id",
        ),
    ];
    for (path, headers, status, detail) in cases {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let response = send_raw(app.port, "POST", path, &headers, &body, false).await;
        assert_eq!(response.status, status, "{path} {headers:?}");
        assert!(
            response.json()["detail"].as_str().unwrap().contains(detail),
            "{path}: {}",
            response.json()
        );
    }
    // The store endpoint checks the same way.
    let response = send_raw(app.port, "POST", "/api/1/store/", &[], b"{}", false).await;
    assert_eq!(response.status, 401);
    assert!(app.store.event_ids(ProjectId(1)).await.unwrap().is_empty());
    still_serving(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_full_write_queue_answers_429_with_retry_headers_and_loses_nothing() {
    // SQLite's write lock is what holds the writer up.
    let app = spawn_sqlite_app_with(|c| {
        c.limits.queue_size = 2;
        c.limits.max_batch = 1;
    })
    .await;
    app.project("p", ProjectId(1), "goodkey").await;
    // Hold SQLite's write lock so the writer cannot commit and its queue fills up.
    let mut blocker = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let mut requests = Vec::new();
    for i in 0..12 {
        let port = app.port;
        requests.push(tokio::spawn(async move {
            let body = event_envelope(&json!({"message": format!("queued {i}")}));
            let headers = auth();
            send_raw(port, "POST", "/api/1/envelope/", &headers, &body, false).await
        }));
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    let mut accepted = Vec::new();
    let mut throttled = 0;
    for r in requests {
        let response = r.await.unwrap();
        match response.status {
            200 => accepted.push(response.json()["id"].as_str().unwrap().to_owned()),
            429 => {
                throttled += 1;
                assert_eq!(response.header("retry-after"), Some("1"));
                assert_eq!(
                    response.header("x-sentry-rate-limits"),
                    Some("1::organization:overloaded")
                );
                assert_eq!(response.json()["detail"], "the service is overloaded");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(throttled >= 1, "the queue never filled");
    assert!(
        !accepted.is_empty(),
        "nothing was accepted once the lock was released"
    );
    let stored = app.store.event_ids(ProjectId(1)).await.unwrap();
    for id in &accepted {
        assert!(stored.contains(id), "acknowledged event {id} is missing");
    }
    assert_eq!(
        stored.len(),
        accepted.len(),
        "throttled events must not be stored"
    );
    app.stop().await;
}

#[tokio::test]
async fn cors_preflight_and_unknown_routes() {
    let app = spawn_app().await;
    let response = send_raw(
        app.port,
        "OPTIONS",
        "/api/1/envelope/",
        &[("Origin".into(), "http://example.com".into())],
        b"",
        false,
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert!(
        response
            .header("access-control-allow-headers")
            .unwrap()
            .contains("x-sentry-auth")
    );
    assert!(
        response
            .header("access-control-expose-headers")
            .unwrap()
            .contains("x-sentry-rate-limits")
    );
    let metrics = send_raw(app.port, "GET", "/metrics", &[], b"", false).await;
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("# TYPE snag_writer_commit_seconds_total counter"),
        "{text}"
    );
    let response = send_raw(app.port, "GET", "/nope", &[], b"", false).await;
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["detail"], "not found");
    app.stop().await;
}

use sqlx::Connection;
