//! Retention: what Snag keeps, and the disk it may take, so that it runs for months unwatched.
//!
//! ```text
//! every --retention-interval, at start, and at once when the disk guard or the budget asks:
//!   events received more than --retention-days ago      ─┐
//!   their attachments and user reports, by the same age   │ found by reads on the pool,
//!   issues last seen before then (stats, tags, hashes)    │ deleted by the batch writer
//!   an issue's events beyond --max-events-per-issue       │ in chunks of a few hundred
//!     (the newest kept, and the issue's first)            │ between ingest batches
//!   the oldest events while the file is over --max-storage┘ (down to 90% of it)
//!   free pages handed back to the file system (incremental vacuum)
//!   compression dictionaries no stored event can use
//! ```
//! Beside it, [`dictionaries`] trains each project's zstd dictionary (less disk per event).
//! Issue counters are never touched: times seen, users, tags and stats tell what was received;
//! pages and the API say how many events are still stored.

pub mod dictionaries;
pub mod disk;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::config;
use crate::store::retention::Chore;
use crate::store::writer::{SubmitError, Writer};
use crate::store::{Store, StoreError};
use disk::DiskGuard;

/// Rows found and deleted at a time: each chunk is one short transaction of the writer.
const CHUNK: u32 = 500;

/// Pages handed back per vacuum step (4 MiB with 4 KiB pages).
const VACUUM_STEP: u32 = 1024;

/// What to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    pub max_age_ms: Option<i64>,
    pub max_events_per_issue: Option<u64>,
    pub max_storage: Option<u64>,
    pub log_max_age_ms: Option<i64>,
    /// Bytes of `max_storage` log lines may take.
    pub log_budget: Option<u64>,
}

impl Policy {
    pub fn new(config: &config::Retention) -> Policy {
        Policy {
            max_age_ms: (config.retention_days > 0)
                .then(|| i64::from(config.retention_days) * crate::time::DAY_MS),
            max_events_per_issue: (config.max_events_per_issue > 0)
                .then_some(config.max_events_per_issue),
            max_storage: config.max_storage.map(|b| b.as_u64()),
            log_max_age_ms: (config.log_retention_days > 0)
                .then(|| i64::from(config.log_retention_days) * crate::time::DAY_MS),
            log_budget: config
                .max_storage
                .map(|b| b.as_u64() / 100 * u64::from(config.log_storage_share)),
        }
    }
}

/// What one run deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    pub events: u64,
    pub attachments: u64,
    pub issues: u64,
    pub user_reports: u64,
    /// Cron monitors' runs.
    pub check_ins: u64,
    /// Blocks of log lines.
    pub log_blocks: u64,
    /// Free pages handed back to the file system.
    pub pages: u64,
}

impl Swept {
    pub fn is_empty(&self) -> bool {
        *self == Swept::default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the writer refused a deletion: {0}")]
    Writer(#[from] SubmitError),
    /// A job of its own that could not finish (a dictionary's training, a blocking thread).
    #[error("{0}")]
    Job(String),
}

/// The retention worker's state: where to read, whom to hand deletions to, what to keep.
#[derive(Debug, Clone)]
pub struct Retention {
    store: Store,
    writer: Writer,
    policy: Policy,
    disk: Option<Arc<DiskGuard>>,
    /// Passes started (for `/metrics` and tests).
    runs: Arc<AtomicU64>,
}

impl Retention {
    pub fn new(
        store: Store,
        writer: Writer,
        policy: Policy,
        disk: Option<Arc<DiskGuard>>,
    ) -> Retention {
        Retention {
            store,
            writer,
            policy,
            disk,
            runs: Arc::default(),
        }
    }

    /// What it keeps.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Passes started since the server started.
    pub fn runs(&self) -> u64 {
        self.runs.load(Relaxed)
    }

    /// One full pass, as if the time were `now_ms`.
    pub async fn run_once(&self, now_ms: i64) -> Result<Swept, RetentionError> {
        self.runs.fetch_add(1, Relaxed);
        let store = &self.store;
        let mut swept = Swept::default();
        if let Some(max_age) = self.policy.max_age_ms {
            let cutoff = now_ms - max_age;
            swept.events += self
                .drain(
                    || store.events_received_before(cutoff, CHUNK),
                    Chore::DeleteEvents,
                )
                .await?;
            swept.attachments += self
                .drain(
                    || store.attachments_created_before(cutoff, CHUNK),
                    Chore::DeleteAttachments,
                )
                .await?;
            swept.issues += self
                .drain(
                    || store.issues_last_seen_before(cutoff, CHUNK),
                    |ids| Chore::DeleteIssues {
                        ids,
                        last_seen_before: cutoff,
                    },
                )
                .await?;
            swept.user_reports += self
                .writer
                .chore(Chore::DeleteUserReports {
                    created_before: cutoff,
                })
                .await?;
            let hours_before = cutoff.div_euclid(crate::time::HOUR_MS);
            swept.check_ins += self
                .drain(
                    || store.check_ins_added_before(cutoff, CHUNK),
                    |ids| Chore::DeleteCheckIns { ids, hours_before },
                )
                .await?;
        }
        if let Some(max_age) = self.policy.log_max_age_ms {
            let cutoff = now_ms - max_age;
            swept.log_blocks += self
                .drain(
                    || async {
                        let oldest = store.oldest_log_blocks(CHUNK).await?;
                        Ok(oldest
                            .into_iter()
                            .take_while(|b| b.received < cutoff)
                            .map(|b| b.id)
                            .collect())
                    },
                    Chore::DeleteLogBlocks,
                )
                .await?;
        }
        // Logs keep to their share of the budget first: they never push errors out.
        if let Some(budget) = self.policy.log_budget {
            swept.log_blocks += self.trim_logs(budget).await?;
        }
        if let Some(keep) = self.policy.max_events_per_issue {
            for issue in store.issues_seen_more_than(keep).await? {
                swept.events += self
                    .drain(
                        || store.events_beyond(issue, keep, CHUNK),
                        Chore::DeleteEvents,
                    )
                    .await?;
            }
        }
        let mut over_budget = false;
        if let Some(budget) = self.policy.max_storage
            && store.file_size().await?.bytes() > budget
        {
            over_budget = true;
            let target = budget / 10 * 9;
            let before = swept.events;
            while store.file_size().await?.used_bytes() > target {
                let deleted = self
                    .writer
                    .chore(Chore::DeleteEvents(store.oldest_events(CHUNK).await?))
                    .await?;
                if deleted == 0 {
                    tracing::warn!(
                        budget,
                        "the database is over --max-storage and holds no more events to delete"
                    );
                    break;
                }
                swept.events += deleted;
            }
            tracing::info!(
                events = swept.events - before,
                "the database passed --max-storage: oldest events deleted"
            );
        }
        let unused = store.delete_unused_dictionaries().await?;
        if unused > 0 {
            tracing::info!(unused, "deleted compression dictionaries no event uses");
        }
        let size = store.file_size().await?;
        let disk_low = self.disk.as_ref().is_some_and(|d| d.is_low());
        // Pages freed by steady deletes are reused by new events: hand back only what the
        // budget or a short disk asks for, or a large surplus (moving pages costs writes).
        let surplus = if disk_low || size.free_pages * 8 > size.pages {
            size.free_pages
        } else if let Some(budget) = self.policy.max_storage.filter(|_| over_budget) {
            (size.bytes().saturating_sub(budget) / size.page_size.max(1)).min(size.free_pages)
        } else {
            0
        };
        let mut left = surplus;
        while left > 0 {
            let step = left.min(u64::from(VACUUM_STEP)) as u32;
            let pages = self.writer.chore(Chore::Vacuum { pages: step }).await?;
            swept.pages += pages;
            if pages < u64::from(step) {
                break;
            }
            left -= pages;
        }
        Ok(swept)
    }

    /// Deletes the oldest blocks of log lines until they take under 90% of `budget`, once
    /// they take more than it; how many went.
    async fn trim_logs(&self, budget: u64) -> Result<u64, RetentionError> {
        let mut over = (self.store.log_usage().await?.bytes as u64).saturating_sub(budget / 10 * 9);
        if over <= budget / 10 {
            return Ok(0);
        }
        let mut deleted = 0;
        while over > 0 {
            let mut ids = Vec::new();
            for block in self.store.oldest_log_blocks(CHUNK).await? {
                if over == 0 {
                    break;
                }
                over = over.saturating_sub(block.bytes as u64);
                ids.push(block.id);
            }
            let went = self.writer.chore(Chore::DeleteLogBlocks(ids)).await?;
            if went == 0 {
                break;
            }
            deleted += went;
        }
        tracing::info!(
            blocks = deleted,
            "log lines passed their share of --max-storage: oldest lines deleted"
        );
        Ok(deleted)
    }

    /// Finds rows with `find` and deletes them with the chore `delete` makes, until a search
    /// comes back short or a chunk deletes nothing (rows the chore keeps on a recheck).
    async fn drain<T, F, Fut>(
        &self,
        find: F,
        delete: impl Fn(Vec<T>) -> Chore,
    ) -> Result<u64, RetentionError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<T>, StoreError>>,
    {
        let mut total = 0;
        loop {
            let ids = find().await?;
            let found = ids.len();
            if found == 0 {
                break;
            }
            let deleted = self.writer.chore(delete(ids)).await?;
            total += deleted;
            if deleted == 0 || found < CHUNK as usize {
                break;
            }
        }
        Ok(total)
    }
}

impl crate::workers::Worker for Retention {
    const NAME: &'static str = "retention";

    async fn round(
        &mut self,
        now_ms: i64,
    ) -> Result<crate::workers::Next, crate::workers::WorkError> {
        let swept = self.run_once(now_ms).await?;
        if !swept.is_empty() {
            tracing::info!(?swept, "retention ran");
        }
        Ok(crate::workers::Next::Usual)
    }
}
