//! PostgreSQL (issue 21, ADR 0002): the schema of `migrations/postgres/` against a real server,
//! checked against what the SQLite migrations make. They need a server: `./scripts/test` starts
//! a throwaway one and sets `SNAG_TEST_POSTGRES_URL`; a plain `cargo test` lists them as
//! ignored.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::json;
use snag::store::{ProjectId, Store};

use crate::helpers::{
    event_envelope, post_envelope, run_snag, spawn_app_on, spawn_sqlite_app_with,
};

/// The server `./scripts/test` started.
pub(crate) fn server_url() -> String {
    std::env::var("SNAG_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "SNAG_TEST_POSTGRES_URL is not set: ./scripts/test starts a throwaway PostgreSQL \
             (scripts/postgres-cluster) and sets it"
        )
    })
}

/// Runs `psql` on `url`; its output, one row per line, columns split by `|`.
fn psql(url: &str, args: &[&str]) -> String {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t"])
        .args(args)
        .output()
        .expect("psql (Debian's postgresql-client) runs");
    assert!(
        out.status.success(),
        "psql {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new, empty database on the server, dropped with the value.
pub(crate) struct Database {
    server: String,
    name: String,
}

impl Database {
    pub(crate) fn new(server: &str) -> Database {
        let name = format!("snag_test_{}", uuid::Uuid::new_v4().simple());
        psql(server, &["-c", &format!("CREATE DATABASE {name}")]);
        Database {
            server: server.to_owned(),
            name,
        }
    }

    pub(crate) fn url(&self) -> String {
        let (base, _) = self.server.rsplit_once('/').expect("a database URL");
        format!("{base}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(&self.server)
            .args([
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {}", self.name),
            ])
            .output();
    }
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The two schemas name the same things; else what each lacks.
fn same(what: &str, postgres: &BTreeSet<String>, sqlite: &BTreeSet<String>) {
    let only_postgres: Vec<_> = postgres.difference(sqlite).collect();
    let only_sqlite: Vec<_> = sqlite.difference(postgres).collect();
    assert!(
        only_postgres.is_empty() && only_sqlite.is_empty(),
        "{what}: only on PostgreSQL {only_postgres:?}, only on SQLite {only_sqlite:?}"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SNAG_TEST_POSTGRES_URL (./scripts/test starts one)"]
async fn the_postgresql_schema_has_every_table_column_index_and_trigger_of_sqlites() {
    let database = Database::new(&server_url());
    let url = database.url();
    let mut migrations: Vec<_> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
    migrations.sort();
    for migration in &migrations {
        psql(&url, &["-f", migration.to_str().unwrap()]);
    }
    let pg = |sql: &str| lines(&psql(&url, &["-c", sql]));
    let pg_columns = pg(
        "SELECT table_name || '.' || column_name FROM information_schema.columns
                         WHERE table_schema = 'public'",
    );
    // Indexes made by CREATE INDEX (not by a key or a UNIQUE constraint).
    let pg_indexes = pg(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'
                         AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'",
    );
    let pg_triggers = pg("SELECT DISTINCT trigger_name FROM information_schema.triggers");

    let app = spawn_sqlite_app_with(|_| {}).await;
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let conn = rusqlite::Connection::open(path).unwrap();
    let sqlite = |sql: &str| -> BTreeSet<String> {
        let mut statement = conn.prepare(sql).unwrap();
        statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let tables = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                  AND m.name <> '_sqlx_migrations'";
    let sqlite_columns = sqlite(&format!(
        "SELECT m.name || '.' || p.name FROM sqlite_schema m, pragma_table_info(m.name) p WHERE {tables}"
    ));
    let sqlite_indexes =
        sqlite("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL");
    let sqlite_triggers = sqlite("SELECT name FROM sqlite_schema WHERE type = 'trigger'");

    // Log blocks' words: an FTS5 table (and its shadow tables) on SQLite, a tsvector column on
    // PostgreSQL (docs/adr/0003).
    let mut sqlite_columns: BTreeSet<String> = sqlite_columns
        .into_iter()
        .filter(|c| !c.starts_with("log_search"))
        .collect();
    sqlite_columns.insert("log_blocks.words".to_owned());
    same("tables.columns", &pg_columns, &sqlite_columns);
    // `users.email` is unique ignoring case: COLLATE NOCASE in SQLite, an index on PostgreSQL.
    let mut expected_indexes = sqlite_indexes;
    expected_indexes.insert("users_email".to_owned());
    expected_indexes.insert("log_blocks_words".to_owned());
    same("indexes", &pg_indexes, &expected_indexes);
    // PostgreSQL fires AFTER row triggers at the end of the statement: its limits' BEFORE
    // trigger counts the new tag values itself (migrations/postgres/0004).
    let mut expected_triggers = sqlite_triggers;
    assert!(expected_triggers.remove("issue_tags_counted"));
    same("triggers", &pg_triggers, &expected_triggers);
    app.stop().await;
}

/// What an installation holds, as its users see it: projects and DSN keys, issues with their
/// numbers and counters, each issue's events, tags and activity, user reports, users, tokens.
async fn holdings(store: &Store) -> Vec<String> {
    let mut seen = Vec::new();
    for (project, keys) in store.list_projects().await.unwrap() {
        seen.push(format!("{project:?} {keys:?}"));
        let mut events = store.event_ids(project.id).await.unwrap();
        events.sort();
        seen.push(format!("events {events:?}"));
        seen.push(format!(
            "{:?}",
            store.user_reports(project.id).await.unwrap()
        ));
        for issue in store.list_issues(project.id).await.unwrap() {
            seen.push(format!("{issue:?}"));
            seen.push(format!("{:?}", store.issue_tags(issue.id).await.unwrap()));
            seen.push(format!(
                "{:?}",
                store.issue_activity(issue.id).await.unwrap()
            ));
        }
    }
    seen.push(format!("{:?}", store.list_users().await.unwrap()));
    seen.push(format!("{:?}", store.list_tokens().await.unwrap()));
    // Log lines, found through each database's own index of their words.
    let projects = store.list_projects().await.unwrap();
    let search = snag::logs::search::Search {
        projects: projects.iter().map(|(p, _)| p.id).collect(),
        since_ns: i64::MIN,
        until_ns: i64::MAX,
        query: snag::logs::query::parse("order").unwrap(),
        newest_first: true,
        limit: 1000,
        after: None,
        after_block: None,
        until_block: None,
    };
    let found = snag::logs::search::search(store, &search).await.unwrap();
    let lines: Vec<(String, &str)> = found
        .lines
        .iter()
        .map(|l| (l.id.hex(), l.body.as_str()))
        .collect();
    seen.push(format!("log lines with `order` {lines:?}"));
    seen
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SNAG_TEST_POSTGRES_URL (./scripts/test starts one)"]
async fn snag_migrate_copies_an_installation_and_sdks_keep_sending_with_their_dsns() {
    // A SQLite installation filled by every captured SDK request and the real Python SDK.
    let app = spawn_sqlite_app_with(|_| {}).await;
    app.project("captures", ProjectId(1), "publickey").await;
    assert!(crate::replay::replay_all(&app).await >= 80);
    for group in ["python-logs", "node-logs"] {
        for capture in crate::replay::load(group) {
            crate::replay::replay_accepted(&app, &capture).await;
        }
    }
    app.project("python", ProjectId(7), "pythonkey").await;
    let dsn = format!("http://pythonkey@127.0.0.1:{}/7", app.port);
    crate::python_sdk::run_script(&dsn).await;
    app.store
        .create_user("ada@example.com", "a long enough password", true)
        .await
        .unwrap();
    let (token, _) = app.store.create_token("ci", &[], None).await.unwrap();
    let before = holdings(&app.store).await;
    assert!(before.len() > 40, "{before:?}");
    assert!(
        before
            .last()
            .unwrap()
            .contains("order 42 created for alice"),
        "{:?}",
        before.last()
    );
    let sqlite_url = app.database_url.clone();
    // The server stops; its folder (and database) stay until `app` is dropped.
    app.handle.stop(true).await;

    let database = Database::new(&server_url());
    let (ok, out, err) = run_snag(
        &sqlite_url,
        &["migrate", "--from", &sqlite_url, "--to", &database.url()],
    )
    .await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("Copied"), "{out}");
    let events_line = out
        .lines()
        .find(|l| l.starts_with("events "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(!events_line.contains(" 0 rows"), "{out}");

    // The same installation on PostgreSQL: every row, id and counter as it was.
    let pg = spawn_app_on(&database.url()).await;
    let after = holdings(&pg.store).await;
    let differences: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, a)| format!("SQLite:     {b}\nPostgreSQL: {a}"))
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert_eq!(after.len(), before.len());
    assert_eq!(pg.store.check().await.unwrap(), Vec::<String>::new());
    // SDKs keep their DSNs, tools their tokens; new rows get new ids.
    let event = json!({"message": "after the move"});
    for _ in 0..2 {
        let r = post_envelope(&pg, 1, "publickey", &event_envelope(&event)).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    crate::python_sdk::run_script(&format!("http://pythonkey@127.0.0.1:{}/7", pg.port)).await;
    let moved = pg
        .store
        .list_issues(ProjectId(1))
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.title == "after the move")
        .expect("the new issue");
    assert_eq!(moved.times_seen, 2);
    let projects = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/api/0/projects/snag/captures/issues/",
            pg.port
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(projects.status(), 200);
    let created = pg
        .store
        .create_project(&snag::store::projects::NewProject {
            name: "after".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.0.id, ProjectId(8), "the id after the copied ones");
    assert_eq!(pg.store.check().await.unwrap(), Vec::<String>::new());
    pg.stop().await;

    // A second copy into a database that holds projects is refused, nothing changed.
    let (ok, _, err) = run_snag(
        &sqlite_url,
        &["migrate", "--from", &sqlite_url, "--to", &database.url()],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("migrate into an empty database"), "{err}");
    let (ok, _, err) = run_snag(
        &sqlite_url,
        &[
            "migrate",
            "--from",
            "sqlite:///no/such/file.db",
            "--to",
            &database.url(),
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("there is no SQLite database"), "{err}");
}
