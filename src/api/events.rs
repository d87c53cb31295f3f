//! Events: a project's or an issue's, a page at a time, and one event in full.
//!
//! ```text
//! GET /api/0/projects/{org}/{project}/events/[?full=true]   [event] (paged, at most 8 MiB a page)
//! GET /api/0/projects/{org}/{project}/events/{event_id}/    event, with its neighbours
//! GET /api/0/issues/{id}/events/[?full=true]                [event]
//! GET /api/0/issues/{id}/events/latest|oldest|recommended|{event_id}/
//! ```

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::ApiState;
use super::access::{authorize, authorized_project, issue_of};
use super::{Answer, ApiError, Query, base_url, link_header, page, shapes};
use crate::error::Failure;
use crate::format::field as get;
use crate::store::events::StoredEvent;
use crate::store::tokens::Scope;
use crate::store::{IssueId, ProjectId};

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
    let mut events = state
        .store
        .events_page(project, issue, size + 1, offset)
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

pub async fn issue_events(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorize(&req, &state, Scope::EventRead).await?;
    let (issue, _) = issue_of(&state, &path).await?;
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

pub async fn issue_event(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, Scope::EventRead).await?;
    let (issue, _) = issue_of(&state, &path.0).await?;
    let event = match path.1.as_str() {
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
