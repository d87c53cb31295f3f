//! An issue's activity and notes, in Sentry's shapes.
//!
//! ```text
//! GET  /api/0/issues/{id}/activities/     {"activity": [{"id", "type", "data", "dateCreated", "user"}, …]}
//! GET  /api/0/issues/{id}/comments/       [note activity, …]
//! POST /api/0/issues/{id}/comments/       {"text": "…"} → 201 the note
//!      (also under /api/0/organizations/{org}/issues/{id}/…)
//! ```
//! Newest first; the issue's first sighting (`first_seen`) ends the list, as in Sentry.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::access::{IssuePath, authorize, authorized_issue, json_body};
use super::{Answer, ApiError, ApiState, shapes};
use crate::store::events::StoredIssue;
use crate::store::tokens::Scope;

/// Every activity of `issue`, and its first sighting.
pub(super) async fn activity_of(state: &ApiState, issue: &StoredIssue) -> Result<Value, ApiError> {
    let mut list: Vec<Value> = state
        .store
        .issue_activity(issue.id)
        .await?
        .iter()
        .map(shapes::activity)
        .collect();
    list.push(
        json!({"id": format!("first-seen-{}", issue.id), "type": "first_seen", "data": {},
        "dateCreated": shapes::iso(issue.first_seen), "user": null}),
    );
    Ok(Value::Array(list))
}

pub async fn activities(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
) -> Answer {
    let (issue, _) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    Ok(HttpResponse::Ok().json(json!({"activity": activity_of(&state, &issue).await?})))
}

pub async fn notes(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
) -> Answer {
    let (issue, _) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    let notes: Vec<Value> = state
        .store
        .issue_activity(issue.id)
        .await?
        .iter()
        .filter(|a| a.kind == "note")
        .map(shapes::activity)
        .collect();
    Ok(HttpResponse::Ok().json(notes))
}

pub async fn add_note(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
    body: web::Bytes,
) -> Answer {
    let token = authorize(&req, &state, Scope::EventWrite).await?;
    let (issue, _) = path.find(&state).await?;
    let body = json_body(&body)?;
    let text = body
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("give the note's text: {\"text\": \"…\"}".into()))?;
    let note = state.store.add_note(issue.id, token.user_id, text).await?;
    Ok(HttpResponse::Created().json(shapes::activity(&note)))
}
