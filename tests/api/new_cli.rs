//! The new `sentry` CLI (npm `sentry`, pinned in tests/e2e/package.json) against a running
//! Snag: its issue commands, as a developer types them, answered from what was sent.

use serde_json::{Value, json};
use snag::store::ProjectId;

use crate::helpers::{TestApp, event_envelope, post_envelope};
use crate::rest::{app_with_issues, error_event};

fn sentry() -> String {
    crate::helpers::npm_tool("sentry", "the sentry CLI")
}

/// Runs `sentry ARGS` for the token; whether it succeeded and what it printed. Its own
/// telemetry and update check are off, and its cache is a fresh folder each time.
pub(crate) async fn run(app: &TestApp, token: &str, args: &[&str]) -> (bool, String) {
    let config = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(sentry())
        .args(args)
        .env("SENTRY_URL", format!("http://127.0.0.1:{}", app.port))
        .env("SENTRY_AUTH_TOKEN", token)
        .env("SENTRY_CONFIG_DIR", config.path())
        .env("SENTRY_CLI_NO_TELEMETRY", "1")
        .env("SENTRY_CLI_NO_UPDATE_CHECK", "1")
        .env("NO_COLOR", "1")
        .env_remove("SENTRY_ORG")
        .env_remove("SENTRY_PROJECT")
        .env_remove("SENTRY_HOST")
        .output()
        .await
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// The issue of the `i`-th error (`missing key {i}`): its short id.
async fn short_id(app: &TestApp, i: usize) -> String {
    let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
    let issue = issues
        .iter()
        .find(|x| x.title.ends_with(&format!("missing key {i}")))
        .unwrap();
    format!("SHOP-{}", issue.short_id)
}

async fn send(app: &TestApp, event: &Value) {
    let r = post_envelope(app, 1, "publickey", &event_envelope(event)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn the_sentry_cli_lists_views_and_resolves_issues() {
    let (app, token) = app_with_issues(2).await;
    // A third issue seen only two days ago, in staging, of release shop@1.0.
    let mut old = error_event(2);
    old["timestamp"] = json!(chrono::Utc::now().timestamp() - 2 * 86_400);
    old["environment"] = json!("staging");
    old["release"] = json!("shop@1.0");
    send(&app, &old).await;
    let (first, second, third) = (
        short_id(&app, 0).await,
        short_id(&app, 1).await,
        short_id(&app, 2).await,
    );
    let list = |period: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let (ok, out) = run(
                app,
                token,
                &["issue", "list", "snag/shop", "-t", period, "--json"],
            )
            .await;
            assert!(ok, "{out}");
            let listed: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            let mut ids: Vec<String> = listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["shortId"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    // The period is a time range: the old issue only in the longer one.
    assert_eq!(list("24h").await, [first.clone(), second.clone()]);
    assert_eq!(
        list("7d").await,
        [first.clone(), second.clone(), third.clone()]
    );

    // An issue by its short id, with its latest event and the event's tags.
    let (ok, out) = run(&app, &token, &["issue", "view", &format!("snag/{first}")]).await;
    assert!(ok, "{out}");
    assert!(out.contains("LookupError: missing key 0"), "{out}");
    assert!(
        out.contains("python") && out.contains("deploy") && out.contains("blue"),
        "{out}"
    );
    let (ok, out) = run(
        &app,
        &token,
        &["issue", "view", &format!("snag/{third}"), "--json"],
    )
    .await;
    assert!(ok, "{out}");
    let viewed: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(viewed["shortId"], third.as_str());
    assert_eq!(viewed["platform"], "python");
    assert_eq!(viewed["event"]["title"], "LookupError: missing key 2");

    // Its events, with a query: the staging event, then none in production.
    let events = |query: &'static str| {
        let (app, token, third) = (&app, &token, &third);
        async move {
            let (ok, out) = run(
                app,
                token,
                &[
                    "issue",
                    "events",
                    &format!("snag/{third}"),
                    "-q",
                    query,
                    "-t",
                    "7d",
                    "--json",
                ],
            )
            .await;
            assert!(ok, "{out}");
            let found: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            found["data"].as_array().unwrap().len()
        }
    };
    assert_eq!(events("environment:staging").await, 1);
    assert_eq!(events("environment:production").await, 0);

    // Resolved now, and resolved in the next release.
    let (ok, out) = run(
        &app,
        &token,
        &["issue", "resolve", &format!("snag/{first}")],
    )
    .await;
    assert!(ok && out.contains("Resolved"), "{out}");
    let (ok, out) = run(
        &app,
        &token,
        &[
            "issue",
            "resolve",
            &format!("snag/{second}"),
            "--in",
            "@next",
        ],
    )
    .await;
    assert!(ok, "{out}");
    let (ok, out) = run(
        &app,
        &token,
        &[
            "issue",
            "resolve",
            &format!("snag/{third}"),
            "--in",
            "shop@1.0",
        ],
    )
    .await;
    assert!(ok, "{out}");
    let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
    let status = |short: &str| {
        let issue = issues
            .iter()
            .find(|i| format!("SHOP-{}", i.short_id) == short)
            .unwrap();
        (
            issue.status.as_str().to_owned(),
            issue.resolved_in_release.clone(),
        )
    };
    assert_eq!(status(&first), ("resolved".to_owned(), None));
    assert_eq!(
        status(&second),
        ("resolved".to_owned(), Some("shop@1.0".to_owned()))
    );
    assert_eq!(
        status(&third),
        ("resolved".to_owned(), Some("shop@1.0".to_owned()))
    );
    // A release that does not exist is refused, and says so.
    let (ok, out) = run(
        &app,
        &token,
        &[
            "issue",
            "resolve",
            &format!("snag/{first}"),
            "--in",
            "shop@9.9",
        ],
    )
    .await;
    assert!(!ok && out.contains("shop@9.9"), "{out}");

    // Seer is not there: said as Sentry says it, not "not found".
    let (ok, out) = run(
        &app,
        &token,
        &["issue", "explain", &format!("snag/{first}")],
    )
    .await;
    assert!(!ok && out.contains("Seer is not enabled"), "{out}");
    app.stop().await;
}
