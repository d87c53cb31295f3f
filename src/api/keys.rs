//! A project's client keys (DSNs).
//!
//! ```text
//! GET /api/0/projects/{org}/{project}/keys/                [key]
//! PUT /api/0/projects/{org}/{project}/keys/{public key}/   {"rateLimit": {"count": n, "window": seconds} | null, "isActive": bool}
//! ```

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::ApiState;
use super::access::{authorized_project, json_body};
use super::{Answer, ApiError, base_url, shapes};
use crate::app::dsn;
use crate::store::projects::{Project, ProjectKey};
use crate::store::tokens::Scope;

pub async fn keys(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::ProjectRead).await?;
    let base = base_url(&req, &state);
    let list: Vec<Value> = state
        .store
        .project_keys(project.id)
        .await?
        .iter()
        .map(|k| {
            shapes::key(
                k,
                &dsn(&base, &k.public_key, project.id),
                project.created_at,
            )
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// `PUT /projects/{org}/{project}/keys/{key_id}/`: `{"rateLimit": {"count": n, "window":
/// seconds} | null, "isActive": bool}`, as Sentry's.
pub async fn update_key(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Answer {
    let project = authorized_project(&req, &state, &path.0, &path.1, Scope::ProjectWrite).await?;
    let key = key_of(&state, &project, &path.2).await?;
    let body = json_body(&body)?;
    for (field, value) in &body {
        match field.as_str() {
            "rateLimit" => {
                let limit = match value {
                    Value::Null => None,
                    _ => {
                        let number = |name| value.get(name).and_then(Value::as_u64);
                        let (Some(count), Some(window)) = (number("count"), number("window"))
                        else {
                            return Err(ApiError::BadRequest(
                                "rateLimit is {\"count\": n, \"window\": seconds} or null".into(),
                            ));
                        };
                        Some(crate::store::quotas::KeyRateLimit::new(count, window)?)
                    }
                };
                state
                    .store
                    .set_key_rate_limit(&key.public_key, limit)
                    .await?;
            }
            "isActive" => {
                let active = value
                    .as_bool()
                    .ok_or_else(|| ApiError::BadRequest("isActive must be true or false".into()))?;
                state.store.set_key_active(&key.public_key, active).await?;
            }
            // Fields a client sends back as it read them.
            "id" | "name" | "label" | "public" | "secret" | "projectId" | "dsn" | "dateCreated" => {
            }
            other => return Err(ApiError::BadRequest(format!("unknown field {other:?}"))),
        }
    }
    let key = key_of(&state, &project, &path.2).await?;
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok().json(shapes::key(
        &key,
        &dsn(&base, &key.public_key, project.id),
        project.created_at,
    )))
}

/// The project's key whose public part is `public_key`.
async fn key_of(
    state: &ApiState,
    project: &Project,
    public_key: &str,
) -> Result<ProjectKey, ApiError> {
    state
        .store
        .find_key(public_key)
        .await?
        .filter(|k| k.project_id == project.id)
        .ok_or(ApiError::NotFound)
}
