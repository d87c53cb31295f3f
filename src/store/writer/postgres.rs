//! The batch writer on PostgreSQL: the same queue, batches and acks as SQLite's (see the
//! parent module), on a thread of its own that drives one connection with a small runtime of
//! its own, so the server's runtime threads never wait on a batch.
//!
//! ```text
//! handler ── try_send ──▶ queue ──▶ writer thread: recv, take what queued up
//!                                     └─ block_on: BEGIN; batch::postgres::write; COMMIT
//!    ▲                                                                          │
//!    └─────────────────────── Ok(()) after COMMIT ◀──────────────────────────────┘
//! ```
//! Counters are updated in the batch; tags wait as pending rows, which the writer folds every
//! quarter second while there are some (and at start and stop), each fold a transaction of its
//! own taking its turn under the batch lock (see `batch::postgres`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::super::sql::Pool;
use super::super::{StoreError, batch, retention};
use super::{
    ChoreRequest, FOLD_INTERVAL, Pending, Request, STOP_POLL, WriterStats, write_one_by_one,
};

/// Connects the writer's connection on its own thread and runs the writer there; returns
/// once it is connected (or could not connect).
pub(super) fn start(
    options: PgConnectOptions,
    rx: flume::Receiver<Request>,
    stop: Arc<AtomicBool>,
    max_batch: usize,
    stats: Arc<WriterStats>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    // A batch joins a few dozen rows (its JSON arrays) to large tables: always by their indexes.
    // PostgreSQL cannot see how few rows a JSON array holds (it guesses 100 per function) and
    // would hash whole tables (issue_hashes, issue_tags) at every batch as they grow.
    let options = options.options([("enable_hashjoin", "off"), ("enable_mergejoin", "off")]);
    let (ready, connected) = std::sync::mpsc::channel();
    let join = std::thread::Builder::new()
        .name("snag-writer".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(StoreError::WriterThread(e)));
                    return;
                }
            };
            let pool = runtime.block_on(
                PgPoolOptions::new()
                    .min_connections(1)
                    .max_connections(1)
                    .connect_with(options),
            );
            let pool = match pool {
                Ok(pool) => Pool::Postgres(pool),
                Err(e) => {
                    let _ = ready.send(Err(StoreError::Database(e)));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            run(&runtime, &pool, rx, &stop, max_batch, &stats);
            runtime.block_on(pool.close());
        })
        .map_err(StoreError::WriterThread)?;
    match connected.recv() {
        Ok(Ok(())) => Ok(join),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(StoreError::WriterThread(std::io::Error::other(
            "the writer thread ended before it connected",
        ))),
    }
}

fn run(
    runtime: &tokio::runtime::Runtime,
    pool: &Pool,
    rx: flume::Receiver<Request>,
    stop: &AtomicBool,
    max_batch: usize,
    stats: &WriterStats,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    let mut chores: Vec<ChoreRequest> = Vec::new();
    // What an earlier run (or another node) left pending is folded first.
    let mut folds = Folds {
        pending: true,
        last: Instant::now() - FOLD_INTERVAL,
    };
    loop {
        if folds.due() {
            folds.fold(runtime, pool, stats);
        }
        match rx.recv_timeout(STOP_POLL) {
            Ok(request) => request.sort(&mut batch, &mut chores),
            Err(flume::RecvTimeoutError::Disconnected) => break,
            Err(flume::RecvTimeoutError::Timeout) => {
                if stop.load(Relaxed) {
                    break;
                }
                continue;
            }
        }
        for request in rx.try_iter().take(max_batch - 1) {
            request.sort(&mut batch, &mut chores);
        }
        if !batch.is_empty() {
            let started = Instant::now();
            let jobs: Vec<&_> = batch.iter().map(|p| &p.job).collect();
            let result = runtime.block_on(write(pool, &jobs));
            stats.count_batch(batch.len(), started);
            folds.pending = true;
            match result {
                Ok(()) => {
                    for Pending { job, done } in batch.drain(..) {
                        let _ = done.send((job, Ok(())));
                    }
                }
                Err(e) => write_one_by_one(&mut batch, &e, stats, |job| {
                    runtime.block_on(write(pool, &[job]))
                }),
            }
        }
        for ChoreRequest { chore, done } in chores.drain(..) {
            stats.chores.fetch_add(1, Relaxed);
            let result = runtime.block_on(retention::run_postgres(pool, &chore));
            if let Err(e) = &result {
                tracing::error!(error = ?e, ?chore, "retention chore failed");
            }
            let _ = done.send(result);
        }
    }
    folds.pending = true;
    folds.fold(runtime, pool, stats);
    tracing::info!("writer drained and stopped");
}

/// Whether tag rows may be pending, and when they were last folded.
struct Folds {
    pending: bool,
    last: Instant,
}

impl Folds {
    fn due(&self) -> bool {
        self.pending && self.last.elapsed() >= FOLD_INTERVAL
    }

    /// Folds every pending tag row; on failure they stay, for the next try.
    fn fold(&mut self, runtime: &tokio::runtime::Runtime, pool: &Pool, stats: &WriterStats) {
        self.last = Instant::now();
        stats.folds.fetch_add(1, Relaxed);
        let folded = runtime.block_on(async {
            let mut tx = pool.begin().await?;
            batch::postgres::fold_tags(&mut tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        });
        match folded {
            Ok(()) => self.pending = false,
            Err(e) => tracing::error!(error = ?e, "folding pending tags failed; retrying later"),
        }
    }
}

/// One batch in one transaction.
async fn write(pool: &Pool, jobs: &[&super::WriteJob]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    batch::postgres::write(&mut tx, jobs, super::super::now_ms()).await?;
    tx.commit().await?;
    Ok(())
}
