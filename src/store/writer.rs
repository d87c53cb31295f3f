//! The batch writer: one thread, one connection, one transaction per batch (group commit).
//!
//! ```text
//! handler ── try_send(Pending) ──▶ bounded queue ──▶ writer thread: recv ─▶ BEGIN … COMMIT
//!    ▲                                                                         │
//!    └──────────────── oneshot Ok(()) after COMMIT ◀─────────────────────────────┘
//! ```
//!
//! The writer is a plain thread with a synchronous SQLite connection (rusqlite), not a task
//! driving sqlx's connection: sqlx runs each SQLite connection on a worker thread of its own
//! and hands every statement and every result across a channel, and at 1,600 batches a second
//! those hand-offs cost some 13,000 preemptions of the SQLite thread and 15,000 wake-ups of the
//! runtime thread per second on two cores. Here a batch wakes nobody until its acks.
//!
//! Issue counters and tag counts of existing issues are appended as pending rows, which the
//! writer folds into the issues in a batch's commit every quarter second under load; when no
//! job comes in for a moment (300 µs) after a batch it folds the counters before the acks (a
//! lone event's counts are exact when its SDK hears 200), and what is still pending a quarter
//! second later.
//!
//! Handlers never wait for a slot: a full queue is answered at once (the ingest turns it into
//! 429), so nothing is dropped silently. A batch that fails is retried one job at a time, so a
//! single poisonous row cannot fail its neighbours. On stop the writer drains what is queued.
//!
//! Retention's deletes come through the same queue as [`Chore`]s and run between batches, each
//! in a small transaction of its own (see [`super::retention`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::StoreError;
use super::batch;
use super::pending_tags::PendingTags;
use super::retention::{self, Chore};
pub use super::rows::WriteJob;

mod postgres;

/// How long the writer waits for more work after a batch before it folds the pending counters
/// (see `run`): a lone sender's 200 comes this much later.
const FOLD_GRACE: Duration = Duration::from_micros(300);

/// How often an idle writer looks whether it is asked to stop.
const STOP_POLL: Duration = Duration::from_millis(50);

/// How long pending rows wait at most under load (see `batch::fold`): short enough that
/// counters lag by a blink, long enough that each fold merges thousands of events.
const FOLD_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    QueueFull,
    #[error("the writer is shutting down")]
    Closed,
    #[error("the write failed")]
    Failed(#[source] StoreError),
}

struct Pending {
    job: WriteJob,
    /// The job comes back with its answer: it is freed on the handler's thread, where it was
    /// allocated (freeing it on the writer's thread took a twentieth of its time).
    done: oneshot::Sender<(WriteJob, Result<(), StoreError>)>,
}

/// Sending side of the writer queue; cheap to clone into every handler.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: flume::Sender<Request>,
}

/// Counters the writer keeps for `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: std::sync::atomic::AtomicU64,
    pub jobs: std::sync::atomic::AtomicU64,
    pub failed_jobs: std::sync::atomic::AtomicU64,
    pub commit_micros: std::sync::atomic::AtomicU64,
    /// Folds of all pending counter and tag rows, and of the counter rows alone (see
    /// `batch::fold`).
    pub folds: std::sync::atomic::AtomicU64,
    pub count_folds: std::sync::atomic::AtomicU64,
    /// Retention's chores run.
    pub chores: std::sync::atomic::AtomicU64,
    /// Other nodes write to the same database (PostgreSQL): this writer's counts do not tell
    /// whether anything was written (see [`WriterStats::activity`]).
    pub others_write: AtomicBool,
    /// Counts the asks for [`WriterStats::activity`] while others write.
    asked: std::sync::atomic::AtomicU64,
}

/// A chore and where its answer goes: how many rows (or pages) it deleted.
struct ChoreRequest {
    chore: Chore,
    done: oneshot::Sender<Result<u64, StoreError>>,
}

/// What the writer's queue carries. Writes are the hot path and chores rare: boxing the
/// write to shrink the enum would cost an allocation per envelope.
#[allow(clippy::large_enum_variant)]
enum Request {
    Write(Pending),
    Chore(ChoreRequest),
}

impl WriterStats {
    /// Counts a batch of `jobs` jobs written since `started`.
    fn count_batch(&self, jobs: usize, started: Instant) {
        self.batches.fetch_add(1, Relaxed);
        self.jobs.fetch_add(jobs as u64, Relaxed);
        self.commit_micros
            .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
    }

    /// A number that changes whenever the writer writes (batches, folds, chores): background
    /// work that only matters after writes compares it to skip its queries when idle.
    /// While other nodes write too, it changes at every ask: what they wrote is not seen here.
    pub fn activity(&self) -> u64 {
        if self.others_write.load(Relaxed) {
            return self.asked.fetch_add(1, Relaxed);
        }
        self.batches.load(Relaxed)
            + self.folds.load(Relaxed)
            + self.count_folds.load(Relaxed)
            + self.chores.load(Relaxed)
    }
}

impl Request {
    /// Puts a write into `batch`, a chore into `chores`.
    fn sort(self, batch: &mut Vec<Pending>, chores: &mut Vec<ChoreRequest>) {
        match self {
            Request::Write(pending) => batch.push(pending),
            Request::Chore(chore) => chores.push(chore),
        }
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Write(_) => f.write_str("Write"),
            Request::Chore(c) => write!(f, "Chore({:?})", c.chore),
        }
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the PostgreSQL writer (see [`postgres`]) on a connection of its own.
    pub fn start_postgres(
        options: sqlx::postgres::PgConnectOptions,
        queue_size: usize,
        max_batch: usize,
        stats: Arc<WriterStats>,
    ) -> Result<(Writer, WriterTask), StoreError> {
        let (tx, rx) = flume::bounded(queue_size.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let join = postgres::start(options, rx, stop.clone(), max_batch.max(1), stats)?;
        Ok((Writer { tx }, WriterTask { stop, join }))
    }

    /// Starts the writer thread.
    pub fn start(
        conn: Connection,
        queue_size: usize,
        max_batch: usize,
        stats: Arc<WriterStats>,
    ) -> std::io::Result<(Writer, WriterTask)> {
        let (tx, rx) = flume::bounded(queue_size.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let join = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("snag-writer".into())
                .spawn(move || run(conn, rx, &stop, max_batch.max(1), &stats))?
        };
        Ok((Writer { tx }, WriterTask { stop, join }))
    }

    /// Queues a job and waits until it is committed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn submit(&self, job: WriteJob) -> Result<(), SubmitError> {
        let (done, committed) = oneshot::channel();
        self.tx
            .try_send(Request::Write(Pending { job, done }))
            .map_err(|e| match e {
                flume::TrySendError::Full(_) => SubmitError::QueueFull,
                flume::TrySendError::Disconnected(_) => SubmitError::Closed,
            })?;
        match committed.await {
            Ok((_job, Ok(()))) => Ok(()),
            Ok((_job, Err(e))) => Err(SubmitError::Failed(e)),
            Err(_) => Err(SubmitError::Closed),
        }
    }

    /// Queues a chore (waiting for room in the queue, unlike a write) and waits until it is
    /// done: how many rows or pages it deleted.
    #[tracing::instrument(level = "debug", skip_all, fields(?chore))]
    pub async fn chore(&self, chore: Chore) -> Result<u64, SubmitError> {
        let (done, finished) = oneshot::channel();
        self.tx
            .send_async(Request::Chore(ChoreRequest { chore, done }))
            .await
            .map_err(|_| SubmitError::Closed)?;
        match finished.await {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(SubmitError::Failed(e)),
            Err(_) => Err(SubmitError::Closed),
        }
    }

    /// Jobs waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.tx.len()
    }
}

/// The running writer; [`WriterTask::stop`] drains the queue and waits for the last COMMIT.
#[derive(Debug)]
pub struct WriterTask {
    stop: Arc<AtomicBool>,
    join: std::thread::JoinHandle<()>,
}

impl WriterTask {
    pub async fn stop(self) {
        self.stop.store(true, Relaxed);
        let join = self.join;
        match tokio::task::spawn_blocking(move || join.join()).await {
            Ok(Ok(())) => {}
            _ => tracing::error!("the writer thread failed"),
        }
    }
}

/// The pending counter and tag rows: whether some may exist, their tag totals, and when
/// they were last folded all together.
struct Folds<'a> {
    rows_pending: bool,
    tags: PendingTags,
    last: Instant,
    stats: &'a WriterStats,
}

impl Folds<'_> {
    /// Folds every pending row (counters and tags).
    fn fold_all(&mut self, conn: &mut Connection) {
        self.last = Instant::now();
        self.stats.folds.fetch_add(1, Relaxed);
        let folded = batch::fold(conn, Some(&mut self.tags));
        if let Err(e) = &folded {
            tracing::error!(error = ?e, "folding pending rows failed; retrying later");
        }
        self.rows_pending = folded.is_err();
    }

    fn due(&self) -> bool {
        self.last.elapsed() >= FOLD_INTERVAL
    }
}

fn run(
    mut conn: Connection,
    rx: flume::Receiver<Request>,
    stop: &AtomicBool,
    max_batch: usize,
    stats: &WriterStats,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    // Chores that arrived with the batch: they run after its acks.
    let mut chores: Vec<ChoreRequest> = Vec::new();
    // The connection comes with no pending rows.
    let mut folds = Folds {
        rows_pending: false,
        tags: PendingTags::default(),
        last: Instant::now(),
        stats,
    };
    loop {
        // `batch` holds a job already when one arrived while the last batch waited to fold.
        if batch.is_empty() {
            let wait = if folds.rows_pending {
                FOLD_INTERVAL.saturating_sub(folds.last.elapsed())
            } else {
                FOLD_INTERVAL
            };
            match rx.recv_timeout(wait.min(STOP_POLL)) {
                Ok(request) => request.sort(&mut batch, &mut chores),
                Err(flume::RecvTimeoutError::Disconnected) => break,
                Err(flume::RecvTimeoutError::Timeout) => {
                    // Asked to stop and nothing left: the queue closes when `rx` is dropped.
                    if stop.load(Relaxed) {
                        break;
                    }
                    // Idle with rows pending: fold them alone.
                    if folds.rows_pending && folds.due() {
                        folds.fold_all(&mut conn);
                    }
                    continue;
                }
            }
            if batch.is_empty() {
                run_chores(&mut conn, &mut chores, &mut folds);
                continue;
            }
        }
        // Whatever queued up meanwhile joins the batch.
        for request in rx.try_iter().take(max_batch - 1) {
            request.sort(&mut batch, &mut chores);
        }
        let started = Instant::now();
        let jobs: Vec<&WriteJob> = batch.iter().map(|p| &p.job).collect();
        let result = batch::write(&mut conn, &jobs, &mut folds.tags);
        stats.count_batch(batch.len(), started);
        folds.rows_pending = true;
        match result {
            Ok(()) => {
                // When nothing comes in for a moment, fold the counter rows before the acks,
                // so that a sender that waits for its 200 then reads exact counts (tag readers
                // add the pending tag rows themselves). Under load the next job comes within
                // the moment, and the fold waits for the quarter second: folding whenever the
                // queue was merely empty after a COMMIT (one batch in eight at 64 senders)
                // took an eighth of the writer's time.
                let mut arrived = Vec::new();
                match rx.recv_timeout(FOLD_GRACE) {
                    Ok(request) => request.sort(&mut arrived, &mut chores),
                    Err(_) => {
                        stats.count_folds.fetch_add(1, Relaxed);
                        if let Err(e) = batch::fold(&mut conn, None) {
                            tracing::error!(error = ?e, "folding pending counts failed; retrying later");
                        }
                    }
                }
                for Pending { job, done } in batch.drain(..) {
                    let _ = done.send((job, Ok(())));
                }
                batch.extend(arrived);
            }
            Err(e) => write_one_by_one(&mut batch, &e, stats, |job| {
                batch::write(&mut conn, &[job], &mut folds.tags)
            }),
        }
        // Under load everything pending is folded every quarter second, after the acks: the
        // batch's senders do not wait for it.
        if folds.due() {
            folds.fold_all(&mut conn);
        }
        run_chores(&mut conn, &mut chores, &mut folds);
    }
    tracing::info!("writer drained and stopped");
}

/// Writes the jobs of a failed batch one at a time with `write_one` and answers each, so that
/// a single poisonous row fails only its own sender.
fn write_one_by_one(
    batch: &mut Vec<Pending>,
    error: &StoreError,
    stats: &WriterStats,
    mut write_one: impl FnMut(&WriteJob) -> Result<(), StoreError>,
) {
    tracing::warn!(
        ?error,
        jobs = batch.len(),
        "batch failed; writing its jobs one by one"
    );
    for Pending { job, done } in batch.drain(..) {
        let result = write_one(&job);
        if let Err(e) = &result {
            tracing::error!(error = ?e, "write failed");
            stats.failed_jobs.fetch_add(1, Relaxed);
        }
        let _ = done.send((job, result));
    }
}

/// Runs the chores that arrived, each in its own transaction, and answers them.
fn run_chores(conn: &mut Connection, chores: &mut Vec<ChoreRequest>, folds: &mut Folds) {
    for ChoreRequest { chore, done } in chores.drain(..) {
        folds.stats.chores.fetch_add(1, Relaxed);
        if chore.needs_fold() && folds.rows_pending {
            folds.fold_all(conn);
        }
        let result = if chore.needs_fold() && folds.rows_pending {
            Err(StoreError::FoldFailed)
        } else {
            retention::run(conn, &chore)
        };
        if let Err(e) = &result {
            tracing::error!(error = ?e, ?chore, "retention chore failed");
        }
        let _ = done.send(result);
    }
}
