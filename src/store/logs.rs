//! Blocks of log lines (written by the batch writer, see `crate::logs::block`): found by
//! project, time, level and index words, newest (or oldest) first, a page of blocks at a time.
//!
//! ```text
//! SELECT id, project_id, first_ns, last_ns, data FROM log_blocks
//! WHERE project_id IN (…) AND last_ns >= since AND first_ns <= until AND levels & mask != 0
//!   AND id IN (SELECT rowid FROM log_search WHERE log_search MATCH '"card"* AND ("t93…" OR "t12…")')
//!                                      -- PostgreSQL: words @@ 'card:* & (t93… | t12…)'::tsquery
//!   AND (last_ns, id) < (cursor)       ORDER BY last_ns DESC, id DESC LIMIT n
//! ```

use sqlx::FromRow;

use super::sql::{self, Builder, Dialect};
use super::{ProjectId, Store, StoreError};
use crate::logs::query::{IndexQuery, Word};

/// Which blocks to read.
#[derive(Debug, Clone)]
pub struct BlockFilter<'a> {
    pub projects: &'a [ProjectId],
    /// Lines from `since_ns` to `until_ns`, inclusive.
    pub since_ns: i64,
    pub until_ns: i64,
    /// Blocks that hold one of these levels.
    pub levels: u8,
    pub words: &'a IndexQuery,
    pub newest_first: bool,
    /// Blocks with ids after the first and up to the second (arrival order), when given.
    pub blocks: (Option<i64>, Option<i64>),
}

/// Where a page of blocks ended: the next page starts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCursor {
    /// `last_ns` of the block newest first, `first_ns` oldest first.
    pub at_ns: i64,
    pub id: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct StoredBlock {
    pub id: i64,
    pub project_id: ProjectId,
    pub first_ns: i64,
    pub last_ns: i64,
    pub data: Vec<u8>,
}

impl StoredBlock {
    /// The cursor after this block, in the order it was read.
    pub fn cursor(&self, newest_first: bool) -> BlockCursor {
        BlockCursor {
            at_ns: if newest_first {
                self.last_ns
            } else {
                self.first_ns
            },
            id: self.id,
        }
    }
}

/// A block as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct OldBlock {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub received: i64,
    /// Stored (compressed) bytes.
    pub bytes: i64,
}

/// What the log store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct LogUsage {
    pub blocks: i64,
    pub lines: i64,
    /// Stored (compressed) bytes.
    pub bytes: i64,
}

/// FTS5's MATCH text, or a tsquery: every group, each one of its words.
fn match_text(dialect: Dialect, words: &IndexQuery) -> String {
    let (and, or) = match dialect {
        Dialect::Sqlite => (" AND ", " OR "),
        Dialect::Postgres => (" & ", " | "),
    };
    // Words are letters and digits only (`crate::logs::block::text_words`), never quotes.
    let word = |w: &Word| match (dialect, w.prefix) {
        (Dialect::Sqlite, true) => format!("\"{}\"*", w.text),
        (Dialect::Sqlite, false) => format!("\"{}\"", w.text),
        (Dialect::Postgres, true) => format!("'{}':*", w.text),
        (Dialect::Postgres, false) => format!("'{}'", w.text),
    };
    words
        .iter()
        .map(|group| {
            let any: Vec<String> = group.iter().map(word).collect();
            format!("({})", any.join(or))
        })
        .collect::<Vec<_>>()
        .join(and)
}

impl Store {
    /// Up to `limit` blocks that may hold lines of `filter`, after `cursor`.
    pub async fn log_blocks(
        &self,
        filter: &BlockFilter<'_>,
        cursor: Option<BlockCursor>,
        limit: usize,
    ) -> Result<Vec<StoredBlock>, StoreError> {
        let dialect = self.dialect();
        let mut q = Builder::new(
            "SELECT id, project_id, first_ns, last_ns, data FROM log_blocks WHERE project_id IN ",
        );
        q.push_list(filter.projects)
            .push(" AND last_ns >= ")
            .push_bind(filter.since_ns)
            .push(" AND first_ns <= ")
            .push_bind(filter.until_ns)
            .push(" AND (levels & ")
            .push_bind(i64::from(filter.levels))
            .push(") != 0");
        if !filter.words.is_empty() {
            let text = match_text(dialect, filter.words);
            match dialect {
                Dialect::Sqlite => q
                    .push(" AND id IN (SELECT rowid FROM log_search WHERE log_search MATCH ")
                    .push_bind(text)
                    .push(")"),
                Dialect::Postgres => q.push(" AND words @@ ").push_bind(text).push("::tsquery"),
            };
        }
        if let Some(after) = filter.blocks.0 {
            q.push(" AND id > ").push_bind(after);
        }
        if let Some(until) = filter.blocks.1 {
            q.push(" AND id <= ").push_bind(until);
        }
        let (column, before, order) = if filter.newest_first {
            ("last_ns", "<", "DESC")
        } else {
            ("first_ns", ">", "ASC")
        };
        if let Some(c) = cursor {
            q.push(format_args!(" AND ({column} {before} "))
                .push_bind(c.at_ns)
                .push(format_args!(" OR ({column} = "))
                .push_bind(c.at_ns)
                .push(format_args!(" AND id {before} "))
                .push_bind(c.id)
                .push("))");
        }
        q.push(format_args!(
            " ORDER BY {column} {order}, id {order} LIMIT "
        ))
        .push_bind(limit);
        Ok(q.build_query_as::<StoredBlock>()
            .fetch_all(&self.pool)
            .await?)
    }

    /// The id of the newest block (0 when there is none).
    pub async fn newest_log_block(&self) -> Result<i64, StoreError> {
        Ok(
            sql::query_scalar::<i64>("SELECT COALESCE(MAX(id), 0) FROM log_blocks")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The oldest blocks, oldest first, with when they were received and their stored size
    /// (ids grow with receipt).
    pub async fn oldest_log_blocks(&self, limit: u32) -> Result<Vec<OldBlock>, StoreError> {
        Ok(sql::query_as::<OldBlock>(
            "SELECT id, received, CAST(length(data) AS BIGINT) AS bytes FROM log_blocks
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many blocks, lines and stored bytes the log store holds.
    pub async fn log_usage(&self) -> Result<LogUsage, StoreError> {
        Ok(sql::query_as::<LogUsage>(
            "SELECT COUNT(*) AS blocks, CAST(COALESCE(SUM(lines), 0) AS BIGINT) AS lines,
                    CAST(COALESCE(SUM(length(data)), 0) AS BIGINT) AS bytes
             FROM log_blocks",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_words_become_each_databases_query() {
        let words: IndexQuery = vec![
            vec![Word {
                text: "card".into(),
                prefix: true,
            }],
            vec![
                Word {
                    text: "ta".into(),
                    prefix: false,
                },
                Word {
                    text: "tb".into(),
                    prefix: false,
                },
            ],
        ];
        assert_eq!(
            match_text(Dialect::Sqlite, &words),
            r#"("card"*) AND ("ta" OR "tb")"#
        );
        assert_eq!(
            match_text(Dialect::Postgres, &words),
            "('card':*) & ('ta' | 'tb')"
        );
    }
}
