//! PostgreSQL (issue 21, ADR 0002): the schema of `migrations/postgres/` against a real server,
//! checked against what the SQLite migrations make. They need a server: `./scripts/test` starts
//! a throwaway one and sets `SNAG_TEST_POSTGRES_URL`; a plain `cargo test` lists them as
//! ignored.

use std::collections::BTreeSet;
use std::process::Command;

use crate::helpers::spawn_sqlite_app_with;

/// The server `./scripts/test` started.
fn server_url() -> String {
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
struct Database {
    server: String,
    name: String,
}

impl Database {
    fn new(server: &str) -> Database {
        let name = format!("snag_test_{}", uuid::Uuid::new_v4().simple());
        psql(server, &["-c", &format!("CREATE DATABASE {name}")]);
        Database {
            server: server.to_owned(),
            name,
        }
    }

    fn url(&self) -> String {
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

    same("tables.columns", &pg_columns, &sqlite_columns);
    // `users.email` is unique ignoring case: COLLATE NOCASE in SQLite, an index on PostgreSQL.
    let mut expected_indexes = sqlite_indexes;
    expected_indexes.insert("users_email".to_owned());
    same("indexes", &pg_indexes, &expected_indexes);
    same("triggers", &pg_triggers, &sqlite_triggers);
    app.stop().await;
}
