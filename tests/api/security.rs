//! Browser security reports on `/api/{project}/security/` (and `/csp-report/`): stored as
//! events with Relay's titles and tags, grouped as Sentry groups them; bad bodies refused.

use serde_json::{Value, json};
use snag::store::{ProjectId, StoredIssue};

use crate::helpers::{RawResponse, TestApp, send_raw, spawn_app};

pub async fn post_report(
    app: &TestApp,
    target: &str,
    content_type: &str,
    body: &[u8],
) -> RawResponse {
    let headers = vec![
        ("Content-Type".to_owned(), content_type.to_owned()),
        (
            "User-Agent".to_owned(),
            "Mozilla/5.0 TestBrowser/1".to_owned(),
        ),
        ("Origin".to_owned(), "https://shop.example".to_owned()),
    ];
    send_raw(app.port, "POST", target, &headers, body, false).await
}

/// The project's issues, and for each its latest event's JSON.
pub async fn issues_with_events(app: &TestApp) -> Vec<(StoredIssue, Value)> {
    let mut out = Vec::new();
    for issue in app.store.list_issues(ProjectId(1)).await.unwrap() {
        let events = app.store.list_issue_events(issue.id, 10).await.unwrap();
        let event = app
            .store
            .get_event(ProjectId(1), &events[0].event_id)
            .await
            .unwrap()
            .unwrap();
        out.push((issue, event.json().unwrap()));
    }
    out
}

fn csp_body(blocked: &str, document: &str) -> Vec<u8> {
    json!({"csp-report": {
        "document-uri": document, "referrer": "https://search.example/",
        "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
        "original-policy": "script-src 'self'; report-uri /api/1/security/?sentry_key=publickey",
        "disposition": "enforce", "blocked-uri": blocked, "status-code": 200
    }})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn csp_reports_become_grouped_csp_events() {
    let app = spawn_app().await;
    app.project("shop", ProjectId(1), "publickey").await;
    let target = "/api/1/security/?sentry_key=publickey&sentry_release=shop%401.2&sentry_environment=production";
    for (blocked, page) in [
        ("https://evil.example/a.js", "https://shop.example/one"),
        ("https://evil.example/b.js?v=2", "https://shop.example/two"),
    ] {
        let response = post_report(
            &app,
            target,
            "application/csp-report",
            &csp_body(blocked, page),
        )
        .await;
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        assert!(response.body.is_empty());
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    }
    // The legacy path, another host: another issue.
    let response = post_report(
        &app,
        "/api/1/csp-report/?sentry_key=publickey",
        "application/csp-report",
        &csp_body(
            "https://cdn.other.example/x.js",
            "https://shop.example/three",
        ),
    )
    .await;
    assert_eq!(response.status, 200);

    let issues = issues_with_events(&app).await;
    assert_eq!(issues.len(), 2, "{issues:#?}");
    let (issue, event) = issues
        .iter()
        .find(|(i, _)| i.title == "Blocked 'script' from 'evil.example'")
        .expect("the evil.example issue");
    assert_eq!(issue.times_seen, 2);
    assert_eq!(issue.culprit, "script-src-elem");
    assert_eq!(issue.issue_type, "csp");
    let metadata: Value = serde_json::from_str(&issue.metadata).unwrap();
    assert_eq!(metadata["uri"], "evil.example");
    assert_eq!(metadata["directive"], "script-src-elem");
    assert_eq!(event["type"], "csp");
    assert_eq!(event["logger"], "csp");
    assert_eq!(event["release"], "shop@1.2");
    assert_eq!(event["environment"], "production");
    assert_eq!(event["request"]["url"], "https://shop.example/two");
    let headers = event["request"]["headers"].to_string();
    assert!(headers.contains("Mozilla/5.0 TestBrowser/1"), "{headers}");
    assert!(
        headers.contains("\"Referer\",\"https://search.example/\""),
        "{headers}"
    );
    assert!(
        headers.contains("\"Origin\",\"https://shop.example\""),
        "{headers}"
    );
    assert_eq!(event["csp"]["blocked_uri"], "https://evil.example/b.js?v=2");
    assert_eq!(event["user"]["ip_address"], "127.0.0.1");
    let tags: Vec<(String, String)> = app
        .store
        .issue_tags(issue.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    for expected in [
        ("effective-directive", "script-src-elem"),
        ("blocked-uri", "https://evil.example/a.js"),
        ("blocked-uri", "https://evil.example/b.js?v=2"),
        ("blocked-host", "evil.example"),
        ("environment", "production"),
        ("release", "shop@1.2"),
        ("url", "https://shop.example/one"),
    ] {
        assert!(
            tags.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "no tag {expected:?} in {tags:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_reporting_api_batch_stores_each_csp_violation() {
    let app = spawn_app().await;
    app.project("shop", ProjectId(1), "publickey").await;
    let violation = |blocked: &str| {
        json!({"type": "csp-violation", "age": 3, "url": "https://shop.example/",
               "user_agent": "Mozilla/5.0",
               "body": {"documentURL": "https://shop.example/", "blockedURL": blocked,
                        "effectiveDirective": "img-src", "disposition": "report",
                        "originalPolicy": "img-src 'self'; report-to csp", "statusCode": 200}})
    };
    let batch = json!([
        violation("https://pixel.example/t.gif"),
        {"type": "deprecation", "age": 1, "url": "https://shop.example/", "body": {"id": "x"}},
        violation("https://pixel.example/u.gif"),
    ]);
    let response = post_report(
        &app,
        "/api/1/security?sentry_key=publickey",
        "application/reports+json",
        batch.to_string().as_bytes(),
    )
    .await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let issues = issues_with_events(&app).await;
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].0.title, "Blocked 'image' from 'pixel.example'");
    assert_eq!(issues[0].0.times_seen, 2);
    assert_eq!(issues[0].1["csp"]["disposition"], "report");
    app.stop().await;
}

#[tokio::test]
async fn certificate_reports_are_stored_too() {
    let app = spawn_app().await;
    app.project("shop", ProjectId(1), "publickey").await;
    let hpkp = json!({"date-time": "2014-04-06T13:00:50Z", "hostname": "www.example.com",
        "port": 443, "include-subdomains": false, "known-pins": ["pin-sha256=\"x\""]});
    let ct = json!({"expect-ct-report": {"hostname": "www.example.com", "port": 443,
        "scts": [{"version": 1, "status": "invalid", "source": "embedded", "serialized_sct": "AB=="}]}});
    let staple = json!({"expect-staple-report": {"hostname": "www.example.com",
        "response-status": "ERROR_RESPONSE", "cert-status": "REVOKED"}});
    for (content_type, body) in [
        ("application/json", hpkp),
        ("application/expect-ct-report+json", ct),
        ("application/expect-staple-report", staple),
    ] {
        let response = post_report(
            &app,
            "/api/1/security/?sentry_key=publickey",
            content_type,
            body.to_string().as_bytes(),
        )
        .await;
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
    }
    let mut issues: Vec<(String, String, String)> = issues_with_events(&app)
        .await
        .into_iter()
        .map(|(i, _)| (i.title, i.culprit, i.issue_type))
        .collect();
    issues.sort();
    assert_eq!(
        issues,
        [
            (
                "Expect-CT failed for 'www.example.com'".into(),
                "www.example.com".into(),
                "expectct".into()
            ),
            (
                "Expect-Staple failed for 'www.example.com'".into(),
                "www.example.com".into(),
                "expectstaple".into()
            ),
            (
                "Public key pinning validation failed for 'www.example.com'".into(),
                "www.example.com".into(),
                "hpkp".into()
            ),
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_reports_get_a_clear_4xx() {
    let app = spawn_app_small_events().await;
    app.project("shop", ProjectId(1), "publickey").await;
    let target = "/api/1/security/?sentry_key=publickey";
    let good = csp_body("https://evil.example/a.js", "https://shop.example/");
    let cases: [(&str, &str, Vec<u8>, u16, &str); 8] = [
        (
            target,
            "text/plain",
            good.clone(),
            415,
            "unsupported content type \"text/plain\"",
        ),
        (
            target,
            "application/csp-report",
            b"{\"csp-report\": ".to_vec(),
            400,
            "invalid JSON data",
        ),
        (
            target,
            "application/csp-report",
            b"  ".to_vec(),
            400,
            "empty request body",
        ),
        (
            target,
            "application/json",
            b"{\"nothing\": 1}".to_vec(),
            400,
            "invalid security report type",
        ),
        (
            target,
            "application/reports+json",
            b"[{\"type\": \"deprecation\", \"body\": {}}]".to_vec(),
            400,
            "unsupported security report type",
        ),
        (
            target,
            "application/csp-report",
            b"{\"csp-report\": {\"blocked-uri\": \"inline\"}}".to_vec(),
            400,
            "invalid security report: no known effective or violated directive",
        ),
        (
            "/api/1/security/",
            "application/csp-report",
            good.clone(),
            401,
            "missing authorization information",
        ),
        (
            target,
            "application/csp-report",
            csp_body(&"x".repeat(3000), "https://shop.example/"),
            413,
            "envelope exceeded size limits for type 'security'",
        ),
    ];
    for (target, content_type, body, status, detail) in cases {
        let response = post_report(&app, target, content_type, &body).await;
        assert_eq!(
            response.status,
            status,
            "{target} {content_type}: {}",
            String::from_utf8_lossy(&response.body)
        );
        assert_eq!(response.json()["detail"], detail, "{target} {content_type}");
    }
    assert!(
        app.store
            .list_issues(ProjectId(1))
            .await
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}

async fn spawn_app_small_events() -> TestApp {
    crate::helpers::spawn_app_with(|config| config.limits.max_event_size = 2048).await
}
