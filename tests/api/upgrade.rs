//! A database made by an earlier release upgrades without losing a row.
//!
//! `tests/fixtures/schema_0011.sql` is a dump of a database that `snag serve` of the release
//! before retention (migrations 0001–0011) filled from the real Python SDK: three issues,
//! four events, an attachment, a user report, a user and an API token.

use snag::store::ProjectId;
use std::collections::BTreeMap;

use serde_json::json;

use crate::helpers::{event_envelope, post_envelope, spawn_app_on};

/// Rows per table, every table but SQLite's own and sqlx's.
fn row_counts(conn: &rusqlite::Connection) -> BTreeMap<String, i64> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let n = conn
                .query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect()
}

#[tokio::test]
async fn a_database_from_the_release_before_upgrades_without_losing_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snag.db");
    let dump = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema_0011.sql"),
    )
    .unwrap();
    let before = {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&dump).unwrap();
        let mode: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            mode, 0,
            "the old release made databases without auto_vacuum"
        );
        row_counts(&conn)
    };
    assert_eq!(before["events"], 4);
    let db = format!("sqlite://{}", path.display());
    let app = spawn_app_on(&db).await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let after = row_counts(&conn);
    for (table, n) in &before {
        // Sessions may be made by the upgraded server; nothing else changes.
        assert_eq!(after.get(table), Some(n), "{table}");
    }
    // Converted once so that retention can shrink the file.
    let mode: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, 2);
    // The new tables were filled from the old rows, and every counter agrees.
    let usage = app.store.project_usage().await.unwrap();
    assert_eq!((usage[0].events, usage[0].attachments), (4, 1));
    assert!(
        app.store.check().await.unwrap().is_empty(),
        "{:?}",
        app.store.check().await
    );
    // Old events read back whole, and the old account signs in.
    let ids = app.store.event_ids(ProjectId(1)).await.unwrap();
    assert_eq!(ids.len(), 4);
    let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
    for issue in &issues {
        let event = app.store.issue_event(issue.id, None).await.unwrap();
        assert!(event.is_some(), "issue {}", issue.id);
    }
    let browser = crate::web::Browser::new(&app);
    browser
        .sign_in_with("admin@example.com", "fixture password")
        .await;
    let list = browser.html("/issues").await;
    assert!(list.contains("ZeroDivisionError"), "{list}");
    // New events keep coming into the upgraded database, under new ids.
    let r = post_envelope(
        &app,
        1,
        "fixturekey",
        &event_envelope(&json!({"message": "after the upgrade"})),
    )
    .await;
    assert_eq!(r.status, 200);
    let newest = app.store.list_issues(ProjectId(1)).await.unwrap();
    let new = newest
        .iter()
        .find(|i| i.title == "after the upgrade")
        .unwrap();
    assert!(
        issues
            .iter()
            .all(|i| i.id < new.id && i.short_id < new.short_id)
    );
    app.stop().await;
}
