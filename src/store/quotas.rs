//! Quota settings (per DSN key a rate limit, per project a daily event cap and a cap on stored
//! attachment bytes) and the counts they are checked against after a restart.

use super::sql;
use super::{ProjectId, ProjectKey, Store, StoreError};

/// At most `count` events per `window_secs` seconds (Sentry's key rate limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRateLimit {
    pub count: u64,
    pub window_secs: u64,
}

/// Longest rate-limit window (a day, as Sentry's choices end there).
pub const MAX_WINDOW_SECS: u64 = 86_400;

impl KeyRateLimit {
    /// A limit that makes sense: at least one event, a window of one second to a day.
    pub fn new(count: u64, window_secs: u64) -> Result<KeyRateLimit, StoreError> {
        if count == 0 || count > i64::MAX as u64 || !(1..=MAX_WINDOW_SECS).contains(&window_secs) {
            return Err(StoreError::Invalid(format!(
                "a rate limit is at least 1 event per 1 to {MAX_WINDOW_SECS} seconds, got {count} per {window_secs}"
            )));
        }
        Ok(KeyRateLimit { count, window_secs })
    }
}

impl ProjectKey {
    pub fn rate_limit(&self) -> Option<KeyRateLimit> {
        match (self.rate_limit_count, self.rate_limit_window) {
            (Some(count), Some(window)) if count > 0 && window > 0 => Some(KeyRateLimit {
                count: count as u64,
                window_secs: window as u64,
            }),
            _ => None,
        }
    }
}

/// A project's caps; none: unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProjectQuotas {
    /// Events accepted per UTC day.
    pub daily_events: Option<u64>,
    /// Bytes of attachments stored at once.
    pub attachment_bytes: Option<u64>,
}

fn as_limit(value: Option<i64>) -> Option<u64> {
    value.filter(|v| *v > 0).map(|v| v as u64)
}

fn to_column(value: Option<u64>) -> Result<Option<i64>, StoreError> {
    value
        .map(|v| {
            i64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| StoreError::Invalid(format!("a cap is a positive number, got {v}")))
        })
        .transpose()
}

impl Store {
    /// Sets (or with `None` clears) a key's rate limit; false if no such key.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_key_rate_limit(
        &self,
        public_key: &str,
        limit: Option<KeyRateLimit>,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE project_keys SET rate_limit_count = $1, rate_limit_window = $2 WHERE public_key = $3",
        )
        .bind(limit.map(|l| l.count as i64))
        .bind(limit.map(|l| l.window_secs as i64))
        .bind(public_key)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn project_quotas(&self, project_id: ProjectId) -> Result<ProjectQuotas, StoreError> {
        let row: Option<(Option<i64>, Option<i64>)> = sql::query_as(
            "SELECT daily_event_cap, attachment_bytes_cap FROM projects WHERE id = $1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        let (daily, attachments) = row.unwrap_or_default();
        Ok(ProjectQuotas {
            daily_events: as_limit(daily),
            attachment_bytes: as_limit(attachments),
        })
    }

    /// Replaces a project's caps; false if no such project.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_project_quotas(
        &self,
        project_id: ProjectId,
        quotas: ProjectQuotas,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE projects SET daily_event_cap = $1, attachment_bytes_cap = $2 WHERE id = $3",
        )
        .bind(to_column(quotas.daily_events)?)
        .bind(to_column(quotas.attachment_bytes)?)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Events a project received from `minute` (unix minutes) on, counters still pending
    /// included: where the daily cap starts after a restart.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn events_received_since(
        &self,
        project_id: ProjectId,
        minute: i64,
    ) -> Result<u64, StoreError> {
        let n: i64 = sql::query_scalar(
            "SELECT CAST(COALESCE((SELECT SUM(m.count) FROM issue_minutes m
                                   JOIN issues i ON i.id = m.issue_id
                                   WHERE i.project_id = $1 AND m.minute >= $2), 0)
                       + COALESCE((SELECT SUM(c.count) FROM issue_counts_pending c
                                   JOIN issues i ON i.id = c.issue_id
                                   WHERE i.project_id = $1 AND c.minute >= $2), 0) AS BIGINT)",
        )
        .bind(project_id)
        .bind(minute)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    /// Takes up to `want` events of `limit` from the count all nodes share for `scope`'s
    /// window `slot` (which starts at `start`: what was received before anyone counted);
    /// how many it got, none once the limit is reached.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_quota(
        &self,
        scope: &str,
        slot: i64,
        want: u64,
        limit: u64,
        start: u64,
        ends_secs: i64,
    ) -> Result<u64, StoreError> {
        let (want, limit) = (want as i64, limit as i64);
        let start = (start as i64).min(limit);
        let first = (start + want).min(limit);
        let granted: i64 = sql::query_scalar(
            "INSERT INTO quota_usage (scope, slot, taken, granted, ends_at)
             VALUES ($1, $2, $5, $6, $7)
             ON CONFLICT (scope, slot) DO UPDATE SET
                 granted = CASE WHEN quota_usage.taken + $3 <= $4 THEN $3
                                ELSE $4 - quota_usage.taken END,
                 taken = CASE WHEN quota_usage.taken + $3 <= $4 THEN quota_usage.taken + $3
                              ELSE $4 END
             RETURNING granted",
        )
        .bind(scope)
        .bind(slot)
        .bind(want)
        .bind(limit)
        .bind(first)
        .bind(first - start)
        .bind(ends_secs.saturating_mul(1000))
        .fetch_one(&self.pool)
        .await?;
        Ok(granted.max(0) as u64)
    }

    /// Forgets the shared counts of windows that ended before `now_ms`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_ended_quotas(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(sql::query("DELETE FROM quota_usage WHERE ends_at < $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Bytes of attachments a project stores now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn attachment_bytes(&self, project_id: ProjectId) -> Result<u64, StoreError> {
        let n: Option<i64> =
            sql::query_scalar("SELECT attachment_bytes FROM project_usage WHERE project_id = $1")
                .bind(project_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_shared_count_grants_shares_until_the_limit() {
        let store = Store::open(&crate::config::Config::for_tests("sqlite::memory:"))
            .await
            .unwrap();
        let take = |want, start| store.take_quota("key:k", 7, want, 10, start, 60);
        // The day started at 3 events already received: 3 + 4 of 10.
        assert_eq!(take(4, 3).await.unwrap(), 4);
        assert_eq!(take(2, 3).await.unwrap(), 2);
        // 9 of 10 taken: one is left, then none.
        assert_eq!(take(2, 3).await.unwrap(), 1);
        assert_eq!(take(2, 3).await.unwrap(), 0);
        // Another window counts on its own; ended windows go.
        assert_eq!(
            store.take_quota("key:k", 8, 2, 10, 0, 120).await.unwrap(),
            2
        );
        assert_eq!(store.delete_ended_quotas(61_000).await.unwrap(), 1);
    }

    #[test]
    fn rate_limits_must_make_sense() {
        assert!(KeyRateLimit::new(10, 60).is_ok());
        assert!(KeyRateLimit::new(0, 60).is_err());
        assert!(KeyRateLimit::new(10, 0).is_err());
        assert!(KeyRateLimit::new(10, MAX_WINDOW_SECS + 1).is_err());
        assert_eq!(to_column(Some(0)).ok(), None);
        assert_eq!(to_column(None).unwrap(), None);
        assert_eq!(to_column(Some(5)).unwrap(), Some(5));
    }
}
