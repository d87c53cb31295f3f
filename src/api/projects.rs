//! Projects, with what they store and their caps.
//!
//! ```text
//! GET /api/0/organizations/{org}/projects/   [project]
//! GET /api/0/projects/{org}/{project}/       project, with "storage" and "quotas"
//! PUT /api/0/projects/{org}/{project}/       {"quotas": {"dailyEvents": n | null, "attachmentBytes": n | null}}
//! ```
//! `{project}` is the project's slug or its id.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::ApiState;
use super::access::{authorized_org, authorized_project, json_body, projects_with_keys};
use super::{Answer, ApiError, shapes};
use crate::store::projects::Project;
use crate::store::tokens::Scope;

pub async fn projects(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> Answer {
    authorized_org(&req, &state, &path, Scope::ProjectRead).await?;
    let usage = state.store.project_usage().await?;
    let list: Vec<Value> = projects_with_keys(&state)
        .await?
        .iter()
        .map(|(p, _)| shapes::project(p, usage.iter().find(|u| u.project_id == p.id)))
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

pub async fn project(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::ProjectRead).await?;
    project_json(&state, &project).await
}

/// A project with its storage and quotas.
async fn project_json(state: &ApiState, project: &Project) -> Answer {
    let usage = state.store.project_usage().await?;
    let usage = usage.iter().find(|u| u.project_id == project.id);
    let mut v = shapes::project(project, usage);
    v["quotas"] = shapes::quotas(&state.store.project_quotas(project.id).await?);
    Ok(HttpResponse::Ok().json(v))
}

/// `PUT /projects/{org}/{project}/`: `{"quotas": {"dailyEvents": n | null, "attachmentBytes":
/// n | null}}` (Snag's caps; null lifts one, a missing field keeps it).
pub async fn update_project(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::ProjectWrite).await?;
    let body = json_body(&body)?;
    let mut quotas = state.store.project_quotas(project.id).await?;
    for (key, value) in &body {
        match key.as_str() {
            "quotas" => {
                let Some(fields) = value.as_object() else {
                    return Err(ApiError::BadRequest("quotas must be an object".into()));
                };
                for (field, value) in fields {
                    let cap = match value {
                        Value::Null => None,
                        _ => Some(value.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "{field} must be a positive integer or null"
                            ))
                        })?),
                    };
                    match field.as_str() {
                        "dailyEvents" => quotas.daily_events = cap,
                        "attachmentBytes" => quotas.attachment_bytes = cap,
                        other => {
                            return Err(ApiError::BadRequest(format!("unknown quota {other:?}")));
                        }
                    }
                }
            }
            // Fields a client sends back as it read them.
            "id" | "slug" | "name" | "storage" => {}
            other => return Err(ApiError::BadRequest(format!("unknown field {other:?}"))),
        }
    }
    state.store.set_project_quotas(project.id, quotas).await?;
    project_json(&state, &project).await
}
