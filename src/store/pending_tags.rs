//! The tag counts of the rows waiting in `issue_tags_pending`, kept by the writer beside them.
//!
//! Each batch appends one pending row per event (`[issue, timestamp, [["key","value"],…]]`, see
//! [`super::batch`]) and, once that commit succeeded, adds the same tags here. A fold then
//! upserts these totals, one row per (issue, key, value), sorted as `issue_tags` is:
//!
//! ```json
//! [[issue_id, "key", "value", count, first_seen, last_seen], …]
//! ```
//!
//! instead of having SQLite expand and sort every pending row again (a quarter second of
//! traffic is some 40,000 tag pairs: 25–50 ms of the single writer, during which nothing
//! else is committed). The pending rows stay the durable truth: a new writer loads their
//! totals before it folds them ([`PendingTags::load`]).
//!
//! The totals must mirror the rows. Nothing but the writer adds or removes pending rows, except
//! deleting an issue (its rows go by ON DELETE CASCADE), and the fold skips totals of issues
//! that no longer exist. Snag deletes no issues today; a feature that does must also keep the
//! writer from giving a deleted issue's id (new ids are `MAX(id) + 1`) to a new issue before
//! the next fold, or that issue would inherit the deleted one's tag totals.

use std::collections::BTreeMap;

use super::rows::{self, json_list, tag_set_key};
use super::{IssueId, StoreError};
use rusqlite::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TagTotal {
    count: u64,
    first_seen: i64,
    last_seen: i64,
}

impl TagTotal {
    fn add(&mut self, other: TagTotal) {
        self.count += other.count;
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

/// Events of one issue with the same tags, counted together: most of an issue's events carry
/// the same tags, and comparing a set costs less than a map lookup per tag.
#[derive(Debug)]
struct TagSet {
    tags: Vec<(String, String)>,
    total: TagTotal,
}

/// (issue, [`tag_set_key`]) → the tag sets with that key (one, but for hash collisions).
#[derive(Debug, Default)]
pub struct PendingTags(BTreeMap<(IssueId, u64), Vec<TagSet>>);

const LOAD: &str = "SELECT issue_id, timestamp, json(tags) FROM issue_tags_pending";

impl PendingTags {
    /// The totals of the pending rows in the database (left by an earlier writer).
    pub fn load(conn: &Connection) -> Result<PendingTags, StoreError> {
        let mut pending = PendingTags::default();
        let mut statement = conn.prepare(LOAD)?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let tags: String = row.get(2)?;
            let tags: Vec<(String, String)> = serde_json::from_str(&tags)
                .map_err(|e| StoreError::Corrupt(format!("unreadable pending tags: {e}")))?;
            pending.add(IssueId(row.get(0)?), row.get(1)?, tag_set_key(&tags), &tags);
        }
        Ok(pending)
    }

    /// Counts the tags of one event of `issue_id`; `key` is [`tag_set_key`] of `tags`.
    pub fn add(&mut self, issue_id: IssueId, timestamp: i64, key: u64, tags: &[(String, String)]) {
        if tags.is_empty() {
            return;
        }
        let total = TagTotal {
            count: 1,
            first_seen: timestamp,
            last_seen: timestamp,
        };
        let sets = self.0.entry((issue_id, key)).or_default();
        match sets.iter_mut().find(|set| set.tags == tags) {
            Some(set) => set.total.add(total),
            None => sets.push(TagSet {
                tags: tags.to_vec(),
                total,
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// `[[issue_id, "key", "value", count, first_seen, last_seen], …]` in key order.
    pub fn rows(&self) -> String {
        let mut totals: BTreeMap<(IssueId, &str, &str), TagTotal> = BTreeMap::new();
        for (&(issue_id, _), sets) in &self.0 {
            for set in sets {
                for (key, value) in &set.tags {
                    totals
                        .entry((issue_id, key, value))
                        .and_modify(|t| t.add(set.total))
                        .or_insert(set.total);
                }
            }
        }
        json_list(totals.into_iter(), |out, ((issue_id, key, value), t)| {
            rows::TAG_TOTAL
                .row(out)
                .issue_id("issue_id", issue_id)
                .text("key", key)
                .text("value", value)
                .count("count", t.count)
                .int("first_seen", t.first_seen)
                .int("last_seen", t.last_seen)
                .end();
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_each_pair_and_span_its_times_in_key_order() {
        let set = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let gold = set(&[("tier", "gold"), ("os", "linux")]);
        let free = set(&[("tier", "free"), ("os", "linux")]);
        let url = set(&[("url", "/a\"b")]);
        let mut tags = PendingTags::default();
        tags.add(IssueId(2), 50, tag_set_key(&gold), &gold);
        tags.add(IssueId(1), 70, tag_set_key(&url), &url);
        tags.add(IssueId(2), 30, tag_set_key(&gold), &gold);
        // Even under one key (a collision), different sets are counted apart.
        tags.add(IssueId(2), 40, tag_set_key(&gold), &free);
        tags.add(IssueId(3), 40, 0, &[]);
        assert_eq!(
            tags.rows(),
            concat!(
                r#"[[1,"url","/a\"b",1,70,70],[2,"os","linux",3,30,50],"#,
                r#"[2,"tier","free",1,40,40],[2,"tier","gold",2,30,50]]"#
            )
        );
        tags.clear();
        assert!(tags.is_empty());
        assert_eq!(tags.rows(), "[]");
    }
}
