//! The SQL of one batch: two fixed queries, however many envelopes it holds.
//!
//! ```text
//! 1. LOOKUP: BEGIN IMMEDIATE; SELECT {stored event ids, linked hashes, max ids} as one JSON row
//! 2. WRITE:  INSERT INTO batch_write (one row of nine JSON arrays); COMMIT
//!            where batch_write is a TEMP view whose INSTEAD OF trigger runs:
//!            INSERT issues; INSERT issue_hashes; INSERT events; INSERT issue_users;
//!            UPDATE issues (first_seen apart); UPSERT issue_minutes; INSERT issue_tags_pending; INSERT attachments,
//!            user_reports
//! ```
//! Every query sent to sqlx is a hop to its SQLite thread, and on a busy 2-core machine a hop
//! costs more than the SQL it carries; so does parsing SQL whose text changes with the batch
//! size. So each step is one multi-statement query of constant text (prepared once, cached by
//! sqlx), and the rows travel as JSON arrays, one bound parameter per statement, that SQLite
//! expands with `jsonb_each`; blobs travel end to end in one more parameter (see [`Blobs`]). `jsonb_each` hands each
//! row over as binary JSONB, so `value->>k` does not parse the row's text again per column. Each statement takes
//! exactly one positional `?`, bound in statement order: sqlx 0.9 mis-binds numbered `?N`
//! parameters across the statements of one query (it treats the unnamed lower slots as
//! positional and runs out of arguments), so they are not used here.
//!
//! Each event's fragments are serialized in its request handler ([`EncodedEvent`]); the writer
//! only splices in issue ids and counts minutes per issue. Tags go in as one row per event
//! (`issue_tags_pending`), which [`fold_tags`] later merges into `issue_tags` per issue.
//!
//! ```json
//! events = [[project_id, "event_id", issue_id, timestamp, received, "level", "platform",
//!        "release", "environment", "user_key", "title", data_offset, data_length], …]
//! ```
//! IMMEDIATE holds the write lock from the first read, so what the lookup read (and the issue
//! ids chosen from it) stays true until COMMIT. `issues.users_seen` is kept by a trigger on
//! `issue_users`, which fires only for users new to the issue.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::SqliteConnection;

use super::StoreError;
use super::events::EventRow;
use super::writer::WriteJob;

/// One row, one JSON document: every result row would be a message (and a wake-up) of its own.
const LOOKUP: &str = "BEGIN IMMEDIATE;
SELECT json_object(
    'events', (SELECT json_group_array(json_array(e.project_id, e.event_id)) FROM jsonb_each(?) j
               JOIN events e ON e.project_id = j.value->>0 AND e.event_id = j.value->>1),
    'hashes', (SELECT json_group_array(json_array(h.project_id, h.hash, h.issue_id)) FROM jsonb_each(?) j
               JOIN issue_hashes h ON h.project_id = j.value->>0 AND h.hash = j.value->>1),
    'max_issue_id', (SELECT COALESCE(MAX(id), 0) FROM issues),
    'max_short_ids', (SELECT json_group_array(json_array(p.value,
                          (SELECT COALESCE(MAX(short_id), 0) FROM issues WHERE project_id = p.value)))
                      FROM jsonb_each(?) p));";

/// The body of WRITE, installed on the writer's connection as a TEMP trigger (see [`prepare`]):
/// one statement instead of nine, so SQLite hands one result back instead of nine (each a
/// wake-up of the writer task that preempts SQLite's thread on a busy 2-core machine).
const WRITE_PROCEDURE: &str = "CREATE TEMP VIEW IF NOT EXISTS batch_write
    (issues, hashes, events, users, issue_updates, minutes, tags, attachments, user_reports, blobs)
    AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
CREATE TEMP TRIGGER IF NOT EXISTS batch_write INSTEAD OF INSERT ON batch_write BEGIN
    INSERT INTO issues (id, project_id, short_id, primary_hash, title, culprit, type, level,
                        first_seen, last_seen, first_release, last_release, metadata)
        SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7,
               value->>8, value->>8, value->>9, value->>9, value->>10 FROM jsonb_each(NEW.issues);
    INSERT INTO issue_hashes (project_id, hash, issue_id)
        SELECT value->>0, value->>1, value->>2 FROM jsonb_each(NEW.hashes);
    INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform, release,
                        environment, user_key, title, data)
        SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7,
               value->>8, value->>9, value->>10, substr(NEW.blobs, value->>11, value->>12)
        FROM jsonb_each(NEW.events);
    INSERT INTO issue_users (issue_id, user_key)
        SELECT value->>0, value->>1 FROM jsonb_each(NEW.users) WHERE true
        ON CONFLICT DO NOTHING;
    UPDATE issues SET first_seen = v.earliest
        FROM (SELECT value->>0 AS id, value->>2 AS earliest FROM jsonb_each(NEW.issue_updates)) AS v
        WHERE issues.id = v.id AND v.earliest < issues.first_seen;
    UPDATE issues SET
            times_seen = times_seen + v.n,
            last_seen = MAX(last_seen, v.seen),
            title = v.title, culprit = v.culprit, level = v.level, metadata = v.metadata,
            last_release = COALESCE(v.release, last_release),
            first_release = COALESCE(first_release, v.release),
            substatus = CASE WHEN status = 'resolved' THEN 'regressed' ELSE substatus END,
            regressed_at = CASE WHEN status = 'resolved'
                THEN CAST(unixepoch('subsec') * 1000 AS INTEGER) ELSE regressed_at END,
            status = CASE WHEN status = 'resolved' THEN 'unresolved' ELSE status END
        FROM (SELECT value->>0 AS id, value->>1 AS n, value->>3 AS seen, value->>4 AS title,
                     value->>5 AS culprit, value->>6 AS level, value->>7 AS release, value->>8 AS metadata
              FROM jsonb_each(NEW.issue_updates)) AS v
        WHERE issues.id = v.id;
    INSERT INTO issue_minutes (issue_id, minute, count)
        SELECT value->>0, value->>1, value->>2 FROM jsonb_each(NEW.minutes) WHERE true
        ON CONFLICT (issue_id, minute) DO UPDATE SET count = count + excluded.count;
    INSERT INTO issue_tags_pending (issue_id, timestamp, tags)
        SELECT value->>0, value->>1, jsonb_extract(value, '$[2]') FROM jsonb_each(NEW.tags);
    INSERT INTO attachments (project_id, event_id, filename, content_type, attachment_type, size, data, created_at)
        SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>6,
               substr(NEW.blobs, value->>5, value->>6), value->>7
        FROM jsonb_each(NEW.attachments);
    INSERT INTO user_reports (project_id, event_id, name, email, comments, created_at)
        SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each(NEW.user_reports);
END;";

/// Moves the pending tag rows into `issue_tags`: one upsert per distinct (issue, key, value)
/// instead of one per event and tag. Runs inside a transaction the writer holds.
const FOLD_TAGS: &str = "INSERT INTO issue_tags (issue_id, key, value, count, first_seen, last_seen)
    SELECT p.issue_id, t.value->>0, t.value->>1, COUNT(*), MIN(p.timestamp), MAX(p.timestamp)
    FROM issue_tags_pending p, jsonb_each(p.tags) t
    GROUP BY 1, 2, 3
    ON CONFLICT (issue_id, key, value) DO UPDATE SET count = count + excluded.count,
        first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen);
DELETE FROM issue_tags_pending;";

const WRITE: &str = "INSERT INTO batch_write VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);
COMMIT;";

/// An event row with its JSON fragments serialized ahead of time, in the request handler (in
/// parallel), so that the single writer only splices in the issue id.
#[derive(Debug)]
pub struct EncodedEvent {
    row: EventRow,
    /// `,timestamp,received,"level","platform",release,environment,user_key,"title",`
    event_tail: String,
    /// `,"title","culprit","level",release,"metadata"]`
    update_tail: String,
    /// `[["key","value"],…]`
    tags: String,
    /// `"id:42"` or `null`
    user: String,
}

impl EncodedEvent {
    pub fn new(row: EventRow) -> EncodedEvent {
        let text = |s: &str| Value::from(s).to_string();
        let option =
            |s: &Option<String>| s.as_deref().map(text).unwrap_or_else(|| "null".to_owned());
        let event_tail = format!(
            ",{},{},{},{},{},{},{},{},",
            row.timestamp,
            row.received,
            text(&row.level),
            text(&row.platform),
            option(&row.release),
            option(&row.environment),
            option(&row.user_key),
            text(&row.title),
        );
        let update_tail = format!(
            ",{},{},{},{},{}]",
            text(&row.title),
            text(&row.culprit),
            text(&row.level),
            option(&row.release),
            text(&row.metadata)
        );
        let tags = json_list(
            row.tags
                .iter()
                .map(|(k, v)| format!("[{},{}]", text(k), text(v))),
        );
        let user = option(&row.user_key);
        EncodedEvent {
            row,
            event_tail,
            update_tail,
            tags,
            user,
        }
    }
}

impl std::ops::Deref for EncodedEvent {
    type Target = EventRow;
    fn deref(&self) -> &EventRow {
        &self.row
    }
}

/// `[a,b,…]` from rows that are already JSON.
fn json_list(rows: impl Iterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, row) in rows.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&row);
    }
    out.push(']');
    out
}

/// The WRITE query and, in the same round trip, the LOOKUP of the batch queued behind it.
static WRITE_THEN_LOOKUP: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{WRITE}\n{LOOKUP}"));

/// Statements of WRITE (the last is COMMIT): once that many have completed, the batch is
/// committed, whatever happens to the LOOKUP after it.
const WRITE_STATEMENTS: usize = 2;

/// Installs WRITE's trigger on the writer's connection (TEMP: it lives with the connection).
pub async fn prepare(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    #[allow(deprecated)] // multi-statement queries: see the module documentation
    sqlx::raw_sql(WRITE_PROCEDURE).execute(&mut *conn).await?;
    Ok(())
}

/// What [`write`] did.
pub struct Outcome {
    /// Whether the batch is committed.
    pub result: Result<(), StoreError>,
    /// The next batch's lookup, done in the same round trip; its transaction is open.
    pub next: Option<Known>,
}

/// Writes `jobs` atomically. `known` is their lookup when an earlier round trip already did
/// it (its transaction is open); when `next` has jobs, their lookup rides on this round trip.
pub async fn write(
    conn: &mut SqliteConnection,
    jobs: &[&WriteJob],
    known: Option<Known>,
    next: &[&WriteJob],
) -> Outcome {
    let candidates = unique_events(jobs);
    let known = match known {
        Some(known) => known,
        None => match lookup(conn, &candidates).await {
            Ok(known) => known,
            Err(e) => return rolled_back(conn, e).await,
        },
    };
    let events: Vec<&EncodedEvent> = candidates
        .into_iter()
        .filter(|e| {
            !known
                .stored
                .get(&e.project_id)
                .is_some_and(|ids| ids.contains(&e.event_id))
        })
        .collect();
    let plan = Plan::new(&events, known);
    let mut blobs = Blobs::default();
    let params = [
        Value::Array(new_issue_rows(&plan.new_issues)).to_string(),
        Value::Array(hash_link_rows(&plan.new_links)).to_string(),
        event_rows(&events, &plan.issue_ids, &mut blobs),
        issue_user_rows(&events, &plan.issue_ids),
        issue_update_rows(&events, &plan.issue_ids),
        minute_rows(&events, &plan.issue_ids),
        tag_rows(&events, &plan.issue_ids),
        attachment_rows(jobs, &mut blobs),
        Value::Array(user_report_rows(jobs)).to_string(),
    ];
    let next_events = unique_events(next);
    let sql: &'static str = if next.is_empty() {
        WRITE
    } else {
        WRITE_THEN_LOOKUP.as_str()
    };
    let mut query = sqlx::query(sql);
    for rows in params {
        query = query.bind(rows);
    }
    query = query.bind(blobs.0);
    if !next.is_empty() {
        for rows in lookup_params(&next_events) {
            query = query.bind(rows);
        }
    }
    // Statement by statement, to know whether COMMIT ran if something fails after it.
    let mut completed = 0;
    let mut rows = Vec::new();
    #[allow(deprecated)] // multi-statement queries: see the module documentation
    let mut results = query.fetch_many(&mut *conn);
    let failure = loop {
        match results.next().await {
            None => break None,
            Some(Ok(sqlx::Either::Left(_))) => completed += 1,
            Some(Ok(sqlx::Either::Right(row))) => rows.push(row),
            Some(Err(e)) => break Some(e),
        }
    };
    drop(results);
    match failure {
        None if next.is_empty() => Outcome {
            result: Ok(()),
            next: None,
        },
        None => match known_from_rows(&rows) {
            Ok(known) => Outcome {
                result: Ok(()),
                next: Some(known),
            },
            Err(_) => {
                // Committed; the next batch will do its own lookup.
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Outcome {
                    result: Ok(()),
                    next: None,
                }
            }
        },
        Some(e) if completed >= WRITE_STATEMENTS => {
            tracing::warn!(error = %e, "lookup of the next batch failed; it will be looked up again");
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            Outcome {
                result: Ok(()),
                next: None,
            }
        }
        Some(e) => rolled_back(conn, e.into()).await,
    }
}

/// Folds the pending tag rows into `issue_tags`. `in_transaction`: the writer already holds
/// the write lock (the next batch's lookup opened it), and the fold commits with that batch;
/// otherwise the fold is a transaction of its own. On failure everything open is rolled back.
pub async fn fold_tags(
    conn: &mut SqliteConnection,
    in_transaction: bool,
) -> Result<(), StoreError> {
    let result = if in_transaction {
        #[allow(deprecated)] // multi-statement queries: see the module documentation
        sqlx::raw_sql(FOLD_TAGS).execute(&mut *conn).await
    } else {
        #[allow(deprecated)]
        sqlx::raw_sql(FOLD_TAGS_ALONE.as_str())
            .execute(&mut *conn)
            .await
    };
    if let Err(e) = result {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(e.into());
    }
    Ok(())
}

static FOLD_TAGS_ALONE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("BEGIN IMMEDIATE;\n{FOLD_TAGS}\nCOMMIT;"));

/// Undoes whatever part of the batch ran (harmless when no transaction is open).
async fn rolled_back(conn: &mut SqliteConnection, e: StoreError) -> Outcome {
    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    Outcome {
        result: Err(e),
        next: None,
    }
}

/// The batch's events, each event id once (an SDK may retry while its first try is queued).
fn unique_events<'a>(jobs: &[&'a WriteJob]) -> Vec<&'a EncodedEvent> {
    let mut seen = HashSet::new();
    jobs.iter()
        .filter_map(|j| j.event.as_ref())
        .filter(|e| seen.insert((e.project_id, e.event_id.as_str())))
        .collect()
}

/// What the database already holds that a batch depends on.
#[derive(Default)]
pub struct Known {
    /// project → event ids already stored
    stored: HashMap<i64, HashSet<String>>,
    /// project → hash → issue (keyed by project first, so lookups borrow instead of cloning)
    issue_by_hash: HashMap<i64, HashMap<String, i64>>,
    max_issue_id: i64,
    max_short_id: HashMap<i64, i64>,
}

/// Query 1: take the write lock and read what exists.
async fn lookup(
    conn: &mut SqliteConnection,
    events: &[&EncodedEvent],
) -> Result<Known, StoreError> {
    let mut query = sqlx::query(LOOKUP);
    for rows in lookup_params(events) {
        query = query.bind(rows);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    known_from_rows(&rows)
}

/// The LOOKUP parameters: `[[project, event_id]…]`, `[[project, hash]…]`, `[project…]`.
fn lookup_params(events: &[&EncodedEvent]) -> [String; 3] {
    let event_keys = json_list(
        events
            .iter()
            .map(|e| format!("[{},\"{}\"]", e.project_id, e.event_id)),
    );
    let hashes: HashSet<(i64, &str)> = events
        .iter()
        .flat_map(|e| e.hashes.iter().map(move |h| (e.project_id, h.as_str())))
        .collect();
    let hash_keys = Value::from(
        hashes
            .into_iter()
            .map(|(p, h)| json!([p, h]))
            .collect::<Vec<_>>(),
    )
    .to_string();
    let projects: HashSet<i64> = events.iter().map(|e| e.project_id).collect();
    [event_keys, hash_keys, json!(projects).to_string()]
}

fn known_from_rows(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Known, StoreError> {
    use sqlx::Row;
    #[derive(serde::Deserialize)]
    struct Found {
        events: Vec<(i64, String)>,
        hashes: Vec<(i64, String, i64)>,
        max_issue_id: i64,
        max_short_ids: Vec<(i64, i64)>,
    }
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Invalid("the lookup returned no row".into()))?;
    let found: Found = serde_json::from_str(row.try_get::<&str, _>(0)?)
        .map_err(|e| StoreError::Invalid(format!("unreadable lookup result: {e}")))?;
    let mut known = Known::default();
    for (project_id, event_id) in found.events {
        known.stored.entry(project_id).or_default().insert(event_id);
    }
    for (project_id, hash, issue_id) in found.hashes {
        known
            .issue_by_hash
            .entry(project_id)
            .or_default()
            .insert(hash, issue_id);
    }
    known.max_issue_id = found.max_issue_id;
    known.max_short_id = found.max_short_ids.into_iter().collect();
    Ok(known)
}

/// Which issue each event goes to: the first of its hashes already linked to an issue, else
/// a new issue (ids chosen here; the write lock is held). Every hash of an event that is not
/// linked yet is linked to that issue.
struct Plan<'a> {
    issue_ids: Vec<i64>,
    new_issues: Vec<(i64, i64, &'a EventRow)>,
    new_links: Vec<(i64, &'a str, i64)>,
}

impl<'a> Plan<'a> {
    fn new(events: &[&'a EncodedEvent], mut known: Known) -> Plan<'a> {
        let mut plan = Plan {
            issue_ids: Vec::with_capacity(events.len()),
            new_issues: Vec::new(),
            new_links: Vec::new(),
        };
        for &event in events {
            let linked = known.issue_by_hash.entry(event.project_id).or_default();
            let found = event.hashes.iter().find_map(|h| linked.get(h).copied());
            let issue_id = found.unwrap_or_else(|| {
                known.max_issue_id += 1;
                let short_id = known.max_short_id.entry(event.project_id).or_insert(0);
                *short_id += 1;
                plan.new_issues
                    .push((known.max_issue_id, *short_id, &event.row));
                known.max_issue_id
            });
            let linked = known.issue_by_hash.entry(event.project_id).or_default();
            for hash in &event.hashes {
                if !linked.contains_key(hash) {
                    linked.insert(hash.clone(), issue_id);
                    plan.new_links.push((event.project_id, hash, issue_id));
                }
            }
            plan.issue_ids.push(issue_id);
        }
        plan
    }
}

fn new_issue_rows(issues: &[(i64, i64, &EventRow)]) -> Vec<Value> {
    issues
        .iter()
        .map(|(id, short_id, e)| {
            json!([
                id,
                e.project_id,
                short_id,
                e.hashes.first(),
                e.title,
                e.culprit,
                e.issue_type,
                e.level,
                e.timestamp,
                e.release,
                e.metadata
            ])
        })
        .collect()
}

fn hash_link_rows(links: &[(i64, &str, i64)]) -> Vec<Value> {
    links
        .iter()
        .map(|(project_id, hash, issue_id)| json!([project_id, hash, issue_id]))
        .collect()
}

/// The batch's blobs (compressed events, attachments) end to end: one bound parameter that
/// rows address by `substr(blobs, offset, length)`, so bytes never travel inside JSON.
#[derive(Default)]
struct Blobs(Vec<u8>);

impl Blobs {
    /// Appends `data` and returns `offset,length` (1-based, as `substr` counts).
    fn push(&mut self, data: &[u8]) -> String {
        let offset = self.0.len() + 1;
        self.0.extend_from_slice(data);
        format!("{offset},{}", data.len())
    }
}

fn event_rows(events: &[&EncodedEvent], issue_ids: &[i64], blobs: &mut Blobs) -> String {
    json_list(events.iter().zip(issue_ids).map(|(e, id)| {
        format!(
            "[{},\"{}\",{id}{}{}]",
            e.project_id,
            e.event_id,
            e.event_tail,
            blobs.push(&e.data)
        )
    }))
}

/// Each event's user linked to its issue; the trigger counts the new ones in `users_seen`.
fn issue_user_rows(events: &[&EncodedEvent], issue_ids: &[i64]) -> String {
    json_list(
        events
            .iter()
            .zip(issue_ids)
            .filter(|(e, _)| e.user_key.is_some())
            .map(|(e, id)| format!("[{id},{}]", e.user)),
    )
}

/// Per issue: events in the batch, the earliest event's time, and the latest event's time,
/// title, culprit, level, release. `first_seen` is written apart, only where it moves back:
/// kept out of the UPDATE of every batch, its index is not rewritten for each issue.
fn issue_update_rows(events: &[&EncodedEvent], issue_ids: &[i64]) -> String {
    let mut per_issue: HashMap<i64, (i64, i64, &EncodedEvent)> = HashMap::new();
    for (event, id) in events.iter().zip(issue_ids) {
        let entry = per_issue.entry(*id).or_insert((0, event.timestamp, event));
        entry.0 += 1;
        entry.1 = entry.1.min(event.timestamp);
        if event.timestamp >= entry.2.timestamp {
            entry.2 = event;
        }
    }
    json_list(per_issue.into_iter().map(|(id, (n, earliest, e))| {
        format!("[{id},{n},{earliest},{}{}", e.timestamp, e.update_tail)
    }))
}

/// `[issue, minute, count]`, counted here: SQLite would need a sorter to GROUP BY. Minutes
/// are of receive time: rates and spikes must not follow the senders' clocks.
fn minute_rows(events: &[&EncodedEvent], issue_ids: &[i64]) -> String {
    let mut counts: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    for (e, id) in events.iter().zip(issue_ids) {
        *counts
            .entry((*id, e.received.div_euclid(60_000)))
            .or_default() += 1;
    }
    json_list(
        counts
            .into_iter()
            .map(|((id, minute), n)| format!("[{id},{minute},{n}]")),
    )
}

/// `[issue, timestamp, [["key","value"],…]]` per event, for `issue_tags_pending`.
fn tag_rows(events: &[&EncodedEvent], issue_ids: &[i64]) -> String {
    json_list(
        events
            .iter()
            .zip(issue_ids)
            .filter(|(e, _)| !e.row.tags.is_empty())
            .map(|(e, id)| format!("[{id},{},{}]", e.timestamp, e.tags)),
    )
}

fn attachment_rows(jobs: &[&WriteJob], blobs: &mut Blobs) -> String {
    json_list(jobs.iter().flat_map(|j| &j.attachments).map(|a| {
        let head = json!([
            a.project_id,
            a.event_id,
            a.filename,
            a.content_type,
            a.attachment_type
        ])
        .to_string();
        format!(
            "{},{},{}]",
            head.trim_end_matches(']'),
            blobs.push(&a.data),
            a.received
        )
    }))
}

fn user_report_rows(jobs: &[&WriteJob]) -> Vec<Value> {
    jobs.iter()
        .flat_map(|j| &j.user_reports)
        .map(|r| {
            json!([
                r.project_id,
                r.event_id,
                r.name,
                r.email,
                r.comments,
                r.received
            ])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_statement_count_matches_the_query() {
        // Each statement of WRITE ends with ';' (no string literal in it holds one).
        assert_eq!(WRITE.matches(';').count(), WRITE_STATEMENTS);
        assert_eq!(WRITE.matches('?').count(), 10);
        // Nine row lists (issue updates read twice), and the blobs of events and attachments.
        assert_eq!(WRITE_PROCEDURE.matches("NEW.").count(), 12);
        assert!(WRITE.trim_end().ends_with("COMMIT;"));
        assert!(LOOKUP.starts_with("BEGIN IMMEDIATE;"));
    }
}
