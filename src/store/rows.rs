//! The rows the batch writer writes, and the one declaration of how each travels to its table.
//!
//! A batch hands SQLite one JSON array of rows per target (see `super::batch`); each row is a
//! JSON array whose slots a [`Shape`] declares once, by name:
//!
//! ```text
//! EVENT  = project_id, event_id, issue_id, timestamp, received, level, platform, release, …
//! row    = [3, "ec65…e4f5", 17, 1795312455775, 1795312456001, "error", "python", null, …]
//! SQL    = INSERT INTO events (…, release, …) SELECT …, {events.release}, … FROM jsonb_each(NEW.events)
//!                                                     └─ rendered once as value->>7
//! ```
//!
//! The SQL names slots ([`render`] turns `{events.release}` into `value->>7`, and panics on a
//! name the shape lacks); the encoders write slots through a [`RowWriter`] that checks, in
//! debug builds (every test), that each slot is written in its declared place. So swapping
//! two fields fails on either side, and `batch`'s round-trip tests read every column of every
//! table back. Ids of events are [`EventId`]s: hex by construction, never escaped.

use std::fmt::Write;
use std::hash::{DefaultHasher, Hash, Hasher};

pub use super::{IssueId, ProjectId};
pub use crate::protocol::EventId;

/// The slots of one kind of JSON row, in order.
#[derive(Debug)]
pub struct Shape {
    /// The name SQL templates use (`{name.slot}`).
    pub name: &'static str,
    pub slots: &'static [&'static str],
}

impl Shape {
    /// The position of `slot`; panics on a name the shape lacks (SQL is rendered once, at
    /// start-up, and by the tests).
    pub fn index(&self, slot: &str) -> usize {
        self.slots
            .iter()
            .position(|s| *s == slot)
            .unwrap_or_else(|| panic!("row shape {} has no slot {slot:?}", self.name))
    }

    /// Writes a whole row, `[` … `]`, into `out`.
    pub fn row<'o>(&'static self, out: &'o mut String) -> RowWriter<'o> {
        out.push('[');
        RowWriter {
            out,
            shape: self,
            next: 0,
        }
    }

    /// Writes this shape's slots as a fragment, each preceded by a comma, to splice into a
    /// row later with [`RowWriter::splice`].
    pub fn fragment<'o>(&'static self, out: &'o mut String) -> RowWriter<'o> {
        out.push(',');
        RowWriter {
            out,
            shape: self,
            next: 0,
        }
    }
}

/// New issues, whole: the opening event supplies hash, type and first release, the batch's
/// latest event the rest.
pub const ISSUE: Shape = Shape {
    name: "issues",
    slots: &[
        "id",
        "project_id",
        "short_id",
        "primary_hash",
        "type",
        "first_release",
        "first_seen",
        "last_seen",
        "times_seen",
        "title",
        "culprit",
        "level",
        "latest_release",
        "metadata",
    ],
};

/// What the latest event of an issue tells about it (spliced into [`ISSUE`] and [`COUNT`]).
pub const LATEST: Shape = Shape {
    name: "latest",
    slots: &["title", "culprit", "level", "latest_release", "metadata"],
};

pub const HASH: Shape = Shape {
    name: "hashes",
    slots: &["project_id", "hash", "issue_id"],
};

pub const EVENT: Shape = Shape {
    name: "events",
    slots: &[
        "project_id",
        "event_id",
        "issue_id",
        "timestamp",
        "received",
        "level",
        "platform",
        "release",
        "environment",
        "user_key",
        "trace_id",
        "title",
        "data_offset",
        "data_length",
    ],
};

/// An event's own columns, serialized in its request handler (spliced into [`EVENT`]).
pub const EVENT_FIELDS: Shape = Shape {
    name: "event_fields",
    slots: &[
        "timestamp",
        "received",
        "level",
        "platform",
        "release",
        "environment",
        "user_key",
        "trace_id",
        "title",
    ],
};

pub const ISSUE_USER: Shape = Shape {
    name: "users",
    slots: &["issue_id", "user_key"],
};

/// An existing issue seen again: `first_seen` moves back to `earliest`, a resolved one regresses.
pub const ISSUE_UPDATE: Shape = Shape {
    name: "issue_updates",
    slots: &["issue_id", "earliest"],
};

/// An existing issue's events of one minute, for `issue_counts_pending`.
pub const COUNT: Shape = Shape {
    name: "counts",
    slots: &[
        "issue_id",
        "minute",
        "count",
        "last_seen",
        "title",
        "culprit",
        "level",
        "latest_release",
        "metadata",
    ],
};

/// A new issue's events of one minute, straight into `issue_minutes`.
pub const MINUTE: Shape = Shape {
    name: "minutes",
    slots: &["issue_id", "minute", "count"],
};

/// An event's tags, for `issue_tags_pending`: `tags` is `[["key","value"],…]`.
pub const TAGS: Shape = Shape {
    name: "tags",
    slots: &["issue_id", "timestamp", "tags"],
};

/// A key and value of [`TAGS`]' list.
pub const TAG_PAIR: Shape = Shape {
    name: "tag",
    slots: &["key", "value"],
};

/// Tag totals folded into `issue_tags` (see `super::pending_tags`).
pub const TAG_TOTAL: Shape = Shape {
    name: "tag_totals",
    slots: &[
        "issue_id",
        "key",
        "value",
        "count",
        "first_seen",
        "last_seen",
    ],
};

pub const ATTACHMENT: Shape = Shape {
    name: "attachments",
    slots: &[
        "project_id",
        "event_id",
        "filename",
        "content_type",
        "attachment_type",
        "data_offset",
        "data_length",
        "received",
    ],
};

/// A block of log lines (`crate::logs::block`); its words go to the search index.
pub const LOG_BLOCK: Shape = Shape {
    name: "log_blocks",
    slots: &[
        "id",
        "project_id",
        "first_ns",
        "last_ns",
        "received",
        "lines",
        "levels",
        "bytes",
        "data_offset",
        "data_length",
        "words",
    ],
};

pub const USER_REPORT: Shape = Shape {
    name: "user_reports",
    slots: &[
        "project_id",
        "event_id",
        "name",
        "email",
        "comments",
        "received",
    ],
};

/// What LOOKUP asks about: events that may be stored already, hashes that may be linked.
pub const EVENT_KEY: Shape = Shape {
    name: "event_keys",
    slots: &["project_id", "event_id"],
};

pub const HASH_KEY: Shape = Shape {
    name: "hash_keys",
    slots: &["project_id", "hash"],
};

/// `sql` with each `{shape.slot}` replaced by `value->>N` and each `{#shape.slot}` by `N`
/// (the slot's position in `shapes`' row of that name).
pub fn render(sql: &str, shapes: &[&Shape]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open
            + rest[open..]
                .find('}')
                .unwrap_or_else(|| panic!("unclosed slot in {sql}"));
        let name = &rest[open + 1..close];
        let (index_only, name) = match name.strip_prefix('#') {
            Some(name) => (true, name),
            None => (false, name),
        };
        let (shape, slot) = name
            .split_once('.')
            .unwrap_or_else(|| panic!("slot {name:?} names no shape"));
        let shape = shapes
            .iter()
            .find(|s| s.name == shape)
            .unwrap_or_else(|| panic!("no row shape {shape:?}"));
        let index = shape.index(slot);
        if index_only {
            let _ = write!(out, "{index}");
        } else {
            let _ = write!(out, "value->>{index}");
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Writes a row's slots in their declared order (checked in debug builds).
pub struct RowWriter<'o> {
    out: &'o mut String,
    shape: &'static Shape,
    next: usize,
}

impl RowWriter<'_> {
    fn slot(&mut self, slot: &str) {
        debug_assert_eq!(
            self.shape.slots.get(self.next).copied(),
            Some(slot),
            "row {} written out of its declared order",
            self.shape.name
        );
        if self.next > 0 {
            self.out.push(',');
        }
        self.next += 1;
    }

    pub fn int(&mut self, slot: &str, n: i64) -> &mut Self {
        self.slot(slot);
        let _ = write!(self.out, "{n}");
        self
    }

    pub fn project_id(&mut self, slot: &str, id: ProjectId) -> &mut Self {
        self.int(slot, id.get())
    }

    pub fn issue_id(&mut self, slot: &str, id: IssueId) -> &mut Self {
        self.int(slot, id.get())
    }

    pub fn count(&mut self, slot: &str, n: u64) -> &mut Self {
        self.slot(slot);
        let _ = write!(self.out, "{n}");
        self
    }

    pub fn text(&mut self, slot: &str, s: &str) -> &mut Self {
        self.slot(slot);
        push_text(self.out, s);
        self
    }

    /// A text, or `null`.
    pub fn opt(&mut self, slot: &str, s: Option<&str>) -> &mut Self {
        self.slot(slot);
        match s {
            Some(s) => push_text(self.out, s),
            None => self.out.push_str("null"),
        }
        self
    }

    pub fn event_id(&mut self, slot: &str, id: EventId) -> &mut Self {
        self.slot(slot);
        let _ = write!(self.out, "\"{id}\"");
        self
    }

    /// A value that is JSON already (a list of rows written with their own shape).
    pub fn json(&mut self, slot: &str, json: &str) -> &mut Self {
        self.slot(slot);
        self.out.push_str(json);
        self
    }

    /// Splices in a fragment written ahead with `part`'s slots (see [`Shape::fragment`]),
    /// which must be this row's next slots.
    pub fn splice(&mut self, part: &'static Shape, fragment: &str) -> &mut Self {
        debug_assert!(
            self.shape.slots[self.next..].starts_with(part.slots),
            "{} does not continue row {} at slot {}",
            part.name,
            self.shape.name,
            self.next
        );
        if self.next == 0 {
            // Fragments start with a comma; a row's first slot has none.
            self.out
                .push_str(fragment.strip_prefix(',').unwrap_or(fragment));
        } else {
            self.out.push_str(fragment);
        }
        self.next += part.slots.len();
        self
    }

    /// Ends a whole row (every slot written).
    pub fn end(&mut self) {
        debug_assert_eq!(
            self.next,
            self.shape.slots.len(),
            "row {} ended before its slot {:?}",
            self.shape.name,
            self.shape.slots.get(self.next)
        );
        self.out.push(']');
    }
}

/// Appends `s` as a JSON string literal: quotes, backslashes and control characters escaped.
pub fn push_text(out: &mut String, s: &str) {
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

/// `[row,row,…]`, each row written by `write` straight into the list.
pub fn json_list<T>(
    items: impl Iterator<Item = T>,
    mut write: impl FnMut(&mut String, T),
) -> String {
    let mut out = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(&mut out, item);
    }
    out.push(']');
    out
}

/// A hash of an event's tags, computed in its request handler, off the writer's thread (events
/// of an issue with the same tags count as one set in `super::pending_tags`).
pub fn tag_set_key(tags: &[(String, String)]) -> u64 {
    let mut hasher = DefaultHasher::new();
    tags.hash(&mut hasher);
    hasher.finish()
}

/// An event ready for the writer.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub project_id: ProjectId,
    pub event_id: EventId,
    /// Grouping hashes in priority order; the first one already linked to an issue wins.
    pub hashes: Vec<String>,
    pub title: String,
    pub culprit: String,
    /// `error` or `default`.
    pub issue_type: String,
    pub level: String,
    pub platform: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub user_key: Option<String>,
    /// `contexts.trace.trace_id`, 32 lowercase hex digits: finds the errors of a trace (a
    /// cron run's, a log line's).
    pub trace_id: Option<String>,
    /// Event time and receive time, unix ms.
    pub timestamp: i64,
    pub received: i64,
    pub tags: Vec<(String, String)>,
    /// JSON object: type, value, filename, function of the main exception.
    pub metadata: String,
    /// The normalized event as JSON, zstd-compressed.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub project_id: ProjectId,
    pub event_id: EventId,
    pub filename: String,
    pub content_type: Option<String>,
    pub attachment_type: String,
    pub data: Vec<u8>,
    pub received: i64,
}

#[derive(Debug, Clone)]
pub struct UserReportRow {
    pub project_id: ProjectId,
    pub event_id: Option<EventId>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub comments: String,
    pub received: i64,
}

/// Everything one envelope asks to store; committed atomically, acknowledged after COMMIT.
#[derive(Debug, Default)]
pub struct WriteJob {
    pub event: Option<EncodedEvent>,
    pub attachments: Vec<AttachmentRow>,
    pub user_reports: Vec<UserReportRow>,
    pub log_blocks: Vec<crate::logs::block::NewBlock>,
}

impl WriteJob {
    pub fn is_empty(&self) -> bool {
        self.event.is_none()
            && self.attachments.is_empty()
            && self.user_reports.is_empty()
            && self.log_blocks.is_empty()
    }
}

/// An event row with its JSON fragments serialized ahead of time, in the request handler (in
/// parallel), so that the single writer only splices in the issue id.
#[derive(Debug)]
pub struct EncodedEvent {
    row: EventRow,
    /// [`EVENT_FIELDS`]: `,timestamp,received,"level",…,"title"`
    pub(super) fields: String,
    /// [`LATEST`]: `,"title","culprit","level",release,"metadata"`
    pub(super) latest: String,
    /// `[["key","value"],…]` ([`TAG_PAIR`]s)
    pub(super) tags_json: String,
    /// See [`tag_set_key`].
    pub(super) tag_set_key: u64,
}

impl EncodedEvent {
    pub fn new(row: EventRow) -> EncodedEvent {
        let mut fields = String::with_capacity(96 + row.title.len());
        EVENT_FIELDS
            .fragment(&mut fields)
            .int("timestamp", row.timestamp)
            .int("received", row.received)
            .text("level", &row.level)
            .text("platform", &row.platform)
            .opt("release", row.release.as_deref())
            .opt("environment", row.environment.as_deref())
            .opt("user_key", row.user_key.as_deref())
            .opt("trace_id", row.trace_id.as_deref())
            .text("title", &row.title);
        let mut latest = String::with_capacity(
            32 + row.title.len() + row.culprit.len() + row.metadata.len() * 5 / 4,
        );
        LATEST
            .fragment(&mut latest)
            .text("title", &row.title)
            .text("culprit", &row.culprit)
            .text("level", &row.level)
            .opt("latest_release", row.release.as_deref())
            .text("metadata", &row.metadata);
        let tags_json = json_list(row.tags.iter(), |out, (key, value)| {
            TAG_PAIR
                .row(out)
                .text("key", key)
                .text("value", value)
                .end();
        });
        let tag_set_key = tag_set_key(&row.tags);
        EncodedEvent {
            row,
            fields,
            latest,
            tags_json,
            tag_set_key,
        }
    }

    pub fn row(&self) -> &EventRow {
        &self.row
    }
}

impl std::ops::Deref for EncodedEvent {
    type Target = EventRow;
    fn deref(&self) -> &EventRow {
        &self.row
    }
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
    }

    #[test]
    fn slots_render_as_their_positions() {
        assert_eq!(
            render(
                "SELECT {events.release}, substr(b, {events.data_offset}) WHERE x = {#tags.tags}",
                &[&EVENT, &TAGS]
            ),
            "SELECT value->>7, substr(b, value->>12) WHERE x = 2"
        );
    }

    #[test]
    #[should_panic(expected = "has no slot")]
    fn a_slot_the_shape_lacks_is_refused() {
        render("{events.relase}", &[&EVENT]);
    }

    #[test]
    fn spliced_fragments_keep_every_slot_in_place() {
        let mut fields = String::new();
        EVENT_FIELDS
            .fragment(&mut fields)
            .int("timestamp", 1)
            .int("received", 2)
            .text("level", "error")
            .text("platform", "python")
            .opt("release", Some("1.0"))
            .opt("environment", None)
            .opt("user_key", None)
            .opt("trace_id", Some("4c79f60c11214eb38604f4ae0781bfb2"))
            .text("title", "T");
        let mut out = String::new();
        EVENT
            .row(&mut out)
            .int("project_id", 3)
            .event_id(
                "event_id",
                EventId::parse("ec6546149c9d4ad3a1e0f0b1c2d3e4f5").unwrap(),
            )
            .int("issue_id", 9)
            .splice(&EVENT_FIELDS, &fields)
            .int("data_offset", 1)
            .int("data_length", 4)
            .end();
        let row: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(row[EVENT.index("release")], "1.0");
        assert_eq!(row[EVENT.index("environment")], serde_json::Value::Null);
        assert_eq!(
            row[EVENT.index("trace_id")],
            "4c79f60c11214eb38604f4ae0781bfb2"
        );
        assert_eq!(row[EVENT.index("data_length")], 4);
        assert_eq!(row.as_array().unwrap().len(), EVENT.slots.len());
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "out of its declared order")]
    fn writing_a_slot_out_of_order_is_caught() {
        let mut out = String::new();
        USER_REPORT
            .row(&mut out)
            .int("project_id", 1)
            .opt("name", None);
    }
}
