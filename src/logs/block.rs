//! How lines are stored: the lines of one log item as one block, a zstd frame of compact JSON,
//! with the words a search finds it by.
//!
//! ```text
//! block  = zstd({"sets":[[["logger.name","shop.orders"],["sentry.release","shop@1.2"],…],…],
//!                "traces":["93d0ebb7bc3a42ac89c32b74c241b06a",…],
//!                "lines":[{"t":1796359608304155000,"l":2,"s":9,"r":0,"p":"a5e7f50d2529e13c",
//!                          "b":"loading order 42 for user alice","a":0,
//!                          "v":[["sentry.message.parameter.0",42]]},…]})
//! words  = "loading order 42 for user alice … t93d0ebb7… a3f1c09e4d2b7a61 …"
//! ```
//! A line's attributes that repeat from line to line (SDK, runtime, server, release, logger,
//! call site: some twenty for a Python `logging` record) are kept once per block as a set;
//! what varies (message parameters, Node's sequence) stays with the line. zstd does the rest:
//! about 50 bytes a line for envelopes of 100 (see the README's benchmark).
//!
//! A block is found through its words ([`Words`]): the body's words (lowercase, letters and
//! digits), `t` + each trace id, and `a` + a hash of each scalar attribute (`key`, `value`);
//! SQLite indexes them with FTS5, PostgreSQL with a GIN over a tsvector. A search narrows to
//! the blocks that have all its words, then reads their lines and keeps those that match
//! ([`super::query`]).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::item::{AttrValue, Level, LogLine};
use crate::store::ProjectId;

/// Most lines in a block: an SDK's envelope (Python sends up to 1,000 lines in one).
pub const MAX_LINES: usize = 1000;
/// The longest word indexed, in characters (longer ones are cut: still found by prefix).
const MAX_WORD_CHARS: usize = 40;
/// The most bytes of index words one block may have: PostgreSQL's tsvector holds at most
/// 1 MB, and a block of a thousand lines of unique words would pass it. A block whose words
/// pass this is split in two (see [`encode_all`]).
const MAX_WORDS_BYTES: usize = 256 * 1024;
/// The zstd level: level 3 takes a block of 100 Python lines to about a third of level −1's
/// size, for 20 µs more.
const LEVEL: i32 = 3;
/// The largest block a frame may decompress to (bounds what a corrupt header could ask for).
const MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;

/// Attributes that vary from line to line: kept with the line, not in its set.
fn varies(key: &str) -> bool {
    key.starts_with("sentry.message.parameter.") || key == "sentry.timestamp.sequence"
}

/// A block ready for the writer.
#[derive(Debug, Clone)]
pub struct NewBlock {
    pub project_id: ProjectId,
    /// Earliest and latest line, nanoseconds since the Unix epoch.
    pub first_ns: i64,
    pub last_ns: i64,
    pub lines: u32,
    /// A bit per level the block holds ([`level_bit`]).
    pub levels: u8,
    /// The lines' size as Relay bills them (body and attributes), for usage.
    pub bytes: u64,
    /// The zstd frame.
    pub data: Vec<u8>,
    /// The words it is found by, space-separated.
    pub words: String,
    /// When it arrived, milliseconds since the Unix epoch.
    pub received_ms: i64,
}

/// The bit of `level` in a block's level mask.
pub fn level_bit(level: Level) -> u8 {
    1 << level as u8
}

/// The mask of every level at or above `level`.
pub fn levels_from(level: Level) -> u8 {
    Level::ALL
        .iter()
        .filter(|l| **l >= level)
        .fold(0, |m, l| m | level_bit(*l))
}

/// A block as stored. Reading borrows what it can from the decompressed JSON: a search tests
/// every line of the blocks it reads, and copies out only those it keeps.
#[derive(Serialize, Deserialize)]
struct Encoded<'a> {
    #[serde(borrow)]
    sets: Vec<Vec<(Cow<'a, str>, AttrValue)>>,
    #[serde(borrow)]
    traces: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    lines: Vec<EncodedLine<'a>>,
}

#[derive(Serialize, Deserialize)]
struct EncodedLine<'a> {
    /// Nanoseconds since the Unix epoch.
    t: i64,
    /// [`Level`] as its index.
    l: u8,
    s: u8,
    /// Index into `traces`.
    r: u32,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    p: Option<Cow<'a, str>>,
    #[serde(borrow)]
    b: Cow<'a, str>,
    /// Index into `sets`.
    a: u32,
    #[serde(default, borrow, skip_serializing_if = "Vec::is_empty")]
    v: Vec<(Cow<'a, str>, AttrValue)>,
}

/// A line still in its decoded block.
struct Borrowed<'b, 'a> {
    project_id: ProjectId,
    line: &'b EncodedLine<'a>,
    set: &'b [(Cow<'a, str>, AttrValue)],
    trace_id: &'b str,
    level: Level,
    id: LineId,
}

impl LineFields for Borrowed<'_, '_> {
    fn timestamp_ns(&self) -> i64 {
        self.line.t
    }
    fn level(&self) -> Level {
        self.level
    }
    fn trace_id(&self) -> &str {
        self.trace_id
    }
    fn body(&self) -> &str {
        &self.line.b
    }
    fn attribute(&self, key: &str) -> Option<&AttrValue> {
        self.line
            .v
            .iter()
            .chain(self.set)
            .find_map(|(k, v)| (k == key).then_some(v))
    }
    fn id(&self) -> LineId {
        self.id
    }
    fn project_id(&self) -> ProjectId {
        self.project_id
    }
    fn severity_number(&self) -> u8 {
        self.line.s
    }
    fn span_id(&self) -> Option<&str> {
        self.line.p.as_deref()
    }
    fn payload_size(&self) -> u64 {
        let attributes = self.line.v.iter().chain(self.set);
        size_of(&self.line.b, attributes.map(|(k, v)| (k.as_ref(), v)))
    }
}

/// What a search tests of a line, whether read whole ([`StoredLine`]) or still in its block
/// ([`decode_matching`] tests lines before it copies them out).
pub trait LineFields {
    fn timestamp_ns(&self) -> i64;
    fn level(&self) -> Level;
    fn trace_id(&self) -> &str;
    fn body(&self) -> &str;
    fn attribute(&self, key: &str) -> Option<&AttrValue>;
    fn id(&self) -> LineId;
    fn project_id(&self) -> ProjectId;
    fn severity_number(&self) -> u8;
    fn span_id(&self) -> Option<&str>;
    /// Its size as Relay bills it ([`billed_size`]).
    fn payload_size(&self) -> u64;
}

/// A stored line, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLine {
    pub id: LineId,
    pub project_id: ProjectId,
    pub timestamp_ns: i64,
    pub level: Level,
    pub severity_number: u8,
    pub trace_id: String,
    pub span_id: Option<String>,
    pub body: String,
    /// Sorted by key.
    pub attributes: Vec<(String, AttrValue)>,
}

impl StoredLine {
    /// A string attribute's value.
    pub fn attribute_str(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find_map(|(k, v)| match v {
            AttrValue::String(s) if k == key => Some(s.as_str()),
            _ => None,
        })
    }

    pub fn attribute(&self, key: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

impl LineFields for StoredLine {
    fn timestamp_ns(&self) -> i64 {
        self.timestamp_ns
    }
    fn level(&self) -> Level {
        self.level
    }
    fn trace_id(&self) -> &str {
        &self.trace_id
    }
    fn body(&self) -> &str {
        &self.body
    }
    fn attribute(&self, key: &str) -> Option<&AttrValue> {
        StoredLine::attribute(self, key)
    }
    fn id(&self) -> LineId {
        self.id
    }
    fn project_id(&self) -> ProjectId {
        self.project_id
    }
    fn severity_number(&self) -> u8 {
        self.severity_number
    }
    fn span_id(&self) -> Option<&str> {
        self.span_id.as_deref()
    }
    fn payload_size(&self) -> u64 {
        let attributes = self.attributes.iter();
        size_of(&self.body, attributes.map(|(k, v)| (k.as_str(), v)))
    }
}

/// Where a line is stored: its block and place in it, with its millisecond, so that the id
/// reads as a UUIDv7 of the line's time (as Sentry's `sentry.item_id`):
/// `{ms:012x}7{index:03x}{block:016x}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineId {
    pub block: i64,
    pub index: u16,
    pub ms: i64,
}

impl LineId {
    pub fn hex(&self) -> String {
        format!(
            "{:012x}7{:03x}{:016x}",
            self.ms.clamp(0, 0xffff_ffff_ffff),
            self.index & 0xfff,
            self.block as u64
        )
    }

    /// The id of [`LineId::hex`] (32 hex digits, hyphens allowed).
    pub fn parse(hex: &str) -> Option<LineId> {
        let hex: String = hex.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 || !hex.is_ascii() || &hex[12..13] != "7" {
            return None;
        }
        Some(LineId {
            ms: i64::from_str_radix(&hex[..12], 16).ok()?,
            index: u16::from_str_radix(&hex[13..16], 16).ok()?,
            block: u64::from_str_radix(&hex[16..], 16).ok()? as i64,
        })
    }
}

/// A line's time in nanoseconds: Node's `sentry.timestamp.sequence` orders the lines of one
/// millisecond (as Relay shifts them).
fn timestamp_ns(line: &LogLine) -> i64 {
    let sequence = line.attributes.iter().find_map(|(k, v)| match v {
        AttrValue::Integer(n) if k == "sentry.timestamp.sequence" => Some(*n),
        _ => None,
    });
    line.timestamp_us
        .saturating_mul(1000)
        .saturating_add(sequence.unwrap_or(0).clamp(0, 999))
}

/// Relay's size of a line: body bytes plus each attribute's key and value (strings by their
/// bytes, numbers 8, booleans 1).
pub fn billed_size(line: &LogLine) -> u64 {
    size_of(
        &line.body,
        line.attributes.iter().map(|(k, v)| (k.as_str(), v)),
    )
}

fn size_of<'a>(body: &str, attributes: impl Iterator<Item = (&'a str, &'a AttrValue)>) -> u64 {
    fn value_size(v: &AttrValue) -> usize {
        match v {
            AttrValue::String(s) => s.len(),
            AttrValue::Integer(_) | AttrValue::Double(_) => 8,
            AttrValue::Boolean(_) => 1,
            AttrValue::Array(items) => items.iter().map(value_size).sum(),
        }
    }
    let attributes: usize = attributes.map(|(k, v)| k.len() + value_size(v)).sum();
    (body.len() + attributes) as u64
}

/// The value of a scalar attribute as a search compares it (`true`, `42`, `0.5`, the string).
pub fn attribute_text(value: &AttrValue) -> Option<String> {
    Some(match value {
        AttrValue::String(s) => s.clone(),
        AttrValue::Integer(n) => n.to_string(),
        AttrValue::Double(d) => d.to_string(),
        AttrValue::Boolean(b) => b.to_string(),
        AttrValue::Array(_) => return None,
    })
}

/// The word an attribute's `key:value` is indexed as.
pub fn attribute_word(key: &str, value: &str) -> String {
    let digest = Md5::new()
        .chain_update(key)
        .chain_update([0])
        .chain_update(value)
        .finalize();
    format!("a{}", hex::encode(&digest[..8]))
}

/// The word a trace id is indexed as.
pub fn trace_word(trace_id: &str) -> String {
    format!("t{trace_id}")
}

/// The words of a text as the index keeps them: runs of letters and digits, lowercase, cut
/// at [`MAX_WORD_CHARS`].
pub fn text_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .take(MAX_WORD_CHARS)
                .collect::<String>()
                .to_lowercase()
        })
}

/// Packs the lines of one item into blocks of at most [`MAX_LINES`] lines, each with at most
/// [`MAX_WORDS_BYTES`] of words (a block with more is split in halves until it fits).
pub fn encode_all(project_id: ProjectId, lines: &[LogLine], received_ms: i64) -> Vec<NewBlock> {
    let mut blocks = Vec::new();
    let mut pending: Vec<&[LogLine]> = lines.chunks(MAX_LINES).rev().collect();
    while let Some(lines) = pending.pop() {
        let block = encode(project_id, lines, received_ms);
        if block.words.len() > MAX_WORDS_BYTES && lines.len() > 1 {
            let (first, second) = lines.split_at(lines.len() / 2);
            pending.push(second);
            pending.push(first);
        } else {
            blocks.push(block);
        }
    }
    blocks
}

/// Packs lines into a block. `lines` is not empty and at most [`MAX_LINES`].
fn encode(project_id: ProjectId, lines: &[LogLine], received_ms: i64) -> NewBlock {
    let mut sets: Vec<Vec<(Cow<str>, AttrValue)>> = Vec::new();
    let mut set_index: HashMap<String, u32> = HashMap::new();
    let mut traces: Vec<Cow<str>> = Vec::new();
    let mut words: BTreeSet<String> = BTreeSet::new();
    let mut encoded = Vec::with_capacity(lines.len());
    let (mut first_ns, mut last_ns, mut levels, mut bytes) = (i64::MAX, i64::MIN, 0u8, 0u64);
    for line in lines {
        let t = timestamp_ns(line);
        first_ns = first_ns.min(t);
        last_ns = last_ns.max(t);
        levels |= level_bit(line.level);
        bytes += billed_size(line);
        let r = match traces.iter().position(|id| *id == line.trace_id) {
            Some(i) => i,
            None => {
                words.insert(trace_word(&line.trace_id));
                traces.push(Cow::Borrowed(&line.trace_id));
                traces.len() - 1
            }
        };
        words.extend(text_words(&line.body));
        let (mut shared, mut own): (Vec<_>, Vec<_>) = line
            .attributes
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), v.clone()))
            .partition(|(k, _)| !varies(k));
        shared.sort_by(|a, b| a.0.cmp(&b.0));
        own.sort_by(|a, b| a.0.cmp(&b.0));
        let mut index_attributes = |attributes: &[(Cow<str>, AttrValue)]| {
            for (key, value) in attributes {
                if let Some(text) = attribute_text(value) {
                    words.insert(attribute_word(key, &text));
                }
            }
        };
        index_attributes(&own);
        // A set's words are those of its first line (a block holds a few sets, each many lines).
        let set_key = serde_json::to_string(&shared).unwrap_or_default();
        let a = match set_index.get(&set_key) {
            Some(a) => *a,
            None => {
                index_attributes(&shared);
                sets.push(shared);
                set_index.insert(set_key, sets.len() as u32 - 1);
                sets.len() as u32 - 1
            }
        };
        encoded.push(EncodedLine {
            t,
            l: line.level as u8,
            s: line.severity_number,
            r: r as u32,
            p: line.span_id.as_deref().map(Cow::Borrowed),
            b: Cow::Borrowed(&line.body),
            a,
            v: own,
        });
    }
    let json = serde_json::to_vec(&Encoded {
        sets,
        traces,
        lines: encoded,
    })
    .expect("a block serializes");
    let data = zstd::bulk::compress(&json, LEVEL).expect("zstd compresses in memory");
    let words = words.into_iter().collect::<Vec<_>>().join(" ");
    NewBlock {
        project_id,
        first_ns,
        last_ns,
        lines: lines.len() as u32,
        levels,
        bytes,
        data,
        words,
        received_ms,
    }
}

/// The index words of a stored block, as [`encode`] made them (`snag migrate` rebuilds
/// PostgreSQL's index from SQLite's blocks: SQLite's FTS5 keeps no text to copy).
pub fn words_of(block: i64, data: &[u8]) -> Result<String, CorruptBlock> {
    let mut words = BTreeSet::new();
    for line in decode(block, ProjectId(0), data)? {
        words.insert(trace_word(&line.trace_id));
        words.extend(text_words(&line.body));
        for (key, value) in &line.attributes {
            if let Some(text) = attribute_text(value) {
                words.insert(attribute_word(key, &text));
            }
        }
    }
    Ok(words.into_iter().collect::<Vec<_>>().join(" "))
}

/// Why a stored block could not be read (the server's fault).
#[derive(Debug, thiserror::Error)]
#[error("log block {block}: {reason}")]
pub struct CorruptBlock {
    pub block: i64,
    pub reason: String,
}

/// Reads a stored block's lines back, in stored order.
pub fn decode(
    block: i64,
    project_id: ProjectId,
    data: &[u8],
) -> Result<Vec<StoredLine>, CorruptBlock> {
    decode_matching(block, project_id, data, |_| true)
}

/// Reads back the lines of a stored block that `keep` keeps, in stored order; the others are
/// tested where they lie and never copied.
pub fn decode_matching(
    block: i64,
    project_id: ProjectId,
    data: &[u8],
    mut keep: impl FnMut(&dyn LineFields) -> bool,
) -> Result<Vec<StoredLine>, CorruptBlock> {
    let corrupt = |reason: String| CorruptBlock { block, reason };
    let json =
        zstd::bulk::decompress(data, MAX_DECODED_BYTES).map_err(|e| corrupt(e.to_string()))?;
    let encoded: Encoded = serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))?;
    let mut kept = Vec::new();
    for (index, line) in encoded.lines.iter().enumerate() {
        let set = encoded
            .sets
            .get(line.a as usize)
            .ok_or_else(|| corrupt(format!("line {index} names a missing set")))?;
        let trace_id = encoded
            .traces
            .get(line.r as usize)
            .ok_or_else(|| corrupt(format!("line {index} names a missing trace")))?;
        let level = Level::ALL
            .get(usize::from(line.l))
            .copied()
            .ok_or_else(|| corrupt(format!("line {index} has level {}", line.l)))?;
        let borrowed = Borrowed {
            project_id,
            line,
            set,
            trace_id,
            level,
            id: LineId {
                block,
                index: index as u16,
                ms: line.t.div_euclid(1_000_000),
            },
        };
        if !keep(&borrowed) {
            continue;
        }
        let mut attributes: Vec<(String, AttrValue)> = set
            .iter()
            .chain(&line.v)
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        attributes.sort_by(|a, b| a.0.cmp(&b.0));
        kept.push(StoredLine {
            id: borrowed.id,
            project_id,
            timestamp_ns: line.t,
            level,
            severity_number: line.s,
            trace_id: trace_id.to_string(),
            span_id: line.p.as_deref().map(str::to_owned),
            body: line.b.to_string(),
            attributes,
        });
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(body: &str, level: Level, attributes: Vec<(&str, AttrValue)>) -> LogLine {
        LogLine {
            timestamp_us: 1_796_359_608_304_155,
            trace_id: "93d0ebb7bc3a42ac89c32b74c241b06a".into(),
            span_id: Some("a5e7f50d2529e13c".into()),
            level,
            severity_number: level.severity_number(),
            body: body.into(),
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    }

    #[test]
    fn a_block_reads_back_its_lines_with_their_attributes() {
        let s = |v: &str| AttrValue::String(v.into());
        let lines = vec![
            line(
                "loading order 42",
                Level::Info,
                vec![
                    ("logger.name", s("shop.orders")),
                    ("sentry.message.parameter.0", AttrValue::Integer(42)),
                ],
            ),
            line(
                "order 42 failed: card_declined",
                Level::Error,
                vec![
                    ("logger.name", s("shop.orders")),
                    ("sentry.message.parameter.0", AttrValue::Integer(43)),
                    ("ratio", AttrValue::Double(0.5)),
                    ("tags", AttrValue::Array(vec![s("a"), s("b")])),
                ],
            ),
        ];
        let block = encode(ProjectId(3), &lines, 1_796_359_609_000);
        assert_eq!(block.lines, 2);
        assert_eq!(
            block.levels,
            level_bit(Level::Info) | level_bit(Level::Error)
        );
        assert_eq!(block.first_ns, 1_796_359_608_304_155_000);
        let read = decode(9, ProjectId(3), &block.data).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].body, "order 42 failed: card_declined");
        assert_eq!(read[1].level, Level::Error);
        assert_eq!(read[1].span_id.as_deref(), Some("a5e7f50d2529e13c"));
        let keys: Vec<&str> = read[1].attributes.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["logger.name", "ratio", "sentry.message.parameter.0", "tags"]
        );
        assert_eq!(
            read[0].attribute("sentry.message.parameter.0"),
            Some(&AttrValue::Integer(42))
        );
        assert_eq!(read[1].attribute("ratio"), Some(&AttrValue::Double(0.5)));
        let words: Vec<&str> = block.words.split(' ').collect();
        for word in [
            "card",
            "declined",
            "failed",
            "42",
            "t93d0ebb7bc3a42ac89c32b74c241b06a",
        ] {
            assert!(words.contains(&word), "{word} in {words:?}");
        }
        assert!(words.contains(&attribute_word("logger.name", "shop.orders").as_str()));
        assert!(words.contains(&attribute_word("sentry.message.parameter.0", "43").as_str()));
    }

    #[test]
    fn lines_of_many_distinct_words_are_split_into_blocks_whose_words_fit() {
        let lines: Vec<LogLine> = (0..1000)
            .map(|n| {
                let body: Vec<String> = (0..100).map(|w| format!("w{n}x{w}")).collect();
                line(&body.join(" "), Level::Info, vec![])
            })
            .collect();
        let blocks = encode_all(ProjectId(1), &lines, 0);
        assert!(
            blocks.len() > 1,
            "one block of {} KB of words",
            blocks[0].words.len() / 1024
        );
        assert!(blocks.iter().all(|b| b.words.len() <= MAX_WORDS_BYTES));
        assert_eq!(blocks.iter().map(|b| b.lines).sum::<u32>(), 1000);
        // In order: the first block starts with the first line.
        let first = decode(1, ProjectId(1), &blocks[0].data).unwrap();
        assert!(first[0].body.starts_with("w0x0 "));
        // And an item of 2,500 plain lines makes three blocks.
        let plain: Vec<LogLine> = (0..2500).map(|_| line("ok", Level::Info, vec![])).collect();
        let lines_per_block: Vec<u32> = encode_all(ProjectId(1), &plain, 0)
            .iter()
            .map(|b| b.lines)
            .collect();
        assert_eq!(lines_per_block, [1000, 1000, 500]);
    }

    #[test]
    fn a_stored_block_gives_back_the_words_it_was_indexed_by() {
        let s = |v: &str| AttrValue::String(v.into());
        let lines = vec![
            line(
                "order 42 paid",
                Level::Info,
                vec![("logger.name", s("shop"))],
            ),
            line(
                "order 43 failed",
                Level::Error,
                vec![
                    ("logger.name", s("shop")),
                    ("sentry.message.parameter.0", AttrValue::Integer(43)),
                ],
            ),
        ];
        let block = encode(ProjectId(2), &lines, 0);
        assert_eq!(words_of(5, &block.data).unwrap(), block.words);
    }

    #[test]
    fn line_ids_read_as_uuid7_and_parse_back() {
        let id = LineId {
            block: 77,
            index: 5,
            ms: 1_796_359_608_304,
        };
        let hex = id.hex();
        assert_eq!(hex.len(), 32);
        assert_eq!(&hex[12..13], "7");
        assert_eq!(LineId::parse(&hex), Some(id));
        assert_eq!(LineId::parse("not an id"), None);
    }

    #[test]
    fn node_sequences_order_the_lines_of_one_millisecond() {
        let mut a = line("a", Level::Info, vec![]);
        a.attributes
            .push(("sentry.timestamp.sequence".into(), AttrValue::Integer(1)));
        assert_eq!(timestamp_ns(&a), 1_796_359_608_304_155_001);
    }

    #[test]
    fn levels_from_a_level_take_it_and_the_worse_ones() {
        assert_eq!(
            levels_from(Level::Warn),
            level_bit(Level::Warn) | level_bit(Level::Error) | level_bit(Level::Fatal)
        );
    }

    #[test]
    fn a_corrupt_block_is_an_error_not_a_panic() {
        assert!(decode(1, ProjectId(1), b"garbage").is_err());
    }
}
