//! Three `snag serve` nodes on one PostgreSQL database (issue 21): traffic spread over them,
//! one SIGKILLed mid-run and started again. Needs the server `./scripts/test` starts
//! (`SNAG_TEST_POSTGRES_URL`); a plain `cargo test` lists it as ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use snag::store::{ProjectId, Store};

use crate::alerts::{SmtpSink, event, free_port};
use crate::helpers::{ServerProcess, event_envelope, try_send_raw};
use crate::postgres::{Database, server_url};

/// Groups of the test: each is one issue, whichever node sees it first.
const GROUPS: usize = 12;

/// Sends one event of `group` to the node on `port`: its event id when acknowledged (200).
async fn send(port: u16, group: usize) -> Option<String> {
    let event = event(&format!("charge_{group:02}"), 0);
    let id = event["event_id"].as_str().unwrap().to_owned();
    let headers = vec![(
        "X-Sentry-Auth".to_owned(),
        "Sentry sentry_key=shopkey, sentry_version=7".to_owned(),
    )];
    let body = event_envelope(&event);
    let response = try_send_raw(port, "POST", "/api/3/envelope/", &headers, &body, false).await;
    response.ok().filter(|r| r.status == 200).map(|_| id)
}

/// Sends `rounds` events of each group in `groups`, every node at once (so that several see a
/// new group together); the acknowledged event ids.
async fn spread(ports: &[u16], groups: std::ops::Range<usize>, rounds: usize) -> Vec<String> {
    let mut sends = Vec::new();
    for round in 0..rounds {
        for group in groups.clone() {
            for (n, &port) in ports.iter().enumerate() {
                if (round + n) % 2 == 0 {
                    sends.push(send(port, group));
                }
            }
        }
    }
    futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn lease_holder(store: &Store) -> Option<String> {
    store
        .lease_holder(snag::workers::PERIODIC_LEASE)
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SNAG_TEST_POSTGRES_URL (./scripts/test starts one)"]
async fn three_nodes_share_a_database_and_one_killed_mid_run_loses_nothing() {
    let database = Database::new(&server_url());
    let url = database.url();
    let store = Store::open(&snag::Config::for_tests(&url)).await.unwrap();
    store
        .create_project(&snag::store::projects::NewProject {
            name: "shop".into(),
            id: Some(ProjectId(3)),
            public_key: Some("shopkey".into()),
        })
        .await
        .unwrap();
    let settings = snag::store::alerts::AlertSettings {
        on_regression: false,
        on_spike: false,
        max_emails_per_hour: 1000,
        ..Default::default()
    };
    store
        .set_alert_settings(ProjectId(3), &settings)
        .await
        .unwrap();
    store
        .create_user("oncall@example.com", "correct horse battery", true)
        .await
        .unwrap();
    let smtp_port = free_port();
    let sink = SmtpSink::start(smtp_port).await;
    let smtp = format!("smtp://127.0.0.1:{smtp_port}");
    let flags = [
        "--smtp-url",
        smtp.as_str(),
        "--alert-evaluate-interval",
        "200ms",
        "--alert-send-interval",
        "200ms",
    ];

    // The first node takes the periodic jobs before the others start.
    let mut first = ServerProcess::start_with(&url, &flags).await;
    let started = Instant::now();
    let holder = loop {
        if let Some(holder) = lease_holder(&store).await {
            break holder;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no node took the lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let second = ServerProcess::start_with(&url, &flags).await;
    let third = ServerProcess::start_with(&url, &flags).await;
    let ports = [first.port, second.port, third.port];

    // Half the groups, on every node at once.
    let mut acknowledged = spread(&ports, 0..GROUPS / 2, 4).await;
    assert!(
        acknowledged.len() >= GROUPS / 2 * 4,
        "{}",
        acknowledged.len()
    );
    // Their alerts go out from the lease holder. (One being delivered when its node is
    // killed may go twice: the mail server got it, the database did not hear so.)
    let mailed = sink.exactly(GROUPS / 2).await.len();
    assert_eq!(mailed, GROUPS / 2);
    // Traffic goes on while the lease holder is killed (SIGKILL) in the middle of it.
    let running = Arc::new(Mutex::new(Vec::new()));
    let traffic = {
        let running = running.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                let ids = spread(&ports, 0..GROUPS / 2, 1).await;
                running.lock().unwrap().extend(ids);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();
    traffic.await.unwrap();
    acknowledged.extend(running.lock().unwrap().drain(..));

    // A surviving node takes the periodic jobs over within a minute.
    let killed_at = Instant::now();
    let new_holder = loop {
        if let Some(h) = lease_holder(&store).await.filter(|h| *h != holder) {
            break h;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "no node took the periodic jobs over"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_ne!(new_holder, holder);
    // The killed node comes back; the other half of the groups arrive on all three.
    let first = ServerProcess::start_with(&url, &flags).await;
    let ports = [first.port, second.port, third.port];
    acknowledged.extend(spread(&ports, GROUPS / 2..GROUPS, 4).await);

    // Every acknowledged event is stored, once.
    let stored = store.event_ids(ProjectId(3)).await.unwrap();
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "an event stored twice");
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !unique.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    // One issue per group, whichever nodes saw it first, each counting its stored events.
    let issues = store.list_issues(ProjectId(3)).await.unwrap();
    assert_eq!(issues.len(), GROUPS, "{issues:#?}");
    for issue in &issues {
        let events = store.stored_events(issue.id).await.unwrap();
        assert_eq!(issue.times_seen, events, "{issue:?}");
    }
    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
    // A web session made on one node and an API token work on every node.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut browser = crate::web::Browser::at_port(second.port);
    browser.sign_in("oncall@example.com").await;
    let (token, _) = store.create_token("ci", &[], None).await.unwrap();
    for port in ports {
        browser.move_to(port);
        let page = browser.html("/issues").await;
        assert!(page.contains("declined in charge_00"), "{port}: {page}");
        let issues = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/api/0/projects/snag/shop/issues/"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(issues.status(), 200, "{port}");
    }
    // Every new issue mailed once: those before the kill and those after it.
    let messages = sink.exactly(GROUPS).await;
    let mut subjects: BTreeMap<String, usize> = BTreeMap::new();
    for message in &messages {
        let subject = message["subject"].as_str().unwrap_or_default().to_owned();
        *subjects.entry(subject).or_default() += 1;
    }
    for issue in &issues {
        let mailed: usize = subjects
            .iter()
            .filter(|(subject, _)| subject.contains(&issue.title))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(mailed, 1, "{}: {subjects:#?}", issue.title);
    }
    sink.stop().await;
    drop((first, second, third));
    store.close().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SNAG_TEST_POSTGRES_URL (./scripts/test starts one)"]
async fn a_key_rate_limit_and_a_daily_cap_hold_across_nodes() {
    const LIMIT: u64 = 200;
    let database = Database::new(&server_url());
    let url = database.url();
    let store = Store::open(&snag::Config::for_tests(&url)).await.unwrap();
    for (id, name, key) in [(3, "shop", "shopkey"), (4, "blog", "blogkey")] {
        store
            .create_project(&snag::store::projects::NewProject {
                name: name.into(),
                id: Some(ProjectId(id)),
                public_key: Some(key.into()),
            })
            .await
            .unwrap();
    }
    // A key's limit per hour (the window cannot end mid-test unless it starts at its edge).
    let limit = snag::store::quotas::KeyRateLimit::new(LIMIT, 3600).unwrap();
    store
        .set_key_rate_limit("shopkey", Some(limit))
        .await
        .unwrap();
    let caps = snag::store::quotas::ProjectQuotas {
        daily_events: Some(LIMIT),
        attachment_bytes: None,
    };
    store.set_project_quotas(ProjectId(4), caps).await.unwrap();
    let seconds_into_hour = snag::store::now_ms() / 1000 % 3600;
    if seconds_into_hour > 3590 {
        tokio::time::sleep(Duration::from_secs(11)).await;
    }
    let first = ServerProcess::start(&url).await;
    let second = ServerProcess::start(&url).await;
    let ports = [first.port, second.port];
    for (project, key) in [(3, "shopkey"), (4, "blogkey")] {
        let headers = vec![(
            "X-Sentry-Auth".to_owned(),
            format!("Sentry sentry_key={key}, sentry_version=7"),
        )];
        let mut sends = Vec::new();
        for n in 0..LIMIT as usize * 2 {
            let body = event_envelope(&event(&format!("quota_{}", n % 5), 0));
            let headers = headers.clone();
            let port = ports[n % 2];
            sends.push(async move {
                let path = format!("/api/{project}/envelope/");
                let r = try_send_raw(port, "POST", &path, &headers, &body, false).await;
                r.map(|r| r.status).unwrap_or(0)
            });
        }
        // Twenty at a time: quotas, not overload, are what refuses here.
        let mut statuses = Vec::new();
        let mut sends = sends.into_iter().peekable();
        while sends.peek().is_some() {
            let chunk: Vec<_> = sends.by_ref().take(20).collect();
            statuses.extend(futures_util::future::join_all(chunk).await);
        }
        let accepted = statuses.iter().filter(|s| **s == 200).count() as u64;
        let limited = statuses.iter().filter(|s| **s == 429).count() as u64;
        assert_eq!(accepted + limited, LIMIT * 2, "{statuses:?}");
        // Never past the limit, at most a few shares short of it.
        assert!(
            (LIMIT * 9 / 10..=LIMIT).contains(&accepted),
            "project {project}: {accepted} accepted of {LIMIT}"
        );
        let stored = store.event_ids(ProjectId(project)).await.unwrap().len() as u64;
        assert_eq!(stored, accepted);
    }
    drop((first, second));
    store.close().await;
}
