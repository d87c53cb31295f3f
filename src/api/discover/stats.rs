//! Charts of an event search: counts per time bucket, overall or for the top groups, in the
//! two shapes Sentry answers them (Grafana reads both; Sentry's own charts the first).
//!
//! ```text
//! GET …/events-stats/?yAxis=count()&interval=1h&statsPeriod=24h&query=level:error
//! → {"data": [[1795305600, [{"count": 3}]], …], "start": 1795305600, "end": 1795392000, …}
//! GET …/events-stats/?field=release&field=count()&yAxis=count()&topEvents=5&sort=-count()
//! → {"shop@2.4": {"data": […], "order": 0, …}, "shop@2.3": {…, "order": 1}}
//!   (several yAxis: one series per yAxis under each group; no groups: keyed by yAxis)
//! GET …/events-timeseries/?yAxis=count()&groupBy=release&topEvents=5&interval=300
//! → {"meta": {"dataset": "errors", "start": 1.7953056e12, "end": …},
//!    "timeSeries": [{"yAxis": "count()", "groupBy": [{"key": "release", "value": "shop@2.4"}],
//!                    "values": [{"timestamp": 1795305600000, "value": 3, "incomplete": false}],
//!                    "meta": {"valueType": "integer", "valueUnit": null, "interval": 300000,
//!                             "order": 0, "isOther": false}}]}
//! ```
//! Buckets start at multiples of the interval (UTC) and every series has all of them, zeros
//! where nothing happened. Without an interval, Sentry's default for the range. `Other` (the
//! events outside the top groups) when there are more groups than the top ones, unless
//! `excludeOther=1`; for `count()` only (a count of distinct users does not add up).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::fields::Asked;
use super::{asked_fields, plan_of, run, sort_of};
use crate::api::access::authorized_org;
use crate::api::time_range::period_ms;
use crate::api::{Answer, ApiError, ApiState, Query};
use crate::format::field as get;
use crate::store::discover::{Aggregate, Column, Field};
use crate::store::now_ms;
use crate::store::tokens::Scope;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

/// Most buckets one chart has (Sentry's limit).
const MAX_BUCKETS: i64 = 10_000;
/// Longest interval.
const MAX_INTERVAL_MS: i64 = 30 * DAY_MS;
/// Most yAxis of one chart.
const MAX_AXES: usize = 5;
/// Most bucket × group rows a chart reads.
const MAX_ROWS: i64 = 100_000;
const BUCKET: &str = " bucket";

/// One line of a chart: a group (or all events, or the rest) and its values per bucket for
/// each yAxis.
struct Series {
    group: Vec<(String, Value)>,
    is_other: bool,
    /// Per yAxis, per bucket.
    values: Vec<Vec<i64>>,
}

/// A chart as computed: its buckets (unix ms) and lines, in order.
struct Chart {
    axes: Vec<String>,
    buckets: Vec<i64>,
    interval_ms: i64,
    range: (i64, i64),
    grouped: bool,
    series: Vec<Series>,
}

/// Sentry's default interval for a range.
fn default_interval(range_ms: i64) -> i64 {
    match range_ms {
        r if r >= 60 * DAY_MS => DAY_MS,
        r if r >= 30 * DAY_MS => 4 * HOUR_MS,
        r if r > DAY_MS => HOUR_MS,
        r if r > 6 * HOUR_MS => 15 * MINUTE_MS,
        r if r > HOUR_MS => 5 * MINUTE_MS,
        _ => MINUTE_MS,
    }
}

async fn chart(state: &ApiState, query: &Query, group_key: &str) -> Result<Chart, ApiError> {
    let mut axes = asked_fields(query, "yAxis")?;
    if axes.len() > MAX_AXES {
        return Err(ApiError::BadRequest(format!(
            "a chart may have at most {MAX_AXES} yAxis"
        )));
    }
    if axes.is_empty() {
        axes = vec![(
            "count()".to_owned(),
            Asked::Stored(Field::Aggregate(Aggregate::Count)),
        )];
    }
    if let Some((name, _)) = axes.iter().find(|(_, a)| {
        !matches!(
            a,
            Asked::Stored(Field::Aggregate(
                Aggregate::Count | Aggregate::CountUniqueUser | Aggregate::CountUniqueIssue
            ))
        )
    }) {
        return Err(ApiError::BadRequest(format!(
            "yAxis {name:?} cannot be charted: use count(), count_unique(user) or count_unique(issue)"
        )));
    }
    let top = match get(query, "topEvents").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            t.parse::<i64>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("invalid topEvents {t:?}: a number from 1 to 100"))
                })?,
        ),
    };
    let groups: Vec<(String, Asked)> = match top {
        None => Vec::new(),
        Some(_) => asked_fields(query, group_key)?
            .into_iter()
            .filter(|(_, a)| !a.is_aggregate())
            .collect(),
    };
    if top.is_some() && groups.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "topEvents needs a {group_key} to group by (release, environment, title, a tag…)"
        )));
    }
    let mut fields: Vec<(String, Asked)> = groups.clone();
    fields.extend(axes.iter().cloned());
    let plan = plan_of(state, query, fields).await?;
    // Nothing happened before 1970: a range reaching further back starts there (and the
    // arithmetic below stays far from overflowing).
    let (start, end) = plan.filter.between.expect("a search has a range");
    let range = (start.max(0), end.max(0));
    let interval_ms = match get(query, "interval").filter(|i| !i.is_empty()) {
        Some(i) => period_ms(i)?,
        None => default_interval(range.1 - range.0),
    };
    if interval_ms > MAX_INTERVAL_MS {
        return Err(ApiError::BadRequest(
            "the interval may be at most 30 days".into(),
        ));
    }
    let first = range.0.div_euclid(interval_ms) * interval_ms;
    let count = (range.1 - first + interval_ms - 1) / interval_ms;
    // Each line (a top group, and Other) has every bucket.
    let lines_at_most = top.map_or(1, |t| t + 1);
    if count.saturating_mul(lines_at_most) > MAX_BUCKETS {
        return Err(ApiError::BadRequest(
            "Your interval and date range would create too many results. Use a larger interval, or a smaller date range.".into(),
        ));
    }
    let buckets: Vec<i64> = (0..count.max(1)).map(|n| first + n * interval_ms).collect();
    let exclude_other = get(query, "excludeOther").is_some_and(|v| v == "1" || v == "true");

    // The top groups, by the asked order or the first yAxis.
    let mut tops: Vec<Map<String, Value>> = Vec::new();
    let mut with_other = false;
    if let Some(top) = top {
        let mut ranking = plan.clone();
        ranking.sort = match get(query, "sort").or(get(query, "orderby")) {
            Some(sort) if !sort.is_empty() => sort_of(Some(sort), &ranking.fields)?,
            _ => (axes[0].0.clone(), true),
        };
        tops = run(state, &ranking, top, 0).await?;
        // Other is there only when the top groups are not all the groups (as Sentry does).
        with_other = !exclude_other && tops.len() as i64 == top;
        let not_summable = axes
            .iter()
            .any(|(_, a)| *a != Asked::Stored(Field::Aggregate(Aggregate::Count)));
        if with_other && not_summable {
            return Err(ApiError::BadRequest(
                "Other is charted for count() only: send excludeOther=1".into(),
            ));
        }
    }

    let mut lines = plan;
    lines.fields.push((
        BUCKET.to_owned(),
        Asked::Stored(Field::Column(Column::Bucket(interval_ms))),
    ));
    lines.sort = (BUCKET.to_owned(), false);
    let rows = run(state, &lines, MAX_ROWS + 1, 0).await?;
    if rows.len() as i64 > MAX_ROWS {
        return Err(ApiError::BadRequest(
            "this chart has too many groups and buckets: use a larger interval, a smaller range or fewer groups".into(),
        ));
    }
    let group_of = |row: &Map<String, Value>| -> Vec<(String, Value)> {
        groups
            .iter()
            .map(|(n, _)| (n.clone(), row.get(n).cloned().unwrap_or(Value::Null)))
            .collect()
    };
    let mut series: Vec<Series> = if groups.is_empty() {
        vec![Series {
            group: Vec::new(),
            is_other: false,
            values: Vec::new(),
        }]
    } else {
        tops.iter()
            .map(|row| Series {
                group: group_of(row),
                is_other: false,
                values: Vec::new(),
            })
            .collect()
    };
    if with_other {
        series.push(Series {
            group: Vec::new(),
            is_other: true,
            values: Vec::new(),
        });
    }
    for line in &mut series {
        line.values = vec![vec![0; buckets.len()]; axes.len()];
    }
    for row in &rows {
        let Some(bucket) = row.get(BUCKET).and_then(Value::as_i64) else {
            continue;
        };
        let Some(at) = usize::try_from((bucket - first) / interval_ms)
            .ok()
            .filter(|at| *at < buckets.len())
        else {
            continue;
        };
        let group = group_of(row);
        let line = match series.iter().position(|s| !s.is_other && s.group == group) {
            Some(line) => line,
            None => match series.iter().position(|s| s.is_other) {
                Some(other) => other,
                None => continue,
            },
        };
        for (axis, (name, _)) in axes.iter().enumerate() {
            series[line].values[axis][at] += row.get(name).and_then(Value::as_i64).unwrap_or(0);
        }
    }
    Ok(Chart {
        axes: axes.into_iter().map(|(n, _)| n).collect(),
        buckets,
        interval_ms,
        range,
        grouped: !groups.is_empty(),
        series,
    })
}

/// `shop@2.4,production`: a group's values as Sentry names its series.
fn label(line: &Series) -> String {
    if line.is_other {
        return "Other".to_owned();
    }
    line.group
        .iter()
        .map(|(_, v)| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub async fn events_stats(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::EventRead).await?;
    let chart = chart(&state, &query, "field").await?;
    let seconds = |ms: i64| ms.div_euclid(1000);
    let one = |values: &[i64], order: usize, axis: &str| {
        let data: Vec<Value> = chart
            .buckets
            .iter()
            .zip(values)
            .map(|(at, n)| json!([seconds(*at), [{"count": n}]]))
            .collect();
        json!({
            "data": data, "order": order,
            "start": seconds(chart.range.0), "end": seconds(chart.range.1),
            "isMetricsData": false,
            "meta": {"fields": {axis: "integer"}, "units": {axis: null}, "isMetricsData": false,
                     "tips": {}, "dataset": "errors", "datasetReason": "unchanged"},
        })
    };
    let several = chart.axes.len() > 1;
    let body = if !chart.grouped {
        let line = &chart.series[0];
        if several {
            let by_axis: Map<String, Value> = chart
                .axes
                .iter()
                .enumerate()
                .map(|(i, axis)| (axis.clone(), one(&line.values[i], i, axis)))
                .collect();
            Value::Object(by_axis)
        } else {
            one(&line.values[0], 0, &chart.axes[0])
        }
    } else {
        let mut by_group = Map::new();
        for (order, line) in chart.series.iter().enumerate() {
            let value = if several {
                let mut by_axis: Map<String, Value> = chart
                    .axes
                    .iter()
                    .enumerate()
                    .map(|(i, axis)| (axis.clone(), one(&line.values[i], order, axis)))
                    .collect();
                by_axis.insert("order".into(), json!(order));
                Value::Object(by_axis)
            } else {
                one(&line.values[0], order, &chart.axes[0])
            };
            // Two groups may read alike (no value and an empty one): neither hides the other.
            let mut name = label(line);
            while by_group.contains_key(&name) {
                name.push('\u{200b}');
            }
            by_group.insert(name, value);
        }
        Value::Object(by_group)
    };
    Ok(HttpResponse::Ok().json(body))
}

pub async fn events_timeseries(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::EventRead).await?;
    let chart = chart(&state, &query, "groupBy").await?;
    let now = now_ms();
    let mut lines = Vec::new();
    for (order, line) in chart.series.iter().enumerate() {
        for (axis, name) in chart.axes.iter().enumerate() {
            let values: Vec<Value> = chart
                .buckets
                .iter()
                .zip(&line.values[axis])
                .map(|(at, n)| {
                    json!({"timestamp": at, "value": n, "incomplete": at + chart.interval_ms > now})
                })
                .collect();
            let mut series = json!({
                "yAxis": name,
                "values": values,
                "meta": {"valueType": "integer", "valueUnit": null, "interval": chart.interval_ms,
                         "order": order, "isOther": line.is_other},
            });
            if chart.grouped && !line.is_other {
                let group: Vec<Value> = line
                    .group
                    .iter()
                    .map(|(key, value)| json!({"key": key, "value": value}))
                    .collect();
                series["groupBy"] = Value::Array(group);
            }
            lines.push(series);
        }
    }
    Ok(HttpResponse::Ok().json(json!({
        "meta": {"dataset": "errors", "start": chart.range.0 as f64, "end": chart.range.1 as f64},
        "timeSeries": lines,
    })))
}
