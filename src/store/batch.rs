//! The SQL of one batch: one transaction of fixed statements, however many envelopes it holds.
//!
//! ```text
//! BEGIN IMMEDIATE
//! LOOKUP:  SELECT {stored event ids, linked hashes, max ids} as one JSON row
//! WRITE:   INSERT INTO batch_write (one row of ten JSON arrays and the blobs)
//!          where batch_write is a TEMP view whose INSTEAD OF trigger runs:
//!          INSERT issues (new ones, whole); INSERT issue_hashes; INSERT events;
//!          INSERT issue_users; UPDATE issues (first_seen moved back; regressions);
//!          INSERT issue_counts_pending; INSERT issue_minutes (new issues);
//!          INSERT issue_tags_pending; INSERT attachments, user_reports;
//!          UPSERT project_usage (one row per project: stored events and bytes)
//! COMMIT
//!
//! and on its own, every quarter second under load (see [`super::writer`]):
//! BEGIN IMMEDIATE
//! FOLD:    pending counters into issues and issue_minutes, pending tag totals into issue_tags
//! COMMIT
//! ```
//! Statements are prepared once per connection and their text never changes with the batch
//! size: the rows travel as JSON arrays, one bound parameter per table, that SQLite expands
//! with `jsonb_each` (which hands each row over as binary JSONB, so `value->>k` does not parse
//! the row's text again per column); blobs travel end to end in one more parameter (see
//! [`Blobs`]). One statement writes every table, so a batch costs SQLite a handful of steps,
//! not one per row.
//!
//! Each event's fragments are serialized in its request handler ([`EncodedEvent`]); the writer
//! only splices in issue ids and counts events per issue and minute. An existing issue's
//! counters go in as appended rows (`issue_counts_pending`), and tags as one row per event
//! (`issue_tags_pending`, whose totals the writer also keeps in memory: [`PendingTags`]); FOLD
//! merges them into `issues`, `issue_minutes` and `issue_tags` about every quarter second under
//! load, each fold merging thousands of events instead of rewriting pages scattered over those
//! tables in every commit, and the writer folds the counters alone after a batch when no job
//! comes in for a moment (so a lone event's counts are exact when its SDK hears 200; see
//! [`super::writer`]).
//!
//! ```json
//! events = [[project_id, "event_id", issue_id, timestamp, received, "level", "platform",
//!        "release", "environment", "user_key", "title", data_offset, data_length], …]
//! ```
//! IMMEDIATE holds the write lock from the first read, so what the lookup read (and the issue
//! ids chosen from it) stays true until COMMIT. `issues.users_seen` is kept by a trigger on
//! `issue_users`, which fires only for users new to the issue.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Value, json};

use super::StoreError;
use super::events::EventRow;
use super::pending_tags::{PendingTags, tag_set_key};
use super::writer::WriteJob;

/// One row, one JSON document: every result row would be a message (and a wake-up) of its own.
const LOOKUP: &str = "SELECT json_object(
    'events', (SELECT json_group_array(json_array(e.project_id, e.event_id)) FROM jsonb_each(?) j
               JOIN events e ON e.project_id = j.value->>0 AND e.event_id = j.value->>1),
    'hashes', (SELECT json_group_array(json_array(h.project_id, h.hash, h.issue_id)) FROM jsonb_each(?) j
               JOIN issue_hashes h ON h.project_id = j.value->>0 AND h.hash = j.value->>1),
    'max_issue_id', MAX((SELECT COALESCE(MAX(id), 0) FROM issues),
                        (SELECT COALESCE(MAX(max_issue_id), 0) FROM issue_id_floors)),
    'max_short_ids', (SELECT json_group_array(json_array(p.value,
                          MAX((SELECT COALESCE(MAX(short_id), 0) FROM issues WHERE project_id = p.value),
                              (SELECT COALESCE(MAX(max_short_id), 0) FROM issue_id_floors
                               WHERE project_id = p.value))))
                      FROM jsonb_each(?) p))";

/// The body of WRITE, installed on the writer's connection as a TEMP trigger (see [`prepare`]):
/// one statement instead of many, so SQLite hands one result back instead of many (each a
/// wake-up of the writer task that preempts SQLite's thread on a busy 2-core machine).
const WRITE_PROCEDURE: &str = "CREATE TEMP VIEW IF NOT EXISTS batch_write
    (issues, hashes, events, users, issue_updates, counts, minutes, tags, attachments, user_reports, blobs)
    AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
CREATE TEMP TRIGGER IF NOT EXISTS batch_write INSTEAD OF INSERT ON batch_write BEGIN
    INSERT INTO issues (id, project_id, short_id, primary_hash, type, first_seen, last_seen, times_seen,
                        title, culprit, level, first_release, last_release, metadata)
        SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>6, value->>7, value->>8,
               value->>9, value->>10, value->>11, COALESCE(value->>5, value->>12),
               COALESCE(value->>12, value->>5), value->>13
        FROM jsonb_each(NEW.issues);
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
        FROM (SELECT value->>0 AS id, value->>1 AS earliest FROM jsonb_each(NEW.issue_updates)) AS v
        WHERE issues.id = v.id AND v.earliest < issues.first_seen;
    UPDATE issues SET status = 'unresolved', substatus = 'regressed',
            regressed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
        WHERE status = 'resolved' AND id IN (SELECT value->>0 FROM jsonb_each(NEW.issue_updates));
    INSERT INTO issue_counts_pending (issue_id, minute, count, last_seen, title, culprit, level, release, metadata)
        SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8
        FROM jsonb_each(NEW.counts);
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
    INSERT INTO project_usage (project_id, events, event_bytes)
        SELECT value->>0, COUNT(*), SUM(value->>12) FROM jsonb_each(NEW.events) WHERE true GROUP BY value->>0
        ON CONFLICT (project_id) DO UPDATE SET events = events + excluded.events,
            event_bytes = event_bytes + excluded.event_bytes;
    INSERT INTO project_usage (project_id, attachments, attachment_bytes)
        SELECT value->>0, COUNT(*), SUM(value->>6) FROM jsonb_each(NEW.attachments) WHERE true GROUP BY value->>0
        ON CONFLICT (project_id) DO UPDATE SET attachments = attachments + excluded.attachments,
            attachment_bytes = attachment_bytes + excluded.attachment_bytes;
END;";

/// Merges the pending counter rows into the issues: per issue one UPDATE (the row with the
/// latest `last_seen` supplies title, culprit, level, release and metadata: SQLite takes bare
/// columns from the row that `MAX` picked), per issue and minute one upsert. Runs inside a
/// transaction the writer holds.
const FOLD_COUNTS: &str = "UPDATE issues SET
        times_seen = times_seen + v.n,
        last_seen = MAX(last_seen, v.seen),
        title = v.title, culprit = v.culprit, level = v.level, metadata = v.metadata,
        last_release = COALESCE(v.release, last_release),
        first_release = COALESCE(first_release, v.release)
    FROM (SELECT issue_id, SUM(count) AS n, MAX(last_seen) AS seen, title, culprit, level, release, metadata
          FROM issue_counts_pending GROUP BY issue_id) AS v
    WHERE issues.id = v.issue_id;
INSERT INTO issue_minutes (issue_id, minute, count)
    SELECT issue_id, minute, SUM(count) FROM issue_counts_pending GROUP BY issue_id, minute
    ON CONFLICT (issue_id, minute) DO UPDATE SET count = count + excluded.count;
DELETE FROM issue_counts_pending;";

/// Merges the pending tag rows: their totals, counted by the writer as it wrote them (see
/// [`PendingTags`]), one upsert per (issue, key, value) in key order. An issue deleted
/// meanwhile took its pending rows along (ON DELETE CASCADE); its totals are skipped. Readers
/// of tag counts add the pending rows themselves, so this runs only every quarter second,
/// however idle the writer is: each fold then merges many events into each upsert. A value
/// not seen before is added only while its issue has fewer than 10,000 distinct values and its
/// key fewer than 1,000 (the `issue_tags_limit` trigger); known values keep counting.
const FOLD_TAGS: &str = "INSERT INTO issue_tags (issue_id, key, value, count, first_seen, last_seen)
    SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each(?)
    WHERE value->>0 IN (SELECT id FROM issues)
    ON CONFLICT (issue_id, key, value) DO UPDATE SET count = count + excluded.count,
        first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen);";

const CLEAR_PENDING_TAGS: &str = "DELETE FROM issue_tags_pending;";

const WRITE: &str = "INSERT INTO batch_write VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);";

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
    /// See [`tag_set_key`].
    tag_set_key: u64,
}

impl EncodedEvent {
    pub fn new(row: EventRow) -> EncodedEvent {
        use Field::{Int, Opt, Text};
        let mut event_tail = String::with_capacity(96 + row.title.len());
        event_tail.push(',');
        push_fields(
            &mut event_tail,
            &[
                Int(row.timestamp),
                Int(row.received),
                Text(&row.level),
                Text(&row.platform),
                Opt(row.release.as_deref()),
                Opt(row.environment.as_deref()),
                Opt(row.user_key.as_deref()),
                Text(&row.title),
            ],
        );
        event_tail.push(',');
        let mut update_tail = String::with_capacity(
            32 + row.title.len() + row.culprit.len() + row.metadata.len() * 5 / 4,
        );
        update_tail.push(',');
        push_fields(
            &mut update_tail,
            &[
                Text(&row.title),
                Text(&row.culprit),
                Text(&row.level),
                Opt(row.release.as_deref()),
                Text(&row.metadata),
            ],
        );
        update_tail.push(']');
        let mut tags = String::with_capacity(2 + row.tags.len() * 40);
        tags.push('[');
        for (i, (key, value)) in row.tags.iter().enumerate() {
            tags.push_str(if i == 0 { "[" } else { ",[" });
            push_fields(&mut tags, &[Text(key), Text(value)]);
            tags.push(']');
        }
        tags.push(']');
        let mut user = String::new();
        push_fields(&mut user, &[Opt(row.user_key.as_deref())]);
        let tag_set_key = tag_set_key(&row.tags);
        EncodedEvent {
            row,
            event_tail,
            update_tail,
            tags,
            user,
            tag_set_key,
        }
    }
}

/// A value of a JSON row written by hand (see [`push_fields`]).
enum Field<'a> {
    Int(i64),
    Text(&'a str),
    /// A text or `null`.
    Opt(Option<&'a str>),
}

/// Appends `fields` as JSON values separated by commas, straight into `out` (serializing each
/// through a `serde_json::Value` cost a copy and a string per field: a few % of a handler).
fn push_fields(out: &mut String, fields: &[Field]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match field {
            Field::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Field::Text(s) | Field::Opt(Some(s)) => push_text(out, s),
            Field::Opt(None) => out.push_str("null"),
        }
    }
}

/// Appends `s` as a JSON string literal: quotes, backslashes and control characters escaped.
pub(super) fn push_text(out: &mut String, s: &str) {
    out.push('"');
    let mut copied = 0;
    for (i, byte) in s.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Only ASCII bytes are escaped, so `i` is a character boundary.
        out.push_str(&s[copied..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        copied = i + 1;
    }
    out.push_str(&s[copied..]);
    out.push('"');
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

/// Installs WRITE's trigger on the writer's connection (TEMP: it lives with the connection).
pub fn prepare(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(WRITE_PROCEDURE)?;
    Ok(())
}

/// Writes `jobs` atomically, in one IMMEDIATE transaction: LOOKUP, WRITE, COMMIT; then counts
/// their tags into `pending_tags`. On failure nothing is written nor counted.
pub fn write(
    conn: &mut Connection,
    jobs: &[&WriteJob],
    pending_tags: &mut PendingTags,
) -> Result<(), StoreError> {
    let candidates = unique_events(jobs);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let known = lookup(&tx, &candidates)?;
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
    let tallies = tallies(&events, &plan.issue_ids);
    let mut blobs = Blobs::default();
    let rows = [
        new_issue_rows(&plan, &tallies),
        Value::Array(hash_link_rows(&plan.new_links)).to_string(),
        event_rows(&events, &plan.issue_ids, &mut blobs),
        issue_user_rows(&events, &plan.issue_ids),
        issue_update_rows(&plan, &tallies),
        count_rows(&plan, &tallies),
        new_issue_minute_rows(&plan, &tallies),
        tag_rows(&events, &plan.issue_ids),
        attachment_rows(jobs, &mut blobs),
        Value::Array(user_report_rows(jobs)).to_string(),
    ];
    let mut params: Vec<&dyn rusqlite::ToSql> =
        rows.iter().map(|r| r as &dyn rusqlite::ToSql).collect();
    params.push(&blobs.0);
    tx.prepare_cached(WRITE)?.execute(params.as_slice())?;
    tx.commit()?;
    for (event, &issue_id) in events.iter().zip(&plan.issue_ids) {
        pending_tags.add(
            issue_id,
            event.timestamp,
            event.tag_set_key,
            &event.row.tags,
        );
    }
    Ok(())
}

/// Folds the pending counter rows, and with `tags` the tag rows too (whose totals it then
/// clears), in a transaction of its own: at start-up, when no job comes in for a moment after
/// a batch (counters), and every quarter second with rows pending (all). On failure it is
/// rolled back and the totals stay.
pub fn fold(conn: &mut Connection, tags: Option<&mut PendingTags>) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    run(&tx, FOLD_COUNTS)?;
    if let Some(tags) = &tags
        && !tags.is_empty()
    {
        tx.prepare_cached(FOLD_TAGS)?.execute([tags.rows()])?;
        run(&tx, CLEAR_PENDING_TAGS)?;
    }
    tx.commit()?;
    if let Some(tags) = tags {
        tags.clear();
    }
    Ok(())
}

/// Runs each statement of `sql` (none holds a `;` inside a string literal), prepared once per
/// connection.
fn run(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    for statement in sql.split_inclusive(';').filter(|s| !s.trim().is_empty()) {
        conn.prepare_cached(statement)?.raw_execute()?;
    }
    Ok(())
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
struct Known {
    /// project → event ids already stored
    stored: HashMap<i64, HashSet<String>>,
    /// project → hash → issue (keyed by project first, so lookups borrow instead of cloning)
    issue_by_hash: HashMap<i64, HashMap<String, i64>>,
    max_issue_id: i64,
    max_short_id: HashMap<i64, i64>,
}

/// What exists of the batch (in the transaction that holds the write lock).
fn lookup(conn: &Connection, events: &[&EncodedEvent]) -> Result<Known, StoreError> {
    let found: String = conn
        .prepare_cached(LOOKUP)?
        .query_row(lookup_params(events), |row| row.get(0))?;
    known_from_json(&found)
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

fn known_from_json(found: &str) -> Result<Known, StoreError> {
    #[derive(serde::Deserialize)]
    struct Found {
        events: Vec<(i64, String)>,
        hashes: Vec<(i64, String, i64)>,
        max_issue_id: i64,
        max_short_ids: Vec<(i64, i64)>,
    }
    let found: Found = serde_json::from_str(found)
        .map_err(|e| StoreError::Corrupt(format!("unreadable lookup result: {e}")))?;
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
    /// (id, short id, the event that opened it)
    new_issues: Vec<(i64, i64, &'a EventRow)>,
    new_links: Vec<(i64, &'a str, i64)>,
    /// Issue ids from here on are new in this batch.
    first_new_issue: i64,
}

impl Plan<'_> {
    fn is_new(&self, issue_id: i64) -> bool {
        issue_id >= self.first_new_issue
    }
}

impl<'a> Plan<'a> {
    fn new(events: &[&'a EncodedEvent], mut known: Known) -> Plan<'a> {
        let mut plan = Plan {
            issue_ids: Vec::with_capacity(events.len()),
            new_issues: Vec::new(),
            new_links: Vec::new(),
            first_new_issue: known.max_issue_id + 1,
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

/// A batch's events of one issue and minute (of receive time: rates and spikes must not
/// follow the senders' clocks).
struct Tally<'a> {
    count: u64,
    earliest: i64,
    /// The event with the latest timestamp: it names the issue (title, culprit, level, …).
    latest: &'a EncodedEvent,
}

/// Tallies per (issue, minute), counted here: SQLite would need a sorter to GROUP BY.
fn tallies<'a>(events: &[&'a EncodedEvent], issue_ids: &[i64]) -> BTreeMap<(i64, i64), Tally<'a>> {
    let mut tallies: BTreeMap<(i64, i64), Tally<'a>> = BTreeMap::new();
    for (&event, &id) in events.iter().zip(issue_ids) {
        let tally = tallies
            .entry((id, event.received.div_euclid(60_000)))
            .or_insert(Tally {
                count: 0,
                earliest: event.timestamp,
                latest: event,
            });
        tally.count += 1;
        tally.earliest = tally.earliest.min(event.timestamp);
        if event.timestamp >= tally.latest.timestamp {
            tally.latest = event;
        }
    }
    tallies
}

/// An issue's tallies over all minutes: (count, earliest, latest).
fn issue_total<'a>(
    tallies: &BTreeMap<(i64, i64), Tally<'a>>,
    issue_id: i64,
) -> Option<(u64, i64, &'a EncodedEvent)> {
    tallies
        .range((issue_id, i64::MIN)..=(issue_id, i64::MAX))
        .map(|(_, t)| (t.count, t.earliest, t.latest))
        .reduce(|(n, earliest, latest), (m, e, l)| {
            let latest = if l.timestamp >= latest.timestamp {
                l
            } else {
                latest
            };
            (n + m, earliest.min(e), latest)
        })
}

/// New issues whole, counters included: `[id, project, short_id, primary_hash, type,
/// first_release, first_seen, last_seen, times_seen, title, culprit, level, last_release,
/// metadata]`, where the opening event supplies hash, type and first release, and the
/// batch's latest event the rest (as later batches' folds do).
fn new_issue_rows(plan: &Plan, tallies: &BTreeMap<(i64, i64), Tally>) -> String {
    json_list(
        plan.new_issues
            .iter()
            .filter_map(|(id, short_id, opening)| {
                let (count, earliest, latest) = issue_total(tallies, *id)?;
                let head = json!([
                    id,
                    opening.project_id,
                    short_id,
                    opening.hashes.first(),
                    opening.issue_type,
                    opening.release
                ])
                .to_string();
                Some(format!(
                    "{},{earliest},{},{count}{}",
                    head.trim_end_matches(']'),
                    latest.timestamp,
                    latest.update_tail
                ))
            }),
    )
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

/// `[issue, earliest]` per existing issue: `first_seen` moves back where the batch has an
/// earlier event, and a resolved issue regresses.
fn issue_update_rows(plan: &Plan, tallies: &BTreeMap<(i64, i64), Tally>) -> String {
    let mut earliest: BTreeMap<i64, i64> = BTreeMap::new();
    for (&(id, _), tally) in tallies.iter().filter(|((id, _), _)| !plan.is_new(*id)) {
        let e = earliest.entry(id).or_insert(tally.earliest);
        *e = (*e).min(tally.earliest);
    }
    json_list(earliest.into_iter().map(|(id, e)| format!("[{id},{e}]")))
}

/// `[issue, minute, count, last_seen, title, culprit, level, release, metadata]` per existing
/// issue and minute, for `issue_counts_pending`.
fn count_rows(plan: &Plan, tallies: &BTreeMap<(i64, i64), Tally>) -> String {
    json_list(
        tallies
            .iter()
            .filter(|((id, _), _)| !plan.is_new(*id))
            .map(|((id, minute), t)| {
                format!(
                    "[{id},{minute},{},{}{}",
                    t.count, t.latest.timestamp, t.latest.update_tail
                )
            }),
    )
}

/// `[issue, minute, count]` of the new issues, straight into `issue_minutes`: their rows go
/// at the end of the table (the highest issue ids), not scattered over it.
fn new_issue_minute_rows(plan: &Plan, tallies: &BTreeMap<(i64, i64), Tally>) -> String {
    json_list(
        tallies
            .iter()
            .filter(|((id, _), _)| plan.is_new(*id))
            .map(|((id, minute), t)| format!("[{id},{minute},{}]", t.count)),
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
    fn texts_are_written_as_json_strings_that_read_back_the_same() {
        for s in [
            "",
            "plain",
            "a\"b\\c",
            "line\nbreak\r\ttab",
            "\u{1}\u{1f}\u{7f}",
            "é 漢字 \u{2028} 🦀",
        ] {
            let mut out = String::new();
            push_text(&mut out, s);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s, "{out}");
        }
        let mut row = String::new();
        push_fields(
            &mut row,
            &[Field::Int(-5), Field::Opt(None), Field::Opt(Some("x"))],
        );
        assert_eq!(row, r#"-5,null,"x""#);
    }

    #[test]
    fn the_write_binds_ten_row_lists_and_the_blobs() {
        assert_eq!(WRITE.matches('?').count(), 11);
        // Ten row lists (issue updates read twice, events and attachments once more for the
        // usage), and the blobs of events and attachments.
        assert_eq!(WRITE_PROCEDURE.matches("NEW.").count(), 15);
        assert_eq!(LOOKUP.matches('?').count(), 3);
    }

    fn event(event_id: &str, title: &str, timestamp: i64, release: Option<&str>) -> WriteJob {
        WriteJob {
            event: Some(EncodedEvent::new(event_row(
                event_id, title, timestamp, release,
            ))),
            ..WriteJob::default()
        }
    }

    fn event_row(event_id: &str, title: &str, timestamp: i64, release: Option<&str>) -> EventRow {
        EventRow {
            project_id: 1,
            event_id: event_id.repeat(32),
            hashes: vec!["h".into()],
            title: title.into(),
            culprit: "c".into(),
            issue_type: "error".into(),
            level: "error".into(),
            platform: "python".into(),
            release: release.map(str::to_owned),
            environment: None,
            user_key: None,
            timestamp,
            received: 60_000 * 1000 + timestamp % 1000,
            tags: vec![("tier".into(), "gold".into())],
            metadata: "{}".into(),
            data: vec![1, 2, 3],
        }
    }

    /// The one number `sql` selects.
    async fn scalar_of(store: &super::super::Store, sql: &'static str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    /// A fresh database with project 1, and a writer connection to it.
    async fn store_with_project() -> (tempfile::TempDir, super::super::Store, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = super::super::Store::open(&crate::config::Config::for_tests(&url))
            .await
            .unwrap();
        sqlx::query("INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 0)")
            .execute(&store.pool)
            .await
            .unwrap();
        let conn = store.writer_connection().unwrap();
        (dir, store, conn)
    }

    #[tokio::test]
    async fn counters_of_existing_issues_wait_as_pending_rows_until_folded() {
        let (_dir, store, mut conn) = store_with_project().await;
        let issue = |pool| async move {
            sqlx::query_as::<
                _,
                (
                    i64,
                    i64,
                    i64,
                    String,
                    Option<String>,
                    Option<String>,
                    String,
                ),
            >(
                "SELECT times_seen, first_seen, last_seen, title, first_release, last_release,
                        status || '/' || substatus FROM issues",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        };
        let scalar = |sql: &'static str| scalar_of(&store, sql);
        let minutes = || scalar("SELECT COALESCE(SUM(count), 0) FROM issue_minutes");
        let pending = || scalar("SELECT COUNT(*) FROM issue_counts_pending");

        // A new issue is written whole, counters and minutes included, even without a fold.
        let (a, b) = (
            event("a", "first", 5_000, None),
            event("b", "second", 4_000, Some("1.0")),
        );
        let mut tags = PendingTags::default();
        assert!(write(&mut conn, &[&a, &b], &mut tags).is_ok());
        assert_eq!(
            issue(store.pool.clone()).await,
            (
                2,
                4_000,
                5_000,
                "first".into(),
                None,
                None,
                "unresolved/new".into()
            )
        );
        assert_eq!((minutes().await, pending().await), (2, 0));

        // Later events of it wait as one pending row per issue and minute.
        let (c, d) = (
            event("c", "third", 9_000, Some("2.0")),
            event("d", "fourth", 8_000, None),
        );
        assert!(write(&mut conn, &[&c, &d], &mut tags).is_ok());
        assert_eq!(issue(store.pool.clone()).await.0, 2);
        assert_eq!((minutes().await, pending().await), (2, 1));

        // A resolved issue regresses in the event's own commit; an earlier event moves
        // first_seen back at once.
        sqlx::query("UPDATE issues SET status = 'resolved'")
            .execute(&store.pool)
            .await
            .unwrap();
        let e = event("e", "fifth", 1_000, None);
        assert!(write(&mut conn, &[&e], &mut tags).is_ok());
        let (times_seen, first_seen, _, _, _, _, status) = issue(store.pool.clone()).await;
        assert_eq!((times_seen, first_seen), (2, 1_000));
        assert_eq!(status, "unresolved/regressed");
        // Tag counts read the pending rows too.
        assert_eq!(
            store.issue_tags(1).await.unwrap(),
            [("tier".into(), "gold".into(), 5)]
        );

        // The fold adds the counts; the latest event (by its time) names the issue.
        fold(&mut conn, None).unwrap();
        assert_eq!((minutes().await, pending().await), (5, 0));
        assert_eq!(scalar("SELECT COUNT(*) FROM issue_tags").await, 0);
        fold(&mut conn, Some(&mut tags)).unwrap();
        assert!(tags.is_empty());
        assert_eq!(
            issue(store.pool.clone()).await,
            (
                5,
                1_000,
                9_000,
                "third".into(),
                Some("2.0".into()),
                Some("2.0".into()),
                "unresolved/regressed".into()
            )
        );
        assert_eq!((minutes().await, pending().await), (5, 0));
        assert_eq!(scalar("SELECT count FROM issue_tags").await, 5);

        // A new writer folds what an earlier one left pending (its totals are read back).
        let f = event("f", "sixth", 10_000, None);
        assert!(write(&mut conn, &[&f], &mut tags).is_ok());
        drop(conn);
        let mut conn = store.writer_connection().unwrap();
        assert_eq!(issue(store.pool.clone()).await.3, "sixth");
        assert_eq!((minutes().await, pending().await), (6, 0));
        assert_eq!(scalar("SELECT count FROM issue_tags").await, 6);
        assert_eq!(scalar("SELECT COUNT(*) FROM issue_tags_pending").await, 0);

        // An issue deleted while its tags wait took its pending rows along; the fold skips
        // its totals instead of failing on them.
        let mut tags = PendingTags::default();
        let g = event("g", "seventh", 11_000, None);
        assert!(write(&mut conn, &[&g], &mut tags).is_ok());
        sqlx::query("DELETE FROM issues")
            .execute(&store.pool)
            .await
            .unwrap();
        fold(&mut conn, Some(&mut tags)).unwrap();
        assert!(tags.is_empty());
        assert_eq!(scalar("SELECT COUNT(*) FROM issue_tags").await, 0);
    }

    #[tokio::test]
    async fn new_tag_values_stop_at_the_limits_and_known_ones_keep_counting() {
        let (_dir, store, mut conn) = store_with_project().await;
        let mut tags = PendingTags::default();
        // 1,200 distinct `url` values in one key, then 12 keys of 1,000: past both limits.
        let tagged = |n: usize, key: String, value: String| WriteJob {
            event: Some(EncodedEvent::new(EventRow {
                event_id: format!("{n:032x}"),
                tags: vec![(key, value)],
                ..event_row("a", "t", 1_000 + n as i64, None)
            })),
            ..WriteJob::default()
        };
        let mut n = 0;
        for value in 0..1_200 {
            n += 1;
            let job = tagged(n, "url".into(), format!("/page/{value}"));
            assert!(write(&mut conn, &[&job], &mut tags).is_ok());
        }
        fold(&mut conn, Some(&mut tags)).unwrap();
        let count = |sql: &'static str| scalar_of(&store, sql);
        assert_eq!(
            count("SELECT COUNT(*) FROM issue_tags WHERE key = 'url'").await,
            1_000
        );
        for key in 0..12 {
            for value in 0..1_000 {
                n += 1;
                let job = tagged(n, format!("k{key}"), format!("{value}"));
                assert!(write(&mut conn, &[&job], &mut tags).is_ok());
            }
            fold(&mut conn, Some(&mut tags)).unwrap();
        }
        let rows = count("SELECT COUNT(*) FROM issue_tags").await;
        assert_eq!(rows, 10_000, "{rows}");
        assert_eq!(count("SELECT tag_values FROM issues").await, rows);
        // A value already kept goes on counting.
        n += 1;
        let job = tagged(n, "url".into(), "/page/7".into());
        assert!(write(&mut conn, &[&job], &mut tags).is_ok());
        fold(&mut conn, Some(&mut tags)).unwrap();
        assert_eq!(
            count("SELECT count FROM issue_tags WHERE key = 'url' AND value = '/page/7'").await,
            2
        );
    }
}
