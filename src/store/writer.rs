//! The batch writer: one task, one connection, one transaction per batch (group commit).
//!
//! ```text
//! handler ── try_send(Pending) ──▶ bounded queue ──▶ writer: recv_many ─▶ BEGIN … COMMIT
//!    ▲                                                                       │
//!    └──────────────── oneshot Ok(()) after COMMIT ◀───────────────────────────┘
//! ```
//!
//! Handlers never wait for a slot: a full queue is answered at once (the ingest turns it into
//! 429), so nothing is dropped silently. A batch that fails is retried one job at a time, so a
//! single poisonous row cannot fail its neighbours. When every sender is gone the writer drains
//! what is queued and stops.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Sqlite, SqliteConnection, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use super::events::{AttachmentRow, EventRow, UserReportRow};

/// Rows per multi-row statement; well under SQLite's bind-variable limit.
const ROWS_PER_STATEMENT: usize = 200;

/// Everything one envelope asks to store; committed atomically, acknowledged after COMMIT.
#[derive(Debug, Default)]
pub struct WriteJob {
    pub event: Option<EventRow>,
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
    let mut stopping = false;
    loop {
        let received = tokio::select! {
            n = rx.recv_many(&mut batch, max_batch) => n,
            _ = &mut stop, if !stopping => {
                // No new jobs from now on; the ones queued are still written.
                stopping = true;
                rx.close();
                continue;
            }
        };
        if received == 0 {
            break;
        }
        let started = std::time::Instant::now();
        let jobs: Vec<&WriteJob> = batch.iter().map(|p| &p.job).collect();
        let result = write_batch(&mut conn, &jobs).await;
        stats.batches.fetch_add(1, Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Relaxed);
        stats
            .commit_micros
            .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        match result {
            Ok(()) => {
                for pending in batch.drain(..) {
                    let _ = pending.done.send(Ok(()));
                }
            }
            Err(e) if batch.len() == 1 => {
                tracing::error!(error = ?e, "write failed");
                stats.failed_jobs.fetch_add(1, Relaxed);
                let pending = batch.pop().expect("one job");
                let _ = pending.done.send(Err(e.to_string()));
            }
            Err(e) => {
                tracing::warn!(error = ?e, jobs = batch.len(), "batch failed; writing its jobs one by one");
                for pending in batch.drain(..) {
                    let result = write_batch(&mut conn, &[&pending.job]).await;
                    if let Err(e) = &result {
                        tracing::error!(error = ?e, "write failed");
                        stats.failed_jobs.fetch_add(1, Relaxed);
                    }
                    let _ = pending.done.send(result.map_err(|e| e.to_string()));
                }
            }
        }
    }
    tracing::info!("writer drained and stopped");
}

/// Writes the jobs in one transaction.
async fn write_batch(conn: &mut SqliteConnection, jobs: &[&WriteJob]) -> Result<(), StoreError> {
    use sqlx::Connection;
    // IMMEDIATE takes the write lock up front, waiting (busy_timeout) for another writer such as
    // a CLI beside the server; a deferred transaction that read first would fail with BUSY.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let events = new_events(&mut tx, jobs).await?;
    if !events.is_empty() {
        let issue_ids = resolve_issues(&mut tx, &events).await?;
        insert_events(&mut tx, &events, &issue_ids).await?;
        let new_users = insert_issue_users(&mut tx, &events, &issue_ids).await?;
        update_issues(&mut tx, &events, &issue_ids, &new_users).await?;
        upsert_minutes(&mut tx, &events, &issue_ids).await?;
        upsert_tags(&mut tx, &events, &issue_ids).await?;
    }
    insert_attachments(&mut tx, jobs).await?;
    insert_user_reports(&mut tx, jobs).await?;
    tx.commit().await?;
    Ok(())
}

/// The batch's events minus those already stored (SDK retries) and repeats within the batch.
async fn new_events<'a>(
    tx: &mut Transaction<'_, Sqlite>,
    jobs: &[&'a WriteJob],
) -> Result<Vec<&'a EventRow>, StoreError> {
    let mut seen = HashSet::new();
    let candidates: Vec<&EventRow> = jobs
        .iter()
        .filter_map(|j| j.event.as_ref())
        .filter(|e| seen.insert((e.project_id, e.event_id.as_str())))
        .collect();
    let mut stored: HashSet<(i64, String)> = HashSet::new();
    for chunk in candidates.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT project_id, event_id FROM events WHERE (project_id, event_id) IN (",
        );
        let mut list = qb.separated(", ");
        for e in chunk {
            list.push("(");
            list.push_bind_unseparated(e.project_id);
            list.push_unseparated(", ");
            list.push_bind_unseparated(e.event_id.clone());
            list.push_unseparated(")");
        }
        qb.push(")");
        let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut **tx).await?;
        stored.extend(rows);
    }
    Ok(candidates
        .into_iter()
        .filter(|e| !stored.contains(&(e.project_id, e.event_id.clone())))
        .collect())
}

/// The issue of each event: the first of its hashes already linked to an issue, else a new
/// issue. Every hash of the event that is not linked yet is linked to that issue.
async fn resolve_issues(
    tx: &mut Transaction<'_, Sqlite>,
    events: &[&EventRow],
) -> Result<Vec<i64>, StoreError> {
    let mut known: HashMap<(i64, String), i64> = HashMap::new();
    let wanted: Vec<(i64, &str)> = events
        .iter()
        .flat_map(|e| e.hashes.iter().map(move |h| (e.project_id, h.as_str())))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for chunk in wanted.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT project_id, hash, issue_id FROM issue_hashes WHERE (project_id, hash) IN (",
        );
        let mut list = qb.separated(", ");
        for (project_id, hash) in chunk {
            list.push("(");
            list.push_bind_unseparated(*project_id);
            list.push_unseparated(", ");
            list.push_bind_unseparated(hash.to_string());
            list.push_unseparated(")");
        }
        qb.push(")");
        let rows: Vec<(i64, String, i64)> = qb.build_query_as().fetch_all(&mut **tx).await?;
        known.extend(rows.into_iter().map(|(p, h, i)| ((p, h), i)));
    }

    let mut issue_ids = Vec::with_capacity(events.len());
    for event in events {
        let found = event
            .hashes
            .iter()
            .find_map(|h| known.get(&(event.project_id, h.clone())).copied());
        let issue_id = match found {
            Some(id) => id,
            None => create_issue(tx, event).await?,
        };
        for hash in &event.hashes {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                known.entry((event.project_id, hash.clone()))
            {
                sqlx::query(
                    "INSERT INTO issue_hashes (project_id, hash, issue_id) VALUES (?, ?, ?)",
                )
                .bind(event.project_id)
                .bind(hash)
                .bind(issue_id)
                .execute(&mut **tx)
                .await?;
                slot.insert(issue_id);
            }
        }
        issue_ids.push(issue_id);
    }
    Ok(issue_ids)
}

async fn create_issue(
    tx: &mut Transaction<'_, Sqlite>,
    event: &EventRow,
) -> Result<i64, StoreError> {
    let primary_hash = event.hashes.first().cloned().unwrap_or_default();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO issues (project_id, short_id, primary_hash, title, culprit, type, level,
                             first_seen, last_seen, first_release, last_release, metadata)
         VALUES (?1, (SELECT COALESCE(MAX(short_id), 0) + 1 FROM issues WHERE project_id = ?1),
                 ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?8, ?9)
         RETURNING id",
    )
    .bind(event.project_id)
    .bind(primary_hash)
    .bind(&event.title)
    .bind(&event.culprit)
    .bind(&event.issue_type)
    .bind(&event.level)
    .bind(event.timestamp)
    .bind(&event.release)
    .bind(&event.metadata)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

async fn insert_events(
    tx: &mut Transaction<'_, Sqlite>,
    events: &[&EventRow],
    issue_ids: &[i64],
) -> Result<(), StoreError> {
    let rows: Vec<(&EventRow, i64)> = events
        .iter()
        .copied()
        .zip(issue_ids.iter().copied())
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform,
                                 release, environment, user_key, title, data) ",
        );
        qb.push_values(chunk, |mut row, (e, issue_id)| {
            row.push_bind(e.project_id)
                .push_bind(e.event_id.clone())
                .push_bind(*issue_id)
                .push_bind(e.timestamp)
                .push_bind(e.received)
                .push_bind(e.level.clone())
                .push_bind(e.platform.clone())
                .push_bind(e.release.clone())
                .push_bind(e.environment.clone())
                .push_bind(e.user_key.clone())
                .push_bind(e.title.clone())
                .push_bind(e.data.clone());
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Links each event's user to its issue; returns how many users each issue gained.
async fn insert_issue_users(
    tx: &mut Transaction<'_, Sqlite>,
    events: &[&EventRow],
    issue_ids: &[i64],
) -> Result<HashMap<i64, i64>, StoreError> {
    let pairs: Vec<(i64, &str)> = events
        .iter()
        .zip(issue_ids)
        .filter_map(|(e, id)| e.user_key.as_deref().map(|u| (*id, u)))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut gained: HashMap<i64, i64> = HashMap::new();
    for chunk in pairs.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO issue_users (issue_id, user_key) ");
        qb.push_values(chunk, |mut row, (issue_id, user)| {
            row.push_bind(*issue_id).push_bind(user.to_string());
        });
        qb.push(" ON CONFLICT DO NOTHING RETURNING issue_id");
        let inserted: Vec<i64> = qb.build_query_scalar().fetch_all(&mut **tx).await?;
        for id in inserted {
            *gained.entry(id).or_default() += 1;
        }
    }
    Ok(gained)
}

/// What a batch changes on one issue.
struct IssueDelta<'a> {
    count: i64,
    last: &'a EventRow,
    users: i64,
}

/// Counts, last seen, the latest title/culprit/level/release; a resolved issue seen again
/// becomes unresolved/regressed.
async fn update_issues(
    tx: &mut Transaction<'_, Sqlite>,
    events: &[&EventRow],
    issue_ids: &[i64],
    new_users: &HashMap<i64, i64>,
) -> Result<(), StoreError> {
    let mut deltas: HashMap<i64, IssueDelta> = HashMap::new();
    for (event, id) in events.iter().zip(issue_ids) {
        let delta = deltas.entry(*id).or_insert(IssueDelta {
            count: 0,
            last: event,
            users: 0,
        });
        delta.count += 1;
        if event.timestamp >= delta.last.timestamp {
            delta.last = event;
        }
    }
    for (id, users) in new_users {
        if let Some(d) = deltas.get_mut(id) {
            d.users = *users;
        }
    }
    let deltas: Vec<(i64, IssueDelta)> = deltas.into_iter().collect();
    for chunk in deltas.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "WITH v(id, n, users, seen, title, culprit, level, release, metadata) AS (",
        );
        qb.push_values(chunk, |mut row, (id, d)| {
            row.push_bind(*id)
                .push_bind(d.count)
                .push_bind(d.users)
                .push_bind(d.last.timestamp)
                .push_bind(d.last.title.clone())
                .push_bind(d.last.culprit.clone())
                .push_bind(d.last.level.clone())
                .push_bind(d.last.release.clone())
                .push_bind(d.last.metadata.clone());
        });
        qb.push(
            ") UPDATE issues SET
                times_seen = times_seen + v.n,
                users_seen = users_seen + v.users,
                first_seen = MIN(first_seen, v.seen),
                last_seen = MAX(last_seen, v.seen),
                title = v.title, culprit = v.culprit, level = v.level, metadata = v.metadata,
                last_release = COALESCE(v.release, last_release),
                first_release = COALESCE(first_release, v.release),
                substatus = CASE WHEN status = 'resolved' THEN 'regressed' ELSE substatus END,
                status = CASE WHEN status = 'resolved' THEN 'unresolved' ELSE status END
             FROM v WHERE issues.id = v.id",
        );
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn upsert_minutes(
    tx: &mut Transaction<'_, Sqlite>,
    events: &[&EventRow],
    issue_ids: &[i64],
) -> Result<(), StoreError> {
    let mut counts: HashMap<(i64, i64), i64> = HashMap::new();
    for (event, id) in events.iter().zip(issue_ids) {
        *counts
            .entry((*id, event.timestamp.div_euclid(60_000)))
            .or_default() += 1;
    }
    let rows: Vec<((i64, i64), i64)> = counts.into_iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut qb =
            QueryBuilder::<Sqlite>::new("INSERT INTO issue_minutes (issue_id, minute, count) ");
        qb.push_values(chunk, |mut row, ((id, minute), n)| {
            row.push_bind(*id).push_bind(*minute).push_bind(*n);
        });
        qb.push(" ON CONFLICT (issue_id, minute) DO UPDATE SET count = count + excluded.count");
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn upsert_tags(
    tx: &mut Transaction<'_, Sqlite>,
    events: &[&EventRow],
    issue_ids: &[i64],
) -> Result<(), StoreError> {
    // (issue, key, value) -> (count, first seen, last seen)
    let mut counts: HashMap<(i64, &str, &str), (i64, i64, i64)> = HashMap::new();
    for (event, id) in events.iter().zip(issue_ids) {
        for (key, value) in &event.tags {
            let entry =
                counts
                    .entry((*id, key, value))
                    .or_insert((0, event.timestamp, event.timestamp));
            entry.0 += 1;
            entry.1 = entry.1.min(event.timestamp);
            entry.2 = entry.2.max(event.timestamp);
        }
    }
    let rows: Vec<_> = counts.into_iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO issue_tags (issue_id, key, value, count, first_seen, last_seen) ",
        );
        qb.push_values(chunk, |mut row, ((id, key, value), (n, first, last))| {
            row.push_bind(*id)
                .push_bind(key.to_string())
                .push_bind(value.to_string())
                .push_bind(*n)
                .push_bind(*first)
                .push_bind(*last);
        });
        qb.push(
            " ON CONFLICT (issue_id, key, value) DO UPDATE SET count = count + excluded.count,
              first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)",
        );
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_attachments(
    tx: &mut Transaction<'_, Sqlite>,
    jobs: &[&WriteJob],
) -> Result<(), StoreError> {
    for a in jobs.iter().flat_map(|j| &j.attachments) {
        sqlx::query(
            "INSERT INTO attachments (project_id, event_id, filename, content_type, attachment_type, size, data, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.project_id)
        .bind(&a.event_id)
        .bind(&a.filename)
        .bind(&a.content_type)
        .bind(&a.attachment_type)
        .bind(a.data.len() as i64)
        .bind(&a.data)
        .bind(a.received)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_user_reports(
    tx: &mut Transaction<'_, Sqlite>,
    jobs: &[&WriteJob],
) -> Result<(), StoreError> {
    for r in jobs.iter().flat_map(|j| &j.user_reports) {
        sqlx::query(
            "INSERT INTO user_reports (project_id, event_id, name, email, comments, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(r.project_id)
        .bind(&r.event_id)
        .bind(&r.name)
        .bind(&r.email)
        .bind(&r.comments)
        .bind(r.received)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
