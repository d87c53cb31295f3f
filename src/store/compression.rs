//! How an event is stored: its normalized JSON as one zstd frame, compressed with its project's
//! dictionary once the project has one.
//!
//! ```text
//! events.data = zstd frame [header: content size, dictionary id (zstd_dicts.id) or none]
//! zstd_dicts  = (id: the dictionary's own zstd id, project_id, data: 64 KiB, samples, created_at)
//! ```
//! Events of one project repeat the same stacks, SDK blocks and contexts. A 64 KiB dictionary
//! trained from 2,000 of them (`crate::retention::dictionaries`) takes `snag bench`'s 8 KB
//! events to about 170 bytes instead of 1.7 KB, and compressing with it is faster than without
//! (measured on 10,000 events: 2.8 µs against 6.7 µs at zstd's fast level). The frame names its
//! dictionary, so a dictionary is found from the blob alone; old dictionaries stay as long as
//! events use them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

use super::events::StoredEvent;
use super::sql;
use super::{ProjectId, Store, StoreError, now_ms};

/// The level with a dictionary: level 1 with it beats level 3 without it by 8x in size and
/// costs less time than the fast level without one.
const DICTIONARY_LEVEL: i32 = 1;

/// zstd's fast level without a dictionary: about 6% less server CPU per event at full ingest
/// than level 1, for blobs a quarter larger.
const PLAIN_LEVEL: i32 = -1;

/// The largest event a blob may decompress to (events are at most `--max-event-size` before
/// normalization; this bounds what a corrupt header could ask for).
const MAX_EVENT_BYTES: u64 = 64 * 1024 * 1024;

/// A project's trained dictionary, prepared for compressing and decompressing.
pub struct Dictionary {
    id: u32,
    compress: CDict<'static>,
    decompress: DDict<'static>,
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dictionary({})", self.id)
    }
}

impl Dictionary {
    /// Prepares a dictionary that zstd trained (its id is in its header).
    pub fn new(bytes: &[u8]) -> Result<Dictionary, StoreError> {
        let invalid = || StoreError::Corrupt("not a zstd dictionary".to_owned());
        let id = zstd::zstd_safe::get_dict_id_from_dict(bytes)
            .ok_or_else(invalid)?
            .get();
        Ok(Dictionary {
            id,
            compress: CDict::try_create(bytes, DICTIONARY_LEVEL).ok_or_else(invalid)?,
            decompress: DDict::try_create(bytes).ok_or_else(invalid)?,
        })
    }

    pub fn id(&self) -> u32 {
        self.id
    }
}

/// Compresses an event, with `dictionary` when given. One context per thread, reused (creating
/// one costs more than compressing a typical event).
pub fn compress(data: &[u8], dictionary: Option<&Dictionary>) -> Vec<u8> {
    thread_local! {
        static CONTEXT: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    }
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(data.len()));
    CONTEXT.with(|context| {
        let mut context = context.borrow_mut();
        match dictionary {
            Some(d) => context.compress_using_cdict(&mut out, data, &d.compress),
            None => context.compress(&mut out, data, PLAIN_LEVEL),
        }
        .expect("compressing into a buffer of the bound's size cannot fail");
    });
    out
}

/// The id of the dictionary a blob was compressed with, if any.
pub fn dictionary_of(blob: &[u8]) -> Option<u32> {
    zstd::zstd_safe::get_dict_id_from_frame(blob).map(|id| id.get())
}

/// Decompresses a blob made by [`compress`]; `dictionary` must be the one it names.
pub fn decompress(blob: &[u8], dictionary: Option<&Dictionary>) -> Result<Vec<u8>, StoreError> {
    thread_local! {
        static CONTEXT: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
    }
    let corrupt = |why: &str| StoreError::Corrupt(format!("event data: {why}"));
    let size = match zstd::zstd_safe::get_frame_content_size(blob) {
        Ok(Some(size)) if size <= MAX_EVENT_BYTES => size as usize,
        _ => return Err(corrupt("no usable content size")),
    };
    if dictionary.map(Dictionary::id) != dictionary_of(blob) {
        return Err(corrupt("compressed with another dictionary"));
    }
    let mut out = Vec::with_capacity(size);
    CONTEXT.with(|context| {
        let mut context = context.borrow_mut();
        match dictionary {
            Some(d) => context.decompress_using_ddict(&mut out, blob, &d.decompress),
            None => context.decompress(&mut out, blob),
        }
        .map_err(|code| corrupt(zstd::zstd_safe::get_error_name(code)))
    })?;
    Ok(out)
}

/// Dictionaries loaded so far, by id, and each project's newest (the one new events use).
#[derive(Debug, Default)]
pub struct Dictionaries {
    by_id: RwLock<HashMap<u32, Arc<Dictionary>>>,
    current: RwLock<HashMap<ProjectId, Arc<Dictionary>>>,
}

impl Dictionaries {
    pub fn get(&self, id: u32) -> Option<Arc<Dictionary>> {
        self.by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    pub fn add(&self, dictionary: Dictionary) -> Arc<Dictionary> {
        let dictionary = Arc::new(dictionary);
        self.by_id
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(dictionary.id, dictionary.clone());
        dictionary
    }

    /// The dictionary new events of the project are compressed with.
    pub fn current(&self, project_id: ProjectId) -> Option<Arc<Dictionary>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project_id)
            .cloned()
    }

    pub fn set_current(&self, project_id: ProjectId, dictionary: Arc<Dictionary>) {
        self.current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(project_id, dictionary);
    }
}

/// Events to compress again with their project's dictionary.
#[derive(Debug)]
pub struct RewriteChunk {
    /// (event row id, stored blob)
    pub blobs: Vec<(i64, Vec<u8>)>,
    /// Where the next chunk starts.
    pub next_id: i64,
}

impl Store {
    /// The dictionary with this id, loaded once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn dictionary(&self, id: u32) -> Result<Option<Arc<Dictionary>>, StoreError> {
        if let Some(found) = self.dictionaries.get(id) {
            return Ok(Some(found));
        }
        let data: Option<Vec<u8>> = sql::query_scalar("SELECT data FROM zstd_dicts WHERE id = $1")
            .bind(i64::from(id))
            .fetch_optional(&self.pool)
            .await?;
        data.map(|d| Ok(self.dictionaries.add(Dictionary::new(&d)?)))
            .transpose()
    }

    /// The dictionary new events of the project are compressed with (none before the project
    /// has enough events to train one).
    pub fn current_dictionary(&self, project_id: ProjectId) -> Option<Arc<Dictionary>> {
        self.dictionaries.current(project_id)
    }

    /// Loads each project's newest dictionary (at open).
    pub(super) async fn load_current_dictionaries(&self) -> Result<(), StoreError> {
        let rows: Vec<(ProjectId, Vec<u8>)> = sql::query_as(
            "SELECT project_id, data FROM zstd_dicts d
             WHERE created_at = (SELECT MAX(created_at) FROM zstd_dicts WHERE project_id = d.project_id)",
        )
        .fetch_all(&self.pool)
        .await?;
        for (project_id, data) in rows {
            let dictionary = self.dictionaries.add(Dictionary::new(&data)?);
            self.dictionaries.set_current(project_id, dictionary);
        }
        Ok(())
    }

    /// Keeps a newly trained dictionary and makes it the project's current one; false when a
    /// dictionary of that id exists already (ids are zstd's random 32-bit numbers).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_dictionary(
        &self,
        project_id: ProjectId,
        data: &[u8],
        samples: usize,
    ) -> Result<bool, StoreError> {
        let dictionary = Dictionary::new(data)?;
        let mut tx = self.pool.begin().await?;
        let added = sql::query(
            "INSERT INTO zstd_dicts (id, project_id, data, samples, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(i64::from(dictionary.id()))
        .bind(project_id)
        .bind(data)
        .bind(samples as i64)
        .bind(now_ms())
        .execute(&mut tx)
        .await?
        .rows_affected()
            > 0;
        if added {
            // The project's events stored so far are rewritten with its first dictionary.
            sql::query(
                "INSERT INTO event_recompression (project_id, next_id, end_id)
                 SELECT $1, 0, COALESCE(MAX(id), 0) + 1 FROM events WHERE true
                 ON CONFLICT (project_id) DO NOTHING",
            )
            .bind(project_id)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        if added {
            let dictionary = self.dictionaries.add(dictionary);
            self.dictionaries.set_current(project_id, dictionary);
        }
        Ok(added)
    }

    /// Projects with at least `min_events` stored and no dictionary made since
    /// `trained_before` (unix ms): a first one is due, or a fresh one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn projects_due_for_dictionary(
        &self,
        min_events: u64,
        trained_before: i64,
    ) -> Result<Vec<ProjectId>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT u.project_id FROM project_usage u WHERE u.events >= $1
             AND COALESCE((SELECT MAX(created_at) FROM zstd_dicts d WHERE d.project_id = u.project_id), 0) < $2",
        )
        .bind(min_events as i64)
        .bind(trained_before)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Up to `limit` of the project's newest events, as stored, looked for among the newest
    /// `window` events of all projects (a bounded scan by id).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent_event_blobs(
        &self,
        project_id: ProjectId,
        limit: u32,
        window: u32,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT data FROM events WHERE project_id = $1
                AND id > (SELECT COALESCE(MAX(id), 0) FROM events) - $3
             ORDER BY id DESC LIMIT $2",
        )
        .bind(project_id)
        .bind(i64::from(limit))
        .bind(i64::from(window))
        .fetch_all(&self.pool)
        .await?)
    }

    /// The next events a project stored before its first dictionary, at most `limit`; none
    /// when all are rewritten.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn events_to_rewrite(
        &self,
        project_id: ProjectId,
        limit: u32,
    ) -> Result<Option<RewriteChunk>, StoreError> {
        let Some((next, end)): Option<(i64, i64)> = sql::query_as(
            "SELECT next_id, end_id FROM event_recompression WHERE project_id = $1 AND next_id < end_id",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let rows: Vec<(i64, Vec<u8>)> = sql::query_as(
            "SELECT id, data FROM events WHERE id >= $1 AND id < $2 AND project_id = $3
             ORDER BY id LIMIT $4",
        )
        .bind(next)
        .bind(end)
        .bind(project_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let next = match rows.last() {
            Some((id, _)) if rows.len() == limit as usize => id + 1,
            _ => end,
        };
        Ok(Some(RewriteChunk {
            blobs: rows,
            next_id: next,
        }))
    }

    /// Projects whose events stored before their first dictionary are not all rewritten yet.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn projects_to_rewrite(&self) -> Result<Vec<ProjectId>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT project_id FROM event_recompression WHERE next_id < end_id ORDER BY project_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes dictionaries no stored event can use any more: those with a newer one made
    /// (an hour's margin for events in flight) before the oldest stored event arrived.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_unused_dictionaries(&self) -> Result<u64, StoreError> {
        Ok(sql::query(
            "DELETE FROM zstd_dicts WHERE id IN (
                SELECT d.id FROM zstd_dicts d WHERE EXISTS (
                    SELECT 1 FROM zstd_dicts n WHERE n.project_id = d.project_id
                        AND n.created_at > d.created_at
                        AND n.created_at + 3600000 <
                            COALESCE((SELECT received FROM events ORDER BY id LIMIT 1), 9223372036854775807)))",
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// The event with the dictionary its blob names attached, so that it can be read.
    pub(super) async fn readable(
        &self,
        event: Option<StoredEvent>,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let Some(mut event) = event else {
            return Ok(None);
        };
        if let Some(id) = dictionary_of(&event.data) {
            event.dictionary = self.dictionary(id).await?;
        }
        Ok(Some(event))
    }

    /// A stored event blob as JSON.
    pub(super) async fn decode(&self, blob: &[u8]) -> Result<serde_json::Value, StoreError> {
        let dictionary = match dictionary_of(blob) {
            Some(id) => self.dictionary(id).await?,
            None => None,
        };
        let raw = decompress(blob, dictionary.as_deref())?;
        serde_json::from_slice(&raw).map_err(|e| StoreError::Corrupt(format!("event data: {e}")))
    }

    pub(super) async fn all_readable(
        &self,
        events: Vec<StoredEvent>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut readable = Vec::with_capacity(events.len());
        for event in events {
            readable.extend(self.readable(Some(event)).await?);
        }
        Ok(readable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events alike as a project's are: the same shape, a few values that change.
    fn events(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                serde_json::json!({
                    "event_id": format!("{i:032x}"),
                    "level": "error",
                    "platform": "python",
                    "exception": {"values": [{"type": "KeyError", "value": format!("'user-{}'", i % 97),
                        "stacktrace": {"frames": [
                            {"filename": "app/views.py", "function": "checkout", "lineno": 40 + i % 7, "in_app": true},
                            {"filename": "django/core/handlers/base.py", "function": "_get_response", "lineno": 197}]}}]},
                    "contexts": {"runtime": {"name": "CPython", "version": "3.12.1"}, "os": {"name": "Linux"}},
                    "sdk": {"name": "sentry.python.django", "version": "2.19.0"},
                    "tags": [["server_name", format!("web-{}", i % 5)], ["environment", "production"]],
                })
                .to_string()
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn a_trained_dictionary_shrinks_a_projects_events_and_every_blob_reads_back() {
        let samples = events(2000);
        let trained = zstd::dict::from_samples(&samples, 16 * 1024).unwrap();
        let dictionary = Dictionary::new(&trained).unwrap();
        let event = &events(2100)[2050];
        let plain = compress(event, None);
        let small = compress(event, Some(&dictionary));
        assert!(
            small.len() * 3 < plain.len(),
            "{} vs {}",
            small.len(),
            plain.len()
        );
        assert_eq!(dictionary_of(&small), Some(dictionary.id()));
        assert_eq!(dictionary_of(&plain), None);
        assert_eq!(decompress(&small, Some(&dictionary)).unwrap(), *event);
        assert_eq!(decompress(&plain, None).unwrap(), *event);
        // The wrong dictionary, or none, is refused rather than misread.
        assert!(decompress(&small, None).is_err());
        assert!(decompress(&plain, Some(&dictionary)).is_err());
        assert!(decompress(b"not zstd", None).is_err());
        assert!(Dictionary::new(b"not a dictionary").is_err());
    }
}
