//! Every event acknowledged with 200 survives a SIGKILL of the server, and SIGTERM drains.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{ServerProcess, event_envelope, run_snag, try_send_raw};

/// Senders that post events until the server stops answering; returns the acknowledged ids.
fn start_load(
    port: u16,
    senders: usize,
) -> (Arc<Mutex<Vec<String>>>, Vec<tokio::task::JoinHandle<()>>) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..senders)
        .map(|s| {
            let acked = acked.clone();
            tokio::spawn(async move {
                let headers = vec![("X-Sentry-Auth".to_owned(), "Sentry sentry_key=durablekey".to_owned())];
                for n in 0.. {
                    let event = json!({"message": format!("load {s}-{n}"), "fingerprint": [format!("group-{}", n % 20)]});
                    let body = crate::helpers::gzip(&event_envelope(&event));
                    let mut headers = headers.clone();
                    headers.push(("Content-Encoding".into(), "gzip".into()));
                    match try_send_raw(port, "POST", "/api/1/envelope/", &headers, &body, false).await {
                        Ok(r) if r.status == 200 => {
                            let id = r.json()["id"].as_str().unwrap().to_owned();
                            acked.lock().unwrap().push(id);
                        }
                        Ok(r) if r.status == 429 || r.status == 503 => {}
                        Ok(r) => panic!("unexpected status {}: {}", r.status, String::from_utf8_lossy(&r.body)),
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    (acked, tasks)
}

async fn open_store(database_url: &str) -> snag::store::Store {
    snag::store::Store::open(&snag::Config::for_tests(database_url))
        .await
        .unwrap()
}

#[tokio::test]
async fn acknowledged_events_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("snag.db").display());
    let (ok, _, err) = run_snag(
        &db,
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
    let stored: std::collections::HashSet<String> =
        store.event_ids(1).await.unwrap().into_iter().collect();
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    // Counters were written (as pending rows) in the events' transactions, folded at restart.
    let issues = store.list_issues(1).await.unwrap();
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
            .filter(|(key, _, _)| key == "level")
            .map(|(_, _, count)| count)
            .sum();
        assert_eq!(levels, issue.times_seen, "{tags:?}");
    }
    again.child.start_kill().unwrap();
    again.child.wait().await.unwrap();
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("snag.db").display());
    let (ok, _, err) = run_snag(
        &db,
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
    let mut server = ServerProcess::start(&db).await;
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
    let store = open_store(&db).await;
    let stored: std::collections::HashSet<String> =
        store.event_ids(1).await.unwrap().into_iter().collect();
    assert!(acked.len() > 50, "too little load: {}", acked.len());
    assert!(
        acked.iter().all(|id| stored.contains(id)),
        "an acknowledged event is missing after SIGTERM"
    );
}
