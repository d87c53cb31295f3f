//! Ingest's outcomes, Sentry's name for what became of each item an SDK sent: accepted,
//! rate_limited (a quota, the disk) or invalid (and why), per project and minute. Counted in
//! memory as decisions are made and added to the `outcomes` table by [`OutcomeFlush`] every
//! few seconds, so counting costs ingest no write of its own.
//!
//! ```text
//! an event committed             → (project 1, minute, error, accepted, "", +1)
//! its 2 attachments, 5,000 bytes → (project 1, minute, attachment, accepted, "", +5000)
//! the key's rate limit           → (project 1, minute, error, rate_limited, key_quota, +1)
//! a body too large               → (project 1, minute, error, invalid, too_large, +1)
//! ```
//! Only projects whose key was accepted are counted: nobody fills the table by naming project
//! ids.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::store::outcomes::OutcomeRow;
use crate::store::{ProjectId, Store};
use crate::time::minute_of;
use crate::workers::{Next, WorkError, Worker};

pub const ACCEPTED: &str = "accepted";
pub const RATE_LIMITED: &str = "rate_limited";
pub const INVALID: &str = "invalid";

/// Sentry's data categories Snag counts.
pub const ERROR: &str = "error";
pub const ATTACHMENT: &str = "attachment";
pub const MONITOR: &str = "monitor";
pub const LOG_ITEM: &str = "log_item";
pub const LOG_BYTE: &str = "log_byte";

type Key = (i64, ProjectId, &'static str, &'static str, &'static str);

/// Counts not yet in the database: per (minute, project, category, outcome, reason), the
/// quantity and how many decisions.
#[derive(Debug, Default)]
pub struct Outcomes {
    counts: Mutex<HashMap<Key, (i64, i64)>>,
}

impl Outcomes {
    /// Counts `quantity` items (bytes for attachments) of one decision at `at_ms`.
    pub fn record(
        &self,
        project_id: ProjectId,
        at_ms: i64,
        category: &'static str,
        outcome: &'static str,
        reason: &'static str,
        quantity: u64,
    ) {
        let key = (minute_of(at_ms), project_id, category, outcome, reason);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let (sum, times) = counts.entry(key).or_default();
        *sum = sum.saturating_add(i64::try_from(quantity).unwrap_or(i64::MAX));
        *times += 1;
    }

    /// Takes every count so far (what is added to the database next).
    pub fn drain(&self) -> Vec<OutcomeRow> {
        let counts =
            std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner));
        counts
            .into_iter()
            .map(
                |((minute, project_id, category, outcome, reason), (quantity, times_seen))| {
                    OutcomeRow {
                        minute,
                        project_id,
                        category,
                        outcome,
                        reason,
                        quantity,
                        times_seen,
                    }
                },
            )
            .collect()
    }

    /// Puts counts back (their write failed: the next round tries again).
    fn restore(&self, rows: Vec<OutcomeRow>) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        for row in rows {
            let key = (
                row.minute,
                row.project_id,
                row.category,
                row.outcome,
                row.reason,
            );
            let (sum, times) = counts.entry(key).or_default();
            *sum = sum.saturating_add(row.quantity);
            *times += row.times_seen;
        }
    }

    /// Adds what was counted to the database. Counts whose write fails, or is dropped midway
    /// (the worker stopped at shutdown), are put back for the next flush.
    pub async fn flush(&self, store: &Store) -> Result<(), crate::store::StoreError> {
        let mut unsaved = Unsaved {
            outcomes: self,
            rows: self.drain(),
        };
        store.add_outcomes(&unsaved.rows).await?;
        unsaved.rows.clear();
        Ok(())
    }
}

/// Drained counts not yet committed: put back when dropped.
struct Unsaved<'a> {
    outcomes: &'a Outcomes,
    rows: Vec<OutcomeRow>,
}

impl Drop for Unsaved<'_> {
    fn drop(&mut self) {
        if !self.rows.is_empty() {
            self.outcomes.restore(std::mem::take(&mut self.rows));
        }
    }
}

/// The worker that adds ingest's outcome counts to the database.
pub struct OutcomeFlush {
    outcomes: std::sync::Arc<Outcomes>,
    store: Store,
}

impl OutcomeFlush {
    pub fn new(outcomes: std::sync::Arc<Outcomes>, store: Store) -> OutcomeFlush {
        OutcomeFlush { outcomes, store }
    }
}

impl Worker for OutcomeFlush {
    const NAME: &'static str = "outcomes";

    async fn round(&mut self, _now_ms: i64) -> Result<Next, WorkError> {
        self.outcomes.flush(&self.store).await?;
        Ok(Next::Usual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_of_a_minute_add_up_and_a_drain_takes_them_all() {
        let outcomes = Outcomes::default();
        let p = ProjectId(1);
        outcomes.record(p, 60_000, ERROR, ACCEPTED, "", 1);
        outcomes.record(p, 119_999, ERROR, ACCEPTED, "", 1);
        outcomes.record(p, 120_000, ERROR, ACCEPTED, "", 1);
        outcomes.record(p, 60_000, ATTACHMENT, ACCEPTED, "", 5_000);
        let mut rows = outcomes.drain();
        rows.sort_by_key(|r| (r.minute, r.category));
        let summary: Vec<(i64, &str, i64, i64)> = rows
            .iter()
            .map(|r| (r.minute, r.category, r.quantity, r.times_seen))
            .collect();
        assert_eq!(
            summary,
            [
                (1, ATTACHMENT, 5_000, 1),
                (1, ERROR, 2, 2),
                (2, ERROR, 1, 1)
            ]
        );
        assert!(outcomes.drain().is_empty());
        drop(Unsaved {
            outcomes: &outcomes,
            rows,
        });
        assert_eq!(
            outcomes.drain().len(),
            3,
            "a write that did not finish keeps its counts"
        );
    }
}
