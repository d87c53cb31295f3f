//! What every endpoint checks first: the token and its scope ([`authorize`]), the organization
//! in the path, and the project or issue it names ([`authorized_project`],
//! [`authorized_issue`]); and the JSON object a `PUT` sends ([`json_body`]).

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::ApiError;
use super::ApiState;
use crate::store::events::StoredIssue;
use crate::store::issues::{AssigneeFilter, IssueFilter};
use crate::store::projects::{Project, ProjectKey};
use crate::store::tokens::{ApiToken, Scope};
use crate::store::users::User;

/// The request's token, which must hold `scope` (or the write scope that implies it).
pub async fn authorize(
    req: &HttpRequest,
    state: &ApiState,
    scope: Scope,
) -> Result<ApiToken, ApiError> {
    let token = authenticate(req, state).await?;
    if token.has_scope(scope) || implied_by(scope).is_some_and(|s| token.has_scope(s)) {
        Ok(token)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The request's valid token, whatever its scopes.
pub async fn authenticate(req: &HttpRequest, state: &ApiState) -> Result<ApiToken, ApiError> {
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

/// A write scope implies the read scope (`event:write` may read events); nothing else implies
/// another (`project:admin` is not `project:write`).
fn implied_by(scope: Scope) -> Option<Scope> {
    match scope {
        Scope::ProjectRead => Some(Scope::ProjectWrite),
        Scope::EventRead => Some(Scope::EventWrite),
        _ => None,
    }
}

/// The request's token once it holds `scope` and `org` is this installation's organization:
/// the preamble of every `/organizations/{org}/…` endpoint.
pub(super) async fn authorized_org(
    req: &HttpRequest,
    state: &ApiState,
    org: &str,
    scope: Scope,
) -> Result<ApiToken, ApiError> {
    let token = authorize(req, state, scope).await?;
    check_org(state, org)?;
    Ok(token)
}

pub(super) fn check_org(state: &ApiState, org: &str) -> Result<(), ApiError> {
    if org == state.config.org_slug {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

pub(super) async fn projects_with_keys(
    state: &ApiState,
) -> Result<Vec<(Project, Vec<ProjectKey>)>, ApiError> {
    Ok(state.store.list_projects().await?)
}

/// The project a `/projects/{org}/{project}/…` path names, once the request's token holds
/// `scope`: the preamble of every project endpoint.
pub(super) async fn authorized_project(
    req: &HttpRequest,
    state: &ApiState,
    org: &str,
    slug: &str,
    scope: Scope,
) -> Result<Project, ApiError> {
    authorize(req, state, scope).await?;
    project_of(state, org, slug).await
}

/// The project `{org}/{project}` (by slug, or by id).
pub(super) async fn project_of(
    state: &ApiState,
    org: &str,
    slug: &str,
) -> Result<Project, ApiError> {
    check_org(state, org)?;
    state
        .store
        .find_project(slug)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The issue a path names: `/issues/{id}/…`, or `/organizations/{org}/issues/{id}/…` (the same
/// endpoints, which Sentry's newer clients call), `{id}` a number or a short id (`SHOP-12`).
#[derive(Debug, Deserialize)]
pub struct IssuePath {
    org: Option<String>,
    id: String,
}

/// The issue `path` names, with its project, once the request's token holds `scope`: the
/// preamble of every issue endpoint.
pub(super) async fn authorized_issue(
    req: &HttpRequest,
    state: &ApiState,
    path: &IssuePath,
    scope: Scope,
) -> Result<(StoredIssue, Project), ApiError> {
    authorize(req, state, scope).await?;
    path.find(state).await
}

impl IssuePath {
    /// The issue and its project (for an endpoint that authorized the request itself).
    pub(super) async fn find(&self, state: &ApiState) -> Result<(StoredIssue, Project), ApiError> {
        if let Some(org) = &self.org {
            check_org(state, org)?;
        }
        issue_of(state, &self.id).await
    }
}

/// An issue by id, or by short id (`SHOP-12`), with its project.
pub(super) async fn issue_of(
    state: &ApiState,
    id: &str,
) -> Result<(StoredIssue, Project), ApiError> {
    let issue = state.store.find_issue(id).await?;
    let issue = issue.ok_or(ApiError::NotFound)?;
    let project = state
        .store
        .get_project(issue.project_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((issue, project))
}

/// The user a token acts for, if any.
pub(super) async fn token_user(
    state: &ApiState,
    token: &ApiToken,
) -> Result<Option<User>, ApiError> {
    Ok(match token.user_id {
        Some(id) => state.store.get_user(id).await?,
        None => None,
    })
}

/// `query` in the issue search language, `assigned:me` meaning the token's user.
pub(super) async fn issue_search(
    state: &ApiState,
    token: &ApiToken,
    query: &str,
) -> Result<IssueFilter, ApiError> {
    let filter =
        crate::issue_search::parse(query).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if filter.assignee != Some(AssigneeFilter::Me) {
        return Ok(filter);
    }
    let me = token_user(state, token).await?;
    filter
        .with_me(me.as_ref().map(|u| u.email.as_str()))
        .map_err(ApiError::BadRequest)
}

/// The body of a `PUT`, which must be a JSON object: its fields.
pub(super) fn json_body(body: &web::Bytes) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
    match value {
        Value::Object(fields) => Ok(fields),
        _ => Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_write_implies_read() {
        assert_eq!(implied_by(Scope::EventRead), Some(Scope::EventWrite));
        assert_eq!(implied_by(Scope::ProjectRead), Some(Scope::ProjectWrite));
        for scope in [
            Scope::OrgRead,
            Scope::ProjectWrite,
            Scope::EventWrite,
            Scope::EventAdmin,
        ] {
            assert_eq!(implied_by(scope), None, "{scope:?}");
        }
    }
}
