//! Event search across the organization, as Sentry's `/organizations/{org}/events/` answers it
//! for the errors dataset (the MCP server's `search_events`, Grafana's Events query).
//!
//! ```text
//! GET /api/0/organizations/{org}/events/?dataset=errors&field=title&field=count()&sort=-count()
//!     &query=level:error environment:production issue:SHOP-12&statsPeriod=14d&project=1&per_page=10
//! → {"data": [{"title": "…", "count()": 12}], "meta": {"fields": {"title": "string", "count()": "integer"}, …}}
//! ```
//! Fields: id, title, message, timestamp, project, project.id, issue, issue.id, level, release,
//! environment, platform, user, user.display, culprit, event.type; count(),
//! count_unique(user), count_unique(issue), last_seen(), first_seen(). With an aggregate the
//! other fields group. Without a range, the last 14 days. Any other field, dataset, sort or
//! filter is a 400 that says what is there.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::access::{authorized_org, issue_of};
use super::time_range;
use super::{Answer, ApiError, ApiState, Query, link_header, page, shapes};
use crate::format::field as get;
use crate::store::discover::{Aggregate, Column, Field, Kind, Search};
use crate::store::issues::EventFilter;
use crate::store::now_ms;
use crate::store::tokens::Scope;
use crate::time::DAY_MS;

const FIELDS: &str = "id, title, message, timestamp, project, project.id, issue, issue.id, level, release, environment, platform, user, user.display, culprit, event.type, count(), count_unique(user), count_unique(issue), last_seen(), first_seen()";

fn field_of(name: &str) -> Option<Field> {
    let column = |c| Some(Field::Column(c));
    let aggregate = |a| Some(Field::Aggregate(a));
    match name {
        "id" => column(Column::Id),
        "title" | "message" => column(Column::Title),
        "timestamp" => column(Column::Timestamp),
        "project" | "project.name" => column(Column::Project),
        "project.id" => column(Column::ProjectId),
        "issue" => column(Column::Issue),
        "issue.id" | "group_id" => column(Column::IssueId),
        "level" => column(Column::Level),
        "release" => column(Column::Release),
        "environment" => column(Column::Environment),
        "platform" => column(Column::Platform),
        "user" | "user.display" => column(Column::User),
        "culprit" => column(Column::Culprit),
        "event.type" => column(Column::EventType),
        "count()" => aggregate(Aggregate::Count),
        "count_unique(user)" => aggregate(Aggregate::CountUniqueUser),
        "count_unique(issue)" => aggregate(Aggregate::CountUniqueIssue),
        "last_seen()" | "max(timestamp)" => aggregate(Aggregate::LastSeen),
        "first_seen()" | "min(timestamp)" => aggregate(Aggregate::FirstSeen),
        _ => None,
    }
}

/// Sentry's name for a field's type in `meta.fields`.
fn type_name(field: Field) -> &'static str {
    match field.kind() {
        Kind::Text => "string",
        Kind::Integer => "integer",
        Kind::Date => "date",
    }
}

pub async fn events(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::EventRead).await?;
    match get(&query, "dataset").unwrap_or("errors") {
        "errors" | "error-events" | "discover" | "events" => {}
        other => {
            return Err(ApiError::BadRequest(format!(
                "Snag keeps errors only: dataset {other:?} is not there (use dataset=errors)"
            )));
        }
    }
    let mut fields: Vec<(String, Field)> = Vec::new();
    for (_, name) in query.iter().filter(|(k, _)| k == "field") {
        let field = field_of(name).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown field {name:?}; fields are {FIELDS}"))
        })?;
        if !fields.iter().any(|(n, _)| n == name) {
            fields.push((name.clone(), field));
        }
    }
    if fields.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "give at least one field; fields are {FIELDS}"
        )));
    }
    let (size, offset) = page(&query)?;
    let sort = sort_of(get(&query, "sort"), &fields)?;
    let mut search = Search {
        fields,
        projects: super::issues::projects_of(&query)?,
        issue: None,
        has_user: false,
        filter: EventFilter::default(),
        sort,
        limit: size + 1,
        offset,
    };
    apply_query(&state, get(&query, "query").unwrap_or(""), &mut search).await?;
    if let Some(env) = get(&query, "environment") {
        search.filter.environment = Some(env.to_owned());
    }
    let now = now_ms();
    let range = time_range::from_query(&query, "statsPeriod", now)?
        .map_or((now - 14 * DAY_MS, now + 1), |r| (r.start_ms, r.end_ms));
    search.filter.between = Some(range);

    let mut rows = state.store.search_events(&search).await?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let dates: Vec<&str> = search
        .fields
        .iter()
        .filter(|(_, f)| f.kind() == Kind::Date)
        .map(|(n, _)| n.as_str())
        .collect();
    for row in &mut rows {
        for name in &dates {
            if let Some(ms) = row.get(*name).and_then(Value::as_i64) {
                row.insert((*name).to_owned(), json!(shapes::iso(ms)));
            }
        }
    }
    let meta: Map<String, Value> = search
        .fields
        .iter()
        .map(|(n, f)| (n.clone(), json!(type_name(*f))))
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

/// `-timestamp`, `count()`: a field of the search; by default the newest first, or the first
/// aggregate, most first.
fn sort_of(sort: Option<&str>, fields: &[(String, Field)]) -> Result<(usize, bool), ApiError> {
    let Some(sort) = sort.filter(|s| !s.is_empty()) else {
        let default = fields
            .iter()
            .position(|(_, f)| *f == Field::Column(Column::Timestamp))
            .or_else(|| {
                fields
                    .iter()
                    .position(|(_, f)| matches!(f, Field::Aggregate(_)))
            })
            .unwrap_or(0);
        return Ok((default, true));
    };
    let (name, descending) = match sort.strip_prefix('-') {
        Some(name) => (name, true),
        None => (sort, false),
    };
    let at = fields.iter().position(|(n, _)| n == name).ok_or_else(|| {
        ApiError::BadRequest(format!("sort by one of the fields asked for, not {name:?}"))
    })?;
    Ok((at, descending))
}

/// The search language's terms that events have: `issue:`, `project:`, `environment:`,
/// `release:`, `level:`, `has:user`, words of the title.
async fn apply_query(state: &ApiState, text: &str, search: &mut Search) -> Result<(), ApiError> {
    let parsed =
        crate::issue_search::parse(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // `is:…` (issue status) and assignees describe issues, not events.
    let says_status = text.split_whitespace().any(|t| t.starts_with("is:"));
    if says_status || parsed.assignee.is_some() || parsed.first_release.is_some() {
        return Err(ApiError::BadRequest(
            "events have no status, assignee or first release: search issues for those".into(),
        ));
    }
    search.has_user = parsed.has_user;
    search.filter.level = parsed.level;
    search.filter.text = parsed.text;
    for (key, value) in parsed.tags {
        match key.as_str() {
            "environment" => search.filter.environment = Some(value),
            "release" => search.filter.release = Some(value),
            "event.type" if value == "error" || value == "default" => {}
            "issue" | "issue.id" => search.issue = Some(issue_of(state, &value).await?.0.id),
            "project" => {
                let project = state
                    .store
                    .find_project(&value)
                    .await?
                    .ok_or_else(|| ApiError::BadRequest(format!("no project {value:?}")))?;
                search.projects.push(project.id);
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "events can be searched by issue, project, environment, release, level, has:user and words of the title, not by {other:?}"
                )));
            }
        }
    }
    Ok(())
}
