//! CPU work of ingest (decompression, parsing, normalizing, grouping) runs on a bounded set of
//! threads, not on the HTTP workers: a heavy request then delays other heavy requests, never
//! `/healthz`, the web UI or the reading of other requests. Requests wait for a thread while
//! holding only their charged body (see [`super::budget`]), so the wait is bounded too.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::IngestError;

/// At most `threads` ingest jobs run at once, on tokio's blocking threads.
#[derive(Debug, Clone)]
pub struct CpuPool {
    running: Arc<Semaphore>,
}

impl CpuPool {
    pub fn new(threads: usize) -> CpuPool {
        CpuPool {
            running: Arc::new(Semaphore::new(threads.max(1))),
        }
    }

    /// Runs `job` on a pool thread once one is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, IngestError>
    where
        F: FnOnce() -> Result<T, IngestError> + Send + 'static,
        T: Send + 'static,
    {
        let _turn = self
            .running
            .acquire()
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| IngestError::Internal(format!("ingest job failed: {e}")))?
    }
}
