//! The reads of issues and events (the rows ingest writes are in [`super::rows`]).

use sqlx::FromRow;

use super::issue_state::{Level, Status, Substatus};
use super::sql::{self, Builder};
use super::{IssueId, ProjectId, Store, StoreError};

/// How many events of an issue carried a tag's value.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TagCount {
    pub key: String,
    pub value: String,
    pub count: i64,
}

/// An attachment as listed with its event (its bytes are read one at a time, on download).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AttachmentInfo {
    pub id: i64,
    pub filename: String,
    pub content_type: Option<String>,
    pub attachment_type: String,
    pub size: i64,
    pub created_at: i64,
}

/// One attachment whole, to download.
#[derive(Debug, Clone, FromRow)]
pub struct Attachment {
    pub filename: String,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// A user report as a project's list shows it: with its id and time.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ListedUserReport {
    pub id: i64,
    pub created_at: i64,
    #[sqlx(flatten)]
    pub report: UserReport,
}

/// A user report or feedback, about an event when `event_id` is known.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct UserReport {
    pub event_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub comments: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct StoredIssue {
    pub id: IssueId,
    pub project_id: ProjectId,
    pub short_id: i64,
    pub primary_hash: String,
    pub title: String,
    pub culprit: String,
    #[sqlx(rename = "type")]
    pub issue_type: String,
    pub level: Level,
    pub status: Status,
    pub substatus: Substatus,
    pub first_seen: i64,
    pub last_seen: i64,
    pub times_seen: i64,
    pub users_seen: i64,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
    pub metadata: String,
    /// Ignored until then (unix ms), when ignored for a while.
    pub ignored_until: Option<i64>,
    /// Who it is assigned to: their id and email.
    pub assignee_id: Option<i64>,
    pub assignee_email: Option<String>,
    /// Resolved in this release (or after it, "in the next release").
    pub resolved_in_release: Option<String>,
    /// The platform of its newest stored event (none once retention removed them all).
    pub platform: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct StoredEvent {
    pub project_id: ProjectId,
    pub event_id: String,
    pub issue_id: IssueId,
    pub timestamp: i64,
    pub received: i64,
    pub level: String,
    pub platform: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub user_key: Option<String>,
    pub title: String,
    pub data: Vec<u8>,
    /// The dictionary `data` names, attached by the store when it reads the row.
    #[sqlx(skip)]
    pub dictionary: Option<std::sync::Arc<super::compression::Dictionary>>,
}

impl StoredEvent {
    /// The normalized event as JSON.
    pub fn json(&self) -> Result<serde_json::Value, StoreError> {
        let raw = super::compression::decompress(&self.data, self.dictionary.as_deref())?;
        serde_json::from_slice(&raw).map_err(|e| StoreError::Corrupt(format!("event data: {e}")))
    }
}

pub(super) const ISSUE_COLUMNS: &str =
    "id, project_id, short_id, primary_hash, title, culprit, type, level, status, substatus,
    first_seen, last_seen, times_seen, users_seen, first_release, last_release, metadata,
    ignored_until, assignee_id,
    (SELECT email FROM users WHERE users.id = issues.assignee_id) AS assignee_email,
    resolved_in_release,
    (SELECT platform FROM events WHERE events.issue_id = issues.id
     ORDER BY timestamp DESC LIMIT 1) AS platform";
pub(super) const EVENT_COLUMNS: &str = "project_id, event_id, issue_id, timestamp, received, level, platform, release, environment, user_key, title, data";

impl Store {
    /// A project's issues, most recently seen first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_issues(&self, project_id: ProjectId) -> Result<Vec<StoredIssue>, StoreError> {
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} FROM issues WHERE project_id = $1 ORDER BY last_seen DESC, id DESC"
        );
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .fetch_all(&self.pool)
            .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_issue(&self, issue_id: IssueId) -> Result<Option<StoredIssue>, StoreError> {
        let sql = format!("SELECT {ISSUE_COLUMNS} FROM issues WHERE id = $1");
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_event(
        &self,
        project_id: ProjectId,
        event_id: &str,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE project_id = $1 AND event_id = $2");
        let event = sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
        self.readable(event).await
    }

    /// An issue's events, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_issue_events(
        &self,
        issue_id: IssueId,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 ORDER BY timestamp DESC, id DESC LIMIT $2"
        );
        let events = sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        self.all_readable(events).await
    }

    /// Every stored event id of a project (tests and the durability check).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn event_ids(&self, project_id: ProjectId) -> Result<Vec<String>, StoreError> {
        Ok(
            sql::query_scalar("SELECT event_id FROM events WHERE project_id = $1")
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Tag keys across the issues of `projects` (every project when empty), with how many
    /// events carry each: by key. Folded totals only (pending rows join within a second).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn tag_keys(&self, projects: &[ProjectId]) -> Result<Vec<(String, i64)>, StoreError> {
        let mut qb = Builder::new(
            "SELECT t.key, CAST(SUM(t.count) AS BIGINT) FROM issue_tags t JOIN issues i ON i.id = t.issue_id",
        );
        if !projects.is_empty() {
            qb.push(" WHERE i.project_id IN ");
            qb.push_list(projects);
        }
        qb.push(" GROUP BY t.key ORDER BY t.key");
        Ok(qb.build_query_as().fetch_all(&self.pool).await?)
    }

    /// An issue's tags: by key, then most frequent first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_tags(&self, issue_id: IssueId) -> Result<Vec<TagCount>, StoreError> {
        let pairs = self.dialect().pending_tag_pairs("p.tags", "t");
        Ok(sql::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT key, value, CAST(SUM(count) AS BIGINT) AS count FROM (
                 SELECT key, value, count FROM issue_tags WHERE issue_id = $1
                 UNION ALL
                 SELECT t.value->>0, t.value->>1, 1 FROM issue_tags_pending p, {pairs}
                 WHERE p.issue_id = $2) AS tags
             GROUP BY key, value ORDER BY key, count DESC, value",
        )))
        .bind(issue_id)
        .bind(issue_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Tag rows not yet folded into `issue_tags` (the writer folds them every quarter second).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn pending_tag_rows(&self) -> Result<i64, StoreError> {
        Ok(sql::query_scalar("SELECT COUNT(*) FROM issue_tags_pending")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Sum of an issue's minute and hour counters (equals `times_seen`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_minute_total(&self, issue_id: IssueId) -> Result<i64, StoreError> {
        Ok(sql::query_scalar(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM (
                 SELECT count FROM issue_minutes WHERE issue_id = $1
                 UNION ALL SELECT count FROM issue_hours WHERE issue_id = $2) AS counts",
        )
        .bind(issue_id)
        .bind(issue_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The attachments stored for an event, in arrival order, without their bytes.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn event_attachments(
        &self,
        project_id: ProjectId,
        event_id: &str,
    ) -> Result<Vec<AttachmentInfo>, StoreError> {
        Ok(sql::query_as(
            "SELECT id, filename, content_type, attachment_type, size, created_at FROM attachments
             WHERE project_id = $1 AND event_id = $2 ORDER BY id",
        )
        .bind(project_id)
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A page of a project's user reports and feedback, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn user_report_page(
        &self,
        project_id: ProjectId,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ListedUserReport>, StoreError> {
        Ok(sql::query_as(
            "SELECT id, created_at, event_id, name, email, comments FROM user_reports
             WHERE project_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(project_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The user reports about an issue's events, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_user_reports(
        &self,
        issue_id: IssueId,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ListedUserReport>, StoreError> {
        Ok(sql::query_as(
            "SELECT u.id, u.created_at, u.event_id, u.name, u.email, u.comments
             FROM user_reports u JOIN events e ON e.project_id = u.project_id AND e.event_id = u.event_id
             WHERE e.issue_id = $1 ORDER BY u.id DESC LIMIT $2 OFFSET $3",
        )
        .bind(issue_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    /// One attachment of an event by its id, whole.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn attachment_by_id(
        &self,
        project_id: ProjectId,
        event_id: &str,
        id: i64,
    ) -> Result<Option<Attachment>, StoreError> {
        Ok(sql::query_as(
            "SELECT filename, content_type, data FROM attachments
             WHERE project_id = $1 AND event_id = $2 AND id = $3",
        )
        .bind(project_id)
        .bind(event_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A project's user reports and feedback, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn user_reports(&self, project_id: ProjectId) -> Result<Vec<UserReport>, StoreError> {
        Ok(sql::query_as(
            "SELECT event_id, name, email, comments FROM user_reports WHERE project_id = $1 ORDER BY id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Store {
    /// How many of these event ids a project has stored.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_events(
        &self,
        project_id: ProjectId,
        event_ids: &[String],
    ) -> Result<i64, StoreError> {
        let mut total = 0;
        for chunk in event_ids.chunks(500) {
            let mut qb = Builder::new("SELECT COUNT(*) FROM events WHERE project_id = ");
            qb.push_bind(project_id)
                .push(" AND event_id IN ")
                .push_list(chunk);
            let n: i64 = qb.build_query_scalar().fetch_one(&self.pool).await?;
            total += n;
        }
        Ok(total)
    }
}
