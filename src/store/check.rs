//! `snag check`: SQLite's integrity check (on SQLite), and whether each kept counter agrees with the rows
//! it counts. Counters that must agree:
//!
//! ```text
//! issues.times_seen        = its minute + hour buckets (pending counter rows add to both)
//! issues.users_seen        = its issue_users rows
//! issues.tag_values        = its issue_tags rows;  issue_tag_keys.tag_values = rows per key
//! issues.times_seen       >= its stored events (retention deletes events, never counts)
//! project_usage            = the project's events and attachments, counted and summed
//! ```

use super::sql;
use super::{Store, StoreError};

/// One disagreement, in words.
pub type Finding = String;

/// Each query yields the rows that disagree, as text: (where, kept, counted). The figures are
/// named in a subquery and compared outside it (PostgreSQL does not let a WHERE use them).
const COUNTER_CHECKS: [(&str, &str); 6] = [
    (
        "times_seen",
        "SELECT place, CAST(kept AS TEXT), CAST(n AS TEXT) FROM (
             SELECT 'issue ' || i.id AS place, i.times_seen AS kept,
                    COALESCE((SELECT SUM(count) FROM issue_minutes WHERE issue_id = i.id), 0)
                  + COALESCE((SELECT SUM(count) FROM issue_hours WHERE issue_id = i.id), 0) AS n
             FROM issues i) AS c
         WHERE kept <> n",
    ),
    (
        "users_seen",
        "SELECT place, CAST(kept AS TEXT), CAST(n AS TEXT) FROM (
             SELECT 'issue ' || i.id AS place, i.users_seen AS kept,
                    (SELECT COUNT(*) FROM issue_users WHERE issue_id = i.id) AS n
             FROM issues i) AS c
         WHERE kept <> n",
    ),
    (
        "tag_values",
        "SELECT place, CAST(kept AS TEXT), CAST(n AS TEXT) FROM (
             SELECT 'issue ' || i.id AS place, i.tag_values AS kept,
                    (SELECT COUNT(*) FROM issue_tags WHERE issue_id = i.id) AS n
             FROM issues i) AS c
         WHERE kept <> n",
    ),
    (
        "tag values of a key",
        "SELECT place, CAST(kept AS TEXT), CAST(n AS TEXT) FROM (
             SELECT 'issue ' || k.issue_id || ' key ' || k.key AS place, k.tag_values AS kept,
                    (SELECT COUNT(*) FROM issue_tags t
                     WHERE t.issue_id = k.issue_id AND t.key = k.key) AS n
             FROM issue_tag_keys k) AS c
         WHERE kept <> n",
    ),
    (
        "stored events within times_seen",
        "SELECT place, CAST(kept AS TEXT), CAST(n AS TEXT) FROM (
             SELECT 'issue ' || i.id AS place, i.times_seen AS kept,
                    (SELECT COUNT(*) FROM events WHERE issue_id = i.id) AS n,
                    i.times_seen + COALESCE((SELECT SUM(count) FROM issue_counts_pending
                                             WHERE issue_id = i.id), 0) AS allowed
             FROM issues i) AS c
         WHERE n > allowed",
    ),
    (
        "project usage (events, event bytes, attachments, attachment bytes)",
        "SELECT place, kept, n FROM (
             SELECT 'project ' || p.id AS place,
                    COALESCE(u.events, 0) || ', ' || COALESCE(u.event_bytes, 0) || ', '
                        || COALESCE(u.attachments, 0) || ', ' || COALESCE(u.attachment_bytes, 0) AS kept,
                    (SELECT COUNT(*) || ', ' || COALESCE(SUM(length(data)), 0) FROM events
                     WHERE project_id = p.id)
                        || ', ' ||
                    (SELECT COUNT(*) || ', ' || COALESCE(SUM(length(data)), 0) FROM attachments
                     WHERE project_id = p.id) AS n
             FROM projects p LEFT JOIN project_usage u ON u.project_id = p.id) AS c
         WHERE kept <> n",
    ),
];

impl Store {
    /// Runs every check; returns what disagrees (nothing when all is well).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn check(&self) -> Result<Vec<Finding>, StoreError> {
        let mut findings = Vec::new();
        if self.dialect() == sql::Dialect::Sqlite {
            findings.extend(self.sqlite_integrity().await?);
        }
        for (what, sql) in COUNTER_CHECKS {
            let rows: Vec<(String, String, String)> =
                sql::query_as(sql).fetch_all(&self.pool).await?;
            findings.extend(rows.into_iter().map(|(place, kept, counted)| {
                format!("{what}: {place} keeps {kept}, its rows count {counted}")
            }));
        }
        Ok(findings)
    }

    /// SQLite's own checks of its file and of foreign keys (PostgreSQL enforces both itself).
    async fn sqlite_integrity(&self) -> Result<Vec<Finding>, StoreError> {
        let mut findings = Vec::new();
        let integrity: Vec<String> = sql::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        findings.extend(
            integrity
                .into_iter()
                .filter(|line| line != "ok")
                .map(|line| format!("integrity: {line}")),
        );
        let foreign: Vec<(String, i64)> =
            sql::query_as("SELECT \"table\", COUNT(*) FROM pragma_foreign_key_check GROUP BY 1")
                .fetch_all(&self.pool)
                .await?;
        findings.extend(
            foreign
                .into_iter()
                .map(|(table, n)| format!("foreign keys: {n} row(s) of {table} point at nothing")),
        );
        Ok(findings)
    }

    /// Writes a consistent copy of the database to `path` (which must not exist) while it
    /// keeps serving: one read transaction, so writers go on (WAL).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn backup(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if self.dialect() == sql::Dialect::Postgres {
            return Err(StoreError::Unsupported(
                "snag backup copies a SQLite database; back PostgreSQL up with its own tools \
                 (pg_dump, or the service's snapshots)"
                    .to_owned(),
            ));
        }
        if path.exists() {
            return Err(StoreError::Invalid(format!(
                "{} exists already: give a new file",
                path.display()
            )));
        }
        sql::query("VACUUM INTO $1")
            .bind(path.to_string_lossy())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
