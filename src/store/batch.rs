//! The SQL of one batch: two fixed queries, however many envelopes it holds.
//!
//! ```text
//! 1. LOOKUP: BEGIN IMMEDIATE; SELECT stored event ids; SELECT linked hashes; SELECT max ids
//! 2. WRITE:  INSERT issues; INSERT issue_hashes; INSERT events; INSERT issue_users;
//!            UPDATE issues; UPSERT issue_minutes; UPSERT issue_tags; INSERT attachments,
//!            user_reports; COMMIT
//! ```
//! Every query sent to sqlx is a hop to its SQLite thread, and on a busy 2-core machine a hop
//! costs more than the SQL it carries; so does parsing SQL whose text changes with the batch
//! size. So each step is one multi-statement query of constant text (prepared once, cached by
//! sqlx), and the rows travel as JSON arrays, one bound parameter per statement, that SQLite
//! expands with `jsonb_each` (blobs hex-encoded, restored by `unhex`). `jsonb_each` hands each
//! row over as binary JSONB, so `value->>k` does not parse the row's text again per column. Each statement takes
//! exactly one positional `?`, bound in statement order: sqlx 0.9 mis-binds numbered `?N`
//! parameters across the statements of one query (it treats the unnamed lower slots as
//! positional and runs out of arguments), so they are not used here.
//!
//! ```json
//! events = [[project_id, "event_id", issue_id, timestamp, received, "level", "platform",
//!        "release", "environment", "user_key", "title", "<hex of the compressed event>"], …]
//! ```
//! IMMEDIATE holds the write lock from the first read, so what the lookup read (and the issue
//! ids chosen from it) stays true until COMMIT. `issues.users_seen` is kept by a trigger on
//! `issue_users`, which fires only for users new to the issue.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use sqlx::SqliteConnection;

use super::StoreError;
use super::events::EventRow;
use super::writer::WriteJob;

const LOOKUP: &str = "BEGIN IMMEDIATE;
SELECT 'event', e.project_id, e.event_id, 0 FROM jsonb_each(?) j
    JOIN events e ON e.project_id = j.value->>0 AND e.event_id = j.value->>1;
SELECT 'hash', h.project_id, h.hash, h.issue_id FROM jsonb_each(?) j
    JOIN issue_hashes h ON h.project_id = j.value->>0 AND h.hash = j.value->>1;
SELECT 'issue', 0, '', COALESCE(MAX(id), 0) FROM issues;
SELECT 'short', p.value, '', COALESCE((SELECT MAX(short_id) FROM issues WHERE project_id = p.value), 0)
    FROM jsonb_each(?) p;";

const WRITE: &str = "INSERT INTO issues (id, project_id, short_id, primary_hash, title, culprit, type, level,
                    first_seen, last_seen, first_release, last_release, metadata)
    SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7,
           value->>8, value->>8, value->>9, value->>9, value->>10 FROM jsonb_each(?);
INSERT INTO issue_hashes (project_id, hash, issue_id)
    SELECT value->>0, value->>1, value->>2 FROM jsonb_each(?);
INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform, release,
                    environment, user_key, title, data)
    SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7,
           value->>8, value->>9, value->>10, unhex(value->>11) FROM jsonb_each(?);
INSERT INTO issue_users (issue_id, user_key)
    SELECT value->>0, value->>1 FROM jsonb_each(?) WHERE true
    ON CONFLICT DO NOTHING;
UPDATE issues SET
        times_seen = times_seen + v.n,
        first_seen = MIN(first_seen, v.seen),
        last_seen = MAX(last_seen, v.seen),
        title = v.title, culprit = v.culprit, level = v.level, metadata = v.metadata,
        last_release = COALESCE(v.release, last_release),
        first_release = COALESCE(first_release, v.release),
        substatus = CASE WHEN status = 'resolved' THEN 'regressed' ELSE substatus END,
        status = CASE WHEN status = 'resolved' THEN 'unresolved' ELSE status END
    FROM (SELECT value->>0 AS id, value->>1 AS n, value->>2 AS seen, value->>3 AS title,
                 value->>4 AS culprit, value->>5 AS level, value->>6 AS release, value->>7 AS metadata
          FROM jsonb_each(?)) AS v
    WHERE issues.id = v.id;
INSERT INTO issue_minutes (issue_id, minute, count)
    SELECT value->>0, value->>1, value->>2 FROM jsonb_each(?) WHERE true
    ON CONFLICT (issue_id, minute) DO UPDATE SET count = count + excluded.count;
INSERT INTO issue_tags (issue_id, key, value, count, first_seen, last_seen)
    SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each(?) WHERE true
    ON CONFLICT (issue_id, key, value) DO UPDATE SET count = count + excluded.count,
        first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen);
INSERT INTO attachments (project_id, event_id, filename, content_type, attachment_type, size, data, created_at)
    SELECT value->>0, value->>1, value->>2, value->>3, value->>4, length(unhex(value->>5)), unhex(value->>5), value->>6
    FROM jsonb_each(?);
INSERT INTO user_reports (project_id, event_id, name, email, comments, created_at)
    SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each(?);
COMMIT;";

/// Writes the jobs atomically.
pub async fn write(conn: &mut SqliteConnection, jobs: &[&WriteJob]) -> Result<(), StoreError> {
    let result = write_in_transaction(conn, jobs).await;
    if result.is_err() {
        // Undo whatever part of the batch ran; harmless when no transaction is open.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    result
}

async fn write_in_transaction(
    conn: &mut SqliteConnection,
    jobs: &[&WriteJob],
) -> Result<(), StoreError> {
    let candidates = unique_events(jobs);
    let known = lookup(conn, &candidates).await?;
    let events: Vec<&EventRow> = candidates
        .into_iter()
        .filter(|e| !known.stored.contains(&(e.project_id, e.event_id.clone())))
        .collect();
    let plan = Plan::new(&events, known);
    let params = [
        new_issue_rows(&plan.new_issues),
        hash_link_rows(&plan.new_links),
        event_rows(&events, &plan.issue_ids),
        issue_user_rows(&events, &plan.issue_ids),
        issue_update_rows(&events, &plan.issue_ids),
        minute_rows(&events, &plan.issue_ids),
        tag_rows(&events, &plan.issue_ids),
        attachment_rows(jobs),
        user_report_rows(jobs),
    ];
    let mut query = sqlx::query(WRITE);
    for rows in params {
        query = query.bind(Value::Array(rows).to_string());
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// The batch's events, each event id once (an SDK may retry while its first try is queued).
fn unique_events<'a>(jobs: &[&'a WriteJob]) -> Vec<&'a EventRow> {
    let mut seen = HashSet::new();
    jobs.iter()
        .filter_map(|j| j.event.as_ref())
        .filter(|e| seen.insert((e.project_id, e.event_id.as_str())))
        .collect()
}

/// What the database already holds that the batch depends on.
#[derive(Default)]
struct Known {
    stored: HashSet<(i64, String)>,
    issue_by_hash: HashMap<(i64, String), i64>,
    max_issue_id: i64,
    max_short_id: HashMap<i64, i64>,
}

/// Query 1: take the write lock and read what exists.
async fn lookup(conn: &mut SqliteConnection, events: &[&EventRow]) -> Result<Known, StoreError> {
    let event_keys: Vec<Value> = events
        .iter()
        .map(|e| json!([e.project_id, e.event_id]))
        .collect();
    let hashes: HashSet<(i64, &str)> = events
        .iter()
        .flat_map(|e| e.hashes.iter().map(move |h| (e.project_id, h.as_str())))
        .collect();
    let hash_keys: Vec<Value> = hashes.into_iter().map(|(p, h)| json!([p, h])).collect();
    let projects: HashSet<i64> = events.iter().map(|e| e.project_id).collect();
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(LOOKUP)
        .bind(Value::Array(event_keys).to_string())
        .bind(Value::Array(hash_keys).to_string())
        .bind(json!(projects).to_string())
        .fetch_all(&mut *conn)
        .await?;
    let mut known = Known::default();
    for (kind, project_id, key, value) in rows {
        match kind.as_str() {
            "event" => {
                known.stored.insert((project_id, key));
            }
            "hash" => {
                known.issue_by_hash.insert((project_id, key), value);
            }
            "issue" => known.max_issue_id = value,
            _ => {
                known.max_short_id.insert(project_id, value);
            }
        }
    }
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
    fn new(events: &[&'a EventRow], mut known: Known) -> Plan<'a> {
        let mut plan = Plan {
            issue_ids: Vec::with_capacity(events.len()),
            new_issues: Vec::new(),
            new_links: Vec::new(),
        };
        for &event in events {
            let found = event.hashes.iter().find_map(|h| {
                known
                    .issue_by_hash
                    .get(&(event.project_id, h.clone()))
                    .copied()
            });
            let issue_id = found.unwrap_or_else(|| {
                known.max_issue_id += 1;
                let short_id = known.max_short_id.entry(event.project_id).or_insert(0);
                *short_id += 1;
                plan.new_issues.push((known.max_issue_id, *short_id, event));
                known.max_issue_id
            });
            for hash in &event.hashes {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    known.issue_by_hash.entry((event.project_id, hash.clone()))
                {
                    slot.insert(issue_id);
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

fn event_rows(events: &[&EventRow], issue_ids: &[i64]) -> Vec<Value> {
    events
        .iter()
        .zip(issue_ids)
        .map(|(e, issue_id)| {
            json!([
                e.project_id,
                e.event_id,
                issue_id,
                e.timestamp,
                e.received,
                e.level,
                e.platform,
                e.release,
                e.environment,
                e.user_key,
                e.title,
                hex::encode(&e.data)
            ])
        })
        .collect()
}

/// Each event's user linked to its issue; the trigger counts the new ones in `users_seen`.
fn issue_user_rows(events: &[&EventRow], issue_ids: &[i64]) -> Vec<Value> {
    let pairs: HashSet<(i64, &str)> = events
        .iter()
        .zip(issue_ids)
        .filter_map(|(e, id)| e.user_key.as_deref().map(|u| (*id, u)))
        .collect();
    pairs
        .into_iter()
        .map(|(id, user)| json!([id, user]))
        .collect()
}

/// Per issue: events in the batch, and the latest event's time, title, culprit, level, release.
fn issue_update_rows(events: &[&EventRow], issue_ids: &[i64]) -> Vec<Value> {
    let mut latest: HashMap<i64, (i64, &EventRow)> = HashMap::new();
    for (event, id) in events.iter().zip(issue_ids) {
        let entry = latest.entry(*id).or_insert((0, event));
        entry.0 += 1;
        if event.timestamp >= entry.1.timestamp {
            entry.1 = event;
        }
    }
    latest
        .into_iter()
        .map(|(id, (n, e))| {
            json!([
                id,
                n,
                e.timestamp,
                e.title,
                e.culprit,
                e.level,
                e.release,
                e.metadata
            ])
        })
        .collect()
}

fn minute_rows(events: &[&EventRow], issue_ids: &[i64]) -> Vec<Value> {
    let mut counts: HashMap<(i64, i64), i64> = HashMap::new();
    for (event, id) in events.iter().zip(issue_ids) {
        *counts
            .entry((*id, event.timestamp.div_euclid(60_000)))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((id, minute), n)| json!([id, minute, n]))
        .collect()
}

fn tag_rows(events: &[&EventRow], issue_ids: &[i64]) -> Vec<Value> {
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
    counts
        .into_iter()
        .map(|((id, key, value), (n, first, last))| json!([id, key, value, n, first, last]))
        .collect()
}

fn attachment_rows(jobs: &[&WriteJob]) -> Vec<Value> {
    jobs.iter()
        .flat_map(|j| &j.attachments)
        .map(|a| {
            json!([
                a.project_id,
                a.event_id,
                a.filename,
                a.content_type,
                a.attachment_type,
                hex::encode(&a.data),
                a.received
            ])
        })
        .collect()
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
