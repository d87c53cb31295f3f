//! Each project's zstd dictionary (see `crate::store::compression`): trained from the project's
//! own events once it has stored enough of them, trained afresh every week, and the events
//! stored before the first one rewritten with it.
//!
//! ```text
//! every 2 s: projects with ≥ 1,000 events and no dictionary (or none from the last week)
//!              → their newest events (2,000, 8 MiB at most), decompressed → zstd training (64 KiB, on a
//!                blocking thread) → zstd_dicts; new events use it from then on
//!            events stored before a project's first dictionary → compressed with it, 500 at
//!              a time through the batch writer (RewriteEvents), with a pause between chunks
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::RetentionError;
use crate::store::compression::{self, dictionary_of};
use crate::store::retention::Chore;
use crate::store::writer::{Writer, WriterStats};
use crate::store::{ProjectId, Store};

/// Events a project stores before its first dictionary is trained.
pub const MIN_EVENTS: u64 = 1_000;

/// Events a dictionary is trained from: the project's newest, among the newest 200,000 of all.
const SAMPLES: u32 = 2_000;
const SAMPLE_WINDOW: u32 = 200_000;

/// What training reads at most: zstd asks for about a hundred times the dictionary's size, and
/// holding more raised the server's peak memory for no better dictionary.
const SAMPLE_BYTES: usize = 8 * 1024 * 1024;

/// zstd's advice for dictionaries: about 100 KB; 64 KiB compressed `snag bench`'s events as
/// well as 110 KiB and better than 32 KiB at the level used.
const DICTIONARY_BYTES: usize = 64 * 1024;

/// A project's events drift (new code, new SDK versions): a fresh dictionary every week.
const RETRAIN_AFTER_MS: i64 = 7 * crate::time::DAY_MS;

/// After a training that failed (too little data), wait this long before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(600);

/// Events rewritten per chunk, and the pause between chunks (the rewrite yields to ingest).
const REWRITE_CHUNK: u32 = 500;
const REWRITE_PAUSE: Duration = Duration::from_millis(20);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trained {
    pub dictionaries: u32,
    pub rewritten: u64,
}

#[derive(Debug)]
pub struct Trainer {
    store: Store,
    writer: Writer,
    /// The writer's activity at the last pass that found nothing to do (see
    /// [`WriterStats::activity`]): while it stays, there is nothing new to look at.
    stats: Arc<WriterStats>,
    idle_at: Mutex<Option<u64>>,
    /// Projects whose last training failed, and when.
    failed: Mutex<HashMap<ProjectId, Instant>>,
}

impl Trainer {
    pub fn new(store: Store, writer: Writer, stats: Arc<WriterStats>) -> Trainer {
        Trainer {
            store,
            writer,
            stats,
            idle_at: Mutex::default(),
            failed: Mutex::default(),
        }
    }

    /// Trains the dictionaries due as if the time were `now_ms`, then rewrites what was
    /// stored before them.
    pub async fn run_once(&self, now_ms: i64) -> Result<Trained, RetentionError> {
        let mut done = Trained::default();
        let activity = self.stats.activity();
        if *self.idle_at.lock().unwrap_or_else(PoisonError::into_inner) == Some(activity) {
            return Ok(done);
        }
        let due = self
            .store
            .projects_due_for_dictionary(MIN_EVENTS, now_ms - RETRAIN_AFTER_MS)
            .await?;
        for project_id in due {
            let recently_failed = self
                .failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&project_id)
                .is_some_and(|at| at.elapsed() < RETRY_AFTER);
            if recently_failed {
                continue;
            }
            match self.train(project_id).await {
                Ok(()) => done.dictionaries += 1,
                Err(e) => {
                    tracing::info!(project_id = project_id.get(), error = %e, "no dictionary trained; trying again later");
                    self.failed
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(project_id, Instant::now());
                }
            }
        }
        for project_id in self.store.projects_to_rewrite().await? {
            done.rewritten += self.rewrite(project_id).await?;
        }
        if done == Trained::default() {
            *self.idle_at.lock().unwrap_or_else(PoisonError::into_inner) = Some(activity);
        }
        Ok(done)
    }

    async fn train(&self, project_id: ProjectId) -> Result<(), RetentionError> {
        let blobs = self
            .store
            .recent_event_blobs(project_id, SAMPLES, SAMPLE_WINDOW)
            .await?;
        // The samples end to end in one buffer, as zstd's trainer takes them.
        let mut samples = Vec::with_capacity(SAMPLE_BYTES);
        let mut sizes = Vec::with_capacity(blobs.len());
        for blob in &blobs {
            let dictionary = match dictionary_of(blob) {
                Some(id) => self.store.dictionary(id).await?,
                None => None,
            };
            let event = compression::decompress(blob, dictionary.as_deref())?;
            if samples.len() + event.len() > SAMPLE_BYTES {
                break;
            }
            samples.extend_from_slice(&event);
            sizes.push(event.len());
        }
        drop(blobs);
        let count = sizes.len();
        let trained = tokio::task::spawn_blocking(move || {
            zstd::dict::from_continuous(&samples, &sizes, DICTIONARY_BYTES)
        })
        .await
        .map_err(|e| RetentionError::Job(format!("training stopped: {e}")))?
        .map_err(|e| RetentionError::Job(format!("training failed: {e}")))?;
        if self
            .store
            .add_dictionary(project_id, &trained, count)
            .await?
        {
            tracing::info!(
                project_id = project_id.get(),
                samples = count,
                "trained a compression dictionary"
            );
        }
        Ok(())
    }

    /// Rewrites the project's events stored before its first dictionary; returns how many.
    async fn rewrite(&self, project_id: ProjectId) -> Result<u64, RetentionError> {
        let Some(dictionary) = self.store.current_dictionary(project_id) else {
            return Ok(0);
        };
        let mut rewritten = 0;
        while let Some(compression::RewriteChunk {
            blobs: rows,
            next_id,
        }) = self
            .store
            .events_to_rewrite(project_id, REWRITE_CHUNK)
            .await?
        {
            let dictionary = dictionary.clone();
            let blobs = tokio::task::spawn_blocking(move || {
                rows.into_iter()
                    .filter(|(_, blob)| dictionary_of(blob).is_none())
                    .filter_map(|(id, blob)| {
                        let raw = compression::decompress(&blob, None).ok()?;
                        let smaller = compression::compress(&raw, Some(&dictionary));
                        (smaller.len() < blob.len()).then_some((id, smaller))
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| RetentionError::Job(format!("rewrite stopped: {e}")))?;
            rewritten += self
                .writer
                .chore(Chore::RewriteEvents {
                    project_id,
                    blobs,
                    next_id,
                })
                .await?;
            tokio::time::sleep(REWRITE_PAUSE).await;
        }
        Ok(rewritten)
    }
}

impl crate::workers::Worker for Trainer {
    const NAME: &'static str = "compression dictionaries";

    async fn round(
        &mut self,
        now_ms: i64,
    ) -> Result<crate::workers::Next, crate::workers::WorkError> {
        let done = self.run_once(now_ms).await?;
        if done != Trained::default() {
            tracing::info!(?done, "compression dictionaries");
        }
        Ok(crate::workers::Next::Usual)
    }
}
