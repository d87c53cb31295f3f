//! Replays every request captured from real SDKs (tests/fixtures/sdk) against a real Snag.

use base64::Engine;
use serde_json::Value;
use snag::store::ProjectId;

use crate::helpers::{TestApp, fixtures_dir, send_raw, spawn_app};

/// One captured request.
pub(crate) struct Capture {
    pub name: String,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunked: bool,
    /// The envelope header's event id, or the store body's.
    event_id: Option<String>,
    /// (item type, item headers) of each item the capture tool parsed.
    items: Vec<(String, Value)>,
}

pub(crate) fn load(group: &str) -> Vec<Capture> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures_dir().join(group))
        .unwrap_or_else(|e| panic!("fixtures {group}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let raw: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let headers: Vec<(String, String)> = raw["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_owned(),
                        h[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let chunked = headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
            let headers = headers
                .into_iter()
                .filter(|(k, _)| {
                    !["host", "content-length", "transfer-encoding", "connection"]
                        .contains(&k.to_ascii_lowercase().as_str())
                })
                .collect();
            let envelope = &raw["envelope"];
            let event_id = envelope["header"]["event_id"]
                .as_str()
                .map(|s| s.replace('-', ""));
            let items = envelope["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|i| {
                            (
                                i["headers"]["type"].as_str().unwrap_or("").to_owned(),
                                i["headers"].clone(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Capture {
                name: format!("{group}/{}", path.file_name().unwrap().to_string_lossy()),
                method: raw["method"].as_str().unwrap_or("POST").to_owned(),
                path: raw["path"].as_str().unwrap().to_owned(),
                query: raw["query"].as_str().unwrap_or("").to_owned(),
                headers,
                body: base64::engine::general_purpose::STANDARD
                    .decode(raw["body_b64"].as_str().unwrap())
                    .unwrap(),
                chunked,
                event_id,
                items,
            }
        })
        .collect()
}

pub(crate) async fn replay(app: &TestApp, capture: &Capture) -> crate::helpers::RawResponse {
    // The browser tunnel posted to the capture server's own /tunnel; Snag takes the same body
    // on the envelope endpoint of the DSN's project (as Relay does).
    let path = if capture.path == "/tunnel" {
        "/api/1/envelope/"
    } else {
        &capture.path
    };
    let target = if capture.query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", capture.query)
    };
    send_raw(
        app.port,
        &capture.method,
        &target,
        &capture.headers,
        &capture.body,
        capture.chunked,
    )
    .await
}

/// Replays a capture and checks it was accepted (200), saying which and why not.
pub(crate) async fn replay_accepted(
    app: &TestApp,
    capture: &Capture,
) -> crate::helpers::RawResponse {
    let response = replay(app, capture).await;
    assert_eq!(
        response.status,
        200,
        "{}: {}",
        capture.name,
        String::from_utf8_lossy(&response.body)
    );
    response
}

const GROUPS: [&str; 11] = [
    "python",
    "python-sdk1",
    "python-legacy-raven",
    "python-ratelimit",
    "python-unauthorized",
    "node",
    "node-ratelimit",
    "browser",
    "browser-tunnel",
    "rust",
    "sentry-cli",
];

/// Replays every capture of every SDK into `app` (its project 1 has key `publickey`); how
/// many were accepted.
/// The monitors the Python, Node and curl captures check in to without a `monitor_config`,
/// made as their team would make them on the Crons page.
pub async fn create_captured_monitors(app: &TestApp) {
    let schedule = snag::crons::schedule::Schedule::crontab("0 2 * * *").unwrap();
    let config = snag::crons::config::MonitorConfig::with_schedule(schedule);
    for slug in ["nightly-job", "node-nightly", "shell-backup"] {
        app.store
            .create_monitor(ProjectId(1), slug, slug, &config, snag::store::now_ms())
            .await
            .expect("create the captures' monitor");
    }
}

pub async fn replay_all(app: &TestApp) -> usize {
    create_captured_monitors(app).await;
    let mut accepted = 0;
    for group in GROUPS {
        for capture in load(group) {
            accepted += usize::from(replay(app, &capture).await.status == 200);
        }
    }
    accepted
}

#[tokio::test]
async fn every_captured_request_is_accepted_and_its_events_stored() {
    let app = spawn_app().await;
    app.project("captures", ProjectId(1), "publickey").await;
    create_captured_monitors(&app).await;
    let mut expected_events = Vec::new();
    let mut expected_attachments = 0;
    let mut replayed = 0;
    for group in GROUPS {
        for capture in load(group) {
            let response = replay_accepted(&app, &capture).await;
            assert_eq!(
                response.header("access-control-allow-origin"),
                Some("*"),
                "{}",
                capture.name
            );
            let body = response.json();
            if let Some(id) = &capture.event_id {
                // sentry-cli's raw mode sends the nil UUID, which means "none": Snag makes one.
                if id != "00000000000000000000000000000000" {
                    assert_eq!(body["id"].as_str(), Some(id.as_str()), "{}", capture.name);
                }
            }
            let has_event =
                capture.items.iter().any(|(t, _)| t == "event") || capture.path.contains("/store/");
            if has_event {
                let id = body["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: no id in {body}", capture.name));
                expected_events.push((capture.name.clone(), id.to_owned()));
            }
            expected_attachments += capture
                .items
                .iter()
                .filter(|(t, _)| t == "attachment")
                .count();
            replayed += 1;
        }
    }
    assert!(replayed >= 80, "only {replayed} captures replayed");

    for (name, id) in &expected_events {
        let event = app
            .store
            .get_event(ProjectId(1), id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: event {id} not stored"));
        let json = event.json().unwrap();
        assert_eq!(json["event_id"], Value::String(id.clone()), "{name}");
        assert!(
            json["timestamp"].is_f64(),
            "{name}: timestamp {:?}",
            json["timestamp"]
        );
        let issue = app
            .store
            .get_issue(event.issue_id)
            .await
            .unwrap()
            .expect("issue");
        assert!(!issue.title.is_empty(), "{name}: empty title");
        assert!(issue.times_seen >= 1);
    }
    // Every issue's counters agree with its events.
    for issue in app.store.list_issues(ProjectId(1)).await.unwrap() {
        let events = app.store.list_issue_events(issue.id, 1000).await.unwrap();
        assert_eq!(
            issue.times_seen,
            events.len() as i64,
            "issue {}",
            issue.title
        );
        assert_eq!(
            app.store.issue_minute_total(issue.id).await.unwrap(),
            issue.times_seen
        );
    }
    let mut attachments = 0;
    let ids: std::collections::BTreeSet<&String> =
        expected_events.iter().map(|(_, id)| id).collect();
    for id in ids {
        attachments += app
            .store
            .event_attachments(ProjectId(1), id)
            .await
            .unwrap()
            .len();
    }
    assert_eq!(attachments, expected_attachments);
    let reports = app.store.user_reports(ProjectId(1)).await.unwrap();
    assert_eq!(reports.len(), 1, "the node feedback item");
    assert_eq!(reports[0].comments, "It broke!");
    app.stop().await;
}

#[tokio::test]
async fn captured_events_get_the_titles_and_levels_sentry_shows() {
    let app = spawn_app().await;
    app.project("captures", ProjectId(1), "publickey").await;
    create_captured_monitors(&app).await;
    for group in [
        "python",
        "python-legacy-raven",
        "node",
        "rust",
        "sentry-cli",
    ] {
        for capture in load(group) {
            assert_eq!(replay(&app, &capture).await.status, 200, "{}", capture.name);
        }
    }
    let issues: Vec<(String, String, String)> = app
        .store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.title, i.level.to_string(), i.culprit))
        .collect();
    let expect = [
        (
            "DatabaseError: could not load user 1234",
            "error",
            "__main__ in mid_level",
        ),
        ("Failed to process order 1001 for bob", "error", ""),
        (
            "ValueError: legacy client failure",
            "error",
            "__main__ in boom",
        ),
        ("hello from raven 'param'", "error", ""),
        (
            "Error: failed to load config from /etc/app.json",
            "error",
            "loadConfig(node_driver)",
        ),
        (
            "Error: failed to load config from /etc/app.json",
            "fatal",
            "loadConfig(node_driver)",
        ),
        ("Something noteworthy happened in node", "warning", ""),
        (
            "Object captured as exception with keys: code, detail",
            "error",
            "",
        ),
        (
            "OuterError: outer operation failed",
            "error",
            "rustsdk::main",
        ),
        ("Order 1001 failed for bob", "warning", ""),
    ];
    for (title, level, culprit) in expect {
        let wanted = (title.to_owned(), level.to_owned(), culprit.to_owned());
        assert!(
            issues.contains(&wanted),
            "no issue {wanted:?} in {issues:#?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_dsn_with_a_path_prefix_and_a_secret_works() {
    let app = spawn_app().await;
    app.project("prefixed", ProjectId(42), "publickey").await;
    for capture in load("python-dsn-variants") {
        let response = replay(&app, &capture).await;
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        let id = capture.event_id.unwrap();
        assert!(
            app.store
                .get_event(ProjectId(42), &id)
                .await
                .unwrap()
                .is_some()
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn captures_with_an_unknown_key_get_relays_401() {
    let app = spawn_app().await;
    app.project("other", ProjectId(1), "someotherkey").await;
    for capture in load("python-unauthorized")
        .into_iter()
        .chain(load("browser-tunnel"))
    {
        let response = replay(&app, &capture).await;
        assert_eq!(response.status, 401, "{}", capture.name);
        assert_eq!(
            response.json()["detail"],
            "unknown public key",
            "{}",
            capture.name
        );
    }
    assert!(app.store.event_ids(ProjectId(1)).await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn chromiums_csp_reports_become_csp_issues() {
    let app = spawn_app().await;
    app.project("captures", ProjectId(1), "publickey").await;
    for capture in load("browser-csp") {
        let response = replay(&app, &capture).await;
        assert_eq!(response.status, 200, "{}", capture.name);
        assert!(response.body.is_empty(), "{}", capture.name);
    }
    let issues = crate::security::issues_with_events(&app).await;
    let mut seen: Vec<(String, String, String)> = issues
        .iter()
        .map(|(i, _)| (i.title.clone(), i.culprit.clone(), i.issue_type.clone()))
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    // Relay's titles for what Chromium sends: an inline script is `blocked-uri: inline` under
    // `script-src-elem`, which Relay titles by the marker taken for a scheme.
    assert_eq!(
        seen[0],
        (
            "Blocked 'script' from 'inline:'".into(),
            "script-src-elem".into(),
            "csp".into()
        )
    );
    assert!(
        seen[1].0.starts_with("Blocked 'script' from 'localhost:"),
        "{seen:?}"
    );
    for (_, event) in &issues {
        assert_eq!(event["environment"], "capture");
        assert!(
            event["request"]["headers"]
                .to_string()
                .contains("HeadlessChrome/156"),
            "{event}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn captured_check_ins_record_the_runs_of_their_monitors() {
    let app = spawn_app().await;
    app.project("captures", ProjectId(1), "publickey").await;
    create_captured_monitors(&app).await;
    for group in ["python-crons", "sentry-cli-crons", "http-crons"] {
        for capture in load(group) {
            let response = replay(&app, &capture).await;
            let expected = if capture.path.contains("/cron/") {
                202
            } else {
                200
            };
            assert_eq!(
                response.status,
                expected,
                "{}: {}",
                capture.name,
                String::from_utf8_lossy(&response.body)
            );
        }
    }
    let runs = |slug: &'static str| {
        let store = app.store.clone();
        async move {
            let monitor = store
                .monitor(slug)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{slug}"));
            let runs = store.check_ins(monitor.id, 100).await.unwrap();
            let runs: Vec<(String, String, bool)> = runs
                .into_iter()
                .map(|(env, r)| (env, r.status.0.as_str().to_owned(), r.duration.is_some()))
                .collect();
            (monitor, runs)
        }
    };
    let run = |env: &str, status: &str| (env.to_owned(), status.to_owned(), true);
    // The decorator: an ok run, then a run that raised; both upserted the monitor's config.
    let (invoices, invoice_runs) = runs("nightly-invoices").await;
    assert_eq!(
        invoice_runs,
        [run("capture", "error"), run("capture", "ok")]
    );
    assert_eq!(invoices.config.timezone.name(), "Europe/Vienna");
    assert_eq!(invoices.config.checkin_margin, 5);
    assert_eq!(runs("hourly-sync").await.1, [run("capture", "ok")]);
    assert_eq!(
        runs("heartbeat").await.1,
        [("capture".to_owned(), "ok".to_owned(), false)]
    );
    // sentry-cli monitors run: `true`, then `false`.
    let (backup, backup_runs) = runs("backup-db").await;
    assert_eq!(backup_runs, [run("capture", "error"), run("capture", "ok")]);
    assert_eq!(backup.config.max_runtime, 15);
    // curl: in progress and ok in production, then (with a config) in progress and error.
    let (shell, shell_runs) = runs("shell-backup").await;
    assert_eq!(
        shell_runs,
        [run("capture", "error"), run("production", "ok")]
    );
    assert_eq!(shell.config.schedule.describe(), "Every 2 hours");
    // Each error run opened its monitor's issue (threshold 1).
    let titles: std::collections::BTreeSet<String> = app
        .store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.title)
        .collect();
    for slug in ["nightly-invoices", "backup-db", "shell-backup"] {
        assert!(
            titles.contains(&format!("Monitor failure: {slug}")),
            "{titles:?}"
        );
    }
    app.stop().await;
}
