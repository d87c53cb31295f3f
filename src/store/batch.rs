//! The SQL of one batch: two round trips to SQLite, however many envelopes it holds.
//!
//! ```text
//! 1. BEGIN IMMEDIATE; SELECT … stored event ids; SELECT … linked hashes; SELECT … max ids
//! 2. INSERT issues; INSERT issue_hashes; INSERT events; INSERT issue_users;
//!    UPDATE issues; UPSERT issue_minutes; UPSERT issue_tags; INSERT attachments, user_reports;
//!    COMMIT
//! ```
//! Each statement sent to sqlx is a hop to its SQLite thread; on a busy 2-core machine a hop
//! costs far more than the SQL it carries, so the batch sends two multi-statement queries.
//! IMMEDIATE holds the write lock from the first read, so what step 1 read (and the issue ids
//! chosen from it) stays true until COMMIT. `issues.users_seen` is kept by a trigger on
//! `issue_users`, which fires only for users new to the issue.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::StoreError;
use super::events::EventRow;
use super::writer::WriteJob;

/// Most rows per multi-row statement; well under SQLite's bind-variable limit.
const ROWS_PER_STATEMENT: usize = 128;

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

    let mut qb = QueryBuilder::<Sqlite>::new("");
    push_new_issues(&mut qb, &plan.new_issues);
    push_hash_links(&mut qb, &plan.new_links);
    push_events(&mut qb, &events, &plan.issue_ids);
    push_issue_users(&mut qb, &events, &plan.issue_ids);
    push_issue_updates(&mut qb, &events, &plan.issue_ids);
    push_minutes(&mut qb, &events, &plan.issue_ids);
    push_tags(&mut qb, &events, &plan.issue_ids);
    push_attachments(&mut qb, jobs);
    push_user_reports(&mut qb, jobs);
    qb.push("COMMIT");
    qb.build().persistent(false).execute(&mut *conn).await?;
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

/// Round trip 1: take the write lock and read what exists.
async fn lookup(conn: &mut SqliteConnection, events: &[&EventRow]) -> Result<Known, StoreError> {
    let mut qb = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE;\n");
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        qb.push(
            "SELECT 'event', project_id, event_id, 0 FROM events WHERE (project_id, event_id) IN (",
        );
        push_pairs(
            &mut qb,
            chunk.iter().map(|e| (e.project_id, e.event_id.as_str())),
        );
        qb.push(");\n");
    }
    let hashes: Vec<(i64, &str)> = events
        .iter()
        .flat_map(|e| e.hashes.iter().map(move |h| (e.project_id, h.as_str())))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for chunk in hashes.chunks(ROWS_PER_STATEMENT) {
        qb.push("SELECT 'hash', project_id, hash, issue_id FROM issue_hashes WHERE (project_id, hash) IN (");
        push_pairs(&mut qb, chunk.iter().copied());
        qb.push(");\n");
    }
    qb.push("SELECT 'issue', 0, '', COALESCE(MAX(id), 0) FROM issues;\n");
    let projects: HashSet<i64> = events.iter().map(|e| e.project_id).collect();
    if !projects.is_empty() {
        qb.push("SELECT 'short', project_id, '', MAX(short_id) FROM issues WHERE project_id IN (");
        let mut list = qb.separated(", ");
        for p in projects {
            list.push_bind(p);
        }
        qb.push(") GROUP BY project_id");
    }
    let rows: Vec<(String, i64, String, i64)> = qb
        .build_query_as()
        .persistent(false)
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

fn push_pairs<'a>(qb: &mut QueryBuilder<Sqlite>, pairs: impl Iterator<Item = (i64, &'a str)>) {
    let mut list = qb.separated(", ");
    for (project_id, key) in pairs {
        list.push("(");
        list.push_bind_unseparated(project_id);
        list.push_unseparated(", ");
        list.push_bind_unseparated(key.to_owned());
        list.push_unseparated(")");
    }
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

fn push_new_issues(qb: &mut QueryBuilder<Sqlite>, issues: &[(i64, i64, &EventRow)]) {
    for chunk in issues.chunks(ROWS_PER_STATEMENT) {
        qb.push(
            "INSERT INTO issues (id, project_id, short_id, primary_hash, title, culprit, type, level,
                                 first_seen, last_seen, first_release, last_release, metadata) ",
        );
        qb.push_values(chunk, |mut row, (id, short_id, e)| {
            row.push_bind(*id)
                .push_bind(e.project_id)
                .push_bind(*short_id)
                .push_bind(e.hashes.first().cloned().unwrap_or_default())
                .push_bind(e.title.clone())
                .push_bind(e.culprit.clone())
                .push_bind(e.issue_type.clone())
                .push_bind(e.level.clone())
                .push_bind(e.timestamp)
                .push_bind(e.timestamp)
                .push_bind(e.release.clone())
                .push_bind(e.release.clone())
                .push_bind(e.metadata.clone());
        });
        qb.push(";\n");
    }
}

fn push_hash_links(qb: &mut QueryBuilder<Sqlite>, links: &[(i64, &str, i64)]) {
    for chunk in links.chunks(ROWS_PER_STATEMENT) {
        qb.push("INSERT INTO issue_hashes (project_id, hash, issue_id) ");
        qb.push_values(chunk, |mut row, (project_id, hash, issue_id)| {
            row.push_bind(*project_id)
                .push_bind(hash.to_string())
                .push_bind(*issue_id);
        });
        qb.push(";\n");
    }
}

fn push_events(qb: &mut QueryBuilder<Sqlite>, events: &[&EventRow], issue_ids: &[i64]) {
    let rows: Vec<(&EventRow, i64)> = events
        .iter()
        .copied()
        .zip(issue_ids.iter().copied())
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        qb.push(
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
        qb.push(";\n");
    }
}

/// Links each event's user to its issue; the trigger counts the new ones in `users_seen`.
fn push_issue_users(qb: &mut QueryBuilder<Sqlite>, events: &[&EventRow], issue_ids: &[i64]) {
    let pairs: Vec<(i64, &str)> = events
        .iter()
        .zip(issue_ids)
        .filter_map(|(e, id)| e.user_key.as_deref().map(|u| (*id, u)))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for chunk in pairs.chunks(ROWS_PER_STATEMENT) {
        qb.push("INSERT INTO issue_users (issue_id, user_key) ");
        qb.push_values(chunk, |mut row, (issue_id, user)| {
            row.push_bind(*issue_id).push_bind(user.to_string());
        });
        qb.push(" ON CONFLICT DO NOTHING;\n");
    }
}

/// Counts, last seen, and the latest event's title/culprit/level/release per issue; a resolved
/// issue seen again becomes unresolved/regressed.
fn push_issue_updates(qb: &mut QueryBuilder<Sqlite>, events: &[&EventRow], issue_ids: &[i64]) {
    let mut latest: HashMap<i64, (i64, &EventRow)> = HashMap::new();
    for (event, id) in events.iter().zip(issue_ids) {
        let entry = latest.entry(*id).or_insert((0, event));
        entry.0 += 1;
        if event.timestamp >= entry.1.timestamp {
            entry.1 = event;
        }
    }
    let rows: Vec<(i64, (i64, &EventRow))> = latest.into_iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        qb.push("WITH v(id, n, seen, title, culprit, level, release, metadata) AS (");
        qb.push_values(chunk, |mut row, (id, (n, e))| {
            row.push_bind(*id)
                .push_bind(*n)
                .push_bind(e.timestamp)
                .push_bind(e.title.clone())
                .push_bind(e.culprit.clone())
                .push_bind(e.level.clone())
                .push_bind(e.release.clone())
                .push_bind(e.metadata.clone());
        });
        qb.push(
            ") UPDATE issues SET
                times_seen = times_seen + v.n,
                first_seen = MIN(first_seen, v.seen),
                last_seen = MAX(last_seen, v.seen),
                title = v.title, culprit = v.culprit, level = v.level, metadata = v.metadata,
                last_release = COALESCE(v.release, last_release),
                first_release = COALESCE(first_release, v.release),
                substatus = CASE WHEN status = 'resolved' THEN 'regressed' ELSE substatus END,
                status = CASE WHEN status = 'resolved' THEN 'unresolved' ELSE status END
             FROM v WHERE issues.id = v.id;\n",
        );
    }
}

fn push_minutes(qb: &mut QueryBuilder<Sqlite>, events: &[&EventRow], issue_ids: &[i64]) {
    let mut counts: HashMap<(i64, i64), i64> = HashMap::new();
    for (event, id) in events.iter().zip(issue_ids) {
        *counts
            .entry((*id, event.timestamp.div_euclid(60_000)))
            .or_default() += 1;
    }
    let rows: Vec<((i64, i64), i64)> = counts.into_iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        qb.push("INSERT INTO issue_minutes (issue_id, minute, count) ");
        qb.push_values(chunk, |mut row, ((id, minute), n)| {
            row.push_bind(*id).push_bind(*minute).push_bind(*n);
        });
        qb.push(" ON CONFLICT (issue_id, minute) DO UPDATE SET count = count + excluded.count;\n");
    }
}

fn push_tags(qb: &mut QueryBuilder<Sqlite>, events: &[&EventRow], issue_ids: &[i64]) {
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
        qb.push("INSERT INTO issue_tags (issue_id, key, value, count, first_seen, last_seen) ");
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
              first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen);\n",
        );
    }
}

fn push_attachments(qb: &mut QueryBuilder<Sqlite>, jobs: &[&WriteJob]) {
    let rows: Vec<_> = jobs.iter().flat_map(|j| &j.attachments).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        qb.push("INSERT INTO attachments (project_id, event_id, filename, content_type, attachment_type, size, data, created_at) ");
        qb.push_values(chunk, |mut row, a| {
            row.push_bind(a.project_id)
                .push_bind(a.event_id.clone())
                .push_bind(a.filename.clone())
                .push_bind(a.content_type.clone())
                .push_bind(a.attachment_type.clone())
                .push_bind(a.data.len() as i64)
                .push_bind(a.data.clone())
                .push_bind(a.received);
        });
        qb.push(";\n");
    }
}

fn push_user_reports(qb: &mut QueryBuilder<Sqlite>, jobs: &[&WriteJob]) {
    let rows: Vec<_> = jobs.iter().flat_map(|j| &j.user_reports).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        qb.push(
            "INSERT INTO user_reports (project_id, event_id, name, email, comments, created_at) ",
        );
        qb.push_values(chunk, |mut row, r| {
            row.push_bind(r.project_id)
                .push_bind(r.event_id.clone())
                .push_bind(r.name.clone())
                .push_bind(r.email.clone())
                .push_bind(r.comments.clone())
                .push_bind(r.received);
        });
        qb.push(";\n");
    }
}
