//! Every event acknowledged with 200 survives a SIGKILL of the server, and SIGTERM drains.

use snag::store::ProjectId;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{ServerProcess, event_envelope, run_snag, try_send_raw};

/// An event the server acknowledged: its id, its group (of 20) and its timestamp (unix ms).
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    group: u64,
    timestamp_ms: i64,
}

/// Senders that post events until the server stops answering; returns the acknowledged ones.
fn start_load(
    port: u16,
    senders: usize,
) -> (Arc<Mutex<Vec<Acked>>>, Vec<tokio::task::JoinHandle<()>>) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..senders)
        .map(|s| {
            let acked = acked.clone();
            tokio::spawn(async move {
                let headers = vec![(
                    "X-Sentry-Auth".to_owned(),
                    "Sentry sentry_key=durablekey".to_owned(),
                )];
                for n in 0u64.. {
                    let group = n % 20;
                    let timestamp_ms = chrono::Utc::now().timestamp_millis();
                    let event = json!({
                        "message": format!("load {s}-{n}"),
                        "fingerprint": [format!("group-{group}")],
                        "timestamp": timestamp_ms as f64 / 1000.0,
                    });
                    let body = crate::helpers::gzip(&event_envelope(&event));
                    let mut headers = headers.clone();
                    headers.push(("Content-Encoding".into(), "gzip".into()));
                    match try_send_raw(port, "POST", "/api/1/envelope/", &headers, &body, false)
                        .await
                    {
                        Ok(r) if r.status == 200 => {
                            let id = r.json()["id"].as_str().unwrap().to_owned();
                            acked.lock().unwrap().push(Acked {
                                id,
                                group,
                                timestamp_ms,
                            });
                        }
                        Ok(r) if r.status == 429 || r.status == 503 => {}
                        Ok(r) => panic!(
                            "unexpected status {}: {}",
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        ),
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    (acked, tasks)
}

/// A new SQLite database (its folder, file and URL) holding project 1 with key `durablekey`.
async fn durable_database() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snag.db");
    let db = format!("sqlite://{}", path.display());
    create_durable_project(&db).await;
    (dir, path, db)
}

/// Project 1 with key `durablekey` in the database at `db`.
async fn create_durable_project(db: &str) {
    let (ok, _, err) = run_snag(
        db,
        &[
            "project",
            "create",
            "durable",
            "--id",
            "1",
            "--public-key",
            "durablekey",
        ],
    )
    .await;
    assert!(ok, "{err}");
}

async fn open_store(database_url: &str) -> snag::store::Store {
    snag::store::Store::open(&snag::Config::for_tests(database_url))
        .await
        .unwrap()
}

#[tokio::test]
async fn acknowledged_events_survive_sigkill() {
    // On the suite's database: SQLite, or PostgreSQL in its second pass.
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_database_url(&dir).await;
    create_durable_project(&db).await;
    let mut server = ServerProcess::start(&db).await;
    let (acked, tasks) = start_load(server.port, 16);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.start_kill().unwrap(); // SIGKILL: no shutdown code runs
    server.child.wait().await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 100,
        "too little load before the kill: {}",
        acked.len()
    );

    // Restart on the same database (SQLite recovers the WAL), then check every acknowledged id.
    let mut again = ServerProcess::start(&db).await;
    let store = open_store(&db).await;
    let stored: std::collections::HashSet<String> = store
        .event_ids(ProjectId(1))
        .await
        .unwrap()
        .into_iter()
        .collect();
    let missing: Vec<&String> = acked
        .iter()
        .map(|a| &a.id)
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    // Counters were written (as pending rows) in the events' transactions, folded at restart.
    let issues = store.list_issues(ProjectId(1)).await.unwrap();
    assert_eq!(
        issues.iter().map(|i| i.times_seen).sum::<i64>(),
        stored.len() as i64
    );
    // Tag counts too: the restarted writer read back the pending tag rows and folded them.
    assert_eq!(store.pending_tag_rows().await.unwrap(), 0);
    for issue in &issues {
        let tags = store.issue_tags(issue.id).await.unwrap();
        let levels: i64 = tags
            .iter()
            .filter(|t| t.key == "level")
            .map(|t| t.count)
            .sum();
        assert_eq!(levels, issue.times_seen, "{tags:?}");
    }
    again.child.start_kill().unwrap();
    again.child.wait().await.unwrap();
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_cleanly() {
    let (_dir, path, db) = durable_database().await;
    // Retention deletes meanwhile: it must not hold up the drain nor take what it should keep.
    let mut server = ServerProcess::start_with(&db, &DELETING).await;
    let (acked, tasks) = start_load(server.port, 8);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let pid = server.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(40), server.child.wait())
        .await
        .expect("exit after SIGTERM")
        .unwrap();
    assert!(exit.success(), "snag serve exited with {exit:?}");
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "too little load: {}", acked.len());
    let lost = lost_events(&path, &acked, false);
    assert!(
        lost.is_empty(),
        "acknowledged events missing after SIGTERM: {:?}",
        &lost[..lost.len().min(5)]
    );
}

/// Events kept per issue in the tests with retention: it deletes all the time.
const KEEP: usize = 20;

/// Flags that make retention delete while the load runs.
const DELETING: [&str; 4] = [
    "--max-events-per-issue",
    "20",
    "--retention-interval",
    "100ms",
];

/// The acknowledged events that are not stored although retention should have kept them: an
/// event may be gone only if its issue keeps KEEP events at least as new. Checks too that
/// retention did delete something.
fn lost_events<'a>(path: &std::path::Path, acked: &'a [Acked], deleted: bool) -> Vec<&'a Acked> {
    // What is stored, by event id: (issue, timestamp).
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut query = conn
        .prepare("SELECT event_id, issue_id, timestamp FROM events WHERE project_id = 1")
        .unwrap();
    let stored: std::collections::HashMap<String, (i64, i64)> = query
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let issue_of_group: std::collections::HashMap<u64, i64> = acked
        .iter()
        .filter_map(|a| stored.get(&a.id).map(|(issue, _)| (a.group, *issue)))
        .collect();
    if deleted {
        assert!(stored.len() < acked.len(), "retention deleted nothing");
    }
    acked
        .iter()
        .filter(|a| !stored.contains_key(&a.id))
        .filter(|a| {
            let Some(issue) = issue_of_group.get(&a.group) else {
                return true;
            };
            let newer = stored
                .values()
                .filter(|(i, t)| i == issue && *t >= a.timestamp_ms - 1)
                .count();
            newer < KEEP
        })
        .collect()
}

#[tokio::test]
async fn twenty_sigkills_while_retention_deletes_lose_nothing_it_should_keep() {
    let (_dir, path, db) = durable_database().await;
    assert_eq!(DELETING[1], KEEP.to_string());
    let mut acked = Vec::new();
    for _ in 0..20 {
        let mut server = ServerProcess::start_with(&db, &DELETING).await;
        let (load, tasks) = start_load(server.port, 8);
        tokio::time::sleep(Duration::from_millis(700)).await;
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        acked.extend(load.lock().unwrap().drain(..));
    }
    assert!(
        acked.len() > 20 * KEEP * 2,
        "too little load: {}",
        acked.len()
    );
    let lost = lost_events(&path, &acked, true);
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    // Counters, tag counts and usage still agree with the rows after all this.
    let (ok, out, err) = run_snag(&db, &["check"]).await;
    assert!(ok, "{out}{err}");
}
