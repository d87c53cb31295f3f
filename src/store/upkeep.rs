//! The store's own background work (started by `crate::workers`): WAL checkpoints, and the
//! roll-up of minute counts and expired sessions.

use std::sync::Arc;
use std::time::Duration;

use super::sessions::SessionPolicy;
use super::writer::WriterStats;
use super::{Store, StoreError};
use crate::workers::{Next, WorkError, Worker};

/// Copies the WAL into the database file after the writer wrote, back to back while the WAL is
/// about to start over (see [`Store::wal_starts_over_soon`]).
pub struct Checkpoints {
    store: Store,
    stats: Arc<WriterStats>,
    /// The writer's activity at the last complete checkpoint: while it stays, there is
    /// nothing to copy (an idle server then makes no query here).
    checkpointed_at: Option<u64>,
}

impl Checkpoints {
    pub fn new(store: Store, stats: Arc<WriterStats>) -> Checkpoints {
        Checkpoints {
            store,
            stats,
            checkpointed_at: None,
        }
    }

    /// One checkpoint, unless nothing was written since the last; true when the next one is
    /// due at once.
    pub async fn run_once(&mut self) -> Result<bool, StoreError> {
        let activity = self.stats.activity();
        if self.checkpointed_at == Some(activity) {
            return Ok(false);
        }
        let frames = self.store.checkpoint().await?;
        if Store::wal_starts_over_soon(frames) {
            return Ok(true);
        }
        self.checkpointed_at = Some(activity);
        Ok(false)
    }
}

impl Worker for Checkpoints {
    const NAME: &'static str = "checkpoints";

    async fn round(&mut self, _now_ms: i64) -> Result<Next, WorkError> {
        Ok(if self.run_once().await? {
            Next::After(Duration::from_millis(10))
        } else {
            Next::Usual
        })
    }
}

/// Minute counts older than two days become hours; sessions past their lifetime or idle
/// timeout are deleted; issues ignored for a while whose time is up come back; outcomes older
/// than 90 days go.
pub struct RollUps {
    store: Store,
    sessions: SessionPolicy,
}

/// What one roll-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolledUp {
    pub minute_rows: u64,
    pub sessions_ended: u64,
    pub ignores_ended: u64,
    pub outcome_rows: u64,
    /// Shared quota counts of ended windows (PostgreSQL: on SQLite nothing is shared).
    pub quota_rows: u64,
}

impl RollUps {
    pub fn new(store: Store, web: &crate::config::Web) -> RollUps {
        RollUps {
            store,
            sessions: SessionPolicy::of(web),
        }
    }

    pub async fn run_once(&self, now_ms: i64) -> Result<RolledUp, StoreError> {
        let before = crate::time::minute_of(now_ms) - crate::rates::MINUTES_KEPT;
        Ok(RolledUp {
            minute_rows: self.store.roll_up_minutes(before).await?,
            sessions_ended: self
                .store
                .end_expired_sessions(self.sessions, now_ms)
                .await?,
            ignores_ended: self.store.end_expired_ignores(now_ms).await?,
            outcome_rows: self
                .store
                .delete_outcomes_before(crate::time::minute_of(now_ms - super::outcomes::KEPT_MS))
                .await?,
            quota_rows: match self.store.dialect() {
                super::sql::Dialect::Postgres => self.store.delete_ended_quotas(now_ms).await?,
                super::sql::Dialect::Sqlite => 0,
            },
        })
    }
}

impl Worker for RollUps {
    const NAME: &'static str = "roll-ups";

    async fn round(&mut self, now_ms: i64) -> Result<Next, WorkError> {
        self.run_once(now_ms).await?;
        Ok(Next::Usual)
    }
}
