//! The batch against a real SQLite file: every table's row written and read back column by
//! column (a field written into another's slot fails here), then the counters and folds.

use sqlx::Row;

use super::*;
use crate::store::rows::{AttachmentRow, UserReportRow};

/// The event id a test names by a short text (`"a"` → `0000…0061`).
fn id(name: &str) -> EventId {
    let n = name.bytes().fold(0u128, |n, b| n << 8 | u128::from(b));
    EventId::parse(&format!("{n:032x}")).unwrap()
}

#[test]
fn the_write_binds_eleven_row_lists_and_the_blobs() {
    assert_eq!(WRITE.matches('?').count(), 12);
    // Eleven row lists (issue updates read twice; events once more for the releases, their
    // projects and a regression's release; events and attachments once more for the usage;
    // log blocks once more for their words), and the blobs of events, attachments and log
    // blocks.
    assert_eq!(WRITE_PROCEDURE.matches("NEW.").count(), 21);
    assert_eq!(LOOKUP.matches('?').count(), 3);
}

fn event(event_id: &str, title: &str, timestamp: i64, release: Option<&str>) -> WriteJob {
    WriteJob {
        event: Some(EncodedEvent::new(event_row(
            event_id, title, timestamp, release,
        ))),
        ..WriteJob::default()
    }
}

fn event_row(event_id: &str, title: &str, timestamp: i64, release: Option<&str>) -> EventRow {
    EventRow {
        project_id: ProjectId(1),
        event_id: id(event_id),
        hashes: vec!["h".into()],
        title: title.into(),
        culprit: "c".into(),
        issue_type: "error".into(),
        level: "error".into(),
        platform: "python".into(),
        release: release.map(str::to_owned),
        environment: None,
        user_key: None,
        trace_id: None,
        timestamp,
        received: 60_000 * 1000 + timestamp % 1000,
        tags: vec![("tier".into(), "gold".into())],
        metadata: "{}".into(),
        data: vec![1, 2, 3],
    }
}

/// The one number `sql` selects.
async fn scalar_of(store: &super::super::Store, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.sqlite_pool())
        .await
        .unwrap()
}

/// A fresh database with project 1, and a writer connection to it.
async fn store_with_project() -> (tempfile::TempDir, super::super::Store, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = super::super::Store::open(&crate::config::Config::for_tests(&url))
        .await
        .unwrap();
    sqlx::query("INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 0)")
        .execute(store.sqlite_pool())
        .await
        .unwrap();
    let conn = store.writer_connection().unwrap();
    (dir, store, conn)
}

#[tokio::test]
async fn counters_of_existing_issues_wait_as_pending_rows_until_folded() {
    let (_dir, store, mut conn) = store_with_project().await;
    let issue = |pool| async move {
        sqlx::query_as::<
            _,
            (
                i64,
                i64,
                i64,
                String,
                Option<String>,
                Option<String>,
                String,
            ),
        >(
            "SELECT times_seen, first_seen, last_seen, title, first_release, last_release,
                    status || '/' || substatus FROM issues",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let scalar = |sql: &'static str| scalar_of(&store, sql);
    let minutes = || scalar("SELECT COALESCE(SUM(count), 0) FROM issue_minutes");
    let pending = || scalar("SELECT COUNT(*) FROM issue_counts_pending");

    // A new issue is written whole, counters and minutes included, even without a fold.
    let (a, b) = (
        event("a", "first", 5_000, None),
        event("b", "second", 4_000, Some("1.0")),
    );
    let mut tags = PendingTags::default();
    assert!(write(&mut conn, &[&a, &b], &mut tags).is_ok());
    assert_eq!(
        issue(store.sqlite_pool().clone()).await,
        (
            2,
            4_000,
            5_000,
            "first".into(),
            None,
            None,
            "unresolved/new".into()
        )
    );
    assert_eq!((minutes().await, pending().await), (2, 0));

    // Later events of it wait as one pending row per issue and minute.
    let (c, d) = (
        event("c", "third", 9_000, Some("2.0")),
        event("d", "fourth", 8_000, None),
    );
    assert!(write(&mut conn, &[&c, &d], &mut tags).is_ok());
    assert_eq!(issue(store.sqlite_pool().clone()).await.0, 2);
    assert_eq!((minutes().await, pending().await), (2, 1));

    // A resolved issue regresses in the event's own commit; an earlier event moves
    // first_seen back at once.
    sqlx::query("UPDATE issues SET status = 'resolved'")
        .execute(store.sqlite_pool())
        .await
        .unwrap();
    let e = event("e", "fifth", 1_000, None);
    assert!(write(&mut conn, &[&e], &mut tags).is_ok());
    let (times_seen, first_seen, _, _, _, _, status) = issue(store.sqlite_pool().clone()).await;
    assert_eq!((times_seen, first_seen), (2, 1_000));
    assert_eq!(status, "unresolved/regressed");
    // Tag counts read the pending rows too.
    assert_eq!(
        store.issue_tags(IssueId(1)).await.unwrap(),
        [crate::store::events::TagCount {
            key: "tier".into(),
            value: "gold".into(),
            count: 5
        }]
    );

    // The fold adds the counts; the latest event (by its time) names the issue.
    fold(&mut conn, None).unwrap();
    assert_eq!((minutes().await, pending().await), (5, 0));
    assert_eq!(scalar("SELECT COUNT(*) FROM issue_tags").await, 0);
    fold(&mut conn, Some(&mut tags)).unwrap();
    assert!(tags.is_empty());
    assert_eq!(
        issue(store.sqlite_pool().clone()).await,
        (
            5,
            1_000,
            9_000,
            "third".into(),
            Some("2.0".into()),
            Some("2.0".into()),
            "unresolved/regressed".into()
        )
    );
    assert_eq!((minutes().await, pending().await), (5, 0));
    assert_eq!(scalar("SELECT count FROM issue_tags").await, 5);

    // A new writer folds what an earlier one left pending (its totals are read back).
    let f = event("f", "sixth", 10_000, None);
    assert!(write(&mut conn, &[&f], &mut tags).is_ok());
    drop(conn);
    let mut conn = store.writer_connection().unwrap();
    assert_eq!(issue(store.sqlite_pool().clone()).await.3, "sixth");
    assert_eq!((minutes().await, pending().await), (6, 0));
    assert_eq!(scalar("SELECT count FROM issue_tags").await, 6);
    assert_eq!(scalar("SELECT COUNT(*) FROM issue_tags_pending").await, 0);

    // An issue deleted while its tags wait took its pending rows along; the fold skips
    // its totals instead of failing on them.
    let mut tags = PendingTags::default();
    let g = event("g", "seventh", 11_000, None);
    assert!(write(&mut conn, &[&g], &mut tags).is_ok());
    sqlx::query("DELETE FROM issues")
        .execute(store.sqlite_pool())
        .await
        .unwrap();
    fold(&mut conn, Some(&mut tags)).unwrap();
    assert!(tags.is_empty());
    assert_eq!(scalar("SELECT COUNT(*) FROM issue_tags").await, 0);
}

#[tokio::test]
async fn new_tag_values_stop_at_the_limits_and_known_ones_keep_counting() {
    let (_dir, store, mut conn) = store_with_project().await;
    let mut tags = PendingTags::default();
    // 1,200 distinct `url` values in one key, then 12 keys of 1,000: past both limits.
    let tagged = |n: usize, key: String, value: String| WriteJob {
        event: Some(EncodedEvent::new(EventRow {
            event_id: EventId::parse(&format!("{n:032x}")).unwrap(),
            tags: vec![(key, value)],
            ..event_row("a", "t", 1_000 + n as i64, None)
        })),
        ..WriteJob::default()
    };
    let mut n = 0;
    for value in 0..1_200 {
        n += 1;
        let job = tagged(n, "url".into(), format!("/page/{value}"));
        assert!(write(&mut conn, &[&job], &mut tags).is_ok());
    }
    fold(&mut conn, Some(&mut tags)).unwrap();
    let count = |sql: &'static str| scalar_of(&store, sql);
    assert_eq!(
        count("SELECT COUNT(*) FROM issue_tags WHERE key = 'url'").await,
        1_000
    );
    for key in 0..12 {
        for value in 0..1_000 {
            n += 1;
            let job = tagged(n, format!("k{key}"), format!("{value}"));
            assert!(write(&mut conn, &[&job], &mut tags).is_ok());
        }
        fold(&mut conn, Some(&mut tags)).unwrap();
    }
    let rows = count("SELECT COUNT(*) FROM issue_tags").await;
    assert_eq!(rows, 10_000, "{rows}");
    assert_eq!(count("SELECT tag_values FROM issues").await, rows);
    // A value already kept goes on counting.
    n += 1;
    let job = tagged(n, "url".into(), "/page/7".into());
    assert!(write(&mut conn, &[&job], &mut tags).is_ok());
    fold(&mut conn, Some(&mut tags)).unwrap();
    assert_eq!(
        count("SELECT count FROM issue_tags WHERE key = 'url' AND value = '/page/7'").await,
        2
    );
}

/// An event whose every field differs from every other field, with an attachment and a user
/// report: each table's columns can be told apart when read back.
fn distinct_job(event: &str, timestamp: i64, received: i64) -> WriteJob {
    WriteJob {
        event: Some(EncodedEvent::new(EventRow {
            project_id: ProjectId(1),
            event_id: id(event),
            hashes: vec![format!("hash-{event}"), format!("fallback-{event}")],
            title: format!("title-{event}"),
            culprit: format!("culprit-{event}"),
            issue_type: "default".into(),
            level: "warning".into(),
            platform: "ruby".into(),
            release: Some(format!("release-{event}")),
            environment: Some(format!("environment-{event}")),
            user_key: Some(format!("id:user-{event}")),
            trace_id: Some(format!("{:0>32}", event.len())),
            timestamp,
            received,
            tags: vec![
                ("key-a".into(), format!("value-{event}")),
                ("key\"b".into(), "v\\b".into()),
            ],
            metadata: format!(r#"{{"type":"metadata-{event}"}}"#),
            data: vec![9, 8, 7, 6],
        })),
        attachments: vec![AttachmentRow {
            project_id: ProjectId(1),
            event_id: id(event),
            filename: format!("file-{event}.txt"),
            content_type: Some("text/x-test".into()),
            attachment_type: "event.minidump".into(),
            data: b"attached bytes".to_vec(),
            received: received + 1,
        }],
        user_reports: vec![UserReportRow {
            project_id: ProjectId(1),
            event_id: Some(id(event)),
            name: Some(format!("name-{event}")),
            email: Some(format!("{event}@example.com")),
            comments: format!("comments-{event}"),
            received: received + 2,
        }],
        log_blocks: vec![crate::logs::block::NewBlock {
            project_id: ProjectId(1),
            first_ns: timestamp * 1_000_000 + 1,
            last_ns: timestamp * 1_000_000 + 2,
            lines: 3,
            levels: 4,
            bytes: 5,
            data: format!("block-{event}").into_bytes(),
            words: format!("word{event} other"),
            received_ms: received + 3,
        }],
    }
}

/// A database holding one `distinct_job("x", 5_000, received)`.
async fn written_once() -> (
    tempfile::TempDir,
    super::super::Store,
    Connection,
    PendingTags,
) {
    let (dir, store, mut conn) = store_with_project().await;
    let mut tags = PendingTags::default();
    write(&mut conn, &[&distinct_job("x", 5_000, RECEIVED)], &mut tags).unwrap();
    (dir, store, conn, tags)
}

/// Receive time of [`written_once`]'s event: minute 1,000 and a bit.
const RECEIVED: i64 = 60_000_123;

async fn one_row(store: &super::super::Store, sql: &'static str) -> sqlx::sqlite::SqliteRow {
    sqlx::query(sql)
        .fetch_one(store.sqlite_pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_issue_row_reads_back_column_by_column() {
    let (_dir, store, _conn, _tags) = written_once().await;
    let row = one_row(&store, "SELECT * FROM issues").await;
    let text = |c: &str| row.get::<Option<String>, _>(c);
    let int = |c: &str| row.get::<i64, _>(c);
    assert_eq!((int("id"), int("project_id"), int("short_id")), (1, 1, 1));
    assert_eq!(text("primary_hash").as_deref(), Some("hash-x"));
    assert_eq!(text("type").as_deref(), Some("default"));
    assert_eq!(
        (int("first_seen"), int("last_seen"), int("times_seen")),
        (5_000, 5_000, 1)
    );
    assert_eq!(text("title").as_deref(), Some("title-x"));
    assert_eq!(text("culprit").as_deref(), Some("culprit-x"));
    assert_eq!(text("level").as_deref(), Some("warning"));
    assert_eq!(text("first_release").as_deref(), Some("release-x"));
    assert_eq!(text("last_release").as_deref(), Some("release-x"));
    assert_eq!(
        text("metadata").as_deref(),
        Some(r#"{"type":"metadata-x"}"#)
    );
    assert_eq!(int("users_seen"), 1);
}

#[tokio::test]
async fn an_event_row_reads_back_column_by_column() {
    let (_dir, store, _conn, _tags) = written_once().await;
    let row = one_row(&store, "SELECT * FROM events").await;
    let text = |c: &str| row.get::<Option<String>, _>(c);
    let int = |c: &str| row.get::<i64, _>(c);
    assert_eq!((int("project_id"), int("issue_id")), (1, 1));
    assert_eq!(text("event_id"), Some(id("x").to_string()));
    assert_eq!((int("timestamp"), int("received")), (5_000, RECEIVED));
    assert_eq!(text("level").as_deref(), Some("warning"));
    assert_eq!(text("platform").as_deref(), Some("ruby"));
    assert_eq!(text("release").as_deref(), Some("release-x"));
    assert_eq!(text("environment").as_deref(), Some("environment-x"));
    assert_eq!(text("user_key").as_deref(), Some("id:user-x"));
    assert_eq!(text("title").as_deref(), Some("title-x"));
    assert_eq!(row.get::<Vec<u8>, _>("data"), [9, 8, 7, 6]);
}

#[tokio::test]
async fn a_log_block_row_reads_back_column_by_column_and_is_found_by_its_words() {
    let (_dir, store, _conn, _tags) = written_once().await;
    let row = one_row(&store, "SELECT * FROM log_blocks").await;
    let int = |c: &str| row.get::<i64, _>(c);
    assert_eq!((int("id"), int("project_id")), (1, 1));
    assert_eq!(
        (int("first_ns"), int("last_ns")),
        (5_000_000_001, 5_000_000_002)
    );
    assert_eq!(int("received"), RECEIVED + 3);
    assert_eq!((int("lines"), int("levels"), int("bytes")), (3, 4, 5));
    assert_eq!(row.get::<Vec<u8>, _>("data"), b"block-x");
    let found: Vec<i64> =
        sqlx::query_scalar("SELECT rowid FROM log_search WHERE log_search MATCH 'wordx'")
            .fetch_all(store.sqlite_pool())
            .await
            .unwrap();
    assert_eq!(found, [1]);
}

#[tokio::test]
async fn hash_and_user_rows_link_to_the_issue() {
    let (_dir, store, _conn, _tags) = written_once().await;
    let hashes: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT project_id, hash, issue_id FROM issue_hashes ORDER BY hash")
            .fetch_all(store.sqlite_pool())
            .await
            .unwrap();
    assert_eq!(
        hashes,
        [(1, "fallback-x".into(), 1), (1, "hash-x".into(), 1)]
    );
    let users: Vec<(i64, String)> = sqlx::query_as("SELECT issue_id, user_key FROM issue_users")
        .fetch_all(store.sqlite_pool())
        .await
        .unwrap();
    assert_eq!(users, [(1, "id:user-x".into())]);
}

#[tokio::test]
async fn attachment_and_user_report_rows_read_back_column_by_column() {
    let (_dir, store, _conn, _tags) = written_once().await;
    let row = one_row(&store, "SELECT * FROM attachments").await;
    let text = |c: &str| row.get::<Option<String>, _>(c);
    assert_eq!(row.get::<i64, _>("project_id"), 1);
    assert_eq!(text("event_id"), Some(id("x").to_string()));
    assert_eq!(text("filename").as_deref(), Some("file-x.txt"));
    assert_eq!(text("content_type").as_deref(), Some("text/x-test"));
    assert_eq!(text("attachment_type").as_deref(), Some("event.minidump"));
    assert_eq!(row.get::<i64, _>("size"), 14);
    assert_eq!(row.get::<Vec<u8>, _>("data"), b"attached bytes");
    assert_eq!(row.get::<i64, _>("created_at"), RECEIVED + 1);

    let row = one_row(&store, "SELECT * FROM user_reports").await;
    let text = |c: &str| row.get::<Option<String>, _>(c);
    assert_eq!(row.get::<i64, _>("project_id"), 1);
    assert_eq!(text("event_id"), Some(id("x").to_string()));
    assert_eq!(text("name").as_deref(), Some("name-x"));
    assert_eq!(text("email").as_deref(), Some("x@example.com"));
    assert_eq!(text("comments").as_deref(), Some("comments-x"));
    assert_eq!(row.get::<i64, _>("created_at"), RECEIVED + 2);
}

#[tokio::test]
async fn usage_minutes_and_pending_tags_of_a_new_issue() {
    let (_dir, store, _conn, _tags) = written_once().await;
    let usage: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT events, event_bytes, attachments, attachment_bytes FROM project_usage
         WHERE project_id = 1",
    )
    .fetch_one(store.sqlite_pool())
    .await
    .unwrap();
    assert_eq!(usage, (1, 4, 1, 14));
    let minutes: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT issue_id, minute, count FROM issue_minutes")
            .fetch_all(store.sqlite_pool())
            .await
            .unwrap();
    assert_eq!(minutes, [(1, 1_000, 1)]);
    let pending: (i64, i64, String) =
        sqlx::query_as("SELECT issue_id, timestamp, json(tags) FROM issue_tags_pending")
            .fetch_one(store.sqlite_pool())
            .await
            .unwrap();
    assert_eq!(
        pending,
        (
            1,
            5_000,
            r#"[["key-a","value-x"],["key\"b","v\\b"]]"#.into()
        )
    );
}

#[tokio::test]
async fn a_known_issue_waits_as_a_pending_count_row_and_folds_into_the_issue_and_its_tags() {
    let (_dir, store, mut conn, mut tags) = written_once().await;
    // The same issue (its fallback hash), earlier and later events: one count row per minute.
    let mut later = distinct_job("y", 7_000, RECEIVED + 60_000);
    let mut earlier = distinct_job("z", 3_000, RECEIVED + 60_000);
    for job in [&mut later, &mut earlier] {
        let event = job.event.take().unwrap();
        let mut row = event.row().clone();
        row.hashes = vec!["fallback-x".into()];
        job.event = Some(EncodedEvent::new(row));
    }
    write(&mut conn, &[&later, &earlier], &mut tags).unwrap();
    let row = one_row(&store, "SELECT * FROM issue_counts_pending").await;
    let text = |c: &str| row.get::<Option<String>, _>(c);
    let int = |c: &str| row.get::<i64, _>(c);
    assert_eq!(
        (
            int("issue_id"),
            int("minute"),
            int("count"),
            int("last_seen")
        ),
        (1, 1_001, 2, 7_000)
    );
    assert_eq!(text("title").as_deref(), Some("title-y"));
    assert_eq!(text("culprit").as_deref(), Some("culprit-y"));
    assert_eq!(text("level").as_deref(), Some("warning"));
    assert_eq!(text("release").as_deref(), Some("release-y"));
    assert_eq!(
        text("metadata").as_deref(),
        Some(r#"{"type":"metadata-y"}"#)
    );
    // The update moved first_seen back at once.
    assert_eq!(
        scalar_of(&store, "SELECT first_seen FROM issues").await,
        3_000
    );

    fold(&mut conn, Some(&mut tags)).unwrap();
    let row = one_row(&store, "SELECT * FROM issues").await;
    let text = |c: &str| row.get::<Option<String>, _>(c);
    assert_eq!(row.get::<i64, _>("times_seen"), 3);
    assert_eq!(row.get::<i64, _>("last_seen"), 7_000);
    assert_eq!(text("title").as_deref(), Some("title-y"));
    assert_eq!(text("first_release").as_deref(), Some("release-x"));
    assert_eq!(text("last_release").as_deref(), Some("release-y"));
    let totals: Vec<(i64, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT issue_id, key, value, count, first_seen, last_seen FROM issue_tags
         ORDER BY key, value",
    )
    .fetch_all(store.sqlite_pool())
    .await
    .unwrap();
    assert_eq!(
        totals,
        [
            (1, "key\"b".into(), "v\\b".into(), 3, 3_000, 7_000),
            (1, "key-a".into(), "value-x".into(), 1, 5_000, 5_000),
            (1, "key-a".into(), "value-y".into(), 1, 7_000, 7_000),
            (1, "key-a".into(), "value-z".into(), 1, 3_000, 3_000),
        ]
    );
}

#[tokio::test]
async fn events_make_their_releases_and_a_release_resolution_holds_for_older_releases() {
    let (_dir, store, mut conn) = store_with_project().await;
    let mut tags = PendingTags::default();
    let in_release = |id: &str, timestamp: i64, release: &str| {
        let mut row = event_row(id, "t", timestamp, Some(release));
        row.received = timestamp;
        WriteJob {
            event: Some(EncodedEvent::new(row)),
            ..WriteJob::default()
        }
    };
    let a = in_release("a", 1_000, "1.0");
    let b = in_release("b", 2_000, "1.0");
    write(&mut conn, &[&a, &b], &mut tags).unwrap();
    let release = store.release("1.0").await.unwrap().unwrap();
    assert_eq!(
        (
            release.date_created,
            release.first_event,
            release.last_event
        ),
        (1_000, Some(1_000), Some(2_000))
    );
    assert_eq!(release.new_issues, 1);
    assert_eq!(
        store.release_projects(release.id).await.unwrap(),
        [(ProjectId(1), "p".to_owned())]
    );
    // Resolved in 1.0: another event of 1.0 leaves it resolved, one of a later release does not.
    sqlx::query(
        "UPDATE issues SET status = 'resolved', substatus = '', resolved_in_release = '1.0'",
    )
    .execute(store.sqlite_pool())
    .await
    .unwrap();
    let status = || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM issues")
            .fetch_one(store.sqlite_pool())
            .await
            .unwrap()
    };
    write(&mut conn, &[&in_release("c", 3_000, "1.0")], &mut tags).unwrap();
    assert_eq!(status().await, "resolved");
    assert_eq!(
        store.release("1.0").await.unwrap().unwrap().last_event,
        Some(3_000)
    );
    write(&mut conn, &[&in_release("d", 4_000, "1.1")], &mut tags).unwrap();
    assert_eq!(status().await, "unresolved");
    assert_eq!(
        store.release("1.1").await.unwrap().unwrap().date_created,
        4_000
    );

    // Semantic versions order by their numbers, whenever each release was made: resolved in
    // shop@1.10, an event of shop@1.9.5 (a hotfix release made afterwards) leaves it resolved.
    let resolve_in = |version: &'static str| {
        let pool = store.sqlite_pool().clone();
        async move {
            sqlx::query(
                "UPDATE issues SET status = 'resolved', substatus = '', resolved_in_release = ?",
            )
            .bind(version)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    write(
        &mut conn,
        &[&in_release("e", 5_000, "shop@1.10")],
        &mut tags,
    )
    .unwrap();
    resolve_in("shop@1.10").await;
    write(
        &mut conn,
        &[&in_release("f", 6_000, "shop@1.9.5")],
        &mut tags,
    )
    .unwrap();
    assert_eq!(status().await, "resolved", "1.9.5 comes before 1.10");
    write(
        &mut conn,
        &[&in_release("g", 7_000, "shop@1.10.1")],
        &mut tags,
    )
    .unwrap();
    assert_eq!(status().await, "unresolved", "1.10.1 comes after 1.10");
    // A version that is not semantic falls back to creation order.
    resolve_in("shop@1.10.1").await;
    write(
        &mut conn,
        &[&in_release("h", 8_000, "web-4f2a9c")],
        &mut tags,
    )
    .unwrap();
    assert_eq!(status().await, "unresolved", "created after 1.10.1");
}
