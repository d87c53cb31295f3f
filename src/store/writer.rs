//! The batch writer: one task, one connection, one transaction per batch (group commit).
//!
//! ```text
//! handler ── try_send(Pending) ──▶ bounded queue ──▶ writer: recv_many ─▶ BEGIN … COMMIT
//!    ▲                                                                       │
//!    └──────────────── oneshot Ok(()) after COMMIT ◀───────────────────────────┘
//! ```
//!
//! While one batch is written, the envelopes that queue up behind it form the next batch,
//! whose lookup rides on the same round trip (see [`batch`]). Issue counters and tag counts of
//! existing issues are appended as pending rows, which the writer folds into the issues in a
//! batch's commit every quarter second under load; when its queue is empty after a batch it
//! folds the counters at once, before the acks (a lone event's counts are exact when its SDK
//! hears 200), and what is still pending a quarter second later.
//!
//! Handlers never wait for a slot: a full queue is answered at once (the ingest turns it into
//! 429), so nothing is dropped silently. A batch that fails is retried one job at a time, so a
//! single poisonous row cannot fail its neighbours. When every sender is gone the writer drains
//! what is queued and stops.

use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

use super::batch;
use super::batch::EncodedEvent;
use super::events::{AttachmentRow, UserReportRow};

/// How long pending rows wait at most under load (see `batch::fold`): short enough that
/// counters lag by a blink, long enough that each fold merges thousands of events.
const FOLD_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Everything one envelope asks to store; committed atomically, acknowledged after COMMIT.
#[derive(Debug, Default)]
pub struct WriteJob {
    pub event: Option<EncodedEvent>,
    pub attachments: Vec<AttachmentRow>,
    pub user_reports: Vec<UserReportRow>,
}

impl WriteJob {
    pub fn is_empty(&self) -> bool {
        self.event.is_none() && self.attachments.is_empty() && self.user_reports.is_empty()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    #[error("the write queue is full")]
    QueueFull,
    #[error("the writer is shutting down")]
    Closed,
    #[error("the write failed: {0}")]
    Failed(String),
}

struct Pending {
    job: WriteJob,
    done: oneshot::Sender<Result<(), String>>,
}

/// Sending side of the writer queue; cheap to clone into every handler.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: mpsc::Sender<Pending>,
}

/// Counters the writer keeps for `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: std::sync::atomic::AtomicU64,
    pub jobs: std::sync::atomic::AtomicU64,
    pub failed_jobs: std::sync::atomic::AtomicU64,
    pub commit_micros: std::sync::atomic::AtomicU64,
    /// Folds of the pending counter rows (see `batch::fold`).
    pub folds: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer task on the current runtime.
    pub fn start(
        conn: SqliteConnection,
        queue_size: usize,
        max_batch: usize,
        stats: std::sync::Arc<WriterStats>,
    ) -> (Writer, WriterTask) {
        let (tx, rx) = mpsc::channel(queue_size.max(1));
        let (stop, stopped) = oneshot::channel();
        let join = tokio::spawn(run(conn, rx, stopped, max_batch.max(1), stats));
        (Writer { tx }, WriterTask { stop, join })
    }

    /// Queues a job and waits until it is committed.
    pub async fn submit(&self, job: WriteJob) -> Result<(), SubmitError> {
        let (done, committed) = oneshot::channel();
        self.tx
            .try_send(Pending { job, done })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
            })?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SubmitError::Failed(e)),
            Err(_) => Err(SubmitError::Closed),
        }
    }

    /// Jobs waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

/// The running writer; [`WriterTask::stop`] drains the queue and waits for the last COMMIT.
#[derive(Debug)]
pub struct WriterTask {
    stop: oneshot::Sender<()>,
    join: tokio::task::JoinHandle<()>,
}

impl WriterTask {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.join.await {
            tracing::error!(error = %e, "writer task failed");
        }
    }
}

async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Pending>,
    mut stop: oneshot::Receiver<()>,
    max_batch: usize,
    stats: std::sync::Arc<WriterStats>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    let mut next: Vec<Pending> = Vec::with_capacity(max_batch);
    // The lookup of `batch`, when the previous round trip already did it (transaction open).
    let mut known: Option<batch::Known> = None;
    let mut stopping = false;
    // When the pending counter and tag rows were last folded all together.
    let mut last_fold = std::time::Instant::now();
    // Whether pending rows may exist (the connection comes with none).
    let mut rows_pending = false;
    loop {
        if batch.is_empty() {
            let received = tokio::select! {
                n = rx.recv_many(&mut batch, max_batch) => n,
                _ = &mut stop, if !stopping => {
                    // No new jobs from now on; the ones queued are still written.
                    stopping = true;
                    rx.close();
                    continue;
                }
                // Idle with rows pending: fold them alone.
                _ = tokio::time::sleep(FOLD_INTERVAL.saturating_sub(last_fold.elapsed())), if rows_pending => {
                    last_fold = std::time::Instant::now();
                    stats.folds.fetch_add(1, Relaxed);
                    match batch::fold(&mut conn, true).await {
                        Ok(()) => rows_pending = false,
                        Err(e) => tracing::error!(error = ?e, "folding pending counts failed; retrying later"),
                    }
                    continue;
                }
            };
            if received == 0 {
                break;
            }
        }
        // What queued up meanwhile is the next batch; its lookup rides on this write.
        while next.len() < max_batch {
            match rx.try_recv() {
                Ok(pending) => next.push(pending),
                Err(_) => break,
            }
        }
        // Under load the pending rows are folded in a batch's commit every quarter second.
        let fold = last_fold.elapsed() >= FOLD_INTERVAL;
        let started = std::time::Instant::now();
        let jobs: Vec<&WriteJob> = batch.iter().map(|p| &p.job).collect();
        let next_jobs: Vec<&WriteJob> = next.iter().map(|p| &p.job).collect();
        let outcome = batch::write(&mut conn, &jobs, known.take(), &next_jobs, fold).await;
        known = outcome.next;
        stats.batches.fetch_add(1, Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Relaxed);
        stats
            .commit_micros
            .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        match outcome.result {
            Ok(()) => {
                if fold {
                    last_fold = std::time::Instant::now();
                    stats.folds.fetch_add(1, Relaxed);
                }
                rows_pending = !fold;
                // Nothing queued behind (and no transaction open): fold the counter rows now,
                // before the acks, so that a sender that waits for its 200 then reads exact
                // counts (tag readers add the pending tag rows themselves). Under load the
                // queue is rarely empty, and each such fold merges several batches.
                if rows_pending && next.is_empty() && rx.is_empty() {
                    stats.folds.fetch_add(1, Relaxed);
                    if let Err(e) = batch::fold(&mut conn, false).await {
                        tracing::error!(error = ?e, "folding pending counts failed; retrying later");
                    }
                }
                for pending in batch.drain(..) {
                    let _ = pending.done.send(Ok(()));
                }
            }
            Err(e) if batch.len() == 1 && !fold => {
                rows_pending = true;
                tracing::error!(error = ?e, "write failed");
                stats.failed_jobs.fetch_add(1, Relaxed);
                let pending = batch.pop().expect("one job");
                let _ = pending.done.send(Err(e.to_string()));
            }
            Err(e) => {
                tracing::warn!(error = ?e, jobs = batch.len(), "batch failed; writing its jobs one by one");
                // Without folding: a failing fold must not fail the events.
                rows_pending = true;
                for pending in batch.drain(..) {
                    let result = batch::write(&mut conn, &[&pending.job], None, &[], false)
                        .await
                        .result;
                    if let Err(e) = &result {
                        tracing::error!(error = ?e, "write failed");
                        stats.failed_jobs.fetch_add(1, Relaxed);
                    }
                    let _ = pending.done.send(result.map_err(|e| e.to_string()));
                }
            }
        }
        std::mem::swap(&mut batch, &mut next);
    }
    tracing::info!("writer drained and stopped");
}
