//! Cron monitors end to end: check-ins by HTTP and envelope upsert monitors and record runs,
//! failures open the monitor's own issue (one email through the real SMTP server), missed and
//! timed-out runs are judged at a time the test chooses, also after a restart, and an ok run
//! resolves the issue.

use serde_json::{Value, json};
use snag::store::{ProjectId, StoredIssue};

use crate::alerts::{SmtpSink, app_mailing_to, free_port};
use crate::helpers::{RawResponse, TestApp, send_raw, spawn_app, spawn_app_on_with};

const MINUTE_MS: i64 = 60_000;

/// An HTTP check-in: `GET` with a query, or `POST` with a JSON body, key in the path.
async fn http_check_in(
    app: &TestApp,
    project: i64,
    path: &str,
    query: &str,
    json_body: Option<&Value>,
) -> RawResponse {
    let target = format!("/api/{project}/cron/{path}{query}");
    match json_body {
        Some(body) => {
            let headers = [("Content-Type".to_owned(), "application/json".to_owned())];
            send_raw(
                app.port,
                "POST",
                &target,
                &headers,
                body.to_string().as_bytes(),
                false,
            )
            .await
        }
        None => send_raw(app.port, "GET", &target, &[], b"", false).await,
    }
}

/// A check-in as the Python SDK sends it, in an envelope.
fn check_in_envelope(check_in: &Value) -> Vec<u8> {
    let payload = check_in.to_string();
    format!(
        "{{\"event_id\":\"{}\"}}\n{{\"type\":\"check_in\",\"length\":{}}}\n{payload}\n",
        uuid::Uuid::new_v4().simple(),
        payload.len()
    )
    .into_bytes()
}

/// The `key` of each object of a JSON list.
fn strings<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    items.iter().filter_map(|item| item[key].as_str()).collect()
}

async fn wait_for_issues(app: &TestApp, project: ProjectId, n: usize) -> Vec<StoredIssue> {
    for _ in 0..100 {
        let issues = app.store.list_issues(project).await.unwrap();
        if issues.len() >= n {
            return issues;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} issues");
}

#[tokio::test]
async fn check_ins_upsert_a_monitor_record_its_runs_and_open_and_resolve_its_issue() {
    let app = spawn_app().await;
    app.project("jobs", ProjectId(5), "jobkey").await;
    let config = json!({"schedule": {"type": "crontab", "value": "0 2 * * *"},
        "timezone": "Europe/Vienna", "checkin_margin": 5, "max_runtime": 60});

    // A shell script: in progress with the config (JSON), then ok by query string.
    let r = http_check_in(
        &app,
        5,
        "nightly-invoices/jobkey/",
        "",
        Some(&json!({
        "status": "in_progress", "monitor_config": config})),
    )
    .await;
    assert_eq!(
        (r.status, r.body.len()),
        (202, 0),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let monitor = app
        .store
        .monitor("nightly-invoices")
        .await
        .unwrap()
        .expect("monitor");
    assert_eq!(monitor.project_id, ProjectId(5));
    assert_eq!(monitor.config.timezone.name(), "Europe/Vienna");
    assert_eq!(
        (monitor.config.checkin_margin, monitor.config.max_runtime),
        (5, 60)
    );
    let r = http_check_in(
        &app,
        5,
        "nightly-invoices/jobkey",
        "?status=ok&duration=1.5",
        None,
    )
    .await;
    assert_eq!(r.status, 202);
    let runs = app.store.check_ins(monitor.id, 10).await.unwrap();
    assert_eq!(runs.len(), 1, "the ok closed the run in progress: {runs:?}");
    assert_eq!(runs[0].0, "production");
    assert_eq!(
        (runs[0].1.status.0.as_str(), runs[0].1.duration),
        ("ok", Some(1500))
    );
    let envs = app.store.monitor_environments(monitor.id).await.unwrap();
    let next = envs[0].next_checkin.expect("a next check-in");
    assert!(next > snag::store::now_ms() && next - snag::store::now_ms() <= 24 * 60 * MINUTE_MS);
    assert_eq!(envs[0].next_checkin_latest, Some(next + 5 * MINUTE_MS));

    // An error run (key by header): the threshold is 1, so the monitor's issue opens.
    let headers = [(
        "X-Sentry-Auth".to_owned(),
        "Sentry sentry_key=jobkey, sentry_version=7".to_owned(),
    )];
    let r = send_raw(
        app.port,
        "GET",
        "/api/5/cron/nightly-invoices/?status=error",
        &headers,
        b"",
        false,
    )
    .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let issues = wait_for_issues(&app, ProjectId(5), 1).await;
    assert_eq!(issues[0].title, "Monitor failure: nightly-invoices");
    assert_eq!(issues[0].culprit, "An error check-in was detected");
    assert_eq!(issues[0].issue_type, "monitor_check_in_failure");

    // The SDK's ok run in an envelope resolves it, and says so.
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let r = crate::helpers::post_envelope(
        &app,
        5,
        "jobkey",
        &check_in_envelope(&json!({
        "type": "check_in", "check_in_id": uuid::Uuid::new_v4().simple().to_string(),
        "monitor_slug": "nightly-invoices", "status": "ok", "duration": 2.0,
        "environment": "production", "release": "jobs@1.0",
        "contexts": {"trace": {"trace_id": trace_id, "span_id": "a1b2c3d4e5f6a7b8"}}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let issue = app.store.get_issue(issues[0].id).await.unwrap().unwrap();
    assert_eq!(issue.status.as_str(), "resolved");
    let activity = app.store.issue_activity(issue.id).await.unwrap();
    assert_eq!(activity[0].kind, "set_resolved");
    assert_eq!(activity[0].data()["monitor"], "nightly-invoices");
    let runs = app.store.check_ins(monitor.id, 10).await.unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| r.1.status.0.as_str())
            .collect::<Vec<_>>(),
        ["ok", "error", "ok"]
    );
    assert_eq!(runs[0].1.trace_id.as_deref(), Some(trace_id.as_str()));
    assert_eq!(runs[0].1.release.as_deref(), Some("jobs@1.0"));

    // An error the run raised, of the same trace, is found by `trace:` (the monitor page's
    // link); another trace's is not.
    for (message, trace) in [
        ("invoice 7 failed", trace_id.clone()),
        ("unrelated", "ab".repeat(16)),
    ] {
        let event = json!({"message": message, "level": "error",
            "contexts": {"trace": {"trace_id": trace, "span_id": "a1b2c3d4e5f6a7b8"}}});
        let r = crate::helpers::post_envelope(
            &app,
            5,
            "jobkey",
            &crate::helpers::event_envelope(&event),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let (token, _) = app.store.create_token("crons", &[], None).await.unwrap();
    let path = format!("/api/0/organizations/snag/issues/?query=is:all%20trace:{trace_id}");
    let (_, found, _) = crate::monitors_api::get(&app, &token, &path).await;
    let titles = strings(&found, "title");
    assert_eq!(titles, ["invoice 7 failed"]);
    app.stop().await;
}

#[tokio::test]
async fn bad_check_ins_get_a_clear_answer_and_change_nothing() {
    let app = spawn_app().await;
    app.project("jobs", ProjectId(5), "jobkey").await;
    app.project("other", ProjectId(6), "otherkey").await;
    let daily = json!({"schedule": {"type": "crontab", "value": "@daily"}});
    let r = http_check_in(
        &app,
        6,
        "taken/otherkey/",
        "",
        Some(&json!({"status": "ok", "monitor_config": daily})),
    )
    .await;
    assert_eq!(r.status, 202);
    for (path, query, body, says) in [
        (
            "unknown/jobkey/",
            "?status=ok",
            None,
            "no monitor \"unknown\"",
        ),
        (
            "new/jobkey/",
            "",
            Some(
                json!({"status": "ok", "monitor_config": {"schedule": {"type": "crontab", "value": "0 0 * *"}}}),
            ),
            "has 4 fields",
        ),
        (
            "new/jobkey/",
            "",
            Some(
                json!({"status": "ok", "monitor_config": {"schedule": "@daily", "timezone": "Mars/Olympus"}}),
            ),
            "does not exist",
        ),
        (
            "new/jobkey/",
            "",
            Some(
                json!({"status": "ok", "monitor_config": {"schedule": {"type": "interval", "value": 0, "unit": "hour"}}}),
            ),
            "out of range",
        ),
        (
            "taken/jobkey/",
            "?status=ok",
            None,
            "belongs to another project",
        ),
        ("taken/jobkey/", "?status=missed", None, "is not one of"),
        (
            "taken/jobkey/",
            "?status=ok&duration=-3",
            None,
            "out of range",
        ),
        (
            "taken/jobkey/",
            "?status=ok&duration=soon",
            None,
            "bad query string",
        ),
        ("taken/jobkey/", "", None, "without ?status="),
        ("!!!/jobkey/", "?status=ok", None, "no letters or digits"),
        (
            "taken/jobkey/",
            "",
            Some(json!({"status": "ok", "check_in_id": "nope"})),
            "not a UUID",
        ),
    ] {
        let r = http_check_in(&app, 5, path, query, body.as_ref()).await;
        assert_eq!(
            r.status,
            400,
            "{path}{query}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.contains(says), "{path}{query}: {detail}");
    }
    let r = http_check_in(&app, 5, "taken/wrongkey/", "?status=ok", None).await;
    assert_eq!(r.status, 401);
    let headers = [(
        "X-Sentry-Auth".to_owned(),
        "Sentry sentry_key=jobkey".to_owned(),
    )];
    let r = send_raw(
        app.port,
        "GET",
        "/api/5/cron/taken/jobkey/?status=ok",
        &headers,
        b"",
        false,
    )
    .await;
    assert_eq!(
        r.status,
        401,
        "two keys: {}",
        String::from_utf8_lossy(&r.body)
    );
    // An envelope with a bad check-in stores nothing of it.
    let r = crate::helpers::post_envelope(
        &app,
        5,
        "jobkey",
        &check_in_envelope(&json!({
        "monitor_slug": "fresh", "status": "ok"})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(app.store.monitor("new").await.unwrap().is_none());
    assert!(app.store.monitor("fresh").await.unwrap().is_none());
    let taken = app.store.monitor("taken").await.unwrap().unwrap();
    assert_eq!(app.store.check_ins(taken.id, 10).await.unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn missed_and_timed_out_runs_open_one_issue_and_one_email_each_across_a_restart() {
    let port = free_port();
    let smtp = SmtpSink::start(port).await;
    let app = app_mailing_to(port).await;
    let hourly = json!({"schedule": {"type": "interval", "value": 1, "unit": "hour"}});
    let r = http_check_in(
        &app,
        3,
        "hourly-sync/shopkey/",
        "",
        Some(&json!({"status": "ok", "monitor_config": hourly})),
    )
    .await;
    assert_eq!(r.status, 202);
    let t0 = snag::store::now_ms();

    // Within the hour and its margin nothing is missed; past it, one run is.
    assert!(
        app.store
            .judge_monitors(t0 + 30 * MINUTE_MS)
            .await
            .unwrap()
            .is_empty()
    );
    let judged = app.store.judge_monitors(t0 + 63 * MINUTE_MS).await.unwrap();
    assert_eq!(judged.len(), 1, "{judged:?}");
    // The server's own cron job writes the issue event the failure owes.
    let issues = wait_for_issues(&app, ProjectId(3), 1).await;
    assert_eq!(issues[0].title, "Monitor failure: hourly-sync");
    assert_eq!(issues[0].culprit, "A missed check-in was detected");
    app.evaluate_alerts().await;
    let mail = smtp.exactly(1).await;
    assert!(
        mail[0]["subject"]
            .as_str()
            .unwrap()
            .contains("Monitor failure: hourly-sync"),
        "{mail:?}"
    );

    // A restart: the same moment is judged again, and nothing is missed twice.
    app.handle.stop(true).await;
    let app2 = spawn_app_on_with(&app.database_url, |c| {
        crate::helpers::alerts_on_demand(c);
        c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
    })
    .await;
    assert!(
        app2.store
            .judge_monitors(t0 + 63 * MINUTE_MS)
            .await
            .unwrap()
            .is_empty()
    );
    let monitor = app2.store.monitor("hourly-sync").await.unwrap().unwrap();
    let runs = app2.store.check_ins(monitor.id, 10).await.unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| r.1.status.0.as_str())
            .collect::<Vec<_>>(),
        ["missed", "ok"]
    );
    assert_eq!(runs[0].1.expected_time, Some(runs[0].1.date_added));

    // A run in progress past its max runtime times out: another monitor, another issue.
    let export = json!({"schedule": {"type": "crontab", "value": "*/5 * * * *"}, "max_runtime": 2});
    let r = http_check_in(
        &app2,
        3,
        "export/shopkey/",
        "",
        Some(&json!({"status": "in_progress", "monitor_config": export})),
    )
    .await;
    assert_eq!(r.status, 202);
    let now = snag::store::now_ms();
    assert!(
        app2.store
            .judge_monitors(now + MINUTE_MS / 2)
            .await
            .unwrap()
            .is_empty()
    );
    let judged = app2
        .store
        .judge_monitors(now + 3 * MINUTE_MS)
        .await
        .unwrap();
    assert!(!judged.is_empty(), "timed out");
    let issues = wait_for_issues(&app2, ProjectId(3), 2).await;
    let timeout = issues
        .iter()
        .find(|i| i.title == "Monitor failure: export")
        .expect("export's issue");
    assert_eq!(timeout.culprit, "A timeout check-in was detected");
    app2.evaluate_alerts().await;
    smtp.exactly(2).await;

    // hourly-sync runs again: its issue is resolved, and no email says anything new.
    let r = http_check_in(&app2, 3, "hourly-sync/shopkey/", "?status=ok", None).await;
    assert_eq!(r.status, 202);
    let sync = issues
        .iter()
        .find(|i| i.title == "Monitor failure: hourly-sync")
        .unwrap();
    let sync = app2.store.get_issue(sync.id).await.unwrap().unwrap();
    assert_eq!(sync.status.as_str(), "resolved");
    app2.evaluate_alerts().await;
    smtp.exactly(2).await;

    // A later miss reopens the same issue: a regression, and its email.
    let judged = app2
        .store
        .judge_monitors(snag::store::now_ms() + 63 * MINUTE_MS)
        .await
        .unwrap();
    assert!(!judged.is_empty());
    for _ in 0..100 {
        let issue = app2.store.get_issue(sync.id).await.unwrap().unwrap();
        if issue.status.as_str() == "unresolved" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app2.store.list_issues(ProjectId(3)).await.unwrap().len(), 2);
    app2.evaluate_alerts().await;
    let mail = smtp.exactly(3).await;
    assert!(
        mail[2]["text"].as_str().unwrap().contains("Regressed"),
        "{:?}",
        mail[2]
    );
    app2.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn runs_older_than_the_retention_go_and_their_monitor_stays() {
    use snag::crons::check_in::CheckIn;
    let app = spawn_app().await;
    app.project("jobs", ProjectId(5), "jobkey").await;
    let now = snag::store::now_ms();
    let day = 24 * 60 * MINUTE_MS;
    let check_in = |status: &str| {
        let json = json!({"monitor_slug": "daily-report", "status": status,
            "monitor_config": {"schedule": {"type": "crontab", "value": "@daily"}}});
        CheckIn::from_json(json.to_string().as_bytes(), None).unwrap()
    };
    // Two runs 100 days ago (past the 90 days kept), one yesterday.
    for (at, status) in [
        (now - 100 * day, "ok"),
        (now - 99 * day, "error"),
        (now - day, "ok"),
    ] {
        app.store
            .record_check_in(ProjectId(5), &check_in(status), at)
            .await
            .unwrap();
    }
    let swept = app.retention.run_once(now).await.unwrap();
    assert_eq!(swept.check_ins, 2, "{swept:?}");
    let monitor = app
        .store
        .monitor("daily-report")
        .await
        .unwrap()
        .expect("the monitor stays");
    let runs = app.store.check_ins(monitor.id, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1.date_added, now - day);
    let envs = app.store.monitor_environments(monitor.id).await.unwrap();
    let hours = app.store.monitor_hours(&[envs[0].id], 0, 1).await.unwrap();
    assert_eq!(hours.len(), 1, "only yesterday's hour: {hours:?}");
    app.stop().await;
}

/// sentry-cli `monitors run` with the DSN of project 3 (key `shopkey`).
async fn sentry_cli_run(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(crate::helpers::npm_tool("sentry-cli", "sentry-cli"))
        .args(["monitors", "run"])
        .args(args)
        .env(
            "SENTRY_DSN",
            format!("http://shopkey@127.0.0.1:{}/3", app.port),
        )
        .env("SENTRY_DISABLE_UPDATE_CHECK", "true")
        .env_remove("SENTRY_AUTH_TOKEN")
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

#[tokio::test]
async fn the_python_sdk_and_sentry_cli_report_runs_a_failure_mails_once_and_an_ok_run_resolves() {
    let port = free_port();
    let smtp = SmtpSink::start(port).await;
    let app = app_mailing_to(port).await;
    let dsn = format!("http://shopkey@127.0.0.1:{}/3", app.port);

    // The Python decorator: an ok run, then a run that raised.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/python_crons.py");
    let out = tokio::process::Command::new(crate::python_sdk::python())
        .args([script, &dsn])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let monitor = app
        .store
        .monitor("nightly-invoices")
        .await
        .unwrap()
        .expect("upserted by the SDK");
    assert_eq!(monitor.config.timezone.name(), "Europe/Vienna");
    assert_eq!(monitor.config.checkin_margin, 10);
    let runs = app.store.check_ins(monitor.id, 10).await.unwrap();
    let statuses: Vec<&str> = runs.iter().map(|r| r.1.status.0.as_str()).collect();
    assert_eq!(statuses, ["error", "ok"]);
    assert!(
        runs.iter()
            .all(|r| r.1.duration.is_some() && r.0 == "production")
    );
    // The run's trace leads to the exception it raised.
    let trace_id = printed["trace_id"].as_str().unwrap();
    assert_eq!(runs[0].1.trace_id.as_deref(), Some(trace_id));
    let error = app
        .store
        .get_event(ProjectId(3), printed["event_id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(error.is_some(), "the exception was stored");

    // Both runs on the monitor's page and in Sentry's API.
    let browser = crate::web::Browser::new(&app);
    browser.sign_in("oncall@example.com").await;
    let page = browser.html("/crons/nightly-invoices").await;
    assert!(
        page.contains("run-ok") && page.contains("run-error") && page.contains("invoices@3.1"),
        "{page}"
    );
    let (token, _) = app.store.create_token("crons", &[], None).await.unwrap();
    let path = "/api/0/organizations/snag/monitors/nightly-invoices/checkins/";
    let (_, api, _) = crate::monitors_api::get(&app, &token, path).await;
    let statuses = strings(&api, "status");
    assert_eq!(statuses, ["error", "ok"], "{api}");

    // The failure opened the monitor's issue: one email.
    let issues = wait_for_issues(&app, ProjectId(3), 2).await;
    let failure = issues
        .iter()
        .find(|i| i.title == "Monitor failure: nightly-invoices")
        .expect("the monitor's issue");
    app.evaluate_alerts().await;
    let mail = smtp.exactly(2).await;
    assert!(
        mail.iter().any(|m| m["subject"]
            .as_str()
            .unwrap()
            .contains("Monitor failure: nightly-invoices")),
        "{mail:#?}"
    );

    // sentry-cli runs the job again and it succeeds: the issue is resolved, nobody is mailed.
    let (ok, printed) = sentry_cli_run(&app, &["nightly-invoices", "--", "true"]).await;
    assert!(ok, "{printed}");
    let issue = app.store.get_issue(failure.id).await.unwrap().unwrap();
    assert_eq!(issue.status.as_str(), "resolved");
    // A job of its own that fails, with its schedule: a monitor, a run, an issue, an email.
    let (ok, printed) = sentry_cli_run(
        &app,
        &[
            "--schedule",
            "*/15 * * * *",
            "--max-runtime",
            "5",
            "backup-db",
            "--",
            "false",
        ],
    )
    .await;
    assert!(!ok, "sentry-cli passes the command's failure on: {printed}");
    let backup = app
        .store
        .monitor("backup-db")
        .await
        .unwrap()
        .expect("upserted by sentry-cli");
    assert_eq!(backup.config.max_runtime, 5);
    let runs = app.store.check_ins(backup.id, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1.status.0.as_str(), "error");
    wait_for_issues(&app, ProjectId(3), 3).await;
    app.evaluate_alerts().await;
    let mail = smtp.exactly(3).await;
    assert!(
        mail[2]["subject"]
            .as_str()
            .unwrap()
            .contains("Monitor failure: backup-db"),
        "{:?}",
        mail[2]
    );

    // /metrics: check-ins by status, monitors by state.
    let metrics = app.metrics("metrics-secret").await;
    for line in [
        "snag_check_ins_total{status=\"in_progress\"} 4",
        "snag_check_ins_total{status=\"ok\"} 2",
        "snag_check_ins_total{status=\"error\"} 2",
        "snag_monitors{state=\"ok\"} 1",
        "snag_monitors{state=\"error\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    app.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn a_flood_of_check_ins_meets_the_keys_rate_limit() {
    let app = spawn_app().await;
    app.project("jobs", ProjectId(5), "jobkey").await;
    app.limit_key("jobkey", 3, 3600).await;
    let daily = json!({"schedule": {"type": "crontab", "value": "@daily"}});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = crate::helpers::post_envelope(
            &app,
            5,
            "jobkey",
            &check_in_envelope(&json!({
            "monitor_slug": "flood", "status": "ok", "monitor_config": daily})),
        )
        .await;
        statuses.push(r.status);
        if r.status == 429 {
            let limits = r
                .header("x-sentry-rate-limits")
                .unwrap_or_default()
                .to_owned();
            assert!(limits.contains(":monitor:key:key_quota"), "{limits}");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // By HTTP the refusal is silent, as Relay's: a 202, and nothing stored.
    let r = http_check_in(&app, 5, "flood/jobkey/", "?status=ok", None).await;
    assert_eq!(r.status, 202);
    let flood = app.store.monitor("flood").await.unwrap().unwrap();
    assert_eq!(app.store.check_ins(flood.id, 10).await.unwrap().len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn hostile_check_in_values_are_rendered_dead() {
    let app = spawn_app().await;
    app.store
        .create_user("dev@example.com", "correct horse battery", true)
        .await
        .unwrap();
    app.project("jobs", ProjectId(5), "jobkey").await;
    let hostile = "<img src=x onerror=alert(1)>";
    let r = http_check_in(
        &app,
        5,
        "hostile/jobkey/",
        "",
        Some(&json!({
        "status": "ok", "environment": hostile, "release": format!("\"><script>alert(2)</script>"),
        "monitor_config": {"schedule": {"type": "crontab", "value": "@hourly"}}})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let browser = crate::web::Browser::new(&app);
    browser.sign_in("dev@example.com").await;
    for page in ["/crons", "/crons/hostile"] {
        let html = browser.html(page).await;
        assert!(
            html.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "{page}: {html}"
        );
        assert!(
            !html.contains("<img src=x") && !html.contains("<script>alert"),
            "{page}"
        );
    }
    app.stop().await;
}
