//! What users and SDKs sent beside events: user feedback and attachments.
//!
//! ```text
//! GET /api/0/projects/{org}/{project}/user-feedback/                     [{"id", "eventID", "name", "email", "comments", "dateCreated"}] (paged)
//! GET /api/0/issues/{id}/user-reports/                                    the same, about the issue's events
//! GET /api/0/projects/{org}/{project}/events/{event_id}/attachments/     [{"id", "name", "mimetype", "size", "type", "dateCreated"}]
//! GET /api/0/projects/{org}/{project}/events/{event_id}/attachments/{id}/?download=1   the bytes
//! ```

use actix_web::http::header::{
    CONTENT_DISPOSITION, ContentDisposition, DispositionParam, DispositionType,
};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::access::{IssuePath, authorized_issue, authorized_project};
use super::{Answer, ApiError, ApiState, Query, link_header, page, shapes};
use crate::store::events::ListedUserReport;
use crate::store::tokens::Scope;

pub async fn user_feedback(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    query: Query,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::ProjectRead).await?;
    let (size, offset) = page(&query)?;
    let reports = state
        .store
        .user_report_page(project.id, size + 1, offset)
        .await?;
    report_page(&req, &state, &query, reports, size, offset)
}

pub async fn issue_user_reports(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
    query: Query,
) -> Answer {
    let (issue, _) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    let (size, offset) = page(&query)?;
    let reports = state
        .store
        .issue_user_reports(issue.id, size + 1, offset)
        .await?;
    report_page(&req, &state, &query, reports, size, offset)
}

/// A page of user reports in Sentry's shape (one more than the page was read: a next page).
fn report_page(
    req: &HttpRequest,
    state: &ApiState,
    query: &[(String, String)],
    mut reports: Vec<ListedUserReport>,
    size: i64,
    offset: i64,
) -> Answer {
    let more = reports.len() as i64 > size;
    reports.truncate(size as usize);
    let body: Vec<Value> = reports
        .iter()
        .map(|r| {
            let event_id = r.report.event_id.clone();
            json!({"id": r.id.to_string(), "eventID": event_id, "name": r.report.name,
                   "email": r.report.email, "comments": r.report.comments,
                   "dateCreated": shapes::iso(r.created_at), "user": null,
                   "event": {"id": event_id, "eventID": event_id}, "issue": null})
        })
        .collect();
    let url = format!("{}{}", super::base_url(req, state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&url, query, size, offset, more)))
        .json(body))
}

/// `{event_id}` as stored (32 hex), or a 404.
fn event_id_of(id: &str) -> Result<String, ApiError> {
    crate::protocol::parse_event_id(id)
        .map(|id| id.to_string())
        .ok_or(ApiError::NotFound)
}

pub async fn attachments(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String, String)>,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::EventRead).await?;
    let event_id = event_id_of(&path.2)?;
    let body: Vec<Value> = state
        .store
        .event_attachments(project.id, &event_id)
        .await?
        .iter()
        .map(|a| {
            let mimetype = a
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream");
            json!({"id": a.id.to_string(), "name": a.filename, "mimetype": mimetype,
                   "headers": {"Content-Type": mimetype}, "size": a.size, "sha1": null,
                   "type": a.attachment_type, "dateCreated": shapes::iso(a.created_at)})
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// One attachment's bytes, always as a download (never rendered by a browser).
pub async fn attachment(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String, String, i64)>,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::EventRead).await?;
    let event_id = event_id_of(&path.2)?;
    let attachment = state
        .store
        .attachment_by_id(project.id, &event_id, path.3)
        .await?
        .ok_or(ApiError::NotFound)?;
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(attachment.filename.clone())],
    };
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((CONTENT_DISPOSITION, disposition))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(attachment.data))
}
