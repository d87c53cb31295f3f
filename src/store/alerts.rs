//! The SQL of alerts: per-project settings, the evaluator's cursors and per-issue rule state,
//! and `alert_log`, where every alert is written before it is sent.

use sqlx::FromRow;

use super::issue_state::{Level, Status, Substatus};
use super::sql::{self, Dialect};
use super::{IssueId, ProjectId, Store, StoreError};
use crate::rates::Episode;
use crate::time;

/// A project's alert rules (the defaults until someone changes them).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AlertSettings {
    pub on_new: bool,
    pub on_regression: bool,
    pub on_spike: bool,
    pub spike_min_count: i64,
    pub spike_ratio: f64,
    pub spike_z: f64,
    /// "More than N events in M minutes", when both are set.
    pub frequency_count: Option<i64>,
    pub frequency_minutes: Option<i64>,
    pub cooldown_minutes: i64,
    /// `None`: every user.
    pub recipients: Option<String>,
    pub max_emails_per_hour: i64,
    /// Every alert is also POSTed here as JSON, when set.
    pub webhook_url: Option<String>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            on_new: true,
            on_regression: true,
            on_spike: true,
            spike_min_count: 10,
            spike_ratio: 4.0,
            spike_z: 4.0,
            frequency_count: None,
            frequency_minutes: None,
            cooldown_minutes: 30,
            recipients: None,
            max_emails_per_hour: 20,
            webhook_url: None,
        }
    }
}

/// What an alert says about its issue.
#[derive(Debug, Clone, FromRow)]
pub struct AlertIssue {
    pub id: IssueId,
    pub project_id: ProjectId,
    pub project: String,
    pub short_id: i64,
    pub title: String,
    pub culprit: String,
    pub level: Level,
    pub status: Status,
    pub substatus: Substatus,
    pub first_seen: i64,
    pub last_seen: i64,
    pub times_seen: i64,
    pub users_seen: i64,
    pub metadata: String,
    pub regressed_at: Option<i64>,
    /// The email of whoever it is assigned to.
    pub assignee_email: Option<String>,
}

const ALERT_ISSUE: &str =
    "SELECT i.id, i.project_id, p.name AS project, i.short_id, i.title, i.culprit,
    i.level, i.status, i.substatus, i.first_seen, i.last_seen, i.times_seen, i.users_seen,
    i.metadata, i.regressed_at, (SELECT email FROM users u WHERE u.id = i.assignee_id) AS assignee_email
    FROM issues i JOIN projects p ON p.id = i.project_id";

/// An alert to record.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub project_id: ProjectId,
    pub issue_id: Option<IssueId>,
    pub rule: &'static str,
    pub dedupe_key: String,
    pub reason: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// How a recorded alert stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Queued for mail (or recorded only, with mail off).
    Queued,
    /// Over the project's hourly cap: recorded, summarised in one later email.
    Capped,
    /// This alert (same issue and episode) exists already.
    Duplicate,
}

/// A logged alert, as the issue page lists it and the mailer sends it.
/// Where an alert's delivery stands (`alert_log.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")] // TEXT on PostgreSQL too
pub enum Delivery {
    /// Due (or retrying, after `attempts` failures).
    Pending,
    Sent,
    /// Given up after its last attempt.
    Failed,
    /// Recorded only: no SMTP server is set, or nobody to mail.
    MailOff,
    /// Past the project's hourly limit: listed in the hour's digest instead.
    Capped,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
            Delivery::MailOff => "mail_off",
            Delivery::Capped => "capped",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct AlertRecord {
    pub id: i64,
    pub project_id: ProjectId,
    pub issue_id: Option<IssueId>,
    pub rule: String,
    pub reason: String,
    pub recipients: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// `email` or `webhook`.
    pub channel: String,
    pub created_at: i64,
    pub status: Delivery,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

const ALERT_RECORD: &str = "SELECT id, project_id, issue_id, rule, reason, recipients, subject,
    body_text, body_html, channel, created_at, status, attempts, last_error, sent_at FROM alert_log";

/// Alerts of a project and channel queued or sent in the hour before `now_ms` (digests aside):
/// what the hourly limit counts.
async fn alerts_last_hour(
    tx: &mut sql::Tx,
    project_id: ProjectId,
    channel: &str,
    now_ms: i64,
) -> Result<i64, StoreError> {
    Ok(sql::query_scalar(
        "SELECT COUNT(*) FROM alert_log WHERE project_id = $1 AND created_at > $2
         AND status IN ('pending', 'sent', 'failed') AND rule != 'digest' AND channel = $3",
    )
    .bind(project_id)
    .bind(now_ms - time::HOUR_MS)
    .bind(channel)
    .fetch_one(tx)
    .await?)
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn alert_settings(&self, project_id: ProjectId) -> Result<AlertSettings, StoreError> {
        let row = sql::query_as(
            "SELECT on_new, on_regression, on_spike, spike_min_count, spike_ratio, spike_z,
                    frequency_count, frequency_minutes, cooldown_minutes, recipients,
                    max_emails_per_hour, webhook_url
             FROM alert_settings WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.unwrap_or_default())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_alert_settings(
        &self,
        project_id: ProjectId,
        s: &AlertSettings,
    ) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO alert_settings (project_id, on_new, on_regression, on_spike,
                 spike_min_count, spike_ratio, spike_z, frequency_count, frequency_minutes,
                 cooldown_minutes, recipients, max_emails_per_hour, webhook_url)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (project_id) DO UPDATE SET on_new = excluded.on_new,
                 on_regression = excluded.on_regression, on_spike = excluded.on_spike,
                 spike_min_count = excluded.spike_min_count, spike_ratio = excluded.spike_ratio,
                 spike_z = excluded.spike_z, frequency_count = excluded.frequency_count,
                 frequency_minutes = excluded.frequency_minutes,
                 cooldown_minutes = excluded.cooldown_minutes, recipients = excluded.recipients,
                 max_emails_per_hour = excluded.max_emails_per_hour,
                 webhook_url = excluded.webhook_url",
        )
        .bind(project_id)
        .bind(s.on_new)
        .bind(s.on_regression)
        .bind(s.on_spike)
        .bind(s.spike_min_count)
        .bind(s.spike_ratio)
        .bind(s.spike_z)
        .bind(s.frequency_count)
        .bind(s.frequency_minutes)
        .bind(s.cooldown_minutes)
        .bind(&s.recipients)
        .bind(s.max_emails_per_hour)
        .bind(&s.webhook_url)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn alert_cursor(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sql::query_scalar("SELECT value FROM alert_cursors WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_alert_cursor(&self, name: &str, value: i64) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO alert_cursors (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn max_issue_id(&self) -> Result<IssueId, StoreError> {
        Ok(sql::query_scalar("SELECT COALESCE(MAX(id), 0) FROM issues")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Issues created after `id`, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issues_after(
        &self,
        id: IssueId,
        limit: i64,
    ) -> Result<Vec<AlertIssue>, StoreError> {
        let sql = format!("{ALERT_ISSUE} WHERE i.id > $1 ORDER BY i.id LIMIT $2");
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Issues that regressed at or after `since_ms`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn regressed_since(&self, since_ms: i64) -> Result<Vec<AlertIssue>, StoreError> {
        let sql = format!(
            "{ALERT_ISSUE} WHERE i.regressed_at >= $1 AND i.status = 'unresolved' ORDER BY i.regressed_at"
        );
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn alert_issue(&self, id: IssueId) -> Result<Option<AlertIssue>, StoreError> {
        let sql = format!("{ALERT_ISSUE} WHERE i.id = $1");
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Issues with events since `since_minute`, and those whose rate rules wait to re-arm.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn rate_candidates(&self, since_minute: i64) -> Result<Vec<IssueId>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT issue_id FROM issue_minutes WHERE minute >= $1
             UNION SELECT issue_id FROM alert_state WHERE NOT armed",
        )
        .bind(since_minute)
        .fetch_all(&self.pool)
        .await?)
    }

    /// (minute, count) of an issue since `since_minute`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_minutes_since(
        &self,
        issue_id: IssueId,
        since_minute: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sql::query_as(
            "SELECT minute, count FROM issue_minutes WHERE issue_id = $1 AND minute >= $2",
        )
        .bind(issue_id)
        .bind(since_minute)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn alert_episode(
        &self,
        issue_id: IssueId,
        rule: &str,
    ) -> Result<Episode, StoreError> {
        let row: Option<(Option<i64>, bool)> = sql::query_as(
            "SELECT last_fired, armed FROM alert_state WHERE issue_id = $1 AND rule = $2",
        )
        .bind(issue_id)
        .bind(rule)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|(last_fired_ms, armed)| Episode {
                last_fired_ms,
                armed,
            })
            .unwrap_or_default())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_alert_episode(
        &self,
        issue_id: IssueId,
        rule: &str,
        episode: Episode,
    ) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO alert_state (issue_id, rule, last_fired, armed) VALUES ($1, $2, $3, $4)
             ON CONFLICT (issue_id, rule) DO UPDATE SET last_fired = excluded.last_fired,
                 armed = excluded.armed",
        )
        .bind(issue_id)
        .bind(rule)
        .bind(episode.last_fired_ms)
        .bind(episode.armed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An issue ignored until it escalates comes back: unresolved, escalating.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn escalate_issue(&self, issue_id: IssueId) -> Result<(), StoreError> {
        sql::query(
            "UPDATE issues SET status = 'unresolved', substatus = 'escalating'
             WHERE id = $1 AND status = 'ignored' AND substatus = 'archived_until_escalating'",
        )
        .bind(issue_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn user_emails(&self) -> Result<Vec<String>, StoreError> {
        Ok(sql::query_scalar("SELECT email FROM users ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Writes an alert before anything is sent, `Pending` or `MailOff`. Past the project's
    /// hourly cap a pending one is recorded as `Capped` and listed in the hour's summary email.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_alert(
        &self,
        alert: &NewAlert,
        status: Delivery,
        now_ms: i64,
        max_per_hour: i64,
    ) -> Result<Recorded, StoreError> {
        // IMMEDIATE: the count and the insert must see the same log; a deferred read that
        // later writes can fail with SQLITE_BUSY when another connection wrote in between.
        let mut tx = self.pool.begin_exclusive(alert.project_id.get()).await?;
        let recent = alerts_last_hour(&mut tx, alert.project_id, "email", now_ms).await?;
        let capped = status == Delivery::Pending && recent >= max_per_hour;
        let inserted = sql::query(
            "INSERT INTO alert_log (project_id, issue_id, rule, dedupe_key, reason,
                 recipients, subject, body_text, body_html, created_at, status, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
        )
        .bind(alert.project_id)
        .bind(alert.issue_id)
        .bind(alert.rule)
        .bind(&alert.dedupe_key)
        .bind(&alert.reason)
        .bind(alert.recipients.join(", "))
        .bind(&alert.subject)
        .bind(&alert.body_text)
        .bind(&alert.body_html)
        .bind(now_ms)
        .bind(if capped { Delivery::Capped } else { status })
        .bind(now_ms)
        .execute(&mut tx)
        .await?
        .rows_affected()
            > 0;
        if !inserted {
            return Ok(Recorded::Duplicate);
        }
        if capped {
            // One summary per project and hour, sent when the hour is over.
            let hour = time::hour_of(now_ms);
            let line = format!("- {}\n", alert.subject);
            sql::query(
                "INSERT INTO alert_log (project_id, issue_id, rule, dedupe_key, reason, recipients,
                     subject, body_text, body_html, created_at, status, next_attempt_at)
                 SELECT $1, NULL, 'digest', $2, 'more alerts than the hourly limit', $3,
                     '[Snag] ' || name || ': more alerts this hour than the limit', $4, '', $5,
                     'pending', $6 FROM projects WHERE id = $1
                 ON CONFLICT (dedupe_key) DO UPDATE SET body_text = body_text || excluded.body_text",
            )
            .bind(alert.project_id)
            .bind(format!("digest:{}:{hour}", alert.project_id))
            .bind(alert.recipients.join(", "))
            .bind(line)
            .bind(now_ms)
            .bind((hour + 1) * time::HOUR_MS)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(if capped {
            Recorded::Capped
        } else {
            Recorded::Queued
        })
    }

    /// A webhook delivery of an alert: the JSON `payload` POSTed to `url`, retried like mail,
    /// and held to the same hourly limit: past it the alert is kept as `capped` and listed in
    /// the hour's one digest POST (`{"rule": "digest", "text": …, "alerts": [subjects]}`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_webhook(
        &self,
        alert: &NewAlert,
        url: &str,
        payload: &str,
        now_ms: i64,
        max_per_hour: i64,
    ) -> Result<Recorded, StoreError> {
        let mut tx = self.pool.begin_exclusive(alert.project_id.get()).await?;
        let recent = alerts_last_hour(&mut tx, alert.project_id, "webhook", now_ms).await?;
        let capped = recent >= max_per_hour;
        let inserted = sql::query(
            "INSERT INTO alert_log (project_id, issue_id, rule, dedupe_key, reason,
                 recipients, subject, body_text, body_html, channel, created_at, status, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', 'webhook', $9, $10, $11) ON CONFLICT DO NOTHING",
        )
        .bind(alert.project_id)
        .bind(alert.issue_id)
        .bind(alert.rule)
        .bind(format!("{}:webhook", alert.dedupe_key))
        .bind(&alert.reason)
        .bind(url)
        .bind(&alert.subject)
        .bind(payload)
        .bind(now_ms)
        .bind(if capped { "capped" } else { "pending" })
        .bind(now_ms)
        .execute(&mut tx)
        .await?
        .rows_affected()
            > 0;
        if !inserted {
            return Ok(Recorded::Duplicate);
        }
        if capped {
            let hour = time::hour_of(now_ms);
            // The digest's JSON body is built (and appended to) in SQL, by each database's
            // JSON functions.
            let digest = match tx.dialect() {
                Dialect::Sqlite => {
                    "INSERT INTO alert_log (project_id, issue_id, rule, dedupe_key, reason, recipients,
                         subject, body_text, body_html, channel, created_at, status, next_attempt_at)
                     SELECT $1, NULL, 'digest', $2, 'more alerts than the hourly limit', $3,
                         '[Snag] ' || name || ': more alerts this hour than the limit',
                         json_object('rule', 'digest', 'project', name,
                             'text', '[' || name || '] more alerts this hour than the limit',
                             'alerts', json_array($4)),
                         '', 'webhook', $5, 'pending', $6 FROM projects WHERE id = $1
                     ON CONFLICT (dedupe_key) DO UPDATE
                         SET body_text = json_insert(alert_log.body_text, '$.alerts[#]', $4)"
                }
                Dialect::Postgres => {
                    "INSERT INTO alert_log (project_id, issue_id, rule, dedupe_key, reason, recipients,
                         subject, body_text, body_html, channel, created_at, status, next_attempt_at)
                     SELECT $1, NULL, 'digest', $2, 'more alerts than the hourly limit', $3,
                         '[Snag] ' || name || ': more alerts this hour than the limit',
                         jsonb_build_object('rule', 'digest', 'project', name,
                             'text', '[' || name || '] more alerts this hour than the limit',
                             'alerts', jsonb_build_array($4::text))::text,
                         '', 'webhook', $5, 'pending', $6 FROM projects WHERE id = $1
                     ON CONFLICT (dedupe_key) DO UPDATE
                         SET body_text = jsonb_set(alert_log.body_text::jsonb, '{alerts}',
                             (alert_log.body_text::jsonb -> 'alerts') || to_jsonb($4::text))::text"
                }
            };
            sql::query(digest)
                .bind(alert.project_id)
                .bind(format!("digest:{}:{hour}:webhook", alert.project_id))
                .bind(url)
                .bind(&alert.subject)
                .bind(now_ms)
                .bind((hour + 1) * time::HOUR_MS)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(if capped {
            Recorded::Capped
        } else {
            Recorded::Queued
        })
    }

    /// Alerts of `channel` (`email`, `webhook`) whose (next) attempt is due.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn due_alerts(
        &self,
        channel: &str,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!(
            "{ALERT_RECORD} WHERE status = 'pending' AND channel = $1 AND next_attempt_at <= $2
             ORDER BY id LIMIT $3"
        );
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(channel)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Makes every pending alert due at `now_ms`: what a node that died had claimed (and
    /// retries waiting for their time) is sent by the node that took its jobs over, instead of
    /// waiting for the claim to run out. Only an alert the dead node had delivered but not yet
    /// marked sent can go twice.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reclaim_alerts(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(sql::query(
            "UPDATE alert_log SET next_attempt_at = $1
             WHERE status = 'pending' AND next_attempt_at > $1",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Moves an alert's next attempt to `until` before it is sent (see the sender).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_alert(&self, id: i64, until: i64) -> Result<(), StoreError> {
        sql::query("UPDATE alert_log SET next_attempt_at = $1 WHERE id = $2")
            .bind(until)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn alert_sent(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        sql::query(
            "UPDATE alert_log SET status = 'sent', attempts = attempts + 1, sent_at = $1, last_error = NULL
             WHERE id = $2",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A failed attempt: retried at `retry_at`, or given up (`failed`) when `None`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn alert_attempt_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), StoreError> {
        sql::query(
            "UPDATE alert_log SET attempts = attempts + 1, last_error = $1,
                 status = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END,
                 next_attempt_at = COALESCE($3, next_attempt_at)
             WHERE id = $4",
        )
        .bind(error)
        .bind(retry_at)
        .bind(retry_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An issue's alerts, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue_alerts(&self, issue_id: IssueId) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!("{ALERT_RECORD} WHERE issue_id = $1 ORDER BY id DESC LIMIT 50");
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every alert of a project, oldest first (tests and the API).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn project_alerts(
        &self,
        project_id: ProjectId,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!("{ALERT_RECORD} WHERE project_id = $1 ORDER BY id");
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .fetch_all(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn alert(issue: i64) -> NewAlert {
        NewAlert {
            project_id: ProjectId(1),
            issue_id: None,
            rule: "new",
            dedupe_key: format!("new:{issue}"),
            reason: "A new issue".into(),
            recipients: vec!["a@example.com".into()],
            subject: format!("[Snag] p P-{issue} - boom {issue}"),
            body_text: String::new(),
            body_html: String::new(),
        }
    }

    #[tokio::test]
    async fn duplicates_are_ignored_and_the_hourly_cap_goes_into_one_summary() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&Config::for_tests(&url)).await.unwrap();
        sqlx::query("INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 0)")
            .execute(store.sqlite_pool())
            .await
            .unwrap();
        let now = 10 * 3_600_000 + 120_000;
        let record = |n: i64| {
            let store = store.clone();
            async move {
                store
                    .record_alert(&alert(n), Delivery::Pending, now, 2)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(record(1).await, Recorded::Queued);
        assert_eq!(record(1).await, Recorded::Duplicate);
        assert_eq!(record(2).await, Recorded::Queued);
        assert_eq!(record(3).await, Recorded::Capped);
        assert_eq!(record(4).await, Recorded::Capped);
        let log = store.project_alerts(ProjectId(1)).await.unwrap();
        let statuses: Vec<(&str, &str)> = log
            .iter()
            .map(|a| (a.rule.as_str(), a.status.as_str()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("new", "pending"),
                ("new", "pending"),
                ("new", "capped"),
                ("digest", "pending"),
                ("new", "capped")
            ]
        );
        let digest = log.iter().find(|a| a.rule == "digest").unwrap();
        assert_eq!(
            digest.body_text,
            "- [Snag] p P-3 - boom 3\n- [Snag] p P-4 - boom 4\n"
        );
        // The summary waits for the end of the hour; the two others are due now.
        assert_eq!(store.due_alerts("email", now, 10).await.unwrap().len(), 2);
        assert_eq!(
            store
                .due_alerts("email", 11 * 3_600_000, 10)
                .await
                .unwrap()
                .len(),
            3
        );
        // Mail off: recorded, never due.
        let mut off = alert(5);
        off.dedupe_key = "new:5".into();
        assert_eq!(
            store
                .record_alert(&off, Delivery::MailOff, now, 2)
                .await
                .unwrap(),
            Recorded::Queued
        );
        assert_eq!(
            store
                .due_alerts("email", 11 * 3_600_000, 10)
                .await
                .unwrap()
                .len(),
            3
        );
    }
}
