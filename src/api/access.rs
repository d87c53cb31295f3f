//! What every endpoint checks first: the token and its scope ([`authorize`]), the organization
//! in the path, and the project or issue it names ([`project_of`], [`issue_of`]); and the JSON
//! object a `PUT` sends ([`json_body`]).

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use serde_json::Value;

use super::ApiError;
use crate::app::AppState;
use crate::store::events::StoredIssue;
use crate::store::projects::{Project, ProjectKey};
use crate::store::tokens::ApiToken;

/// The request's token, which must hold `scope`.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    scope: &str,
) -> Result<ApiToken, ApiError> {
    let token = authenticate(req, state).await?;
    if token.has_scope(scope) || token.has_scope(&upgrade(scope)) {
        Ok(token)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The request's valid token, whatever its scopes.
pub async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<ApiToken, ApiError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::NoCredentials)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::NoCredentials)?;
    state
        .store
        .find_token(token)
        .await?
        .ok_or(ApiError::BadToken)
}

/// A write scope implies the read scope (`event:write` may read events).
fn upgrade(scope: &str) -> String {
    scope.replace(":read", ":write")
}

pub(super) fn check_org(state: &AppState, org: &str) -> Result<(), ApiError> {
    if org == state.config.org_slug {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

pub(super) async fn projects_with_keys(
    state: &AppState,
) -> Result<Vec<(Project, Vec<ProjectKey>)>, ApiError> {
    Ok(state.store.list_projects().await?)
}

/// The project `{org}/{project}` (by slug, or by id).
pub(super) async fn project_of(
    state: &AppState,
    org: &str,
    slug: &str,
) -> Result<(Project, Vec<ProjectKey>), ApiError> {
    check_org(state, org)?;
    projects_with_keys(state)
        .await?
        .into_iter()
        .find(|(p, _)| p.name == slug || p.id.to_string() == slug)
        .ok_or(ApiError::NotFound)
}

async fn project_by_id(state: &AppState, id: i64) -> Result<Project, ApiError> {
    projects_with_keys(state)
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| p.id == id)
        .ok_or(ApiError::NotFound)
}

/// An issue by id, or by short id (`SHOP-12`).
pub(super) async fn issue_of(
    state: &AppState,
    id: &str,
) -> Result<(StoredIssue, Project), ApiError> {
    let issue = match id.parse::<i64>() {
        Ok(id) => state.store.get_issue(id).await?,
        Err(_) => {
            let (slug, number) = id.rsplit_once('-').ok_or(ApiError::NotFound)?;
            let number: i64 = number.parse().map_err(|_| ApiError::NotFound)?;
            let project = projects_with_keys(state)
                .await?
                .into_iter()
                .find(|(p, _)| p.name.eq_ignore_ascii_case(slug))
                .ok_or(ApiError::NotFound)?
                .0;
            state.store.issue_by_short_id(project.id, number).await?
        }
    };
    let issue = issue.ok_or(ApiError::NotFound)?;
    let project = project_by_id(state, issue.project_id).await?;
    Ok((issue, project))
}

pub(super) fn json_body(body: &web::Bytes) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    Ok(value)
}
