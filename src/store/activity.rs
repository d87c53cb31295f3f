//! What happened to an issue, as Sentry's activity log has it: status changes and assignments
//! with who made them, notes, regressions. Status changes and assignments are recorded in the
//! transaction that makes them, for the issues they changed.
//!
//! ```text
//! type            data                                         who
//! set_resolved    {}                                           the person (None: unknown)
//! set_resolved_in_release  {"version": "shop@1.2"}
//! set_ignored     {"ignoreUntil": ms} | {"ignoreUntilEscalating": true} | {}
//! set_unresolved  {}
//! assigned        {"assignee": "3", "assigneeEmail": "…", "assigneeType": "user"}
//! unassigned      {}
//! note            {"text": "…"}
//! set_regression  {}                                           nobody (an event did it)
//! ```

use serde_json::{Value, json};
use sqlx::FromRow;

use super::issues::IssueStatus;
use super::sql::{self, Builder};
use super::users::User;
use super::{IssueId, Store, StoreError, now_ms};

/// Longest note kept, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// One entry of an issue's activity (newest first when listed).
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct Activity {
    pub id: i64,
    pub issue_id: IssueId,
    /// Sentry's activity type (`set_resolved`, `note`, …).
    #[sqlx(rename = "type")]
    pub kind: String,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    /// JSON object.
    pub data: String,
    pub created_at: i64,
}

impl Activity {
    pub fn data(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|_| json!({}))
    }
}

/// The activity a status change records: its type and data.
pub(super) fn of_status(status: &IssueStatus) -> (&'static str, Value) {
    match status {
        IssueStatus::Resolved => ("set_resolved", json!({})),
        IssueStatus::ResolvedInRelease(version) => {
            ("set_resolved_in_release", json!({"version": version}))
        }
        IssueStatus::Unresolved => ("set_unresolved", json!({})),
        IssueStatus::Ignored => ("set_ignored", json!({})),
        IssueStatus::IgnoredUntilEscalating => {
            ("set_ignored", json!({"ignoreUntilEscalating": true}))
        }
        IssueStatus::IgnoredUntil(until) => ("set_ignored", json!({"ignoreUntil": until})),
    }
}

/// The activity an assignment records.
pub(super) fn of_assignment(assignee: Option<&User>) -> (&'static str, Value) {
    match assignee {
        Some(u) => (
            "assigned",
            json!({"assignee": u.id.to_string(), "assigneeEmail": u.email, "assigneeType": "user"}),
        ),
        None => ("unassigned", json!({})),
    }
}

/// Inserts one activity row per issue in `issue_ids` (inside the caller's transaction).
pub(super) async fn record(
    tx: &mut sql::Tx,
    issue_ids: &[IssueId],
    (kind, data): (&'static str, Value),
    actor: Option<i64>,
) -> Result<(), StoreError> {
    if issue_ids.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let data = data.to_string();
    let mut qb = Builder::new(
        "INSERT INTO issue_activity (issue_id, type, user_id, data, created_at) VALUES ",
    );
    for (n, id) in issue_ids.iter().enumerate() {
        qb.push(if n == 0 { "(" } else { ", (" });
        qb.push_bind(*id)
            .push(", ")
            .push_bind(kind)
            .push(", ")
            .push_bind(actor);
        qb.push(", ")
            .push_bind(&data)
            .push(", ")
            .push_bind(now)
            .push(")");
    }
    qb.build().execute(tx).await?;
    Ok(())
}

const ACTIVITY_COLUMNS: &str = "a.id, a.issue_id, a.type, a.user_id,
    (SELECT email FROM users WHERE users.id = a.user_id) AS user_email, a.data, a.created_at";

impl Store {
    /// An issue's activity, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_activity(&self, issue_id: IssueId) -> Result<Vec<Activity>, StoreError> {
        let sql = format!(
            "SELECT {ACTIVITY_COLUMNS} FROM issue_activity a WHERE a.issue_id = $1 ORDER BY a.id DESC"
        );
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Adds a note (a comment) by `author`; empty or over-long notes are refused.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_note(
        &self,
        issue_id: IssueId,
        author: Option<i64>,
        text: &str,
    ) -> Result<Activity, StoreError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
            return Err(StoreError::Invalid(format!(
                "a note needs 1 to {MAX_NOTE_CHARS} characters"
            )));
        }
        let id: i64 = sql::query_scalar(
            "INSERT INTO issue_activity (issue_id, type, user_id, data, created_at)
             VALUES ($1, 'note', $2, $3, $4) RETURNING id",
        )
        .bind(issue_id)
        .bind(author)
        .bind(json!({ "text": text }).to_string())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        let sql = format!("SELECT {ACTIVITY_COLUMNS} FROM issue_activity a WHERE a.id = $1");
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Records that an issue regressed at `at_ms` (once, however often it is told).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_regression(&self, issue_id: IssueId, at_ms: i64) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO issue_activity (issue_id, type, user_id, data, created_at)
             VALUES ($1, 'set_regression', NULL, '{}', $2) ON CONFLICT DO NOTHING",
        )
        .bind(issue_id)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
