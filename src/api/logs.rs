//! Logs as Sentry's clients query them: the logs dataset of `events/` (`sentry-cli logs
//! list`, the MCP server's `search_events`, the npm `sentry` CLI), its `events/validate/`, and
//! `trace-logs/`.
//!
//! ```text
//! GET /api/0/organizations/{org}/events/?dataset=logs&field=sentry.item_id&field=trace&field=severity
//!     &field=timestamp&field=message&query=project:backend severity:error&per_page=100&statsPeriod=90d&sort=-timestamp
//! → {"data": [{"sentry.item_id": "019…", "trace": "93d0…", "severity": "error",
//!              "timestamp": "2026-12-04T04:46:48.304155+00:00", "message": "order 42 failed"}],
//!    "meta": {"fields": {"sentry.item_id": "string", …}, "units": {}, "dataset": "logs", "dataScanned": "full"}}
//! GET …/events/?dataset=logs&field=severity&field=count()&sort=-count()      counts per severity
//! GET /api/0/organizations/{org}/trace-logs/?traceId=93d0…&per_page=100&sort=-timestamp
//! ```
//! `dataset=ourlogs` is the same (Sentry's older name). The query language is
//! `crate::logs::query`'s; `project:` takes slugs or ids. Counts read at most
//! [`crate::logs::search::SCAN_LIMIT`] lines and then say `"dataScanned": "partial"`.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::access::authorized_org;
use super::{Answer, ApiError, ApiState, Query, link_header, time_range};
use crate::format::field as get;
use crate::logs::block::{LineFields, StoredLine, attribute_text};
use crate::logs::item::AttrValue;
use crate::logs::query::{self, LogQuery};
use crate::logs::search::{self, Search};
use crate::store::tokens::Scope;
use crate::store::{ProjectId, now_ms};
use crate::time::DAY_MS;

/// Whether a `dataset` is the logs.
pub fn is_logs(dataset: Option<&str>) -> bool {
    matches!(dataset, Some("logs" | "ourlogs"))
}

/// Most rows one page may ask for (Sentry's bound).
const MAX_PER_PAGE: usize = 9999;

/// What a field of the logs dataset reads.
#[derive(Debug, Clone, PartialEq)]
enum LogField {
    ItemId,
    Trace,
    Span,
    Severity,
    SeverityNumber,
    Message,
    Timestamp,
    TimestampPrecise,
    Project,
    ProjectId,
    PayloadSize,
    /// An attribute, by its stored key.
    Attribute(String),
    /// `count()`, `count(message)`.
    Count,
    /// `count_unique(field)`.
    CountUnique(Box<LogField>),
}

impl LogField {
    fn parse(name: &str) -> Result<LogField, String> {
        if let Some(inner) = name
            .strip_prefix("count(")
            .and_then(|n| n.strip_suffix(')'))
        {
            return match inner {
                "" | "message" | "sentry.body" | "log.body" => Ok(LogField::Count),
                other => Err(format!("count() counts lines: count({other}) is not there")),
            };
        }
        if let Some(inner) = name
            .strip_prefix("count_unique(")
            .and_then(|n| n.strip_suffix(')'))
        {
            let field = LogField::parse(inner)?;
            if field.is_aggregate() {
                return Err(format!("{name} nests aggregates"));
            }
            return Ok(LogField::CountUnique(Box::new(field)));
        }
        if name.contains('(') {
            return Err(format!(
                "unknown function in {name:?}: the logs dataset has count() and count_unique(field)"
            ));
        }
        Ok(match name {
            "sentry.item_id" | "id" => LogField::ItemId,
            "trace" | "trace_id" | "sentry.trace_id" => LogField::Trace,
            "span_id" | "sentry.span_id" => LogField::Span,
            "severity" | "severity_text" | "log.severity_text" | "sentry.severity_text" => {
                LogField::Severity
            }
            "severity_number" | "log.severity_number" | "sentry.severity_number" => {
                LogField::SeverityNumber
            }
            "message" | "log.body" | "sentry.body" => LogField::Message,
            "timestamp" | "observed_timestamp" => LogField::Timestamp,
            "timestamp_precise" => LogField::TimestampPrecise,
            "project" | "project.slug" | "project.name" => LogField::Project,
            "project.id" | "project_id" => LogField::ProjectId,
            "payload_size" => LogField::PayloadSize,
            "" => return Err("an empty field".into()),
            other => LogField::Attribute(query::attribute_key(other)),
        })
    }

    fn is_aggregate(&self) -> bool {
        matches!(self, LogField::Count | LogField::CountUnique(_))
    }

    /// The type in `meta.fields`.
    fn type_name(&self) -> &'static str {
        match self {
            LogField::SeverityNumber
            | LogField::TimestampPrecise
            | LogField::ProjectId
            | LogField::Count
            | LogField::CountUnique(_) => "integer",
            LogField::PayloadSize => "size",
            LogField::Timestamp => "date",
            _ => "string",
        }
    }

    /// `string`, `number` or `boolean`, as the MCP server reads `attrType`.
    fn attr_type(&self) -> &'static str {
        match self.type_name() {
            "integer" | "size" => "number",
            _ => "string",
        }
    }

    /// The value of this field for a line.
    fn value(&self, line: &dyn LineFields, slugs: &HashMap<ProjectId, String>) -> Value {
        match self {
            LogField::ItemId => json!(line.id().hex()),
            LogField::Trace => json!(line.trace_id()),
            LogField::Span => json!(line.span_id()),
            LogField::Severity => json!(line.level().as_str()),
            LogField::SeverityNumber => json!(line.severity_number()),
            LogField::Message => json!(line.body()),
            LogField::Timestamp => json!(iso_ns(line.timestamp_ns())),
            LogField::TimestampPrecise => json!(line.timestamp_ns()),
            LogField::Project => json!(slugs.get(&line.project_id())),
            LogField::ProjectId => json!(line.project_id().get()),
            LogField::PayloadSize => json!(line.payload_size()),
            LogField::Attribute(key) => match line.attribute(key) {
                Some(AttrValue::Integer(n)) => json!(n),
                Some(AttrValue::Double(d)) => json!(d),
                Some(AttrValue::Boolean(b)) => json!(b),
                Some(AttrValue::String(s)) => json!(s),
                Some(AttrValue::Array(items)) => Value::Array(
                    items
                        .iter()
                        .filter_map(attribute_text)
                        .map(Value::from)
                        .collect(),
                ),
                None => Value::Null,
            },
            LogField::Count | LogField::CountUnique(_) => Value::Null,
        }
    }
}

/// A time as Sentry writes a log's: microseconds, `+00:00`.
fn iso_ns(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// The fields asked for, each once, in order.
fn fields_of(query: &Query, key: &str) -> Result<Vec<(String, LogField)>, ApiError> {
    let mut fields: Vec<(String, LogField)> = Vec::new();
    for (_, name) in query.iter().filter(|(k, _)| k == key) {
        let field = LogField::parse(name).map_err(ApiError::BadRequest)?;
        if !fields.iter().any(|(n, _)| n == name) {
            fields.push((name.clone(), field));
        }
    }
    if fields.len() > 20 {
        return Err(ApiError::BadRequest(
            "a search may ask for at most 20 fields".into(),
        ));
    }
    Ok(fields)
}

/// `per_page` (1–9999, default 100) and the offset of `cursor` (`0:{offset}:0`).
fn page_of(query: &Query) -> Result<(usize, usize), ApiError> {
    let size = match get(query, "per_page").or(get(query, "limit")) {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PER_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest("Invalid per_page value. Must be between 1 and 9999.".into())
            })?,
        None => 100,
    };
    let offset = match get(query, "cursor").filter(|c| !c.is_empty()) {
        Some(c) => c
            .split(':')
            .nth(1)
            .and_then(|o| o.parse::<usize>().ok())
            .filter(|o| *o <= MAX_PER_PAGE)
            .ok_or_else(|| ApiError::BadRequest(format!("invalid cursor {c:?}")))?,
        None => 0,
    };
    Ok((size, offset))
}

/// The slugs of every project, by id.
async fn slugs(state: &ApiState) -> Result<HashMap<ProjectId, String>, ApiError> {
    Ok(state
        .store
        .list_projects()
        .await?
        .into_iter()
        .map(|(p, _)| (p.id, p.name))
        .collect())
}

/// The projects a search reads: `project=` ids and `project:` terms (slugs or ids), else all.
fn projects_of(
    query: &[(String, String)],
    parsed: &LogQuery,
    slugs: &HashMap<ProjectId, String>,
) -> Result<Vec<ProjectId>, ApiError> {
    let mut asked = super::issues::projects_of(query)?;
    for name in &parsed.projects {
        let found = slugs
            .iter()
            .find(|(id, slug)| *slug == name || id.get().to_string() == *name)
            .map(|(id, _)| *id)
            .ok_or_else(|| ApiError::BadRequest(format!("no project {name:?}")))?;
        asked.push(found);
    }
    if let Some(missing) = asked.iter().find(|id| !slugs.contains_key(id)) {
        return Err(ApiError::BadRequest(format!("no project {missing}")));
    }
    Ok(if asked.is_empty() {
        let mut all: Vec<ProjectId> = slugs.keys().copied().collect();
        all.sort();
        all
    } else {
        asked
    })
}

/// A search's range in nanoseconds: `statsPeriod` or `start`/`end`, else the last 14 days.
fn range_ns(query: &Query) -> Result<(i64, i64), ApiError> {
    let now = now_ms();
    let (start, end) = time_range::from_query(query, "statsPeriod", now)?
        .map_or((now - 14 * DAY_MS, now + 1), |r| (r.start_ms, r.end_ms));
    Ok((
        start.saturating_mul(1_000_000),
        end.saturating_mul(1_000_000),
    ))
}

/// `-timestamp` (newest first, the default) or `timestamp`; with aggregates, any field asked.
fn newest_first(sort: Option<&str>) -> Result<bool, ApiError> {
    match sort.unwrap_or("-timestamp") {
        "-timestamp" | "-timestamp_precise" => Ok(true),
        "timestamp" | "timestamp_precise" => Ok(false),
        other => Err(ApiError::BadRequest(format!(
            "lines sort by timestamp or -timestamp, not {other:?}"
        ))),
    }
}

/// The answer's `meta`.
fn meta(fields: &[(String, LogField)], complete: bool) -> Value {
    let types: Map<String, Value> = fields
        .iter()
        .map(|(n, f)| (n.clone(), json!(f.type_name())))
        .collect();
    // Only fields with a unit: clients read the values as strings.
    let units: Map<String, Value> = fields
        .iter()
        .filter(|(_, f)| *f == LogField::PayloadSize)
        .map(|(n, _)| (n.clone(), json!("byte")))
        .collect();
    json!({"fields": types, "units": units, "isMetricsData": false, "tips": {},
           "dataset": "logs", "datasetReason": "unchanged",
           "dataScanned": if complete { "full" } else { "partial" }})
}

/// `events/?dataset=logs`.
pub async fn events(req: HttpRequest, state: &ApiState, query: &Query) -> Answer {
    let fields = fields_of(query, "field")?;
    if fields.is_empty() {
        return Err(ApiError::BadRequest(
            "give at least one field, as sentry.item_id, timestamp, severity, message, trace"
                .into(),
        ));
    }
    let (size, offset) = page_of(query)?;
    let parsed =
        query::parse(get(query, "query").unwrap_or("")).map_err(|e| ApiError::BadRequest(e.0))?;
    let slugs = slugs(state).await?;
    let (since_ns, until_ns) = range_ns(query)?;
    let aggregate = fields.iter().any(|(_, f)| f.is_aggregate());
    let mut search = Search {
        projects: projects_of(query, &parsed, &slugs)?,
        since_ns,
        until_ns,
        query: parsed,
        newest_first: true,
        limit: offset + size + 1,
        after: None,
        after_block: None,
        until_block: None,
    };
    let (mut rows, complete) = if aggregate {
        counts(state, &search, &fields, &slugs, get(query, "sort")).await?
    } else {
        search.newest_first = newest_first(get(query, "sort"))?;
        let found = search::search(&state.store, &search).await?;
        let rows = found
            .lines
            .iter()
            .map(|line| row(line, &fields, &slugs))
            .collect();
        (rows, found.complete)
    };
    let rows: Vec<Value> = rows.drain(offset.min(rows.len())..).collect();
    let more = rows.len() > size;
    let rows: Vec<Value> = rows.into_iter().take(size).collect();
    let url = format!("{}{}", super::base_url(&req, state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header((
            "Link",
            link_header(&url, query, size as i64, offset as i64, more),
        ))
        .json(json!({"data": rows, "meta": meta(&fields, complete)})))
}

fn row(
    line: &StoredLine,
    fields: &[(String, LogField)],
    slugs: &HashMap<ProjectId, String>,
) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(name, f)| (name.clone(), f.value(line, slugs)))
            .collect(),
    )
}

/// A group of lines being counted: its values, its count, and the distinct values of each
/// `count_unique`.
type Group = (Vec<Value>, u64, Vec<std::collections::HashSet<String>>);

/// Counts grouped by the other fields, sorted as asked (`-count()` by default).
async fn counts(
    state: &ApiState,
    search: &Search,
    fields: &[(String, LogField)],
    slugs: &HashMap<ProjectId, String>,
    sort: Option<&str>,
) -> Result<(Vec<Value>, bool), ApiError> {
    let groups: Vec<&(String, LogField)> =
        fields.iter().filter(|(_, f)| !f.is_aggregate()).collect();
    let mut tally: HashMap<String, Group> = HashMap::new();
    let uniques: Vec<&LogField> = fields
        .iter()
        .filter_map(|(_, f)| match f {
            LogField::CountUnique(inner) => Some(inner.as_ref()),
            _ => None,
        })
        .collect();
    let (_, complete) = search::visit(&state.store, search, |line| {
        let values: Vec<Value> = groups.iter().map(|(_, f)| f.value(line, slugs)).collect();
        let key = serde_json::to_string(&values).unwrap_or_default();
        let entry = tally
            .entry(key)
            .or_insert_with(|| (values, 0, vec![Default::default(); uniques.len()]));
        entry.1 += 1;
        for (seen, field) in entry.2.iter_mut().zip(&uniques) {
            let v = field.value(line, slugs);
            if !v.is_null() {
                seen.insert(v.to_string());
            }
        }
    })
    .await?;
    let mut rows: Vec<Value> = tally
        .into_values()
        .map(|(values, count, seen)| {
            let mut row = Map::new();
            let mut seen = seen.into_iter();
            let mut values = values.into_iter();
            for (name, field) in fields {
                let v = match field {
                    LogField::Count => json!(count),
                    LogField::CountUnique(_) => json!(seen.next().map_or(0, |s| s.len())),
                    _ => values.next().unwrap_or(Value::Null),
                };
                row.insert(name.clone(), v);
            }
            Value::Object(row)
        })
        .collect();
    let sort = sort.unwrap_or("-count()");
    let (name, descending) = super::sort_field(sort, fields)?;
    rows.sort_by(|a, b| {
        let order = compare(&a[name], &b[name]);
        if descending { order.reverse() } else { order }
    });
    Ok((rows, complete))
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// `events/validate/?dataset=logs`: each part of a search checked (the MCP server asks first).
pub async fn validate(state: &ApiState, query: &Query) -> Answer {
    let dataset = get(query, "dataset").unwrap_or("logs");
    let slugs = slugs(state).await?;
    let projects: Vec<Value> = query
        .iter()
        .filter(|(k, v)| k == "project" && v != "-1")
        .map(|(_, id)| {
            let known = id
                .parse::<ProjectId>()
                .is_ok_and(|id| slugs.contains_key(&id));
            let error = (!known).then(|| format!("no project {id}"));
            json!({"valid": known, "error": error})
        })
        .collect();
    let checked = |name: &str| match LogField::parse(name) {
        Ok(f) => json!({"name": name, "valid": true, "attrType": f.attr_type(), "error": null}),
        Err(e) => json!({"name": name, "valid": false, "attrType": null, "error": e}),
    };
    let fields: Vec<Value> = query
        .iter()
        .filter(|(k, _)| k == "field")
        .map(|(_, n)| checked(n))
        .collect();
    let text = get(query, "query").unwrap_or("");
    let parsed = query::parse(text);
    let query_error = match &parsed {
        Err(e) => Some(e.0.clone()),
        Ok(p) => projects_of(&[], p, &slugs).err().map(|e| e.to_string()),
    };
    let query_fields: Vec<Value> = parsed
        .map(|p| p.attributes.iter().map(|c| checked(&c.key)).collect())
        .unwrap_or_default();
    let orderby: Vec<Value> = query
        .iter()
        .filter(|(k, v)| (k == "orderby" || k == "sort") && !v.is_empty())
        .map(|(_, sort)| {
            let name = sort.trim_start_matches('-');
            match LogField::parse(name) {
                Ok(f) => {
                    let ok = f.is_aggregate() || newest_first(Some(sort)).is_ok();
                    let error = (!ok).then(|| "lines sort by timestamp".to_owned());
                    json!({"name": name, "valid": ok, "attrType": f.attr_type(), "error": error})
                }
                Err(e) => json!({"name": name, "valid": false, "attrType": null, "error": e}),
            }
        })
        .collect();
    let all_valid = |list: &[Value]| list.iter().all(|v| v["valid"] == json!(true));
    let valid =
        query_error.is_none() && all_valid(&projects) && all_valid(&fields) && all_valid(&orderby);
    let body = json!({
        "valid": valid,
        "projects": projects,
        "dataset": [{"name": dataset, "valid": true, "error": null}],
        "environment": [],
        "field": fields,
        "query": {"valid": query_error.is_none(), "error": query_error, "fields": query_fields},
        "orderby": orderby,
    });
    Ok(if valid {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::BadRequest().json(body)
    })
}

/// The columns `trace-logs/` answers with, as Sentry's (the npm `sentry` CLI reads `id`).
const TRACE_FIELDS: [&str; 9] = [
    "id",
    "sentry.item_id",
    "project.id",
    "trace",
    "severity_number",
    "severity",
    "timestamp",
    "timestamp_precise",
    "message",
];

/// `GET /organizations/{org}/trace-logs/?traceId=…` (repeatable), every project's lines.
pub async fn trace_logs(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::EventRead).await?;
    let mut parsed =
        query::parse(get(&query, "query").unwrap_or("")).map_err(|e| ApiError::BadRequest(e.0))?;
    let ids: Vec<&String> = query
        .iter()
        .filter(|(k, _)| k == "traceId")
        .map(|(_, v)| v)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::BadRequest("give a traceId".into()));
    }
    for id in ids {
        let trace = id.to_lowercase().replace('-', "");
        if trace.len() != 32 || !trace.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::BadRequest(format!("{id:?} is not a trace id")));
        }
        parsed.traces.push(trace);
    }
    let fields: Vec<(String, LogField)> = TRACE_FIELDS
        .iter()
        .map(|n| (n.to_string(), LogField::parse(n).expect("a known field")))
        .collect();
    let (size, offset) = page_of(&query)?;
    let sort = get(&query, "orderby").or(get(&query, "sort"));
    let slugs = slugs(&state).await?;
    let search = Search {
        projects: projects_of(&[], &parsed, &slugs)?,
        since_ns: i64::MIN,
        until_ns: i64::MAX,
        query: parsed,
        newest_first: newest_first(sort)?,
        limit: offset + size + 1,
        after: None,
        after_block: None,
        until_block: None,
    };
    let found = search::search(&state.store, &search).await?;
    let rows: Vec<Value> = found
        .lines
        .iter()
        .skip(offset)
        .map(|line| row(line, &fields, &slugs))
        .collect();
    let more = rows.len() > size;
    let rows: Vec<Value> = rows.into_iter().take(size).collect();
    let url = format!("{}{}", super::base_url(&req, &state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header((
            "Link",
            link_header(&url, &query, size as i64, offset as i64, more),
        ))
        .json(json!({"data": rows, "meta": meta(&fields, found.complete)})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_the_logs_dataset() {
        assert_eq!(LogField::parse("sentry.item_id"), Ok(LogField::ItemId));
        assert_eq!(
            LogField::parse("environment"),
            Ok(LogField::Attribute("sentry.environment".into()))
        );
        assert_eq!(
            LogField::parse("count_unique(trace)"),
            Ok(LogField::CountUnique(Box::new(LogField::Trace)))
        );
        assert!(LogField::parse("p99(x)").is_err());
        assert!(LogField::parse("count(trace)").is_err());
    }

    #[test]
    fn log_times_read_as_sentry_writes_them() {
        assert_eq!(
            iso_ns(1_796_359_608_304_155_700),
            "2026-12-04T04:46:48.304155+00:00"
        );
    }
}
