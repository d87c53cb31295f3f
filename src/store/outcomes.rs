//! Outcomes: how many items ingest accepted or refused, and why, per project and minute (the
//! `outcomes` table), and their sums per time bucket for the organization stats.
//!
//! ```text
//! add_outcomes([{minute: 29846160, project 1, error, accepted, "", quantity 3, times 3}])
//!   → INSERT … ON CONFLICT DO UPDATE SET quantity = quantity + 3, times_seen = times_seen + 3
//! outcome_sums(range, every 1h, by [outcome])
//!   → [(bucket 1790726400000, ["accepted"], quantity 120, times 118), …]
//! ```

use super::sql::{self, Builder};
use super::{ProjectId, Store, StoreError};
use crate::time::MINUTE_MS;

/// Outcomes kept this long (Sentry's 90 days).
pub const KEPT_MS: i64 = 90 * 24 * 60 * MINUTE_MS;

/// One count of a kind of decision, in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRow {
    pub minute: i64,
    pub project_id: ProjectId,
    pub category: &'static str,
    pub outcome: &'static str,
    pub reason: &'static str,
    pub quantity: i64,
    pub times_seen: i64,
}

/// A column outcomes can be grouped or filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeColumn {
    Project,
    Category,
    Outcome,
    Reason,
}

impl OutcomeColumn {
    fn sql(self) -> &'static str {
        match self {
            OutcomeColumn::Project => "CAST(project_id AS TEXT)",
            OutcomeColumn::Category => "category",
            OutcomeColumn::Outcome => "outcome",
            OutcomeColumn::Reason => "reason",
        }
    }
}

/// Which outcomes to sum, in buckets of `bucket_ms` over `[start, end)` unix ms.
#[derive(Debug, Clone, Default)]
pub struct OutcomeQuery {
    pub start_ms: i64,
    pub end_ms: i64,
    pub bucket_ms: i64,
    /// Empty: every project.
    pub projects: Vec<ProjectId>,
    /// Each: one of these values (an empty list: any).
    pub only: Vec<(OutcomeColumn, Vec<String>)>,
    pub group_by: Vec<OutcomeColumn>,
}

/// Sums of one bucket and group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeSum {
    /// Start of the bucket, unix ms.
    pub bucket: i64,
    /// The values of `group_by`, in order.
    pub group: Vec<String>,
    pub quantity: i64,
    pub times_seen: i64,
}

impl Store {
    /// Adds counts (one transaction).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_outcomes(&self, rows: &[OutcomeRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for row in rows {
            sql::query(
                "INSERT INTO outcomes (minute, project_id, category, outcome, reason, quantity, times_seen)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (minute, project_id, category, outcome, reason) DO UPDATE SET
                    quantity = outcomes.quantity + excluded.quantity,
                    times_seen = outcomes.times_seen + excluded.times_seen",
            )
            .bind(row.minute)
            .bind(row.project_id)
            .bind(row.category)
            .bind(row.outcome)
            .bind(row.reason)
            .bind(row.quantity)
            .bind(row.times_seen)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sums of quantity and times seen per bucket and group, in bucket order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn outcome_sums(&self, q: &OutcomeQuery) -> Result<Vec<OutcomeSum>, StoreError> {
        let bucket_minutes = (q.bucket_ms / MINUTE_MS).max(1);
        let mut qb = Builder::new(format!(
            "SELECT (minute / {bucket_minutes}) * {bucket_minutes} * {MINUTE_MS} AS bucket"
        ));
        for column in &q.group_by {
            qb.push(", ").push(column.sql());
        }
        qb.push(", CAST(SUM(quantity) AS BIGINT), CAST(SUM(times_seen) AS BIGINT) FROM outcomes")
            .push(" WHERE minute >= ")
            .push_bind(q.start_ms.div_euclid(MINUTE_MS))
            .push(" AND minute < ")
            .push_bind((q.end_ms + MINUTE_MS - 1).div_euclid(MINUTE_MS));
        if !q.projects.is_empty() {
            qb.push(" AND project_id IN ");
            qb.push_list(&q.projects);
        }
        for (column, values) in q.only.iter().filter(|(_, v)| !v.is_empty()) {
            qb.push(format!(" AND {} IN ", column.sql()))
                .push_list(values);
        }
        qb.push(" GROUP BY bucket");
        for column in &q.group_by {
            qb.push(", ").push(column.sql());
        }
        qb.push(" ORDER BY bucket");
        let rows = qb.build().fetch_all(&self.pool).await?;
        let groups = q.group_by.len();
        rows.iter()
            .map(|row| {
                Ok(OutcomeSum {
                    bucket: row.try_get(0)?,
                    group: (0..groups)
                        .map(|i| row.try_get::<String>(i + 1))
                        .collect::<Result<_, _>>()?,
                    quantity: row.try_get(groups + 1)?,
                    times_seen: row.try_get(groups + 2)?,
                })
            })
            .collect()
    }

    /// Deletes outcomes of minutes before `minute`; how many rows went.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_outcomes_before(&self, minute: i64) -> Result<u64, StoreError> {
        Ok(sql::query("DELETE FROM outcomes WHERE minute < $1")
            .bind(minute)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
