//! Retention, the storage budget and the disk guard on a real server and a real file system:
//! what goes, what stays, what the counters and pages say, and how big the file is after.

use snag::store::ProjectId;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    TestApp, event_envelope, post_envelope, spawn_app_with, spawn_sqlite_app_with,
};
use crate::logs::{log_item_envelope, log_line};
use crate::web::{Browser, PASSWORD};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Sends an event of `group` (its fingerprint); returns its id.
async fn send(app: &TestApp, group: &str, extra: Value) -> String {
    let mut event = json!({"message": format!("retention {group}"), "fingerprint": [group]});
    if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
        event.extend(extra);
    }
    let r = post_envelope(app, 1, "retainkey", &event_envelope(&event)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["id"].as_str().unwrap().to_owned()
}

async fn app_with(tune: impl FnOnce(&mut snag::Config)) -> TestApp {
    let app = spawn_app_with(|c| {
        // Passes run when the test says, not on their own.
        c.retention.retention_interval = Duration::from_secs(3600);
        tune(c);
    })
    .await;
    with_project_and_admin(app).await
}

/// [`app_with`] on SQLite, for what is SQLite's own: its file's size and pages, the free disk
/// beside it, the blobs read from the file.
async fn sqlite_app_with(tune: impl FnOnce(&mut snag::Config)) -> TestApp {
    let app = spawn_sqlite_app_with(|c| {
        c.retention.retention_interval = Duration::from_secs(3600);
        tune(c);
    })
    .await;
    with_project_and_admin(app).await
}

async fn with_project_and_admin(app: TestApp) -> TestApp {
    app.project("retain", ProjectId(1), "retainkey").await;
    app.store
        .create_user("admin@example.com", PASSWORD, true)
        .await
        .unwrap();
    app
}

async fn issue_of(app: &TestApp, group: &str) -> Option<snag::store::StoredIssue> {
    app.store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.title.contains(&format!("retention {group}")))
}

async fn api(app: &TestApp, path: &str) -> Value {
    let (token, _) = app
        .store
        .create_token("retention", &[], None)
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/api/0{path}", app.port))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn old_events_and_issues_go_and_the_counters_still_tell_what_was_received() {
    let app = app_with(|_| {}).await;
    let gone = send(&app, "quiet", json!({})).await;
    let old = send(&app, "busy", json!({})).await;
    let quiet = issue_of(&app, "quiet").await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let between = snag::store::now_ms();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let kept = [
        send(&app, "busy", json!({"user": {"id": "u2"}})).await,
        send(&app, "busy", json!({})).await,
    ];
    // As if 90 days had passed since `between`.
    let swept = app.retention.run_once(between + 90 * DAY_MS).await.unwrap();
    assert_eq!((swept.events, swept.issues), (2, 1), "{swept:?}");
    let stored = app.store.event_ids(ProjectId(1)).await.unwrap();
    assert!(!stored.contains(&gone) && !stored.contains(&old));
    assert!(kept.iter().all(|id| stored.contains(id)));
    // The quiet issue went whole; the busy one still counts every event it received.
    assert!(issue_of(&app, "quiet").await.is_none());
    let busy = issue_of(&app, "busy").await.unwrap();
    assert_eq!(busy.times_seen, 3);
    assert_eq!(app.store.stored_events(busy.id).await.unwrap(), 2);
    let detail = api(&app, &format!("/issues/{}/", busy.id)).await;
    assert_eq!(detail["count"], "3");
    assert_eq!(detail["storedEventCount"], 2);
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let page = browser.html(&format!("/issues/{}", busy.id)).await;
    assert!(page.contains(">2 stored<"), "{page}");
    // The project's usage followed the deletes, and every counter agrees with its rows.
    let project = api(&app, "/projects/snag/retain/").await;
    assert_eq!(project["storage"]["events"], 2, "{project}");
    assert!(
        app.store.check().await.unwrap().is_empty(),
        "{:?}",
        app.store.check().await
    );
    // The quiet group comes back as a new issue, under an id and a short id never used.
    send(&app, "quiet", json!({})).await;
    let again = issue_of(&app, "quiet").await.unwrap();
    assert!(
        again.id > busy.id.max(quiet.id),
        "{} {}",
        again.id,
        quiet.id
    );
    assert!(again.short_id > busy.short_id.max(quiet.short_id));
    assert_eq!(again.times_seen, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_issue_keeps_its_first_event_and_its_newest() {
    let app = app_with(|c| c.retention.max_events_per_issue = 3).await;
    let now = chrono::Utc::now().timestamp();
    let mut ids = Vec::new();
    for n in 0..8 {
        // Timestamps in order, a second apart, all within the last minutes.
        let at = now - 600 + n;
        ids.push(send(&app, "many", json!({"timestamp": at})).await);
    }
    let swept = app.retention.run_once(snag::store::now_ms()).await.unwrap();
    assert_eq!(swept.events, 4, "{swept:?}");
    let stored = app.store.event_ids(ProjectId(1)).await.unwrap();
    let expected = [&ids[0], &ids[5], &ids[6], &ids[7]];
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(expected.iter().all(|id| stored.contains(id)), "{stored:?}");
    let issue = issue_of(&app, "many").await.unwrap();
    assert_eq!(issue.times_seen, 8);
    // A second pass finds nothing more to do.
    let again = app.retention.run_once(snag::store::now_ms()).await.unwrap();
    assert_eq!(again.events, 0);
    app.stop().await;
}

/// The database file's size on disk, once the WAL has been copied into it.
async fn file_bytes(app: &TestApp) -> u64 {
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    // The server checkpoints every quarter second; the file is cut at a full checkpoint.
    tokio::time::sleep(Duration::from_millis(600)).await;
    std::fs::metadata(path).unwrap().len()
}

#[tokio::test]
async fn past_the_storage_budget_the_oldest_events_go_and_the_file_shrinks() {
    const BUDGET: u64 = 3 * 1024 * 1024;
    let app =
        sqlite_app_with(|c| c.retention.max_storage = Some(bytesize::ByteSize::b(BUDGET))).await;
    // Events that do not compress: 1,000 of them take about 6 MB.
    let mut ids = Vec::new();
    for n in 0..1000u32 {
        let noise = noise(u64::from(n), 3000);
        ids.push(
            send(
                &app,
                &format!("g{}", n % 10),
                json!({"extra": {"noise": noise}}),
            )
            .await,
        );
    }
    // The guard woke retention while the file grew past the budget; one more pass now.
    app.retention.run_once(snag::store::now_ms()).await.unwrap();
    let after = app.store.file_size().await.unwrap();
    assert!(after.bytes() <= BUDGET, "{after:?}");
    let on_disk = file_bytes(&app).await;
    assert!(on_disk <= BUDGET, "the file holds {on_disk} bytes");
    // The oldest went, the newest stayed.
    let stored = app.store.event_ids(ProjectId(1)).await.unwrap();
    assert!(stored.len() < 600, "{} events kept", stored.len());
    assert!(!stored.contains(&ids[0]));
    assert!(ids[990..].iter().all(|id| stored.contains(id)));
    let usage = app.store.project_usage().await.unwrap();
    assert_eq!(usage[0].events, stored.len() as i64);
    assert!(app.store.check().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_short_disk_stops_ingest_says_why_everywhere_and_ingest_resumes_by_itself() {
    let app = sqlite_app_with(|_| {}).await;
    send(&app, "before", json!({})).await;
    let runs = app.retention.runs();
    // More free space than any disk has: the guard trips at its next check.
    app.disk.set_min_free(u64::MAX / 2);
    let event = event_envelope(&json!({"message": "while short"}));
    let mut refused = None;
    // Until the guard's next check, events are still taken.
    let mut taken = 1;
    for _ in 0..50 {
        let r = post_envelope(&app, 1, "retainkey", &event).await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
        taken += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = refused.expect("ingest refused within 5 s");
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(
        refused.header("x-sentry-rate-limits"),
        Some("60::organization:insufficient_disk")
    );
    assert!(refused.json()["detail"].as_str().unwrap().contains("limit"));
    // Retention ran at once, although its interval is an hour.
    for _ in 0..50 {
        if app.retention.runs() > runs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(app.retention.runs() > runs);
    let health = crate::helpers::send_raw(app.port, "GET", "/healthz", &[], b"", false)
        .await
        .json();
    assert_eq!(health["status"], "degraded");
    assert!(
        health["problems"][0]
            .as_str()
            .unwrap()
            .contains("--min-free-disk")
    );
    let browser = Browser::new(&app);
    let login = browser.html("/login").await;
    assert!(login.contains("Free disk space is low"), "{login}");
    browser.sign_in("admin@example.com").await;
    for page in [
        "/issues",
        "/projects",
        "/settings/account",
        "/settings/tokens",
    ] {
        let html = browser.html(page).await;
        assert!(
            html.contains("class=\"banner\"") && html.contains("Free disk space is low"),
            "{page}: {html}"
        );
    }
    // Space comes back: ingest resumes without a restart, and nothing acknowledged was lost.
    app.disk.set_min_free(0);
    let mut accepted = false;
    for _ in 0..50 {
        if post_envelope(&app, 1, "retainkey", &event).await.status == 200 {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(accepted, "ingest did not resume");
    assert_eq!(
        app.store.event_ids(ProjectId(1)).await.unwrap().len(),
        taken + 1
    );
    assert!(!browser.html("/issues").await.contains("class=\"banner\""));
    app.stop().await;
}

/// The blobs a project's events are stored as, by id.
fn blobs(app: &TestApp) -> Vec<(i64, Vec<u8>)> {
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut query = conn
        .prepare("SELECT id, data FROM events ORDER BY id")
        .unwrap();
    query
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn a_project_gets_a_dictionary_of_its_own_and_its_events_shrink() {
    let app = sqlite_app_with(|_| {}).await;
    // Events as alike as a real project's: one shape, values that change.
    let event = |n: usize| {
        json!({
            "message": format!("retention dictionary {}", n % 7),
            "exception": {"values": [{"type": "KeyError", "value": format!("'order-{n}'"),
                "stacktrace": {"frames": (0..12).map(|f| json!({
                    "filename": format!("shop/views/module_{f}.py"), "function": format!("handler_{f}"),
                    "lineno": 10 + f, "in_app": f > 6, "context_line": format!("    value = compute_{f}(request)"),
                })).collect::<Vec<_>>()}}]},
            "contexts": {"runtime": {"name": "CPython", "version": "3.12.1"}, "os": {"name": "Linux", "version": "6.1"}},
            "tags": {"server_name": format!("web-{}", n % 4), "region": "eu-west-1"},
            "user": {"id": format!("user-{}", n % 50)},
        })
    };
    let mut ids = Vec::new();
    for n in 0..1100 {
        let r = post_envelope(&app, 1, "retainkey", &event_envelope(&event(n))).await;
        assert_eq!(r.status, 200);
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let before: usize = blobs(&app).iter().map(|(_, b)| b.len()).sum();
    // The trainer looks every two seconds; then the events stored before are rewritten.
    let mut rewritten = false;
    for _ in 0..100 {
        let all = blobs(&app);
        if all
            .iter()
            .all(|(_, b)| snag::store::compression::dictionary_of(b).is_some())
        {
            rewritten = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(rewritten, "events still without a dictionary after 20 s");
    let after: usize = blobs(&app).iter().map(|(_, b)| b.len()).sum();
    assert!(after * 3 < before, "{before} bytes became {after}");
    // New events use it, every event reads back whole, and the usage followed the rewrite.
    let r = post_envelope(&app, 1, "retainkey", &event_envelope(&event(5000))).await;
    let newest = r.json()["id"].as_str().unwrap().to_owned();
    let last = blobs(&app).pop().unwrap().1;
    assert!(snag::store::compression::dictionary_of(&last).is_some());
    for id in ids.iter().step_by(97).chain([&newest]) {
        let stored = app
            .store
            .get_event(ProjectId(1), id)
            .await
            .unwrap()
            .unwrap();
        let json = stored.json().unwrap();
        assert_eq!(json["event_id"], id.as_str(), "{json}");
        assert!(json["exception"]["values"][0]["stacktrace"]["frames"].is_array());
    }
    let usage = app.store.project_usage().await.unwrap();
    let stored: usize = blobs(&app).iter().map(|(_, b)| b.len()).sum();
    assert_eq!(usage[0].event_bytes as usize, stored);
    assert!(app.store.check().await.unwrap().is_empty());
    // The issue page reads a rewritten event.
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let issue = app.store.list_issues(ProjectId(1)).await.unwrap()[0].id;
    let page = browser.html(&format!("/issues/{issue}")).await;
    assert!(page.contains("KeyError"), "{page}");
    app.stop().await;
}

/// `len` letters that do not repeat (xorshift), seeded by `seed`: data that does not compress.
fn noise(seed: u64, len: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect()
}

/// A log envelope of `lines` lines of trace `trace`, bodies of `body_bytes` letters that do
/// not repeat (seeded by `seed`).
fn log_envelope(seed: u64, lines: usize, body_bytes: usize, trace: &str) -> Vec<u8> {
    let items: Vec<Value> = (0..lines)
        .map(|n| {
            let body = format!("line {seed} {}", noise(seed * 1000 + n as u64, body_bytes));
            log_line(0, trace, "info", &body, &[("logger.name", "retention")])
        })
        .collect();
    log_item_envelope(&items)
}

const TRACE: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn log_lines_go_after_their_own_days_and_keep_to_their_share_of_the_budget() {
    // Their own days: 30 by default, while events stay 90.
    let app = app_with(|_| {}).await;
    let event = send(&app, "kept", json!({})).await;
    let r = post_envelope(&app, 1, "retainkey", &log_envelope(1, 10, 20, TRACE)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let swept = app
        .retention
        .run_once(snag::store::now_ms() + 29 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(swept.log_blocks, 0);
    assert_eq!(app.store.log_usage().await.unwrap().lines, 10);
    let swept = app
        .retention
        .run_once(snag::store::now_ms() + 31 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(swept.log_blocks, 1);
    assert_eq!(app.store.log_usage().await.unwrap().lines, 0);
    assert_eq!(app.store.event_ids(ProjectId(1)).await.unwrap(), [event]);
    app.stop().await;

    // A quarter of a 4 MB budget: 200 KB envelopes of lines that do not compress.
    const BUDGET: u64 = 4 * 1024 * 1024;
    let app = app_with(|c| c.retention.max_storage = Some(bytesize::ByteSize::b(BUDGET))).await;
    let mut sent_events = Vec::new();
    for n in 0..20 {
        sent_events.push(send(&app, &format!("e{n}"), json!({})).await);
    }
    for seed in 0..12 {
        let r = post_envelope(&app, 1, "retainkey", &log_envelope(seed, 100, 2000, TRACE)).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let before = app.store.log_usage().await.unwrap();
    assert!(before.bytes as u64 > BUDGET / 4, "{before:?}");
    let swept = app.retention.run_once(snag::store::now_ms()).await.unwrap();
    assert!(swept.log_blocks > 0);
    let after = app.store.log_usage().await.unwrap();
    assert!(after.bytes as u64 <= BUDGET / 4, "{after:?}");
    assert!(after.lines > 0, "the newest lines stay");
    // The newest envelope's lines are still found; every event is kept.
    let kept = app.store.oldest_log_blocks(100).await.unwrap();
    assert_eq!(kept.len() as i64, after.blocks);
    assert_eq!(kept.last().unwrap().id, 12, "the newest block stays");
    let mut stored = app.store.event_ids(ProjectId(1)).await.unwrap();
    stored.sort();
    sent_events.sort();
    assert_eq!(stored, sent_events);
    assert!(app.store.check().await.unwrap().is_empty());
    app.stop().await;
}
