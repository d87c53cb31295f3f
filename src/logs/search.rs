//! Finding lines: blocks from the store a page at a time (newest first unless asked), their
//! lines decoded and tested against the query, until a page of lines is certain.
//!
//! ```text
//! blocks by last_ns DESC ─▶ decode ─▶ query.matches ─▶ lines, newest first
//!   stop when `limit` lines are at or after the last block's last_ns (no later block can
//!   hold a newer line), when no block is left, or after SCAN_LIMIT lines (partial answer)
//! ```

use super::block::{self, LineFields, LineId, StoredLine};
use super::query::LogQuery;
use crate::store::logs::{BlockCursor, BlockFilter, StoredBlock};
use crate::store::{ProjectId, Store, StoreError};

/// Lines read at most for one answer: a search for a rare word in a month of lines answers
/// with what it found, flagged partial, instead of reading every line (about a second).
pub const SCAN_LIMIT: usize = 500_000;
/// Blocks read per trip to the store.
const BLOCKS_PER_PAGE: usize = 16;

/// A search: the lines of `projects` in a time range that match `query`.
#[derive(Debug, Clone)]
pub struct Search {
    pub projects: Vec<ProjectId>,
    pub since_ns: i64,
    pub until_ns: i64,
    pub query: LogQuery,
    pub newest_first: bool,
    pub limit: usize,
    /// Lines strictly after this one, in the search's order (a page's last line).
    pub after: Option<(i64, LineId)>,
    /// Only lines that arrived after this block, and up to that one (live pages).
    pub after_block: Option<i64>,
    pub until_block: Option<i64>,
}

/// What a search found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub lines: Vec<StoredLine>,
    /// Lines read.
    pub scanned: usize,
    /// Whether every line of the range was considered (false after [`SCAN_LIMIT`]).
    pub complete: bool,
}

/// The position of a line in time order (ties in time by id).
fn position(line: &StoredLine) -> (i64, LineId) {
    (line.timestamp_ns, line.id)
}

impl Search {
    fn wants(&self, line: &dyn LineFields) -> bool {
        let at = line.timestamp_ns();
        if at < self.since_ns || at > self.until_ns {
            return false;
        }
        if let Some(after) = self.after {
            let position = (at, line.id());
            let before_in_order = if self.newest_first {
                position >= after
            } else {
                position <= after
            };
            if before_in_order {
                return false;
            }
        }
        self.query.matches(line)
    }

    fn sort(&self, lines: &mut [StoredLine]) {
        if self.newest_first {
            lines.sort_by_key(|l| std::cmp::Reverse(position(l)));
        } else {
            lines.sort_by_key(position);
        }
    }
}

/// Tests every line of `blocks` where it lies; hands those `search` wants to `keep` (which
/// copies them out, or not); how many lines were read.
fn read_blocks(
    search: &Search,
    blocks: &[StoredBlock],
    mut keep: impl FnMut(&dyn LineFields) -> bool,
) -> Result<(Vec<StoredLine>, usize), StoreError> {
    let mut kept = Vec::new();
    let mut read = 0;
    for b in blocks {
        let lines = block::decode_matching(b.id, b.project_id, &b.data, |l| {
            read += 1;
            search.wants(l) && keep(l)
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        kept.extend(lines);
    }
    Ok((kept, read))
}

/// Reads the blocks of `search` a page at a time (a page is a millisecond or two of CPU, done
/// between the queries), handing each to `take` with where it ended, until `take` says stop
/// (its answer is then certain), no block is left or [`SCAN_LIMIT`] lines were read. `take`
/// answers how many lines it read and whether to stop. Returns the lines read, and whether
/// the answer is whole.
async fn scan(
    store: &Store,
    search: &Search,
    mut take: impl FnMut(&[StoredBlock], BlockCursor) -> Result<(usize, bool), StoreError>,
) -> Result<(usize, bool), StoreError> {
    if search.projects.is_empty() || search.query.levels == 0 || search.limit == 0 {
        return Ok((0, true));
    }
    let words = search.query.index_words();
    let (mut since_ns, mut until_ns) = (search.since_ns, search.until_ns);
    if let Some((at, _)) = search.after {
        if search.newest_first {
            until_ns = until_ns.min(at);
        } else {
            since_ns = since_ns.max(at);
        }
    }
    let filter = BlockFilter {
        projects: &search.projects,
        since_ns,
        until_ns,
        levels: search.query.levels,
        words: &words,
        newest_first: search.newest_first,
        blocks: (search.after_block, search.until_block),
    };
    let mut scanned = 0;
    let mut cursor: Option<BlockCursor> = None;
    loop {
        let blocks = store.log_blocks(&filter, cursor, BLOCKS_PER_PAGE).await?;
        let Some(last) = blocks.last() else {
            return Ok((scanned, true));
        };
        let next = last.cursor(search.newest_first);
        let (read, stop) = take(&blocks, next)?;
        scanned += read;
        if stop || blocks.len() < BLOCKS_PER_PAGE {
            return Ok((scanned, true));
        }
        if scanned >= SCAN_LIMIT {
            return Ok((scanned, false));
        }
        cursor = Some(next);
    }
}

/// Runs a search: its first `limit` lines in its order.
pub async fn search(store: &Store, search: &Search) -> Result<Found, StoreError> {
    let mut lines: Vec<StoredLine> = Vec::new();
    let (scanned, complete) = scan(store, search, |blocks, next| {
        let (page, read) = read_blocks(search, blocks, |_| true)?;
        lines.extend(page);
        search.sort(&mut lines);
        lines.truncate(search.limit);
        // Every later block holds lines at or before (after, oldest first) `next.at_ns`.
        let certain = lines.len() == search.limit
            && lines.last().is_some_and(|l| {
                if search.newest_first {
                    l.timestamp_ns >= next.at_ns
                } else {
                    l.timestamp_ns <= next.at_ns
                }
            });
        Ok((read, certain))
    })
    .await?;
    Ok(Found {
        lines,
        scanned,
        complete,
    })
}

/// Hands every line of `search` to `visit` where it lies, in no particular order (for
/// counts); returns the lines read and whether they were all of the range.
pub async fn visit(
    store: &Store,
    search: &Search,
    mut visit: impl FnMut(&dyn LineFields),
) -> Result<(usize, bool), StoreError> {
    scan(store, search, |blocks, _| {
        let (_, read) = read_blocks(search, blocks, |l| {
            visit(l);
            false
        })?;
        Ok((read, false))
    })
    .await
}

/// The lines of one trace in every project given, oldest first (at most `limit`).
pub async fn trace_lines(
    store: &Store,
    projects: &[ProjectId],
    trace_id: &str,
    limit: usize,
) -> Result<Found, StoreError> {
    let query = LogQuery {
        traces: vec![trace_id.to_owned()],
        ..LogQuery::default()
    };
    search(
        store,
        &Search {
            projects: projects.to_vec(),
            since_ns: i64::MIN,
            until_ns: i64::MAX,
            query,
            newest_first: false,
            limit,
            after: None,
            after_block: None,
            until_block: None,
        },
    )
    .await
}
