//! The organization's stats, as Sentry's `/organizations/{org}/stats_v2/` answers them (the
//! Stats page, Grafana's Stats query): what became of what SDKs sent, summed per time bucket,
//! grouped by outcome, category, reason or project.
//!
//! ```text
//! GET /api/0/organizations/{org}/stats_v2/?field=sum(quantity)&groupBy=outcome&category=error
//!     &interval=1h&start=2026-12-01T00:00:00&end=2026-12-02T00:00:00&project=1
//! → {"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z",
//!    "intervals": ["2026-12-01T00:00:00Z", …],
//!    "groups": [{"by": {"outcome": "accepted"}, "totals": {"sum(quantity)": 1402},
//!                "series": {"sum(quantity)": [12, 0, …]}}]}
//! ```
//! Outcomes are `accepted`, `rate_limited` (a quota, the disk) and `invalid` (and why, in
//! `reason`); categories `error` (every event) and `attachment` (in bytes). A category Snag
//! does not take (transactions, replays…) sums to nothing, as nothing of it was accepted.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::access::authorized_org;
use super::time_range::{self, period_ms};
use super::{Answer, ApiError, ApiState, Query};
use crate::format::field as get;
use crate::store::now_ms;
use crate::store::outcomes::{OutcomeColumn, OutcomeQuery};
use crate::store::tokens::Scope;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

/// Sentry's data categories.
const CATEGORIES: &[&str] = &[
    "error",
    "default",
    "security",
    "transaction",
    "attachment",
    "session",
    "profile",
    "replay",
    "monitor",
    "monitor_seat",
    "span",
    "log_item",
    "log_byte",
    "user_report_v2",
];
const OUTCOMES: &[&str] = &[
    "accepted",
    "filtered",
    "rate_limited",
    "invalid",
    "abuse",
    "client_discard",
    "cardinality_limited",
];
/// Most buckets one answer has.
const MAX_BUCKETS: i64 = 10_000;

fn column_of(name: &str) -> Option<OutcomeColumn> {
    match name {
        "project" => Some(OutcomeColumn::Project),
        "category" => Some(OutcomeColumn::Category),
        "outcome" => Some(OutcomeColumn::Outcome),
        "reason" => Some(OutcomeColumn::Reason),
        _ => None,
    }
}

fn values<'q>(query: &'q Query, key: &str) -> Vec<&'q str> {
    query
        .iter()
        .filter(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Every listed value is one of `known`; an error naming the first that is not.
fn known_values(query: &Query, key: &str, known: &[&str]) -> Result<Vec<String>, ApiError> {
    let asked = values(query, key);
    if let Some(bad) = asked.iter().find(|v| !known.contains(v)) {
        return Err(ApiError::BadRequest(format!(
            "Invalid {key}: {bad:?}; one of {}",
            known.join(", ")
        )));
    }
    // `error` counts every event, as Sentry's `error` holds `default` and `security`.
    Ok(asked
        .into_iter()
        .map(|v| match v {
            "default" | "security" => "error".to_owned(),
            v => v.to_owned(),
        })
        .collect())
}

pub async fn stats_v2(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::OrgRead).await?;
    let fields = values(&query, "field");
    if fields.is_empty() {
        return Err(ApiError::BadRequest(
            "At least one field is required: sum(quantity) or sum(times_seen)".into(),
        ));
    }
    if let Some(bad) = fields
        .iter()
        .find(|f| !["sum(quantity)", "sum(times_seen)"].contains(f))
    {
        return Err(ApiError::BadRequest(format!(
            "Invalid field: {bad:?}; use sum(quantity) or sum(times_seen)"
        )));
    }
    let mut group_by = Vec::new();
    for name in values(&query, "groupBy") {
        let column = column_of(name).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Invalid groupBy: {name:?}; one of outcome, category, reason, project"
            ))
        })?;
        if !group_by.contains(&(name, column)) {
            group_by.push((name, column));
        }
    }
    let categories = known_values(&query, "category", CATEGORIES)?;
    if categories.is_empty() && !group_by.iter().any(|(n, _)| *n == "category") {
        return Err(ApiError::BadRequest(
            "Query must have category as groupby or filter".into(),
        ));
    }
    let outcomes = known_values(&query, "outcome", OUTCOMES)?;
    let reasons: Vec<String> = values(&query, "reason")
        .into_iter()
        .map(str::to_owned)
        .collect();

    let now = now_ms();
    // Outcomes are kept 90 days: a range starts no earlier (and stays far from overflowing).
    let kept_from = now - crate::store::outcomes::KEPT_MS;
    let range = time_range::from_query(&query, "statsPeriod", now)?
        .map_or((now - 14 * DAY_MS, now), |r| (r.start_ms, r.end_ms));
    let range = (range.0.max(kept_from), range.1.max(kept_from));
    let interval = match get(&query, "interval").filter(|i| !i.is_empty()) {
        Some(i) => period_ms(i)?,
        None => HOUR_MS,
    };
    if interval % MINUTE_MS != 0 || DAY_MS % interval != 0 {
        return Err(ApiError::BadRequest(format!(
            "Invalid interval: {}; a whole number of minutes that divides a day (1m to 1d)",
            get(&query, "interval").unwrap_or("")
        )));
    }
    let start = range.0.div_euclid(interval) * interval;
    let end = (range.1 + interval - 1).div_euclid(interval) * interval;
    let buckets = ((end - start) / interval).max(1);
    if buckets > MAX_BUCKETS {
        return Err(ApiError::BadRequest(
            "Your interval and date range would create too many results. Use a larger interval, or a smaller date range.".into(),
        ));
    }

    let sums = state
        .store
        .outcome_sums(&OutcomeQuery {
            start_ms: start,
            end_ms: end,
            bucket_ms: interval,
            projects: super::issues::projects_of(&query)?,
            only: vec![
                (OutcomeColumn::Category, categories),
                (OutcomeColumn::Outcome, outcomes),
                (OutcomeColumn::Reason, reasons),
            ],
            group_by: group_by.iter().map(|(_, c)| *c).collect(),
        })
        .await?;

    // One group per distinct value of the groupBy columns (one group when there are none).
    let mut groups: Vec<(Vec<String>, Vec<[i64; 2]>)> = Vec::new();
    if group_by.is_empty() {
        groups.push((Vec::new(), vec![[0, 0]; buckets as usize]));
    }
    for sum in &sums {
        let at = ((sum.bucket - start) / interval) as usize;
        let slot = match groups.iter().position(|(g, _)| *g == sum.group) {
            Some(slot) => slot,
            None => {
                groups.push((sum.group.clone(), vec![[0, 0]; buckets as usize]));
                groups.len() - 1
            }
        };
        if let Some(bucket) = groups[slot].1.get_mut(at) {
            bucket[0] += sum.quantity;
            bucket[1] += sum.times_seen;
        }
    }
    let answer_groups: Vec<Value> = groups
        .iter()
        .map(|(group, series)| {
            let by: Map<String, Value> = group_by
                .iter()
                .zip(group)
                .map(|((name, column), value)| {
                    let value = match column {
                        OutcomeColumn::Project => {
                            value.parse::<i64>().map_or(json!(value), Value::from)
                        }
                        _ => json!(value),
                    };
                    ((*name).to_owned(), value)
                })
                .collect();
            let mut totals = Map::new();
            let mut lines = Map::new();
            for field in &fields {
                let at = usize::from(*field == "sum(times_seen)");
                let line: Vec<i64> = series.iter().map(|b| b[at]).collect();
                totals.insert((*field).to_owned(), json!(line.iter().sum::<i64>()));
                lines.insert((*field).to_owned(), json!(line));
            }
            json!({"by": by, "totals": totals, "series": lines})
        })
        .collect();
    let date = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    let intervals: Vec<String> = (0..buckets).map(|n| date(start + n * interval)).collect();
    Ok(HttpResponse::Ok().json(json!({
        "start": date(start),
        "end": date(end),
        "intervals": intervals,
        "groups": answer_groups,
    })))
}
