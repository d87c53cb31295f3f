//! Event search across the organization, as Sentry's `/organizations/{org}/events/` answers it
//! for the errors dataset (the MCP server's `search_events`, Grafana's Events query), its
//! `events/validate/` (the MCP server checks a search with it first), and the charts of the
//! same searches (`events-stats/`, `events-timeseries/`: `stats.rs`).
//!
//! ```text
//! GET /api/0/organizations/{org}/events/?dataset=errors&field=title&field=count()&sort=-count()
//!     &query=level:error environment:production issue:SHOP-12&statsPeriod=14d&project=1&per_page=10
//! → {"data": [{"title": "…", "count()": 12}], "meta": {"fields": {"title": "string", "count()": "integer"}, …}}
//! ```
//! Fields are in `fields.rs`. With an aggregate the other fields group. Without a range, the
//! last 14 days. A search by what only the stored events hold (`error.type:KeyError`,
//! `count()` by `browser.name`) reads the events of its range (`scan.rs`). Any other field,
//! dataset, sort or filter is a 400 that says what is there.

mod fields;
mod scan;
mod stats;
mod validate;

pub use stats::{events_stats, events_timeseries};
pub use validate::validate;

use std::ops::ControlFlow;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::access::{authorized_org, issue_of};
use super::time_range;
use super::{Answer, ApiError, ApiState, Query, link_header, page, shapes};
use crate::format::field as get;
use crate::store::IssueId;
use crate::store::discover::{Column, Field, Search};
use crate::store::issues::EventFilter;
use crate::store::now_ms;
use crate::store::tokens::Scope;
use crate::time::DAY_MS;
use fields::{Asked, EventField, FIELDS, field_of};

/// A search as asked, checked: what to answer, which events, in what order.
#[derive(Debug, Clone, Default)]
struct Plan {
    fields: Vec<(String, Asked)>,
    projects: Vec<crate::store::ProjectId>,
    issue: Option<IssueId>,
    has_user: bool,
    filter: EventFilter,
    /// `field:value` terms only the stored events can answer.
    event_filters: Vec<(EventField, String)>,
    /// A field of `fields` by name, descending when true.
    sort: (String, bool),
}

/// The datasets that are Snag's errors.
fn check_dataset(query: &Query) -> Result<(), ApiError> {
    match get(query, "dataset").unwrap_or("errors") {
        "errors" | "error-events" | "discover" | "events" => Ok(()),
        other => Err(ApiError::BadRequest(format!(
            "Snag keeps errors only: dataset {other:?} is not there (use dataset=errors)"
        ))),
    }
}

/// Deepest row a page of a search may start at (SQLite sorts every row before it).
const MAX_OFFSET: i64 = 10_000;

/// Most fields one search may ask for (Sentry's limit).
const MAX_FIELDS: usize = 20;

/// The fields named by `key` (`field`, `yAxis`), each once, in order.
fn asked_fields(query: &Query, key: &str) -> Result<Vec<(String, Asked)>, ApiError> {
    if query.iter().filter(|(k, _)| k == key).count() > MAX_FIELDS {
        return Err(ApiError::BadRequest(format!(
            "a search may ask for at most {MAX_FIELDS} of {key}"
        )));
    }
    let mut fields: Vec<(String, Asked)> = Vec::new();
    for (_, name) in query.iter().filter(|(k, _)| k == key) {
        let field = field_of(name).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown field {name:?}; fields are {FIELDS}"))
        })?;
        if !fields.iter().any(|(n, _)| n == name) {
            fields.push((name.clone(), field));
        }
    }
    Ok(fields)
}

/// The range of a search: `statsPeriod` or `start` and `end`, else the last 14 days.
fn range_of(query: &Query) -> Result<(i64, i64), ApiError> {
    let now = now_ms();
    Ok(time_range::from_query(query, "statsPeriod", now)?
        .map_or((now - 14 * DAY_MS, now + 1), |r| (r.start_ms, r.end_ms)))
}

/// Everything of a search but its fields and order: projects, environments, range, query.
async fn plan_of(
    state: &ApiState,
    query: &Query,
    fields: Vec<(String, Asked)>,
) -> Result<Plan, ApiError> {
    check_dataset(query)?;
    let mut plan = Plan {
        fields,
        projects: super::issues::projects_of(query)?,
        ..Plan::default()
    };
    plan.filter.environments = super::events::environments_of(query);
    plan.filter.between = Some(range_of(query)?);
    apply_query(state, get(query, "query").unwrap_or(""), &mut plan).await?;
    Ok(plan)
}

pub async fn events(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::EventRead).await?;
    if super::logs::is_logs(get(&query, "dataset")) {
        return super::logs::events(req, &state, &query).await;
    }
    let fields = asked_fields(&query, "field")?;
    if fields.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "give at least one field; fields are {FIELDS}"
        )));
    }
    let (size, offset) = page(&query)?;
    if offset > MAX_OFFSET {
        return Err(ApiError::BadRequest(format!(
            "a search's pages go {MAX_OFFSET} rows deep at most: narrow the search"
        )));
    }
    let mut plan = plan_of(&state, &query, fields).await?;
    plan.sort = sort_of(get(&query, "sort"), &plan.fields)?;
    let mut rows = run(&state, &plan, size + 1, offset).await?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|row| Value::Object(dated(row, &plan.fields)))
        .collect();
    let meta: Map<String, Value> = plan
        .fields
        .iter()
        .map(|(n, f)| (n.clone(), json!(f.type_name())))
        .collect();
    let url = format!("{}{}", super::base_url(&req, &state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&url, &query, size, offset, more)))
        .json(json!({
            "data": rows,
            "meta": {"fields": meta, "units": {}, "isMetricsData": false, "tips": {},
                     "dataset": "errors", "datasetReason": "unchanged"},
        })))
}

/// A row with its dates (unix ms from the store) as Sentry writes them.
fn dated(mut row: Map<String, Value>, fields: &[(String, Asked)]) -> Map<String, Value> {
    for (name, _) in fields.iter().filter(|(_, f)| f.is_date()) {
        if let Some(ms) = row.get(name).and_then(Value::as_i64) {
            row.insert(name.clone(), json!(shapes::iso(ms)));
        }
    }
    row
}

/// The rows of a plan, `limit` of them from `offset`: by the store alone when every filter,
/// group and order is a stored column, else by reading the events of the range.
async fn run(
    state: &ApiState,
    plan: &Plan,
    limit: i64,
    offset: i64,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let is_event = |name: &str| {
        plan.fields
            .iter()
            .any(|(n, f)| n == name && matches!(f, Asked::Event(_)))
    };
    let grouped = plan.fields.iter().any(|(_, f)| f.is_aggregate());
    let has_event_field = plan
        .fields
        .iter()
        .any(|(_, f)| matches!(f, Asked::Event(_)));
    let scanning =
        !plan.event_filters.is_empty() || (grouped && has_event_field) || is_event(&plan.sort.0);
    let stored: Vec<(String, Field)> = plan
        .fields
        .iter()
        .filter_map(|(n, f)| match f {
            Asked::Stored(field) if !(scanning && f.is_aggregate()) => Some((n.clone(), *field)),
            _ => None,
        })
        .collect();
    let mut search = Search {
        fields: stored,
        projects: plan.projects.clone(),
        issue: plan.issue,
        has_user: plan.has_user,
        filter: plan.filter.clone(),
        sort: None,
        limit,
        offset,
        with_event: has_event_field || scanning,
    };
    if !scanning {
        // The newest first by default, by a timestamp nobody asked to see.
        if plan.sort.0 == scan::HIDDEN[0].0 {
            let (name, column) = scan::HIDDEN[0];
            search.fields.push((name.to_owned(), Field::Column(column)));
        }
        let at = search
            .fields
            .iter()
            .position(|(n, _)| *n == plan.sort.0)
            .unwrap_or(0);
        search.sort = Some((at, plan.sort.1));
        let found = state.store.search_events(&search).await?;
        return Ok(found
            .iter()
            .map(|row| scan::row_values(row, &plan.fields))
            .collect());
    }
    search.fields.splice(
        0..0,
        scan::HIDDEN
            .iter()
            .map(|(n, c)| ((*n).to_owned(), Field::Column(*c))),
    );
    search.limit = scan::SCAN_LIMIT + 1;
    search.offset = 0;
    let (mut read, mut kept) = (0, Vec::new());
    state
        .store
        .search_events_each(&search, |row| {
            read += 1;
            if read > scan::SCAN_LIMIT {
                return ControlFlow::Break(());
            }
            kept.extend(scan::kept(&row, &plan.fields, &plan.event_filters));
            ControlFlow::Continue(())
        })
        .await?;
    if read > scan::SCAN_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "this search reads each event, and the range holds more than {} of them: narrow the time range, or filter by project, environment, release or level",
            scan::SCAN_LIMIT
        )));
    }
    let mut rows = if grouped {
        scan::aggregate(&kept, &plan.fields)
    } else {
        kept
    };
    scan::sort(&mut rows, &plan.sort.0, plan.sort.1);
    Ok(rows
        .into_iter()
        .skip(offset.max(0) as usize)
        .take(limit.max(0) as usize)
        .map(|mut row| {
            for (name, _) in scan::HIDDEN {
                row.remove(name);
            }
            row
        })
        .collect())
}

/// `-timestamp`, `count()`: a field of the search; by default the first aggregate, most
/// first, else the newest events first.
fn sort_of(sort: Option<&str>, fields: &[(String, Asked)]) -> Result<(String, bool), ApiError> {
    let Some(sort) = sort.filter(|s| !s.is_empty()) else {
        let default = fields
            .iter()
            .find(|(_, f)| *f == Asked::Stored(Field::Column(Column::Timestamp)))
            .or_else(|| fields.iter().find(|(_, f)| f.is_aggregate()))
            .map_or(scan::HIDDEN[0].0, |(n, _)| n.as_str());
        return Ok((default.to_owned(), true));
    };
    let (name, descending) = super::sort_field(sort, fields)?;
    Ok((name.to_owned(), descending))
}

/// The search language's terms that events have: `issue:`, `project:`, `environment:`,
/// `release:`, `level:`, `has:user`, words of the title, and any event field or tag
/// (`error.type:KeyError`, `browser.name:Chrome`).
async fn apply_query(state: &ApiState, text: &str, plan: &mut Plan) -> Result<(), ApiError> {
    let parsed =
        crate::issue_search::parse(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // `is:…` (issue status) and assignees describe issues, not events.
    let says_status = text.split_whitespace().any(|t| t.starts_with("is:"));
    if let Some(negated) = text
        .split_whitespace()
        .find(|t| t.starts_with('!') && t.contains(':'))
    {
        return Err(ApiError::BadRequest(format!(
            "negated terms ({negated}) are not supported: search for what events have"
        )));
    }
    if says_status || parsed.assignee.is_some() || parsed.first_release.is_some() {
        return Err(ApiError::BadRequest(
            "events have no status, assignee or first release: search issues for those".into(),
        ));
    }
    plan.has_user = parsed.has_user;
    plan.filter.level = parsed.level;
    plan.filter.text = parsed.text;
    for (key, value) in parsed.tags {
        match key.as_str() {
            "environment" => plan
                .filter
                .only_environment(value)
                .map_err(ApiError::BadRequest)?,
            "release" => plan.filter.release = Some(value),
            "event.type" if value == "error" || value == "default" => {}
            "issue" | "issue.id" => {
                let issue = issue_of(state, &value).await?.0.id;
                if plan.issue.is_some_and(|other| other != issue) {
                    return Err(ApiError::BadRequest("search one issue: at a time".into()));
                }
                plan.issue = Some(issue);
            }
            "project" => {
                let project = state
                    .store
                    .find_project(&value)
                    .await?
                    .ok_or_else(|| ApiError::BadRequest(format!("no project {value:?}")))?;
                // Within the `project` parameters, not beside them.
                if !plan.projects.is_empty() && !plan.projects.contains(&project.id) {
                    return Err(ApiError::BadRequest(format!(
                        "project:{value} is not among the projects asked for"
                    )));
                }
                plan.projects = vec![project.id];
            }
            other => match field_of(other) {
                Some(Asked::Event(field)) => plan.event_filters.push((field, value)),
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "events can be searched by issue, project, environment, release, level, has:user, words of the title, and event fields and tags ({FIELDS}), not by {other:?}"
                    )));
                }
            },
        }
    }
    Ok(())
}
