//! The SQL of retention: which rows are due, how they are deleted, and what the file holds.
//!
//! The retention worker (`crate::retention`) finds due rows with reads on the pool, which never
//! block ingest (WAL), and hands each small set to the batch writer as a [`Chore`]: deletes are
//! writes, and one writer means they never make a batch wait for a lock (a second writer would
//! make the batch writer sleep in SQLite's busy handler).
//!
//! ```text
//! DeleteEvents [id…]             DELETE their attachments; DELETE the events
//! DeleteAttachments [id…]        DELETE the attachments
//! DeleteIssues [id…] before T    (pending counters folded first) raise issue_id_floors;
//!                                DELETE the issues still last seen before T (the rest cascades:
//!                                hashes, events, minutes, hours, tags, users, alerts)
//! DeleteUserReports before T     DELETE user reports made before T
//! DeleteCheckIns [id…]           DELETE the monitors' finished runs; DELETE their hourly tallies
//!                                older than the oldest run kept
//! DeleteLogBlocks [id…]          DELETE the blocks of log lines and their index words
//! Vacuum n                       PRAGMA incremental_vacuum(n): n free pages handed back
//! RewriteEvents [(id, blob)…]    UPDATE events SET data (compressed with the dictionary);
//!                                UPDATE event_recompression SET next_id
//! ```
//! Every delete keeps `project_usage` true through its triggers; issue counters (times seen,
//! users, tags, stats) are left alone: they tell what was received.
//!
//! Events are taken oldest first in row id order, which is the order they were received in:
//! ids only grow while the newest event is kept, and every rule here keeps it (so no index on
//! the receive time is needed on the ingest path).

use rusqlite::{Connection, TransactionBehavior};

use super::sql;
use super::{IssueId, ProjectId, Store, StoreError};

/// One deletion the batch writer runs between batches, in a transaction of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chore {
    DeleteEvents(Vec<i64>),
    DeleteAttachments(Vec<i64>),
    /// Issues last seen before `last_seen_before`: rechecked in the transaction, after the
    /// pending counters are folded (an issue with counter rows still pending is kept), so an
    /// issue that an event just reached is kept.
    DeleteIssues {
        ids: Vec<IssueId>,
        last_seen_before: i64,
    },
    DeleteUserReports {
        created_before: i64,
    },
    /// Cron runs that ended (in progress ones are judged first), and the timeline hours
    /// before `hours_before`.
    DeleteCheckIns {
        ids: Vec<i64>,
        hours_before: i64,
    },
    /// Blocks of log lines (`crate::logs::block`).
    DeleteLogBlocks(Vec<i64>),
    /// Hands this many free pages back to the file system.
    Vacuum {
        pages: u32,
    },
    /// Replaces events' blobs by the same events compressed with their project's dictionary,
    /// and moves the project's rewrite on to `next_id`.
    RewriteEvents {
        project_id: ProjectId,
        blobs: Vec<(i64, Vec<u8>)>,
        next_id: i64,
    },
}

impl Chore {
    /// Whether the writer must fold pending counters first (their `last_seen` may be newer).
    pub fn needs_fold(&self) -> bool {
        matches!(self, Chore::DeleteIssues { .. })
    }
}

/// Runs `chore` on the writer's connection; returns how many rows (or pages) went.
pub(super) fn run(conn: &mut Connection, chore: &Chore) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done = match chore {
        Chore::DeleteEvents(ids) => {
            let ids = id_list(ids);
            tx.prepare_cached(
                "DELETE FROM attachments WHERE (project_id, event_id) IN
                    (SELECT project_id, event_id FROM events WHERE id IN (SELECT value FROM json_each(?)))",
            )?
            .execute([&ids])?;
            tx.prepare_cached("DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))")?
                .execute([&ids])?
        }
        Chore::DeleteAttachments(ids) => tx
            .prepare_cached("DELETE FROM attachments WHERE id IN (SELECT value FROM json_each(?))")?
            .execute([id_list(ids)])?,
        Chore::DeleteIssues {
            ids,
            last_seen_before,
        } => {
            let ids = id_list(ids);
            tx.prepare_cached(
                "INSERT INTO issue_id_floors (project_id, max_issue_id, max_short_id)
                    SELECT project_id, MAX(id), MAX(short_id) FROM issues WHERE project_id IN
                        (SELECT project_id FROM issues WHERE id IN (SELECT value FROM json_each(?1)))
                    GROUP BY project_id
                 ON CONFLICT (project_id) DO UPDATE SET
                    max_issue_id = MAX(max_issue_id, excluded.max_issue_id),
                    max_short_id = MAX(max_short_id, excluded.max_short_id)",
            )?
            .execute([&ids])?;
            tx.prepare_cached(
                "DELETE FROM issues WHERE id IN (SELECT value FROM json_each(?1)) AND last_seen < ?2
                    AND id NOT IN (SELECT issue_id FROM issue_counts_pending)",
            )?
            .execute(rusqlite::params![ids, last_seen_before])?
        }
        Chore::DeleteUserReports { created_before } => tx
            .prepare_cached("DELETE FROM user_reports WHERE created_at < ?")?
            .execute([created_before])?,
        Chore::DeleteCheckIns { ids, hours_before } => {
            tx.prepare_cached("DELETE FROM monitor_hours WHERE hour < ?")?
                .execute([hours_before])?;
            tx.prepare_cached("DELETE FROM check_ins WHERE id IN (SELECT value FROM json_each(?))")?
                .execute([id_list(ids)])?
        }
        Chore::DeleteLogBlocks(ids) => {
            let ids = id_list(ids);
            tx.prepare_cached(
                "DELETE FROM log_search WHERE rowid IN (SELECT value FROM json_each(?))",
            )?
            .execute([&ids])?;
            tx.prepare_cached(
                "DELETE FROM log_blocks WHERE id IN (SELECT value FROM json_each(?))",
            )?
            .execute([&ids])?
        }
        Chore::Vacuum { pages } => {
            let before: i64 = tx.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            // Each step of the pragma frees one page: step it to the end.
            let mut vacuum = tx.prepare(&format!("PRAGMA incremental_vacuum({pages})"))?;
            let mut steps = vacuum.raw_query();
            while steps.next()?.is_some() {}
            drop(steps);
            drop(vacuum);
            let after: i64 = tx.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            (before - after).max(0) as usize
        }
        Chore::RewriteEvents {
            project_id,
            blobs,
            next_id,
        } => {
            let mut update = tx.prepare_cached("UPDATE events SET data = ? WHERE id = ?")?;
            let mut rewritten = 0;
            for (id, blob) in blobs {
                rewritten += update.execute(rusqlite::params![blob, id])?;
            }
            drop(update);
            tx.prepare_cached("UPDATE event_recompression SET next_id = ? WHERE project_id = ?")?
                .execute(rusqlite::params![next_id, project_id.get()])?;
            rewritten
        }
    };
    tx.commit()?;
    Ok(done as u64)
}

/// Runs `chore` on PostgreSQL, in a transaction of its own; returns how many rows went. The
/// counters are updated in place there (nothing is pending), and PostgreSQL reuses the space
/// of deleted rows itself (autovacuum): `Vacuum` hands nothing back.
pub(super) async fn run_postgres(pool: &sql::Pool, chore: &Chore) -> Result<u64, StoreError> {
    /// The ids of a JSON array `$1`.
    const IDS: &str = "SELECT CAST(value AS BIGINT) FROM jsonb_array_elements($1::jsonb)";
    let mut tx = pool.begin().await?;
    let done = match chore {
        Chore::DeleteEvents(ids) => {
            let ids = id_list(ids);
            sql::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM attachments WHERE (project_id, event_id) IN
                    (SELECT project_id, event_id FROM events WHERE id IN ({IDS}))"
            )))
            .bind(ids.as_str())
            .execute(&mut tx)
            .await?;
            sql::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM events WHERE id IN ({IDS})"
            )))
            .bind(ids)
            .execute(&mut tx)
            .await?
            .rows_affected()
        }
        Chore::DeleteAttachments(ids) => sql::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM attachments WHERE id IN ({IDS})"
        )))
        .bind(id_list(ids))
        .execute(&mut tx)
        .await?
        .rows_affected(),
        Chore::DeleteIssues {
            ids,
            last_seen_before,
        } => {
            let ids = id_list(ids);
            sql::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO issue_id_floors (project_id, max_issue_id, max_short_id)
                    SELECT project_id, MAX(id), MAX(short_id) FROM issues WHERE project_id IN
                        (SELECT project_id FROM issues WHERE id IN ({IDS}))
                    GROUP BY project_id
                 ON CONFLICT (project_id) DO UPDATE SET
                    max_issue_id = GREATEST(issue_id_floors.max_issue_id, excluded.max_issue_id),
                    max_short_id = GREATEST(issue_id_floors.max_short_id, excluded.max_short_id)"
            )))
            .bind(ids.as_str())
            .execute(&mut tx)
            .await?;
            sql::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM issues WHERE id IN ({IDS}) AND last_seen < $2"
            )))
            .bind(ids)
            .bind(*last_seen_before)
            .execute(&mut tx)
            .await?
            .rows_affected()
        }
        Chore::DeleteUserReports { created_before } => {
            sql::query("DELETE FROM user_reports WHERE created_at < $1")
                .bind(*created_before)
                .execute(&mut tx)
                .await?
                .rows_affected()
        }
        Chore::DeleteCheckIns { ids, hours_before } => {
            sql::query("DELETE FROM monitor_hours WHERE hour < $1")
                .bind(*hours_before)
                .execute(&mut tx)
                .await?;
            sql::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM check_ins WHERE id IN ({IDS})"
            )))
            .bind(id_list(ids))
            .execute(&mut tx)
            .await?
            .rows_affected()
        }
        Chore::DeleteLogBlocks(ids) => sql::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM log_blocks WHERE id IN ({IDS})"
        )))
        .bind(id_list(ids))
        .execute(&mut tx)
        .await?
        .rows_affected(),
        Chore::Vacuum { .. } => 0,
        Chore::RewriteEvents {
            project_id,
            blobs,
            next_id,
        } => {
            let mut rewritten = 0;
            for (id, blob) in blobs {
                rewritten += sql::query("UPDATE events SET data = $1 WHERE id = $2")
                    .bind(blob.as_slice())
                    .bind(*id)
                    .execute(&mut tx)
                    .await?
                    .rows_affected();
            }
            sql::query("UPDATE event_recompression SET next_id = $1 WHERE project_id = $2")
                .bind(*next_id)
                .bind(*project_id)
                .execute(&mut tx)
                .await?;
            rewritten
        }
    };
    tx.commit().await?;
    Ok(done)
}

fn id_list<T: serde::Serialize>(ids: &[T]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// The database file's pages: what it takes on disk, and how much of it is free for reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileSize {
    pub page_size: u64,
    pub pages: u64,
    pub free_pages: u64,
}

impl FileSize {
    /// Bytes of the file.
    pub fn bytes(&self) -> u64 {
        self.pages * self.page_size
    }

    /// Bytes in pages that hold data.
    pub fn used_bytes(&self) -> u64 {
        (self.pages - self.free_pages.min(self.pages)) * self.page_size
    }
}

/// What one project holds now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProjectUsage {
    pub project_id: ProjectId,
    pub events: i64,
    pub event_bytes: i64,
    pub attachments: i64,
    pub attachment_bytes: i64,
}

impl ProjectUsage {
    /// A project that holds nothing (yet).
    pub fn empty(project_id: ProjectId) -> ProjectUsage {
        ProjectUsage {
            project_id,
            events: 0,
            event_bytes: 0,
            attachments: 0,
            attachment_bytes: 0,
        }
    }
}

impl Store {
    /// Ids of the oldest events received before `received_before`, at most `limit`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn events_received_before(
        &self,
        received_before: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT id FROM (SELECT id, received FROM events ORDER BY id LIMIT $2) AS oldest
             WHERE received < $1",
        )
        .bind(received_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ids of the oldest events, at most `limit`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn oldest_events(&self, limit: u32) -> Result<Vec<i64>, StoreError> {
        Ok(
            sql::query_scalar("SELECT id FROM events ORDER BY id LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Ids of attachments stored before `created_before`, oldest first, at most `limit`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn attachments_created_before(
        &self,
        created_before: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT id FROM (SELECT id, created_at FROM attachments ORDER BY id LIMIT $2) AS oldest
             WHERE created_at < $1",
        )
        .bind(created_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ids of cron runs that ended and were added before `added_before`, at most `limit`
    /// (through the index on the time added).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn check_ins_added_before(
        &self,
        added_before: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT id FROM check_ins WHERE date_added < $1 AND status <> 'in_progress'
             ORDER BY date_added LIMIT $2",
        )
        .bind(added_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ids of issues last seen before `last_seen_before`, at most `limit` (by project, through
    /// the index on project and last seen).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issues_last_seen_before(
        &self,
        last_seen_before: i64,
        limit: u32,
    ) -> Result<Vec<IssueId>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT i.id FROM projects p JOIN issues i ON i.project_id = p.id AND i.last_seen < $1
             LIMIT $2",
        )
        .bind(last_seen_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Issues seen more than `times` times: the only ones that can hold more events than that.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issues_seen_more_than(&self, times: u64) -> Result<Vec<IssueId>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT i.id FROM projects p JOIN issues i ON i.project_id = p.id AND i.times_seen > $1",
        )
        .bind(times as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ids of an issue's events beyond its newest `keep`, oldest last, at most `limit`; the
    /// issue's oldest stored event (its first, while it is kept) is never among them.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn events_beyond(
        &self,
        issue_id: IssueId,
        keep: u64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT id FROM events WHERE issue_id = $1
                AND id <> (SELECT id FROM events WHERE issue_id = $1 ORDER BY timestamp, id LIMIT 1)
             ORDER BY timestamp DESC, id DESC LIMIT $3 OFFSET $2",
        )
        .bind(issue_id)
        .bind(keep as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many of an issue's events are stored.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn stored_events(&self, issue_id: IssueId) -> Result<i64, StoreError> {
        Ok(
            sql::query_scalar("SELECT COUNT(*) FROM events WHERE issue_id = $1")
                .bind(issue_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The database file's size in pages. On PostgreSQL, whose files are the server's to
    /// manage (deleted rows' space is reused after autovacuum; files rarely shrink), it is the
    /// bytes of the events and attachments Snag holds, in one-byte "pages", none free: what a
    /// storage budget there limits, and what deletes bring down at once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn file_size(&self) -> Result<FileSize, StoreError> {
        if self.dialect() == sql::Dialect::Postgres {
            let bytes: i64 = sql::query_scalar(
                "SELECT CAST(COALESCE(SUM(event_bytes + attachment_bytes), 0) AS BIGINT)
                 FROM project_usage",
            )
            .fetch_one(&self.pool)
            .await?;
            return Ok(FileSize {
                page_size: 1,
                pages: bytes.max(0) as u64,
                free_pages: 0,
            });
        }
        let (page_size, pages, free_pages): (i64, i64, i64) = sql::query_as(
            "SELECT (SELECT page_size FROM pragma_page_size()),
                    (SELECT page_count FROM pragma_page_count()),
                    (SELECT freelist_count FROM pragma_freelist_count())",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(FileSize {
            page_size: page_size as u64,
            pages: pages as u64,
            free_pages: free_pages as u64,
        })
    }

    /// What each project holds, by project id.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn project_usage(&self) -> Result<Vec<ProjectUsage>, StoreError> {
        Ok(sql::query_as(
            "SELECT p.id AS project_id, COALESCE(u.events, 0) AS events,
                    COALESCE(u.event_bytes, 0) AS event_bytes,
                    COALESCE(u.attachments, 0) AS attachments,
                    COALESCE(u.attachment_bytes, 0) AS attachment_bytes
             FROM projects p LEFT JOIN project_usage u ON u.project_id = p.id ORDER BY p.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
