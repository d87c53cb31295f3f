//! Events: a project's or an issue's, a page at a time, and one event in full.
//!
//! ```text
//! GET /api/0/projects/{org}/{project}/events/[?full=true]   [event] (paged, at most 8 MiB a page)
//! GET /api/0/projects/{org}/{project}/events/{event_id}/    event, with its neighbours
//! GET /api/0/issues/{id}/events/[?full=true]                [event]
//! GET /api/0/issues/{id}/events/latest|oldest|recommended|{event_id}/
//!     (also under /api/0/organizations/{org}/issues/{id}/…)
//! ```
//! Lists take `query` (`environment:staging release:"shop@2.4" level:error` and words of the
//! title), `environment`, and `statsPeriod` or `start`/`end`; any other filter is a 400.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::ApiState;
use super::access::{IssuePath, authorized_issue, authorized_project};
use super::{Answer, ApiError, Query, base_url, link_header, page, shapes};
use crate::error::Failure;
use crate::format::field as get;
use crate::store::events::StoredEvent;
use crate::store::issues::EventFilter;
use crate::store::tokens::Scope;
use crate::store::{IssueId, ProjectId, now_ms};

/// Bytes of events one page may answer with: a `full=true` page ends early past it (its
/// `next` cursor starting at the first event left out), however large the events are.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// A page of events (light, or `full=true`).
async fn event_page(
    req: &HttpRequest,
    state: &ApiState,
    query: &[(String, String)],
    project: Option<ProjectId>,
    issue: Option<IssueId>,
) -> Answer {
    let (size, offset) = page(query)?;
    let full = get(query, "full") == Some("true") || get(query, "full") == Some("1");
    let filter = event_filter(query)?;
    let mut events = state
        .store
        .events_page(project, issue, &filter, size + 1, offset)
        .await?;
    let mut more = events.len() as i64 > size;
    events.truncate(size as usize);
    let mut body = Vec::with_capacity(events.len());
    let mut bytes = 0;
    // The cursor steps by the page size, or by what fit when the page ended early.
    let mut step = size;
    for e in &events {
        if bytes > MAX_PAGE_BYTES {
            more = true;
            step = body.len() as i64;
            break;
        }
        let event = serde_json::to_string(&shapes::event(e, &e.json()?, None, full))
            .map_err(|e| ApiError::Internal(Failure::new("reading the stored event", e)))?;
        bytes += event.len() + 1;
        body.push(event);
    }
    let url = format!("{}{}", base_url(req, state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&url, query, step, offset, more)))
        .content_type("application/json")
        .body(format!("[{}]", body.join(","))))
}

/// The `environment` parameters (any of them).
pub(super) fn environments_of(query: &[(String, String)]) -> Vec<String> {
    query
        .iter()
        .filter(|(k, v)| k == "environment" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

/// The filter of an event list: its `query`, `environment` and time range.
fn event_filter(query: &[(String, String)]) -> Result<EventFilter, ApiError> {
    let search = crate::issue_search::parse(get(query, "query").unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let mut filter = EventFilter {
        level: search.level,
        text: search.text,
        between: super::time_range::from_query(query, "statsPeriod", now_ms())?
            .map(|r| (r.start_ms, r.end_ms)),
        ..EventFilter::default()
    };
    if search.assignee.is_some() || search.first_release.is_some() {
        return Err(ApiError::BadRequest(
            "events have no assignee nor first release; filter issues by them".into(),
        ));
    }
    if search.has_user {
        return Err(ApiError::BadRequest(
            "has:user does not filter events; filter issues with it".into(),
        ));
    }
    filter.environments = environments_of(query);
    for (key, value) in search.tags {
        let slot = match key.as_str() {
            "environment" => {
                filter
                    .only_environment(value)
                    .map_err(ApiError::BadRequest)?;
                continue;
            }
            "release" => &mut filter.release,
            "level" => &mut filter.level,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "events can be filtered by environment, release and level, not by {other:?}"
                )));
            }
        };
        if slot.as_ref().is_some_and(|v| *v != value) {
            return Err(ApiError::BadRequest(format!("give one {key}, not several")));
        }
        *slot = Some(value);
    }
    Ok(filter)
}

pub async fn issue_events(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
    query: Query,
) -> Answer {
    let (issue, _) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    event_page(&req, &state, &query, None, Some(issue.id)).await
}

pub async fn project_events(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    query: Query,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::EventRead).await?;
    event_page(&req, &state, &query, Some(project.id), None).await
}

/// One event in full, with its neighbours in its issue.
async fn full_event(state: &ApiState, event: StoredEvent) -> Answer {
    let issue = state.store.get_issue(event.issue_id).await?;
    let mut v = shapes::event(&event, &event.json()?, issue.as_ref(), true);
    let neighbours = state
        .store
        .neighbour_events(event.issue_id, &event.event_id)
        .await?;
    v["previousEventID"] = json!(neighbours.older);
    v["nextEventID"] = json!(neighbours.newer);
    if let Some(issue) = &issue {
        v["fingerprints"] = json!([issue.primary_hash]);
    }
    Ok(HttpResponse::Ok().json(v))
}

/// The `{which}` of `…/events/{which}/`: `latest`, `oldest`, `recommended` or an event id.
#[derive(Debug, Deserialize)]
pub struct WhichEvent {
    which: String,
}

pub async fn issue_event(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
    which: web::Path<WhichEvent>,
) -> Answer {
    let (issue, _) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    let event = match which.which.as_str() {
        "latest" | "recommended" => state.store.issue_edge_event(issue.id, false).await?,
        "oldest" => state.store.issue_edge_event(issue.id, true).await?,
        id => match crate::protocol::parse_event_id(id) {
            Some(id) => state.store.issue_event(issue.id, Some(&id)).await?,
            None => None,
        },
    };
    full_event(&state, event.ok_or(ApiError::NotFound)?).await
}

pub async fn project_event(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String, String)>,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::EventRead).await?;
    let id = crate::protocol::parse_event_id(&path.2).ok_or(ApiError::NotFound)?;
    let event = state
        .store
        .get_event(project.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    full_event(&state, event).await
}
