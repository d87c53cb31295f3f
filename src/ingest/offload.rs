//! CPU work of ingest (decompression, parsing, normalizing, grouping) runs on a fixed set of
//! threads, not on the HTTP workers: a heavy request then delays other heavy requests, never
//! `/healthz`, the web UI or the reading of other requests. Requests wait for a thread while
//! holding only their charged body (see [`super::budget`]), so the wait is bounded too.
//!
//! The threads are few and long-lived on purpose: the allocator keeps some freed memory per
//! thread, so the memory a burst of large envelopes leaves behind is bounded by their number
//! (a pool that starts threads on demand would leave it on every thread it ever started).

use crate::ingest::error::IngestError;

type Job = Box<dyn FnOnce() + Send>;

/// `threads` named threads taking ingest jobs in order.
#[derive(Debug, Clone)]
pub struct CpuPool {
    jobs: flume::Sender<Job>,
}

/// Jobs waiting for a thread before `run` waits to hand in another.
const WAITING: usize = 1024;

impl CpuPool {
    pub fn new(threads: usize) -> std::io::Result<CpuPool> {
        let (jobs, queue) = flume::bounded::<Job>(WAITING);
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("snag-ingest-{n}"))
                .spawn(move || {
                    // Ends when the last sender (the application) is gone.
                    while let Ok(job) = queue.recv() {
                        // A panic fails its own request (its answer is dropped), not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(CpuPool { jobs })
    }

    /// Runs `job` on a pool thread once one is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, IngestError>
    where
        F: FnOnce() -> Result<T, IngestError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(job());
        });
        self.jobs
            .send_async(job)
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        answered
            .await
            .map_err(|_| IngestError::broken("an ingest job panicked"))?
    }
}
