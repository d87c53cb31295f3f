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
//!        "release", "environment", "user_key", "trace_id", "title", data_offset, data_length], …]
//! ```
//! Each kind of row's slots are declared once, in [`super::rows`] ([`rows::EVENT`] above); the
//! SQL below names them (`{events.release}`) and the encoders write them in that order. The
//! ADR `docs/adr/0001-the-batch-writer-is-sqlite-specific.md` says why all of this is SQLite's.
//! The file is over 600 lines on purpose: the SQL (about 150 lines of it) and the encoders
//! that fill its slots are read side by side.
//!
//! IMMEDIATE holds the write lock from the first read, so what the lookup read (and the issue
//! ids chosen from it) stays true until COMMIT. `issues.users_seen` is kept by a trigger on
//! `issue_users`, which fires only for users new to the issue.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use rusqlite::{Connection, TransactionBehavior};

use super::pending_tags::PendingTags;
use super::rows::{self, EncodedEvent, EventId, EventRow, WriteJob, json_list};
use super::{IssueId, ProjectId, StoreError};

/// One row, one JSON document: every result row would be a message (and a wake-up) of its own.
const LOOKUP_TEMPLATE: &str = "SELECT json_object(
    'events', (SELECT json_group_array(json_array(e.project_id, e.event_id)) FROM jsonb_each(?) j
               JOIN events e ON e.project_id = j.{event_keys.project_id} AND e.event_id = j.{event_keys.event_id}),
    'hashes', (SELECT json_group_array(json_array(h.project_id, h.hash, h.issue_id)) FROM jsonb_each(?) j
               JOIN issue_hashes h ON h.project_id = j.{hash_keys.project_id} AND h.hash = j.{hash_keys.hash}),
    'max_issue_id', MAX((SELECT COALESCE(MAX(id), 0) FROM issues),
                        (SELECT COALESCE(MAX(max_issue_id), 0) FROM issue_id_floors)),
    'max_log_block_id', (SELECT COALESCE(MAX(id), 0) FROM log_blocks),
    'max_short_ids', (SELECT json_group_array(json_array(p.value,
                          MAX((SELECT COALESCE(MAX(short_id), 0) FROM issues WHERE project_id = p.value),
                              (SELECT COALESCE(MAX(max_short_id), 0) FROM issue_id_floors
                               WHERE project_id = p.value))))
                      FROM jsonb_each(?) p))";

static LOOKUP: LazyLock<String> =
    LazyLock::new(|| rows::render(LOOKUP_TEMPLATE, &[&rows::EVENT_KEY, &rows::HASH_KEY]));

/// The body of WRITE, installed on the writer's connection as a TEMP trigger (see [`install`]):
/// one statement instead of many, so SQLite hands one result back instead of many (each a
/// wake-up of the writer task that preempts SQLite's thread on a busy 2-core machine). Slots
/// are named (`{events.release}`) after their shapes in [`rows`].
const WRITE_TEMPLATE: &str = "CREATE TEMP VIEW IF NOT EXISTS batch_write
    (issues, hashes, events, users, issue_updates, counts, minutes, tags, attachments, user_reports,
     log_blocks, blobs)
    AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
CREATE TEMP TRIGGER IF NOT EXISTS batch_write INSTEAD OF INSERT ON batch_write BEGIN
    INSERT INTO issues (id, project_id, short_id, primary_hash, type, first_seen, last_seen, times_seen,
                        title, culprit, level, first_release, last_release, metadata)
        SELECT {issues.id}, {issues.project_id}, {issues.short_id}, {issues.primary_hash}, {issues.type},
               {issues.first_seen}, {issues.last_seen}, {issues.times_seen},
               {issues.title}, {issues.culprit}, {issues.level},
               COALESCE({issues.first_release}, {issues.latest_release}),
               COALESCE({issues.latest_release}, {issues.first_release}), {issues.metadata}
        FROM jsonb_each(NEW.issues);
    INSERT INTO issue_hashes (project_id, hash, issue_id)
        SELECT {hashes.project_id}, {hashes.hash}, {hashes.issue_id} FROM jsonb_each(NEW.hashes);
    INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform, release,
                        environment, user_key, trace_id, title, data)
        SELECT {events.project_id}, {events.event_id}, {events.issue_id}, {events.timestamp},
               {events.received}, {events.level}, {events.platform}, {events.release},
               {events.environment}, {events.user_key}, {events.trace_id}, {events.title},
               substr(NEW.blobs, {events.data_offset}, {events.data_length})
        FROM jsonb_each(NEW.events);
    INSERT INTO issue_users (issue_id, user_key)
        SELECT {users.issue_id}, {users.user_key} FROM jsonb_each(NEW.users) WHERE true
        ON CONFLICT DO NOTHING;
    UPDATE issues SET first_seen = v.earliest
        FROM (SELECT {issue_updates.issue_id} AS id, {issue_updates.earliest} AS earliest
              FROM jsonb_each(NEW.issue_updates)) AS v
        WHERE issues.id = v.id AND v.earliest < issues.first_seen;
    INSERT INTO releases (version, date_created, first_event, last_event)
        SELECT {events.release}, MIN({events.received}), MIN({events.timestamp}), MAX({events.timestamp})
        FROM jsonb_each(NEW.events) WHERE {events.release} IS NOT NULL GROUP BY {events.release}
        ON CONFLICT (version) DO UPDATE SET
            first_event = MIN(COALESCE(first_event, excluded.first_event), excluded.first_event),
            last_event = MAX(COALESCE(last_event, excluded.last_event), excluded.last_event);
    INSERT INTO release_projects (release_id, project_id)
        SELECT DISTINCT r.id, {events.project_id} FROM jsonb_each(NEW.events)
        JOIN releases r ON r.version = {events.release} WHERE true
        ON CONFLICT DO NOTHING;
    UPDATE issues SET status = 'unresolved', substatus = 'regressed', resolved_in_release = NULL,
            regressed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
        WHERE status = 'resolved'
          AND id IN (SELECT {issue_updates.issue_id} FROM jsonb_each(NEW.issue_updates))
          AND (resolved_in_release IS NULL OR EXISTS (
              SELECT 1 FROM jsonb_each(NEW.events) JOIN releases r ON r.version = {events.release}
              WHERE {events.issue_id} = issues.id AND COALESCE(
                  snag_release_later(r.version, issues.resolved_in_release),
                  r.date_created >
                      (SELECT f.date_created FROM releases f WHERE f.version = issues.resolved_in_release))));
    INSERT INTO issue_counts_pending (issue_id, minute, count, last_seen, title, culprit, level, release, metadata)
        SELECT {counts.issue_id}, {counts.minute}, {counts.count}, {counts.last_seen}, {counts.title},
               {counts.culprit}, {counts.level}, {counts.latest_release}, {counts.metadata}
        FROM jsonb_each(NEW.counts);
    INSERT INTO issue_minutes (issue_id, minute, count)
        SELECT {minutes.issue_id}, {minutes.minute}, {minutes.count} FROM jsonb_each(NEW.minutes) WHERE true
        ON CONFLICT (issue_id, minute) DO UPDATE SET count = count + excluded.count;
    INSERT INTO issue_tags_pending (issue_id, timestamp, tags)
        SELECT {tags.issue_id}, {tags.timestamp}, jsonb_extract(value, '$[{#tags.tags}]')
        FROM jsonb_each(NEW.tags);
    INSERT INTO attachments (project_id, event_id, filename, content_type, attachment_type, size, data, created_at)
        SELECT {attachments.project_id}, {attachments.event_id}, {attachments.filename},
               {attachments.content_type}, {attachments.attachment_type}, {attachments.data_length},
               substr(NEW.blobs, {attachments.data_offset}, {attachments.data_length}),
               {attachments.received}
        FROM jsonb_each(NEW.attachments);
    INSERT INTO user_reports (project_id, event_id, name, email, comments, created_at)
        SELECT {user_reports.project_id}, {user_reports.event_id}, {user_reports.name},
               {user_reports.email}, {user_reports.comments}, {user_reports.received}
        FROM jsonb_each(NEW.user_reports);
    INSERT INTO log_blocks (id, project_id, first_ns, last_ns, received, lines, levels, bytes, data)
        SELECT {log_blocks.id}, {log_blocks.project_id}, {log_blocks.first_ns}, {log_blocks.last_ns},
               {log_blocks.received}, {log_blocks.lines}, {log_blocks.levels}, {log_blocks.bytes},
               substr(NEW.blobs, {log_blocks.data_offset}, {log_blocks.data_length})
        FROM jsonb_each(NEW.log_blocks);
    INSERT INTO log_search (rowid, words)
        SELECT {log_blocks.id}, {log_blocks.words} FROM jsonb_each(NEW.log_blocks);
    INSERT INTO project_usage (project_id, events, event_bytes)
        SELECT {events.project_id}, COUNT(*), SUM({events.data_length}) FROM jsonb_each(NEW.events)
        WHERE true GROUP BY {events.project_id}
        ON CONFLICT (project_id) DO UPDATE SET events = events + excluded.events,
            event_bytes = event_bytes + excluded.event_bytes;
    INSERT INTO project_usage (project_id, attachments, attachment_bytes)
        SELECT {attachments.project_id}, COUNT(*), SUM({attachments.data_length})
        FROM jsonb_each(NEW.attachments) WHERE true GROUP BY {attachments.project_id}
        ON CONFLICT (project_id) DO UPDATE SET attachments = attachments + excluded.attachments,
            attachment_bytes = attachment_bytes + excluded.attachment_bytes;
END;";

static WRITE_PROCEDURE: LazyLock<String> = LazyLock::new(|| {
    rows::render(
        WRITE_TEMPLATE,
        &[
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
        ],
    )
});

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
const FOLD_TAGS_TEMPLATE: &str = "INSERT INTO issue_tags (issue_id, key, value, count, first_seen, last_seen)
    SELECT {tag_totals.issue_id}, {tag_totals.key}, {tag_totals.value}, {tag_totals.count},
           {tag_totals.first_seen}, {tag_totals.last_seen} FROM jsonb_each(?)
    WHERE {tag_totals.issue_id} IN (SELECT id FROM issues)
    ON CONFLICT (issue_id, key, value) DO UPDATE SET count = count + excluded.count,
        first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen);";

static FOLD_TAGS: LazyLock<String> =
    LazyLock::new(|| rows::render(FOLD_TAGS_TEMPLATE, &[&rows::TAG_TOTAL]));

const CLEAR_PENDING_TAGS: &str = "DELETE FROM issue_tags_pending;";

const WRITE: &str = "INSERT INTO batch_write VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);";

/// Installs WRITE's trigger on the writer's connection (TEMP: it lives with the connection),
/// and the release order it asks (`release_order.rs`).
pub fn install(conn: &Connection) -> Result<(), StoreError> {
    super::release_order::install(conn)?;
    conn.execute_batch(&WRITE_PROCEDURE)?;
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
    let batch = Batch::new(jobs, candidates, known);
    let mut params: Vec<&dyn rusqlite::ToSql> = batch
        .rows
        .iter()
        .map(|r| r as &dyn rusqlite::ToSql)
        .collect();
    params.push(&batch.blobs.0);
    tx.prepare_cached(WRITE)?.execute(params.as_slice())?;
    tx.commit()?;
    for (event, &issue_id) in batch.events.iter().zip(&batch.issue_ids) {
        pending_tags.add(
            issue_id,
            event.timestamp,
            event.tag_set_key,
            &event.row().tags,
        );
    }
    Ok(())
}

/// What a batch writes, decided from what the database holds ([`Known`], read under the
/// write lock): its new events with their issues, and the rows of each table (JSON arrays
/// of the [`rows`] shapes, in the order of WRITE's parameters) with the blobs they address.
pub(super) struct Batch<'a> {
    pub events: Vec<&'a EncodedEvent>,
    pub issue_ids: Vec<IssueId>,
    /// issues, hashes, events, users, issue_updates, counts, minutes, tags, attachments,
    /// user_reports, log_blocks
    pub rows: [String; 11],
    pub blobs: Blobs,
}

impl<'a> Batch<'a> {
    pub fn new(
        jobs: &[&'a WriteJob],
        candidates: Vec<&'a EncodedEvent>,
        known: Known,
    ) -> Batch<'a> {
        let events: Vec<&EncodedEvent> = candidates
            .into_iter()
            .filter(|e| {
                !known
                    .stored
                    .get(&e.project_id)
                    .is_some_and(|ids| ids.contains(&e.event_id))
            })
            .collect();
        let first_log_block = known.max_log_block_id + 1;
        let plan = Plan::new(&events, known);
        let tallies = tallies(&events, &plan.issue_ids);
        let mut blobs = Blobs::default();
        let rows = [
            new_issue_rows(&plan, &tallies),
            hash_link_rows(&plan.new_links),
            event_rows(&events, &plan.issue_ids, &mut blobs),
            issue_user_rows(&events, &plan.issue_ids),
            issue_update_rows(&plan, &tallies),
            count_rows(&plan, &tallies),
            new_issue_minute_rows(&plan, &tallies),
            tag_rows(&events, &plan.issue_ids),
            attachment_rows(jobs, &mut blobs),
            user_report_rows(jobs),
            log_block_rows(jobs, first_log_block, &mut blobs),
        ];
        Batch {
            issue_ids: plan.issue_ids,
            events,
            rows,
            blobs,
        }
    }
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
        tx.prepare_cached(&FOLD_TAGS)?.execute([tags.rows()])?;
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
pub(super) fn unique_events<'a>(jobs: &[&'a WriteJob]) -> Vec<&'a EncodedEvent> {
    let mut seen = HashSet::new();
    jobs.iter()
        .filter_map(|j| j.event.as_ref())
        .filter(|e| seen.insert((e.project_id, e.event_id)))
        .collect()
}

/// What the database already holds that a batch depends on.
pub(super) struct Known {
    /// project → event ids already stored
    stored: HashMap<ProjectId, HashSet<EventId>>,
    /// project → hash → issue (keyed by project first, so lookups borrow instead of cloning)
    issue_by_hash: HashMap<ProjectId, HashMap<String, IssueId>>,
    max_issue_id: IssueId,
    max_short_id: HashMap<ProjectId, i64>,
    /// Blocks of log lines take the next ids (the write lock is held).
    max_log_block_id: i64,
}

/// What exists of the batch (in the transaction that holds the write lock).
fn lookup(conn: &Connection, events: &[&EncodedEvent]) -> Result<Known, StoreError> {
    let found: String = conn
        .prepare_cached(&LOOKUP)?
        .query_row(lookup_params(events), |row| row.get(0))?;
    known_from_json(&found)
}

/// The LOOKUP parameters: [`rows::EVENT_KEY`]s, [`rows::HASH_KEY`]s, `[project…]`.
pub(super) fn lookup_params(events: &[&EncodedEvent]) -> [String; 3] {
    let event_keys = json_list(events.iter(), |out, e| {
        rows::EVENT_KEY
            .row(out)
            .project_id("project_id", e.project_id)
            .event_id("event_id", e.event_id)
            .end();
    });
    let hashes: HashSet<(ProjectId, &str)> = events
        .iter()
        .flat_map(|e| e.hashes.iter().map(move |h| (e.project_id, h.as_str())))
        .collect();
    let hash_keys = json_list(hashes.into_iter(), |out, (project_id, hash)| {
        rows::HASH_KEY
            .row(out)
            .project_id("project_id", project_id)
            .text("hash", hash)
            .end();
    });
    let projects: HashSet<ProjectId> = events.iter().map(|e| e.project_id).collect();
    let projects = json_list(projects.into_iter(), |out, p| out.push_str(&p.to_string()));
    [event_keys, hash_keys, projects]
}

pub(super) fn known_from_json(found: &str) -> Result<Known, StoreError> {
    #[derive(serde::Deserialize)]
    struct Found {
        events: Vec<(ProjectId, EventId)>,
        hashes: Vec<(ProjectId, String, IssueId)>,
        max_issue_id: IssueId,
        max_short_ids: Vec<(ProjectId, i64)>,
        max_log_block_id: i64,
    }
    let found: Found = serde_json::from_str(found)
        .map_err(|e| StoreError::Corrupt(format!("unreadable lookup result: {e}")))?;
    let mut known = Known {
        stored: HashMap::new(),
        issue_by_hash: HashMap::new(),
        max_issue_id: found.max_issue_id,
        max_short_id: found.max_short_ids.into_iter().collect(),
        max_log_block_id: found.max_log_block_id,
    };
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
    Ok(known)
}

/// Which issue each event goes to: the first of its hashes already linked to an issue, else
/// a new issue (ids chosen here; the write lock is held). Every hash of an event that is not
/// linked yet is linked to that issue.
struct Plan<'a> {
    issue_ids: Vec<IssueId>,
    /// (id, short id, the event that opened it)
    new_issues: Vec<(IssueId, i64, &'a EventRow)>,
    new_links: Vec<(ProjectId, &'a str, IssueId)>,
    /// Issue ids from here on are new in this batch.
    first_new_issue: IssueId,
}

impl Plan<'_> {
    fn is_new(&self, issue_id: IssueId) -> bool {
        issue_id >= self.first_new_issue
    }
}

impl<'a> Plan<'a> {
    fn new(events: &[&'a EncodedEvent], mut known: Known) -> Plan<'a> {
        let mut plan = Plan {
            issue_ids: Vec::with_capacity(events.len()),
            new_issues: Vec::new(),
            new_links: Vec::new(),
            first_new_issue: IssueId(known.max_issue_id.get() + 1),
        };
        for &event in events {
            let linked = known.issue_by_hash.entry(event.project_id).or_default();
            let found = event.hashes.iter().find_map(|h| linked.get(h).copied());
            let issue_id = found.unwrap_or_else(|| {
                known.max_issue_id = IssueId(known.max_issue_id.get() + 1);
                let short_id = known.max_short_id.entry(event.project_id).or_insert(0);
                *short_id += 1;
                plan.new_issues
                    .push((known.max_issue_id, *short_id, event.row()));
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
fn tallies<'a>(
    events: &[&'a EncodedEvent],
    issue_ids: &[IssueId],
) -> BTreeMap<(IssueId, i64), Tally<'a>> {
    let mut tallies: BTreeMap<(IssueId, i64), Tally<'a>> = BTreeMap::new();
    for (&event, &id) in events.iter().zip(issue_ids) {
        let tally = tallies
            .entry((id, crate::time::minute_of(event.received)))
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
    tallies: &BTreeMap<(IssueId, i64), Tally<'a>>,
    issue_id: IssueId,
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

/// New issues whole, counters included ([`rows::ISSUE`]): the opening event supplies hash,
/// type and first release, and the batch's latest event the rest (as later batches' folds do).
fn new_issue_rows(plan: &Plan, tallies: &BTreeMap<(IssueId, i64), Tally>) -> String {
    let issues = plan
        .new_issues
        .iter()
        .filter_map(|(id, short_id, opening)| {
            issue_total(tallies, *id).map(|total| (*id, *short_id, *opening, total))
        });
    json_list(issues, |out, (id, short_id, opening, total)| {
        let (count, earliest, latest) = total;
        rows::ISSUE
            .row(out)
            .issue_id("id", id)
            .project_id("project_id", opening.project_id)
            .int("short_id", short_id)
            .opt("primary_hash", opening.hashes.first().map(String::as_str))
            .text("type", &opening.issue_type)
            .opt("first_release", opening.release.as_deref())
            .int("first_seen", earliest)
            .int("last_seen", latest.timestamp)
            .count("times_seen", count)
            .splice(&rows::LATEST, &latest.latest)
            .end();
    })
}

fn hash_link_rows(links: &[(ProjectId, &str, IssueId)]) -> String {
    json_list(links.iter(), |out, &(project_id, hash, issue_id)| {
        rows::HASH
            .row(out)
            .project_id("project_id", project_id)
            .text("hash", hash)
            .issue_id("issue_id", issue_id)
            .end();
    })
}

/// The batch's blobs (compressed events, attachments) end to end: one bound parameter that
/// rows address by `substr(blobs, offset, length)`, so bytes never travel inside JSON.
#[derive(Default)]
pub(super) struct Blobs(pub Vec<u8>);

impl Blobs {
    /// Appends `data` and returns its (offset, length), 1-based as `substr` counts.
    fn push(&mut self, data: &[u8]) -> (i64, i64) {
        let offset = self.0.len() + 1;
        self.0.extend_from_slice(data);
        (offset as i64, data.len() as i64)
    }
}

fn event_rows(events: &[&EncodedEvent], issue_ids: &[IssueId], blobs: &mut Blobs) -> String {
    json_list(events.iter().zip(issue_ids), |out, (e, &id)| {
        let (offset, length) = blobs.push(&e.data);
        rows::EVENT
            .row(out)
            .project_id("project_id", e.project_id)
            .event_id("event_id", e.event_id)
            .issue_id("issue_id", id)
            .splice(&rows::EVENT_FIELDS, &e.fields)
            .int("data_offset", offset)
            .int("data_length", length)
            .end();
    })
}

/// Each event's user linked to its issue; the trigger counts the new ones in `users_seen`.
fn issue_user_rows(events: &[&EncodedEvent], issue_ids: &[IssueId]) -> String {
    let users = events
        .iter()
        .zip(issue_ids)
        .filter_map(|(e, &id)| Some((id, e.user_key.as_deref()?)));
    json_list(users, |out, (id, user_key)| {
        rows::ISSUE_USER
            .row(out)
            .issue_id("issue_id", id)
            .text("user_key", user_key)
            .end();
    })
}

/// Per existing issue, its earliest event of the batch: `first_seen` moves back where the
/// batch has an earlier event, and a resolved issue regresses.
fn issue_update_rows(plan: &Plan, tallies: &BTreeMap<(IssueId, i64), Tally>) -> String {
    let mut earliest: BTreeMap<IssueId, i64> = BTreeMap::new();
    for (&(id, _), tally) in tallies.iter().filter(|((id, _), _)| !plan.is_new(*id)) {
        let e = earliest.entry(id).or_insert(tally.earliest);
        *e = (*e).min(tally.earliest);
    }
    json_list(earliest.into_iter(), |out, (id, e)| {
        rows::ISSUE_UPDATE
            .row(out)
            .issue_id("issue_id", id)
            .int("earliest", e)
            .end();
    })
}

/// Per existing issue and minute, for `issue_counts_pending`.
fn count_rows(plan: &Plan, tallies: &BTreeMap<(IssueId, i64), Tally>) -> String {
    let counts = tallies.iter().filter(|((id, _), _)| !plan.is_new(*id));
    json_list(counts, |out, (&(id, minute), t)| {
        rows::COUNT
            .row(out)
            .issue_id("issue_id", id)
            .int("minute", minute)
            .count("count", t.count)
            .int("last_seen", t.latest.timestamp)
            .splice(&rows::LATEST, &t.latest.latest)
            .end();
    })
}

/// The new issues' minutes, straight into `issue_minutes`: their rows go at the end of the
/// table (the highest issue ids), not scattered over it.
fn new_issue_minute_rows(plan: &Plan, tallies: &BTreeMap<(IssueId, i64), Tally>) -> String {
    let minutes = tallies.iter().filter(|((id, _), _)| plan.is_new(*id));
    json_list(minutes, |out, (&(id, minute), t)| {
        rows::MINUTE
            .row(out)
            .issue_id("issue_id", id)
            .int("minute", minute)
            .count("count", t.count)
            .end();
    })
}

/// Each event's tags, for `issue_tags_pending`.
fn tag_rows(events: &[&EncodedEvent], issue_ids: &[IssueId]) -> String {
    let tagged = events
        .iter()
        .zip(issue_ids)
        .filter(|(e, _)| !e.tags.is_empty());
    json_list(tagged, |out, (e, &id)| {
        rows::TAGS
            .row(out)
            .issue_id("issue_id", id)
            .int("timestamp", e.timestamp)
            .json("tags", &e.tags_json)
            .end();
    })
}

fn attachment_rows(jobs: &[&WriteJob], blobs: &mut Blobs) -> String {
    json_list(jobs.iter().flat_map(|j| &j.attachments), |out, a| {
        let (offset, length) = blobs.push(&a.data);
        rows::ATTACHMENT
            .row(out)
            .project_id("project_id", a.project_id)
            .event_id("event_id", a.event_id)
            .text("filename", &a.filename)
            .opt("content_type", a.content_type.as_deref())
            .text("attachment_type", &a.attachment_type)
            .int("data_offset", offset)
            .int("data_length", length)
            .int("received", a.received)
            .end();
    })
}

fn user_report_rows(jobs: &[&WriteJob]) -> String {
    json_list(jobs.iter().flat_map(|j| &j.user_reports), |out, r| {
        let mut row = rows::USER_REPORT.row(out);
        row.project_id("project_id", r.project_id);
        match r.event_id {
            Some(id) => row.event_id("event_id", id),
            None => row.opt("event_id", None),
        };
        row.opt("name", r.name.as_deref())
            .opt("email", r.email.as_deref())
            .text("comments", &r.comments)
            .int("received", r.received)
            .end();
    })
}

/// The batch's blocks of log lines, numbered from `first_id`.
fn log_block_rows(jobs: &[&WriteJob], first_id: i64, blobs: &mut Blobs) -> String {
    let blocks = jobs.iter().flat_map(|j| &j.log_blocks).zip(first_id..);
    json_list(blocks, |out, (b, id)| {
        let (offset, length) = blobs.push(&b.data);
        rows::LOG_BLOCK
            .row(out)
            .int("id", id)
            .project_id("project_id", b.project_id)
            .int("first_ns", b.first_ns)
            .int("last_ns", b.last_ns)
            .int("received", b.received_ms)
            .count("lines", u64::from(b.lines))
            .count("levels", u64::from(b.levels))
            .count("bytes", b.bytes)
            .int("data_offset", offset)
            .int("data_length", length)
            .text("words", &b.words)
            .end();
    })
}

pub(super) mod postgres;
#[cfg(test)]
mod tests;
