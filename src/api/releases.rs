//! Releases and deploys as sentry-cli manages them (`releases new/finalize/info/list/delete/
//! archive`, `deploys new/list`).
//!
//! ```text
//! GET    /api/0/organizations/{org}/releases/?project=ID&query=…&status=archived   [release]
//! POST   /api/0/organizations/{org}/releases/   {"version", "projects": [slug], "ref", "url", "dateReleased"}
//!        → 201 release (208 when it existed: then it is added to the projects)
//! GET    /api/0/organizations/{org}/releases/{version}/        release
//! PUT    /api/0/organizations/{org}/releases/{version}/        {"dateReleased", "ref", "url", "status": "open|archived"}
//! DELETE /api/0/organizations/{org}/releases/{version}/        204
//! GET    /api/0/organizations/{org}/releases/{version}/deploys/   [deploy]
//! POST   /api/0/organizations/{org}/releases/{version}/deploys/   {"environment", "name", "url", "dateStarted", "dateFinished"} → 201
//! ```
//! The same under `/api/0/projects/{org}/{project}/releases/…` (what sentry-cli calls with
//! `-p`): a list then holds that project's releases, a new release belongs to it.
//! `{version}` arrives percent-decoded (`shop%401.2` is `shop@1.2`). Commits and repositories
//! are not kept: `set-commits` is refused with a 400 that says so.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::access::{authorized_org, json_body};
use super::{Answer, ApiError, ApiState, Query, link_header, page, shapes};
use crate::format::field as get;
use crate::store::ProjectId;
use crate::store::releases::{Deploy, Release, ReleaseChange};
use crate::store::tokens::Scope;

/// `/organizations/{org}/releases/…` or `/projects/{org}/{project}/releases/…`, and the
/// `{version}` when the path names one.
#[derive(Debug, Deserialize)]
pub struct ReleasePath {
    org: String,
    project: Option<String>,
    version: Option<String>,
}

impl ReleasePath {
    /// The organization checked and the token holding `scope`; the project the path names.
    async fn authorize(
        &self,
        req: &HttpRequest,
        state: &ApiState,
        scope: Scope,
    ) -> Result<Option<ProjectId>, ApiError> {
        authorized_org(req, state, &self.org, scope).await?;
        Ok(match &self.project {
            Some(slug) => Some(
                state
                    .store
                    .find_project(slug)
                    .await?
                    .ok_or(ApiError::NotFound)?
                    .id,
            ),
            None => None,
        })
    }

    /// The release the path names, the token holding `scope`; 404 when there is none.
    async fn release(
        &self,
        req: &HttpRequest,
        state: &ApiState,
        scope: Scope,
    ) -> Result<Release, ApiError> {
        self.authorize(req, state, scope).await?;
        state
            .store
            .release(self.version())
            .await?
            .ok_or(ApiError::NotFound)
    }

    fn version(&self) -> &str {
        self.version.as_deref().unwrap_or_default()
    }
}

/// A release with its projects, in Sentry's shape.
async fn release_json(state: &ApiState, release: &Release) -> Result<Value, ApiError> {
    let projects = state.store.release_projects(release.id).await?;
    let last_deploy = state
        .store
        .deploys(release.id)
        .await?
        .first()
        .map(shapes::deploy);
    Ok(shapes::release(release, &projects, last_deploy))
}

/// `{"dateReleased": "2026-…"}` and the like; anything else (commits, refs) is refused.
fn change_of(body: &Map<String, Value>) -> Result<ReleaseChange, ApiError> {
    if body.contains_key("commits") || body.contains_key("refs") {
        return Err(ApiError::BadRequest(
            "Snag keeps no commits or repositories: create the release without them".into(),
        ));
    }
    let text = |key: &str| -> Result<Option<String>, ApiError> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.chars().take(400).collect())),
            Some(other) => Err(ApiError::BadRequest(format!("invalid {key} {other}"))),
        }
    };
    let date_released = match body.get("dateReleased") {
        None | Some(Value::Null) => None,
        Some(date) => Some(crate::normalize::parse_timestamp(date).ok_or_else(|| {
            ApiError::BadRequest(format!("invalid dateReleased {date}: an ISO 8601 date"))
        })?),
    };
    Ok(ReleaseChange {
        date_released,
        reference: text("ref")?,
        url: text("url")?,
        status: text("status")?,
    })
}

/// Longest release version (Sentry's column).
const MAX_VERSION_CHARS: usize = 250;
/// Longest deploy environment (as events' environments).
const MAX_ENVIRONMENT_CHARS: usize = 64;

/// A version Sentry accepts: not empty, `.`, `..` or `latest`, at most 250 characters, no
/// slash, backslash, tab or line break.
fn check_version(version: &str) -> Result<(), ApiError> {
    let refused =
        !crate::normalize::is_valid_release(version) || version.chars().count() > MAX_VERSION_CHARS;
    match refused {
        true => Err(ApiError::BadRequest(format!(
            "invalid release version {version:?}: at most {MAX_VERSION_CHARS} characters, no slash, backslash, tab or line break, not \".\", \"..\" or \"latest\""
        ))),
        false => Ok(()),
    }
}

/// The projects a body names by slug (or id); every one must exist.
async fn projects_named(
    state: &ApiState,
    body: &Map<String, Value>,
) -> Result<Vec<ProjectId>, ApiError> {
    let names = match body.get("projects") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(names)) => names,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid projects {other}: a list of project slugs"
            )));
        }
    };
    let mut ids = Vec::new();
    for name in names {
        let slug = name
            .as_str()
            .ok_or_else(|| ApiError::BadRequest(format!("invalid project {name}")))?;
        let project = state
            .store
            .find_project(slug)
            .await?
            .ok_or_else(|| ApiError::BadRequest(format!("no project {slug:?}")))?;
        ids.push(project.id);
    }
    Ok(ids)
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<ReleasePath>,
    query: Query,
) -> Answer {
    let path_project = path.authorize(&req, &state, Scope::ProjectRead).await?;
    let (size, offset) = page(&query)?;
    let project = match get(&query, "project").filter(|p| !p.is_empty() && *p != "-1") {
        _ if path_project.is_some() => path_project,
        Some(p) => Some(
            state
                .store
                .find_project(p)
                .await?
                .ok_or_else(|| ApiError::BadRequest(format!("no project {p:?}")))?
                .id,
        ),
        None => None,
    };
    let archived = get(&query, "status") == Some("archived");
    let mut releases = state
        .store
        .list_releases(project, get(&query, "query"), archived, size + 1, offset)
        .await?;
    let more = releases.len() as i64 > size;
    releases.truncate(size as usize);
    let mut body = Vec::with_capacity(releases.len());
    for release in &releases {
        body.push(release_json(&state, release).await?);
    }
    let url = format!("{}{}", super::base_url(&req, &state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&url, &query, size, offset, more)))
        .json(body))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<ReleasePath>,
    body: web::Bytes,
) -> Answer {
    let path_project = path.authorize(&req, &state, Scope::ProjectWrite).await?;
    let body = json_body(&body)?;
    let version = body
        .get("version")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("give the release's version".into()))?;
    check_version(version)?;
    let mut projects = projects_named(&state, &body).await?;
    projects.extend(path_project);
    // Archiving posts the existing release again with no projects and a status.
    if projects.is_empty() && state.store.release(version).await?.is_none() {
        return Err(ApiError::BadRequest(
            "give the release's projects: {\"projects\": [\"slug\"]}".into(),
        ));
    }
    let (release, created) = state
        .store
        .create_release(version, &projects, &change_of(&body)?)
        .await?;
    let json = release_json(&state, &release).await?;
    Ok(if created {
        HttpResponse::Created().json(json)
    } else {
        // Sentry's answer for a release that already exists.
        HttpResponse::build(actix_web::http::StatusCode::ALREADY_REPORTED).json(json)
    })
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<ReleasePath>,
) -> Answer {
    let release = path.release(&req, &state, Scope::ProjectRead).await?;
    Ok(HttpResponse::Ok().json(release_json(&state, &release).await?))
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<ReleasePath>,
    body: web::Bytes,
) -> Answer {
    path.release(&req, &state, Scope::ProjectWrite).await?;
    let body = json_body(&body)?;
    let change = change_of(&body)?;
    let projects = projects_named(&state, &body).await?;
    // Projects named on a finalize are added, as Sentry does.
    let (release, _) = state
        .store
        .create_release(path.version(), &projects, &change)
        .await?;
    Ok(HttpResponse::Ok().json(release_json(&state, &release).await?))
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<ReleasePath>,
) -> Answer {
    path.authorize(&req, &state, Scope::ProjectAdmin).await?;
    if state.store.delete_release(path.version()).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound)
    }
}

/// A release's commits: none, as Snag keeps no repositories (`set-commits` is refused), which
/// Sentry answers as an empty list too.
pub async fn commits(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<ReleasePath>,
) -> Answer {
    path.release(&req, &state, Scope::ProjectRead).await?;
    Ok(HttpResponse::Ok().json(Vec::<Value>::new()))
}

pub async fn deploys(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<ReleasePath>,
) -> Answer {
    let release = path.release(&req, &state, Scope::ProjectRead).await?;
    let deploys: Vec<Value> = state
        .store
        .deploys(release.id)
        .await?
        .iter()
        .map(shapes::deploy)
        .collect();
    Ok(HttpResponse::Ok().json(deploys))
}

pub async fn add_deploy(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<ReleasePath>,
    body: web::Bytes,
) -> Answer {
    let release = path.release(&req, &state, Scope::ProjectWrite).await?;
    let body = json_body(&body)?;
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .map(|t| t.chars().take(400).collect::<String>())
    };
    let date = |key: &str| -> Result<Option<i64>, ApiError> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(d) => crate::normalize::parse_timestamp(d)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("invalid {key} {d}: an ISO 8601 date"))
                }),
        }
    };
    let environment = text("environment")
        .filter(|e| {
            !e.trim().is_empty()
                && e.chars().count() <= MAX_ENVIRONMENT_CHARS
                && !e.contains(['/', '\n', '\r', '\t'])
        })
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "give the deploy's environment: a name of at most {MAX_ENVIRONMENT_CHARS} characters, no slash or line break"
            ))
        })?;
    let deploy = Deploy {
        id: 0,
        environment,
        name: text("name"),
        url: text("url"),
        date_started: date("dateStarted")?,
        date_finished: date("dateFinished")?.unwrap_or_else(crate::store::now_ms),
    };
    let deploy = state.store.add_deploy(release.id, &deploy).await?;
    Ok(HttpResponse::Created().json(shapes::deploy(&deploy)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_as_sentry_checks_them() {
        for good in [
            "shop@1.2.3",
            "1.0",
            "web 2.0 beta",
            "a".repeat(250).as_str(),
            "café@1",
        ] {
            assert!(check_version(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "  ",
            ".",
            "..",
            "latest",
            "LATEST",
            "a/b",
            "a\\b",
            "a\nb",
            "a\tb",
            "a".repeat(251).as_str(),
        ] {
            assert!(check_version(bad).is_err(), "{bad:?}");
        }
    }
}
