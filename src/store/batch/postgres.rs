//! The SQL of one batch on PostgreSQL: the same rows as SQLite's (see the parent module), in
//! one transaction that every node's writer takes turns at.
//!
//! ```text
//! BEGIN
//! SELECT pg_advisory_xact_lock(BATCH_LOCK)        one batch at a time, across nodes
//! LOOKUP   stored event ids, linked hashes, max ids (one JSON row, as SQLite's)
//! INSERT   issues, issue_hashes, events, issue_users; UPDATE issues.first_seen
//! UPSERT   releases, release_projects
//! SELECT   resolved issues the batch reaches → regressions decided in Rust (release order)
//! UPDATE   issues' counters; UPSERT issue_minutes; INSERT issue_tags_pending
//! INSERT   attachments, user_reports; UPSERT project_usage
//! COMMIT
//!
//! and on its own, every quarter second while tags are pending (see `writer::postgres`):
//! BEGIN; lock; FOLD pending tag rows into issue_tags; COMMIT
//! ```
//! The lock makes a batch what it is on SQLite, where the single writer holds the write lock
//! from its lookup to its COMMIT: what the lookup read stays true, so two nodes that see a
//! new hash at once still make one issue (the second finds the first's link), and issue ids
//! and short ids are `MAX + 1` as there. Counters are updated in the batch (no other writer
//! waits on their rows but the next batch, which waits for the lock anyway); tags are appended
//! as pending rows and folded every quarter second, as on SQLite: an event touches some fifteen
//! tag rows, and updating them in every batch was half of PostgreSQL's time per event. Readers
//! of tag counts add the pending rows themselves. Rows travel as the same JSON arrays; `value->>N` is text here,
//! so numbers are cast.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use super::super::release_order;
use super::super::rows::{self, WriteJob};
use super::super::sql::{self, Tx};
use super::super::{IssueId, StoreError};
use super::{Batch, known_from_json, lookup_params, unique_events};

/// The advisory lock a batch holds (any constant that nothing else locks: "snagbtch").
const BATCH_LOCK: i64 = 0x736e_6167_6274_6368;

const LOOKUP_TEMPLATE: &str = "SELECT jsonb_build_object(
    'events', (SELECT COALESCE(jsonb_agg(jsonb_build_array(e.project_id, e.event_id)), '[]')
               FROM jsonb_array_elements($1::jsonb) j
               JOIN events e ON e.project_id = CAST(j.{event_keys.project_id} AS BIGINT)
                            AND e.event_id = j.{event_keys.event_id}),
    'hashes', (SELECT COALESCE(jsonb_agg(jsonb_build_array(h.project_id, h.hash, h.issue_id)), '[]')
               FROM jsonb_array_elements($2::jsonb) j
               JOIN issue_hashes h ON h.project_id = CAST(j.{hash_keys.project_id} AS BIGINT)
                                  AND h.hash = j.{hash_keys.hash}),
    'max_issue_id', GREATEST((SELECT COALESCE(MAX(id), 0) FROM issues),
                             (SELECT COALESCE(MAX(max_issue_id), 0) FROM issue_id_floors)),
    'max_log_block_id', (SELECT COALESCE(MAX(id), 0) FROM log_blocks),
    'max_short_ids', (SELECT COALESCE(jsonb_agg(jsonb_build_array(p.id,
                          GREATEST((SELECT COALESCE(MAX(short_id), 0) FROM issues WHERE project_id = p.id),
                                   (SELECT COALESCE(MAX(max_short_id), 0) FROM issue_id_floors
                                    WHERE project_id = p.id)))), '[]')
                      FROM (SELECT CAST(value AS BIGINT) AS id FROM jsonb_array_elements($3::jsonb)) p)
)::text";

/// WRITE's statements, each reading one JSON array of rows (`$1`) and, for payloads, the
/// blobs (`$2`); in the order of [`Batch::rows`]' arrays they read.
const WRITE_TEMPLATES: [(&str, usize); 13] = [
    (
        "INSERT INTO issues (id, project_id, short_id, primary_hash, type, first_seen, last_seen,
                             times_seen, title, culprit, level, first_release, last_release, metadata)
         SELECT CAST({issues.id} AS BIGINT), CAST({issues.project_id} AS BIGINT),
                CAST({issues.short_id} AS BIGINT), {issues.primary_hash}, {issues.type},
                CAST({issues.first_seen} AS BIGINT), CAST({issues.last_seen} AS BIGINT),
                CAST({issues.times_seen} AS BIGINT), {issues.title}, {issues.culprit}, {issues.level},
                COALESCE({issues.first_release}, {issues.latest_release}),
                COALESCE({issues.latest_release}, {issues.first_release}), {issues.metadata}
         FROM jsonb_array_elements($1::jsonb)",
        ISSUES,
    ),
    (
        "INSERT INTO issue_hashes (project_id, hash, issue_id)
         SELECT CAST({hashes.project_id} AS BIGINT), {hashes.hash}, CAST({hashes.issue_id} AS BIGINT)
         FROM jsonb_array_elements($1::jsonb)",
        HASHES,
    ),
    (
        "INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform,
                             release, environment, user_key, trace_id, title, data)
         SELECT CAST({events.project_id} AS BIGINT), {events.event_id},
                CAST({events.issue_id} AS BIGINT), CAST({events.timestamp} AS BIGINT),
                CAST({events.received} AS BIGINT), {events.level}, {events.platform},
                {events.release}, {events.environment}, {events.user_key}, {events.trace_id},
                {events.title},
                substring($2::bytea FROM CAST({events.data_offset} AS INT)
                                   FOR CAST({events.data_length} AS INT))
         FROM jsonb_array_elements($1::jsonb)",
        EVENTS,
    ),
    (
        "INSERT INTO issue_users (issue_id, user_key)
         SELECT CAST({users.issue_id} AS BIGINT), {users.user_key} FROM jsonb_array_elements($1::jsonb)
         ORDER BY 1, 2
         ON CONFLICT DO NOTHING",
        USERS,
    ),
    (
        "UPDATE issues SET first_seen = v.earliest
         FROM (SELECT CAST({issue_updates.issue_id} AS BIGINT) AS id,
                      CAST({issue_updates.earliest} AS BIGINT) AS earliest
               FROM jsonb_array_elements($1::jsonb)) AS v
         WHERE issues.id = v.id AND v.earliest < issues.first_seen",
        ISSUE_UPDATES,
    ),
    (
        "INSERT INTO releases (version, date_created, first_event, last_event)
         SELECT {events.release}, MIN(CAST({events.received} AS BIGINT)),
                MIN(CAST({events.timestamp} AS BIGINT)), MAX(CAST({events.timestamp} AS BIGINT))
         FROM jsonb_array_elements($1::jsonb) WHERE {events.release} IS NOT NULL
         GROUP BY {events.release} ORDER BY 1
         ON CONFLICT (version) DO UPDATE SET
             first_event = LEAST(COALESCE(releases.first_event, excluded.first_event), excluded.first_event),
             last_event = GREATEST(COALESCE(releases.last_event, excluded.last_event), excluded.last_event)",
        EVENTS,
    ),
    (
        "INSERT INTO release_projects (release_id, project_id)
         SELECT DISTINCT r.id, CAST({events.project_id} AS BIGINT) FROM jsonb_array_elements($1::jsonb)
         JOIN releases r ON r.version = {events.release}
         ON CONFLICT DO NOTHING",
        EVENTS,
    ),
    (
        "UPDATE issues SET
             times_seen = issues.times_seen + v.n,
             last_seen = GREATEST(issues.last_seen, v.seen),
             title = v.title, culprit = v.culprit, level = v.level, metadata = v.metadata,
             last_release = COALESCE(v.release, issues.last_release),
             first_release = COALESCE(issues.first_release, v.release)
         FROM (SELECT DISTINCT ON (c.issue_id) c.issue_id,
                      SUM(c.count) OVER (PARTITION BY c.issue_id) AS n,
                      c.last_seen AS seen, c.title, c.culprit, c.level, c.release, c.metadata
               FROM (SELECT CAST({counts.issue_id} AS BIGINT) AS issue_id,
                            CAST({counts.count} AS BIGINT) AS count,
                            CAST({counts.last_seen} AS BIGINT) AS last_seen,
                            {counts.title} AS title, {counts.culprit} AS culprit,
                            {counts.level} AS level, {counts.latest_release} AS release,
                            {counts.metadata} AS metadata
                     FROM jsonb_array_elements($1::jsonb)) AS c
               ORDER BY c.issue_id, c.last_seen DESC) AS v
         WHERE issues.id = v.issue_id",
        COUNTS,
    ),
    (
        "INSERT INTO issue_minutes (issue_id, minute, count)
         SELECT CAST({counts.issue_id} AS BIGINT), CAST({counts.minute} AS BIGINT),
                CAST({counts.count} AS BIGINT)
         FROM jsonb_array_elements($1::jsonb) ORDER BY 1, 2
         ON CONFLICT (issue_id, minute) DO UPDATE SET count = issue_minutes.count + excluded.count",
        COUNTS,
    ),
    (
        "INSERT INTO issue_minutes (issue_id, minute, count)
         SELECT CAST({minutes.issue_id} AS BIGINT), CAST({minutes.minute} AS BIGINT),
                CAST({minutes.count} AS BIGINT)
         FROM jsonb_array_elements($1::jsonb) ORDER BY 1, 2
         ON CONFLICT (issue_id, minute) DO UPDATE SET count = issue_minutes.count + excluded.count",
        MINUTES,
    ),
    (
        "INSERT INTO attachments (project_id, event_id, filename, content_type, attachment_type,
                                  size, data, created_at)
         SELECT CAST({attachments.project_id} AS BIGINT), {attachments.event_id},
                {attachments.filename}, {attachments.content_type}, {attachments.attachment_type},
                CAST({attachments.data_length} AS BIGINT),
                substring($2::bytea FROM CAST({attachments.data_offset} AS INT)
                                   FOR CAST({attachments.data_length} AS INT)),
                CAST({attachments.received} AS BIGINT)
         FROM jsonb_array_elements($1::jsonb)",
        ATTACHMENTS,
    ),
    (
        "INSERT INTO user_reports (project_id, event_id, name, email, comments, created_at)
         SELECT CAST({user_reports.project_id} AS BIGINT), {user_reports.event_id},
                {user_reports.name}, {user_reports.email}, {user_reports.comments},
                CAST({user_reports.received} AS BIGINT)
         FROM jsonb_array_elements($1::jsonb)",
        USER_REPORTS,
    ),
    (
        "INSERT INTO log_blocks (id, project_id, first_ns, last_ns, received, lines, levels, bytes,
                                 data, words)
         SELECT CAST({log_blocks.id} AS BIGINT), CAST({log_blocks.project_id} AS BIGINT),
                CAST({log_blocks.first_ns} AS BIGINT), CAST({log_blocks.last_ns} AS BIGINT),
                CAST({log_blocks.received} AS BIGINT), CAST({log_blocks.lines} AS INT),
                CAST({log_blocks.levels} AS INT), CAST({log_blocks.bytes} AS BIGINT),
                substring($2::bytea FROM CAST({log_blocks.data_offset} AS INT)
                                   FOR CAST({log_blocks.data_length} AS INT)),
                array_to_tsvector(string_to_array({log_blocks.words}, ' '))
         FROM jsonb_array_elements($1::jsonb)",
        LOG_BLOCKS,
    ),
];

/// Each event's tags appended as one pending row (`$1`: [`rows::TAGS`] rows); [`fold_tags`]
/// adds them to the counts every quarter second, many events' worth in each row it touches.
const TAGS_PENDING: &str = "INSERT INTO issue_tags_pending (issue_id, timestamp, tags)
    SELECT CAST({tags.issue_id} AS BIGINT), CAST({tags.timestamp} AS BIGINT), value->{#tags.tags}
    FROM jsonb_array_elements($1::jsonb)";

/// FOLD, in the transaction of [`fold_tags`]: the pending rows, taken out and counted per
/// (issue, key, value) into a table of the connection's own; then the known values by a
/// plain UPDATE, and, when it did not find them all, the new ones by INSERT, so that only new
/// values pay for the limits' trigger (a BEFORE INSERT trigger runs for every row of an
/// upsert, conflicting or not: two thirds of its time, measured).
const FOLD_TABLE: &str = "CREATE TEMP TABLE IF NOT EXISTS tag_fold (
        issue_id BIGINT, key TEXT, value TEXT, count BIGINT, first_seen BIGINT, last_seen BIGINT
    ) ON COMMIT DELETE ROWS";

const FOLD_TAKE: &str =
    "WITH p AS (DELETE FROM issue_tags_pending RETURNING issue_id, timestamp, tags)
    INSERT INTO tag_fold (issue_id, key, value, count, first_seen, last_seen)
    SELECT p.issue_id, pair.value->>0, pair.value->>1, COUNT(*), MIN(p.timestamp), MAX(p.timestamp)
    FROM p, jsonb_array_elements(p.tags) AS pair(value)
    GROUP BY 1, 2, 3";

const FOLD_KNOWN: &str = "UPDATE issue_tags t SET count = t.count + v.count,
        first_seen = LEAST(t.first_seen, v.first_seen),
        last_seen = GREATEST(t.last_seen, v.last_seen)
    FROM tag_fold v
    WHERE t.issue_id = v.issue_id AND t.key = v.key AND t.value = v.value";

const FOLD_NEW: &str = "INSERT INTO issue_tags (issue_id, key, value, count, first_seen, last_seen)
    SELECT v.issue_id, v.key, v.value, v.count, v.first_seen, v.last_seen FROM tag_fold v
    WHERE EXISTS (SELECT 1 FROM issues i WHERE i.id = v.issue_id)
      AND NOT EXISTS (SELECT 1 FROM issue_tags t
                      WHERE t.issue_id = v.issue_id AND t.key = v.key AND t.value = v.value)
    ORDER BY 1, 2, 3";

/// The usage of the batch's events and attachments, per project (two arrays: `$1`, `$2`).
const USAGE_TEMPLATE: &str = "INSERT INTO project_usage (project_id, events, event_bytes, attachments, attachment_bytes)
    SELECT project_id, SUM(events), SUM(event_bytes), SUM(attachments), SUM(attachment_bytes) FROM (
        SELECT CAST({events.project_id} AS BIGINT) AS project_id, 1 AS events,
               CAST({events.data_length} AS BIGINT) AS event_bytes, 0 AS attachments, 0 AS attachment_bytes
        FROM jsonb_array_elements($1::jsonb)
        UNION ALL
        SELECT CAST({attachments.project_id} AS BIGINT), 0, 0, 1, CAST({attachments.data_length} AS BIGINT)
        FROM jsonb_array_elements($2::jsonb)) AS u
    GROUP BY project_id ORDER BY project_id
    ON CONFLICT (project_id) DO UPDATE SET events = project_usage.events + excluded.events,
        event_bytes = project_usage.event_bytes + excluded.event_bytes,
        attachments = project_usage.attachments + excluded.attachments,
        attachment_bytes = project_usage.attachment_bytes + excluded.attachment_bytes";

/// Resolved issues this batch reaches, with the release they were resolved in and its age.
const RESOLVED: &str = "SELECT i.id, i.resolved_in_release, f.date_created
    FROM issues i LEFT JOIN releases f ON f.version = i.resolved_in_release
    WHERE i.status = 'resolved'
      AND i.id IN (SELECT CAST(value->>0 AS BIGINT) FROM jsonb_array_elements($1::jsonb))";

const REGRESS: &str = "UPDATE issues SET status = 'unresolved', substatus = 'regressed',
        resolved_in_release = NULL, regressed_at = $2
    WHERE status = 'resolved'
      AND id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements($1::jsonb))";

// Indexes into `Batch::rows`.
const ISSUES: usize = 0;
const HASHES: usize = 1;
const EVENTS: usize = 2;
const USERS: usize = 3;
const ISSUE_UPDATES: usize = 4;
const COUNTS: usize = 5;
const MINUTES: usize = 6;
const TAGS: usize = 7;
const ATTACHMENTS: usize = 8;
const USER_REPORTS: usize = 9;
const LOG_BLOCKS: usize = 10;

/// Every statement rendered once, with the row array it reads.
struct Statements {
    lookup: String,
    before_regressions: Vec<(String, usize)>,
    after_regressions: Vec<(String, usize)>,
    tags_pending: String,
    usage: String,
}

static STATEMENTS: LazyLock<Statements> = LazyLock::new(|| {
    let shapes: [&rows::Shape; 13] = [
        &rows::ISSUE,
        &rows::HASH,
        &rows::EVENT,
        &rows::ISSUE_USER,
        &rows::ISSUE_UPDATE,
        &rows::COUNT,
        &rows::MINUTE,
        &rows::TAGS,
        &rows::ATTACHMENT,
        &rows::USER_REPORT,
        &rows::LOG_BLOCK,
        &rows::EVENT_KEY,
        &rows::HASH_KEY,
    ];
    let render = |(sql, rows): &(&str, usize)| (rows::render(sql, &shapes), *rows);
    // Regressions are decided once the batch's releases exist (their age may decide).
    let split = 7;
    Statements {
        lookup: rows::render(LOOKUP_TEMPLATE, &shapes),
        before_regressions: WRITE_TEMPLATES[..split].iter().map(render).collect(),
        after_regressions: WRITE_TEMPLATES[split..].iter().map(render).collect(),
        tags_pending: rows::render(TAGS_PENDING, &shapes),
        usage: rows::render(USAGE_TEMPLATE, &shapes),
    }
});

/// Writes `jobs` atomically in `tx` (a PostgreSQL transaction; the caller commits).
pub(in crate::store) async fn write(
    tx: &mut Tx,
    jobs: &[&WriteJob],
    now_ms: i64,
) -> Result<(), StoreError> {
    let statements = &*STATEMENTS;
    sql::query("SELECT pg_advisory_xact_lock($1)")
        .bind(BATCH_LOCK)
        .execute(&mut *tx)
        .await?;
    let candidates = unique_events(jobs);
    let [event_keys, hash_keys, projects] = lookup_params(&candidates);
    let found: String = sql::query_scalar(sqlx::AssertSqlSafe(statements.lookup.clone()))
        .bind(event_keys)
        .bind(hash_keys)
        .bind(projects)
        .fetch_one(&mut *tx)
        .await?;
    let batch = Batch::new(jobs, candidates, known_from_json(&found)?);
    run_statements(tx, &statements.before_regressions, &batch).await?;
    regress(tx, &batch, now_ms).await?;
    run_statements(tx, &statements.after_regressions, &batch).await?;
    if batch.rows[TAGS] != "[]" {
        sql::query(sqlx::AssertSqlSafe(statements.tags_pending.clone()))
            .bind(batch.rows[TAGS].as_str())
            .execute(&mut *tx)
            .await?;
    }
    if batch.rows[EVENTS] != "[]" || batch.rows[ATTACHMENTS] != "[]" {
        sql::query(sqlx::AssertSqlSafe(statements.usage.clone()))
            .bind(batch.rows[EVENTS].as_str())
            .bind(batch.rows[ATTACHMENTS].as_str())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Runs each statement whose rows are not empty.
async fn run_statements(
    tx: &mut Tx,
    statements: &[(String, usize)],
    batch: &Batch<'_>,
) -> Result<(), StoreError> {
    for (statement, rows) in statements {
        let rows = batch.rows[*rows].as_str();
        if rows == "[]" {
            continue;
        }
        let mut query = sql::query(sqlx::AssertSqlSafe(statement.clone())).bind(rows);
        if statement.contains("$2::bytea") {
            query = query.bind(batch.blobs.0.as_slice());
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// FOLD: adds every pending tag row (this node's or another's) to the tag counts, in `tx`
/// (the caller commits), one batch's turn under the lock; how many rows it took.
pub(in crate::store) async fn fold_tags(tx: &mut Tx) -> Result<u64, StoreError> {
    sql::query("SELECT pg_advisory_xact_lock($1)")
        .bind(BATCH_LOCK)
        .execute(&mut *tx)
        .await?;
    sql::query(FOLD_TABLE).execute(&mut *tx).await?;
    let distinct = sql::query(FOLD_TAKE)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if distinct == 0 {
        return Ok(0);
    }
    let updated = sql::query(FOLD_KNOWN)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated < distinct {
        sql::query(FOLD_NEW).execute(&mut *tx).await?;
    }
    Ok(distinct)
}

/// Reopens the resolved issues the batch reaches, as SQLite's WRITE does: an issue resolved
/// in no release regresses at once; one resolved in a release regresses when an event of a
/// later release arrives (by semantic version, else by creation; see `release_order`).
async fn regress(tx: &mut Tx, batch: &Batch<'_>, now_ms: i64) -> Result<(), StoreError> {
    let updates = batch.rows[ISSUE_UPDATES].as_str();
    if updates == "[]" {
        return Ok(());
    }
    let resolved: Vec<(IssueId, Option<String>, Option<i64>)> = sql::query_as(RESOLVED)
        .bind(updates)
        .fetch_all(&mut *tx)
        .await?;
    if resolved.is_empty() {
        return Ok(());
    }
    let mut releases_of: HashMap<IssueId, HashSet<&str>> = HashMap::new();
    for (event, issue_id) in batch.events.iter().zip(&batch.issue_ids) {
        if let Some(release) = event.row().release.as_deref() {
            releases_of.entry(*issue_id).or_default().insert(release);
        }
    }
    let versions: Vec<&str> = releases_of.values().flatten().copied().collect();
    let created: HashMap<String, i64> = if versions.is_empty() {
        HashMap::new()
    } else {
        sql::query_as::<(String, i64)>(
            "SELECT version, date_created FROM releases
             WHERE version IN (SELECT value FROM jsonb_array_elements_text($1::jsonb))",
        )
        .bind(serde_json::to_string(&versions).unwrap_or_else(|_| "[]".to_owned()))
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect()
    };
    let regressed: Vec<i64> = resolved
        .into_iter()
        .filter(|(id, resolved_in, resolved_created)| match resolved_in {
            None => true,
            Some(resolved_in) => releases_of.get(id).is_some_and(|releases| {
                releases.iter().any(|release| {
                    release_order::later(release, resolved_in).unwrap_or_else(|| {
                        matches!(
                            (created.get(*release), resolved_created),
                            (Some(a), Some(b)) if a > b
                        )
                    })
                })
            }),
        })
        .map(|(id, _, _)| id.get())
        .collect();
    if !regressed.is_empty() {
        sql::query(REGRESS)
            .bind(serde_json::to_string(&regressed).unwrap_or_else(|_| "[]".to_owned()))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
