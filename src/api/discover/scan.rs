//! Searches that filter or group by what only the stored events hold (`error.type:ValueError`,
//! `count()` by `browser.name`): done here over the events of the range, newest first, read
//! once each, at most [`SCAN_LIMIT`] of them. Pure functions over the rows the store found.
//!
//! ```text
//! rows (hidden " timestamp", " user", " issue" + asked columns, each with its event)
//!   → kept: those whose event matches every filter, as their asked values (the event dropped)
//!   → group by the asked non-aggregates → count(), count_unique(user|issue), last_seen(),
//!     first_seen() per group
//! ```

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::fields::{Asked, EventField, EventView, event_value, matches};
use crate::store::discover::{Aggregate, Column, Field, FoundRow};

/// Most events one search reads out of storage; a search whose range holds more is refused
/// with a hint to narrow it, never answered from a part.
pub const SCAN_LIMIT: i64 = 50_000;

/// The hidden columns a scan reads beside the asked ones (a space keeps them apart from any
/// name a client can ask for).
pub const HIDDEN: [(&str, Column); 3] = [
    (" timestamp", Column::Timestamp),
    (" user", Column::UserKey),
    (" issue", Column::IssueId),
];

/// The asked values of a row: stored columns and aggregates as found (`null` when the store
/// did not compute them), event fields read from its event.
pub fn row_values(row: &FoundRow, fields: &[(String, Asked)]) -> Map<String, Value> {
    let view = row.event.as_ref().map(EventView::new);
    values_of(row, view.as_ref(), fields)
}

fn values_of(
    row: &FoundRow,
    view: Option<&EventView<'_>>,
    fields: &[(String, Asked)],
) -> Map<String, Value> {
    fields
        .iter()
        .map(|(name, asked)| {
            let value = match (asked, view) {
                (Asked::Event(field), Some(view)) => event_value(field, view),
                (Asked::Event(_), None) => Value::Null,
                (Asked::Stored(_), _) => row.values.get(name).cloned().unwrap_or(Value::Null),
            };
            (name.clone(), value)
        })
        .collect()
}

/// What a scan keeps of a row whose event matches every `field:value` filter: its asked
/// values and the hidden ones (not its event); `None` for a row it drops.
pub fn kept(
    row: &FoundRow,
    fields: &[(String, Asked)],
    filters: &[(EventField, String)],
) -> Option<Map<String, Value>> {
    let view = row.event.as_ref().map(EventView::new);
    let matches_all = match &view {
        Some(view) => filters
            .iter()
            .all(|(field, wanted)| matches(&event_value(field, view), wanted)),
        None => filters.is_empty(),
    };
    if !matches_all {
        return None;
    }
    let mut values = values_of(row, view.as_ref(), fields);
    for (name, _) in HIDDEN {
        if let Some(value) = row.values.get(name) {
            values.insert(name.to_owned(), value.clone());
        }
    }
    Some(values)
}

#[derive(Default)]
struct Totals {
    count: i64,
    users: HashSet<String>,
    issues: HashSet<i64>,
    last: Option<i64>,
    first: Option<i64>,
}

/// The asked aggregates of the kept rows ([`kept`]), grouped by the asked non-aggregate
/// fields.
pub fn aggregate(
    rows: &[Map<String, Value>],
    fields: &[(String, Asked)],
) -> Vec<Map<String, Value>> {
    let mut groups: HashMap<String, (Map<String, Value>, Totals)> = HashMap::new();
    for row in rows {
        let values: Map<String, Value> = fields
            .iter()
            .filter(|(_, asked)| !asked.is_aggregate())
            .map(|(name, _)| (name.clone(), row.get(name).cloned().unwrap_or(Value::Null)))
            .collect();
        let key = serde_json::to_string(&values).unwrap_or_default();
        let (_, totals) = groups
            .entry(key)
            .or_insert_with(|| (values, Totals::default()));
        let hidden = |name: &str| row.get(name);
        totals.count += 1;
        if let Some(user) = hidden(" user").and_then(Value::as_str) {
            totals.users.insert(user.to_owned());
        }
        if let Some(issue) = hidden(" issue").and_then(Value::as_i64) {
            totals.issues.insert(issue);
        }
        if let Some(ts) = hidden(" timestamp").and_then(Value::as_i64) {
            totals.last = Some(totals.last.map_or(ts, |t| t.max(ts)));
            totals.first = Some(totals.first.map_or(ts, |t| t.min(ts)));
        }
    }
    groups
        .into_values()
        .map(|(mut values, totals)| {
            for (name, asked) in fields {
                let Asked::Stored(Field::Aggregate(aggregate)) = asked else {
                    continue;
                };
                let value = match aggregate {
                    Aggregate::Count => Value::from(totals.count),
                    Aggregate::CountUniqueUser => Value::from(totals.users.len()),
                    Aggregate::CountUniqueIssue => Value::from(totals.issues.len()),
                    Aggregate::LastSeen => totals.last.map_or(Value::Null, Value::from),
                    Aggregate::FirstSeen => totals.first.map_or(Value::Null, Value::from),
                };
                values.insert(name.clone(), value);
            }
            values
        })
        .collect()
}

/// Orders rows by one field: nothing first, then numbers, text, lists (as Sentry's columns
/// sort), ascending or descending.
pub fn sort(rows: &mut [Map<String, Value>], field: &str, descending: bool) {
    // Ties keep one order whatever order the groups came in, so pages neither repeat nor skip.
    rows.sort_by_cached_key(|row| serde_json::to_string(row).unwrap_or_default());
    rows.sort_by(|a, b| {
        let order = compare(a.get(field), b.get(field));
        if descending { order.reverse() } else { order }
    });
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Number(_) | Value::Bool(_)) => 1,
            Some(Value::String(_)) => 2,
            Some(_) => 3,
        }
    }
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(x @ Value::Array(_)), Some(y @ Value::Array(_))) => x.to_string().cmp(&y.to_string()),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::discover::fields::field_of;
    use serde_json::json;

    fn row(ts: i64, user: Option<&str>, issue: i64, event: Value) -> FoundRow {
        let mut values = Map::new();
        values.insert(" timestamp".into(), json!(ts));
        values.insert(" user".into(), user.map_or(Value::Null, |u| json!(u)));
        values.insert(" issue".into(), json!(issue));
        FoundRow {
            values,
            event: Some(event),
        }
    }

    fn asked(names: &[&str]) -> Vec<(String, Asked)> {
        names
            .iter()
            .map(|n| (n.to_string(), field_of(n).unwrap()))
            .collect()
    }

    #[test]
    fn groups_by_a_tag_and_counts_events_users_and_issues() {
        let chrome = json!({"contexts": {"browser": {"name": "Chrome"}}});
        let firefox = json!({"contexts": {"browser": {"name": "Firefox"}}});
        let rows = [
            row(1_000, Some("id:1"), 7, chrome.clone()),
            row(3_000, Some("id:1"), 8, chrome.clone()),
            row(2_000, Some("id:2"), 8, chrome),
            row(5_000, None, 7, firefox),
        ];
        let fields = asked(&[
            "browser.name",
            "count()",
            "count_unique(user)",
            "count_unique(issue)",
            "last_seen()",
            "first_seen()",
        ]);
        let slim: Vec<_> = rows.iter().filter_map(|r| kept(r, &fields, &[])).collect();
        let mut found = aggregate(&slim, &fields);
        sort(&mut found, "count()", true);
        assert_eq!(
            Value::Array(found.into_iter().map(Value::Object).collect()),
            json!([
                {"browser.name": "Chrome", "count()": 3, "count_unique(user)": 2, "count_unique(issue)": 2, "last_seen()": 3000, "first_seen()": 1000},
                {"browser.name": "Firefox", "count()": 1, "count_unique(user)": 0, "count_unique(issue)": 1, "last_seen()": 5000, "first_seen()": 5000},
            ])
        );
    }

    #[test]
    fn filters_match_lists_and_text_and_nothing_matches_a_missing_value() {
        let r = row(
            1,
            None,
            1,
            json!({"exception": {"values": [{"type": "KeyError"}, {"type": "ValueError"}]}}),
        );
        let keeps = |filters: &[(EventField, String)]| kept(&r, &[], filters).is_some();
        assert!(keeps(&[(EventField::ErrorType, "ValueError".into())]));
        assert!(!keeps(&[(EventField::ErrorType, "TypeError".into())]));
        assert!(!keeps(&[(EventField::UserEmail, "".into())]));
        assert!(keeps(&[]));
    }

    #[test]
    fn sorting_puts_nothing_first_then_numbers_then_text() {
        let mut rows: Vec<Map<String, Value>> = [
            json!({"v": "b"}),
            json!({"v": 2}),
            json!({}),
            json!({"v": "a"}),
            json!({"v": 10}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect();
        sort(&mut rows, "v", false);
        let order: Vec<Value> = rows
            .iter()
            .map(|r| r.get("v").cloned().unwrap_or(Value::Null))
            .collect();
        assert_eq!(
            order,
            [Value::Null, json!(2), json!(10), json!("a"), json!("b")]
        );
    }
}
