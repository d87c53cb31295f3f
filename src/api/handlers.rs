//! The `/api/0/` endpoints. Each checks its token's scope first (see [`super::authorize`]).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{ApiError, authenticate, authorize, link_header, page, shapes};
use crate::app::{AppState, dsn};
use crate::format::field as get;
use crate::store::alerts::AlertSettings;
use crate::store::events::{StoredEvent, StoredIssue};
use crate::store::issues::{IssueSort, IssueStatus};
use crate::store::now_ms;
use crate::store::projects::{Project, ProjectKey};
use crate::store::tokens::ApiToken;

type Query = web::Query<Vec<(String, String)>>;
type Answer = Result<HttpResponse, ApiError>;

/// The public base URL (for permalinks, DSNs and Link headers).
fn base_url(req: &HttpRequest, state: &AppState) -> String {
    state
        .config
        .public_base_url(Some(req.app_config().local_addr()))
}

fn check_org(state: &AppState, org: &str) -> Result<(), ApiError> {
    if org == state.config.org_slug {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

async fn projects_with_keys(state: &AppState) -> Result<Vec<(Project, Vec<ProjectKey>)>, ApiError> {
    Ok(state.store.list_projects().await?)
}

/// The project `{org}/{project}` (by slug, or by id).
async fn project_of(
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
async fn issue_of(state: &AppState, id: &str) -> Result<(StoredIssue, Project), ApiError> {
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

pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"detail": "The requested resource does not exist"}))
}

pub async fn root(req: HttpRequest, state: web::Data<AppState>) -> Answer {
    // Any valid token may see its own scopes.
    let auth = if req.headers().contains_key("authorization") {
        let token = authenticate(&req, &state).await?;
        json!({"scopes": token.scopes.split(' ').collect::<Vec<_>>()})
    } else {
        Value::Null
    };
    Ok(HttpResponse::Ok().json(json!({"version": "0", "auth": auth, "user": null})))
}

pub async fn organizations(req: HttpRequest, state: web::Data<AppState>) -> Answer {
    authorize(&req, &state, "org:read").await?;
    let created = projects_with_keys(&state)
        .await?
        .iter()
        .map(|(p, _)| p.created_at)
        .min()
        .unwrap_or(0);
    let org = shapes::organization(&state.config.org_slug, created, &base_url(&req, &state));
    Ok(HttpResponse::Ok().json(json!([org])))
}

pub async fn organization(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Answer {
    authorize(&req, &state, "org:read").await?;
    check_org(&state, &path)?;
    let created = projects_with_keys(&state)
        .await?
        .iter()
        .map(|(p, _)| p.created_at)
        .min()
        .unwrap_or(0);
    Ok(HttpResponse::Ok().json(shapes::organization(
        &state.config.org_slug,
        created,
        &base_url(&req, &state),
    )))
}

pub async fn projects(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Answer {
    authorize(&req, &state, "project:read").await?;
    check_org(&state, &path)?;
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
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, "project:read").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    project_json(&state, &project).await
}

/// A project with its storage and quotas.
async fn project_json(state: &AppState, project: &Project) -> Answer {
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
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Answer {
    authorize(&req, &state, "project:write").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    let body = json_body(&body)?;
    let mut quotas = state.store.project_quotas(project.id).await?;
    for (key, value) in body.as_object().expect("checked: an object") {
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

/// `PUT /projects/{org}/{project}/keys/{key_id}/`: `{"rateLimit": {"count": n, "window":
/// seconds} | null, "isActive": bool}`, as Sentry's.
pub async fn update_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Answer {
    authorize(&req, &state, "project:write").await?;
    let (project, keys) = project_of(&state, &path.0, &path.1).await?;
    let key = keys
        .iter()
        .find(|k| k.public_key == path.2)
        .ok_or(ApiError::NotFound)?;
    let body = json_body(&body)?;
    for (field, value) in body.as_object().expect("checked: an object") {
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
    let (_, keys) = project_of(&state, &path.0, &path.1).await?;
    let key = keys
        .iter()
        .find(|k| k.public_key == path.2)
        .ok_or(ApiError::NotFound)?;
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok().json(shapes::key(
        key,
        &dsn(&base, &key.public_key, project.id),
        project.created_at,
    )))
}

pub async fn keys(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, "project:read").await?;
    let (project, keys) = project_of(&state, &path.0, &path.1).await?;
    let base = base_url(&req, &state);
    let list: Vec<Value> = keys
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

fn sort_of(query: &[(String, String)]) -> Result<IssueSort, ApiError> {
    Ok(match get(query, "sort") {
        None | Some("date") | Some("") => IssueSort::LastSeen,
        Some("new") => IssueSort::FirstSeen,
        Some("freq") => IssueSort::Events,
        Some("user") => IssueSort::Users,
        Some("trends") | Some("trend") => IssueSort::Trend,
        Some(other) => return Err(ApiError::BadRequest(format!("unknown sort {other:?}"))),
    })
}

/// A page of issues, `project_ids` empty for every project.
async fn issue_page(
    req: &HttpRequest,
    state: &AppState,
    query: &[(String, String)],
    project_ids: &[i64],
    org_wide: bool,
) -> Answer {
    let (size, offset) = page(query)?;
    // No `query`: unresolved issues, as Sentry; `query=` (empty): every issue.
    let mut filter = crate::issue_search::parse(get(query, "query").unwrap_or("is:unresolved"))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if get(query, "query").is_some_and(|q| q.trim().is_empty()) {
        filter.status = None;
    }
    if let Some(env) = get(query, "environment") {
        filter.tags.push(("environment".into(), env.to_owned()));
    }
    // The project endpoint's `statsPeriod` is the chart; the organization endpoint's is a time
    // range (its chart is `groupStatsPeriod`).
    let period = if org_wide {
        get(query, "groupStatsPeriod")
    } else {
        get(query, "statsPeriod")
    };
    let stats = match period {
        None | Some("") => None,
        Some("24h") => Some(("24h", 60, 24)),
        Some("14d") => Some(("14d", 24 * 60, 14)),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid statsPeriod {other:?}"
            )));
        }
    };
    let sort = sort_of(query)?;
    let projects: BTreeMap<i64, Project> = projects_with_keys(state)
        .await?
        .into_iter()
        .map(|(p, _)| (p.id, p))
        .collect();
    let now = now_ms();
    let now_minute = now / 60_000;
    filter.projects = project_ids.to_vec();
    let since = now_minute - 24 * 60 + 1;
    let (mut shown, total) = state
        .store
        .find_issues(&filter, sort, since, size + 1, offset)
        .await?;
    let more = shown.len() as i64 > size;
    shown.truncate(size as usize);
    let ids: Vec<i64> = shown.iter().map(|i| i.id).collect();
    let counts = match stats {
        Some((_, bucket, n)) => {
            state
                .store
                .issue_counts(&ids, now_minute, bucket, n)
                .await?
        }
        None => Default::default(),
    };
    let base = base_url(req, state);
    let body: Vec<Value> = shown
        .iter()
        .filter_map(|i| {
            let p = projects.get(&i.project_id)?;
            let mut v = shapes::issue(i, p, &base, &state.config.org_slug);
            if let Some((name, bucket, _)) = stats {
                let series = shapes::series(
                    counts.get(&i.id).map(Vec::as_slice).unwrap_or(&[]),
                    now,
                    bucket * 60_000,
                );
                v["stats"] = json!({ name: series });
            }
            Some(v)
        })
        .collect();
    let url = format!("{base}{}", req.path());
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&url, query, size, offset, more)))
        .insert_header(("X-Hits", total.to_string()))
        .json(body))
}

pub async fn project_issues(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: Query,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    issue_page(&req, &state, &query, &[project.id], false).await
}

pub async fn org_issues(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    check_org(&state, &path)?;
    // `project=-1` is Sentry's "every project".
    let projects = query
        .iter()
        .filter(|(k, v)| k == "project" && v != "-1")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid project {v:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    issue_page(&req, &state, &query, &projects, true).await
}

/// `{"status": …}` of an update (Sentry's names, `muted` for ignored).
fn status_of(body: &Value) -> Result<IssueStatus, ApiError> {
    let status = body.get("status").and_then(Value::as_str).ok_or_else(|| {
        ApiError::BadRequest("give a status: resolved, unresolved or ignored".into())
    })?;
    let until_escalating = body.get("substatus").and_then(Value::as_str)
        == Some("archived_until_escalating")
        || body
            .pointer("/statusDetails/ignoreUntilEscalating")
            .and_then(Value::as_bool)
            == Some(true);
    match status {
        "resolved" | "resolvedInNextRelease" => Ok(IssueStatus::Resolved),
        "unresolved" => Ok(IssueStatus::Unresolved),
        "ignored" | "muted" | "archived" if until_escalating => {
            Ok(IssueStatus::IgnoredUntilEscalating)
        }
        "ignored" | "muted" | "archived" => Ok(IssueStatus::Ignored),
        other => Err(ApiError::BadRequest(format!("unknown status {other:?}"))),
    }
}

fn json_body(body: &web::Bytes) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    Ok(value)
}

/// `PUT …/issues/?id=1&id=2` (or `?status=…`, or nothing: every issue) `{"status": …}`.
pub async fn bulk_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: Query,
    body: web::Bytes,
) -> Answer {
    authorize(&req, &state, "event:write").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    let body = json_body(&body)?;
    let status = status_of(&body)?;
    let ids: Vec<i64> = query
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid id {v:?}")))
        })
        .collect::<Result<_, _>>()?;
    let targets: Vec<i64> = if ids.is_empty() {
        let mut filter = crate::issue_search::parse(get(&query, "query").unwrap_or(""))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        filter.status = get(&query, "status").map(str::to_owned);
        filter.projects = vec![project.id];
        let (found, _) = state
            .store
            .find_issues(&filter, IssueSort::LastSeen, 0, 100_000, 0)
            .await?;
        found.into_iter().map(|i| i.id).collect()
    } else {
        let mut own = Vec::new();
        for id in ids {
            if state
                .store
                .get_issue(id)
                .await?
                .is_some_and(|i| i.project_id == project.id)
            {
                own.push(id);
            }
        }
        own
    };
    if targets.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    state.store.set_issue_status(&targets, status).await?;
    let name = body.get("status").cloned().unwrap_or(Value::Null);
    Ok(HttpResponse::Ok().json(json!({"status": name, "statusDetails": {}})))
}

async fn issue_detail(
    req: &HttpRequest,
    state: &AppState,
    issue: &StoredIssue,
    project: &Project,
) -> Result<Value, ApiError> {
    let now = now_ms();
    let now_minute = now / 60_000;
    let hourly = state
        .store
        .issue_counts(&[issue.id], now_minute, 60, 24)
        .await?;
    let daily = state
        .store
        .issue_counts(&[issue.id], now_minute, 24 * 60, 30)
        .await?;
    let mut v = shapes::issue(
        issue,
        project,
        &base_url(req, state),
        &state.config.org_slug,
    );
    v["stats"] = json!({
        "24h": shapes::series(hourly.get(&issue.id).map(Vec::as_slice).unwrap_or(&[]), now, 3_600_000),
        "30d": shapes::series(daily.get(&issue.id).map(Vec::as_slice).unwrap_or(&[]), now, 86_400_000),
    });
    v["tags"] = Value::Array(tag_summaries(state, issue.id, 0).await?);
    // Not Sentry's: how many of `count` retention has kept.
    v["storedEventCount"] = json!(state.store.stored_events(issue.id).await?);
    v["userReportCount"] = json!(0);
    v["activity"] = json!([]);
    v["seenBy"] = json!([]);
    v["participants"] = json!([]);
    v["pluginActions"] = json!([]);
    v["pluginContexts"] = json!([]);
    v["pluginIssues"] = json!([]);
    Ok(v)
}

pub async fn issue(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    let (issue, project) = issue_of(&state, &path).await?;
    Ok(HttpResponse::Ok().json(issue_detail(&req, &state, &issue, &project).await?))
}

pub async fn org_issue(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    check_org(&state, &path.0)?;
    let (issue, project) = issue_of(&state, &path.1).await?;
    Ok(HttpResponse::Ok().json(issue_detail(&req, &state, &issue, &project).await?))
}

pub async fn update_issue(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Answer {
    authorize(&req, &state, "event:write").await?;
    let (issue, project) = issue_of(&state, &path).await?;
    let status = status_of(&json_body(&body)?)?;
    state.store.set_issue_status(&[issue.id], status).await?;
    let issue = state
        .store
        .get_issue(issue.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(issue_detail(&req, &state, &issue, &project).await?))
}

/// Bytes of events one page may answer with: a `full=true` page ends early past it (its
/// `next` cursor starting at the first event left out), however large the events are.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// A page of events (light, or `full=true`).
async fn event_page(
    req: &HttpRequest,
    state: &AppState,
    query: &[(String, String)],
    project: Option<i64>,
    issue: Option<i64>,
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
            .map_err(|e| ApiError::Internal(format!("event JSON: {e}")))?;
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
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    let (issue, _) = issue_of(&state, &path).await?;
    event_page(&req, &state, &query, None, Some(issue.id)).await
}

pub async fn project_events(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: Query,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    event_page(&req, &state, &query, Some(project.id), None).await
}

/// One event in full, with its neighbours in its issue.
async fn full_event(state: &AppState, event: StoredEvent) -> Answer {
    let issue = state.store.get_issue(event.issue_id).await?;
    let mut v = shapes::event(&event, &event.json()?, issue.as_ref(), true);
    let (older, newer) = state
        .store
        .neighbour_events(event.issue_id, &event.event_id)
        .await?;
    v["previousEventID"] = json!(older);
    v["nextEventID"] = json!(newer);
    if let Some(issue) = &issue {
        v["fingerprints"] = json!([issue.primary_hash]);
    }
    Ok(HttpResponse::Ok().json(v))
}

pub async fn issue_event(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
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
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    let id = crate::protocol::parse_event_id(&path.2).ok_or(ApiError::NotFound)?;
    let event = state
        .store
        .get_event(project.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    full_event(&state, event).await
}

/// Per tag key: its name, how many events carry it, and (when `top` > 0) its top values.
async fn tag_summaries(
    state: &AppState,
    issue_id: i64,
    top: usize,
) -> Result<Vec<Value>, ApiError> {
    let mut by_key: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (key, value, n) in state.store.issue_tags(issue_id).await? {
        by_key.entry(key).or_default().push((value, n));
    }
    Ok(by_key
        .into_iter()
        .map(|(key, mut values)| {
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let total: i64 = values.iter().map(|(_, n)| n).sum();
            let mut v = json!({"key": key, "name": key, "totalValues": total, "uniqueValues": values.len()});
            if top > 0 {
                v["topValues"] = Value::Array(
                    values
                        .iter()
                        .take(top)
                        .map(|(value, n)| json!({"key": key, "name": value, "value": value, "count": n}))
                        .collect(),
                );
            }
            v
        })
        .collect())
}

pub async fn issue_tags(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    let (issue, _) = issue_of(&state, &path).await?;
    Ok(HttpResponse::Ok().json(tag_summaries(&state, issue.id, 9).await?))
}

pub async fn issue_tag(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    let (issue, _) = issue_of(&state, &path.0).await?;
    tag_summaries(&state, issue.id, 9)
        .await?
        .into_iter()
        .find(|t| t["key"] == path.1.as_str())
        .map(|t| HttpResponse::Ok().json(t))
        .ok_or(ApiError::NotFound)
}

/// A tag's values, most frequent first, a page at a time (`per_page`, `cursor`).
pub async fn issue_tag_values(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: Query,
) -> Answer {
    authorize(&req, &state, "event:read").await?;
    let (size, offset) = page(&query)?;
    let (issue, _) = issue_of(&state, &path.0).await?;
    let tag = tag_summaries(&state, issue.id, usize::MAX)
        .await?
        .into_iter()
        .find(|t| t["key"] == path.1.as_str())
        .ok_or(ApiError::NotFound)?;
    let values = tag["topValues"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let start = (offset as usize).min(values.len());
    let end = (start + size as usize).min(values.len());
    let url = format!("{}{}", base_url(&req, &state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header((
            "Link",
            link_header(&url, &query, size, offset, end < values.len()),
        ))
        .json(&values[start..end]))
}

/// The settings as JSON. The webhook URL is a secret (chat tools put their key in it): a
/// `project:admin` token sees it masked, any other only whether one is set.
fn settings_json(s: &AlertSettings, token: &ApiToken) -> Value {
    let webhook = s
        .webhook_url
        .as_deref()
        .filter(|_| token.has_scope("project:admin"))
        .map(crate::alerts::webhook::masked);
    json!({
        "onNewIssue": s.on_new, "onRegression": s.on_regression, "onSpike": s.on_spike,
        "spikeMinCount": s.spike_min_count, "spikeRatio": s.spike_ratio, "spikeZ": s.spike_z,
        "frequencyCount": s.frequency_count, "frequencyMinutes": s.frequency_minutes,
        "cooldownMinutes": s.cooldown_minutes, "recipients": s.recipients,
        "maxEmailsPerHour": s.max_emails_per_hour, "webhookUrl": webhook,
        "webhookConfigured": s.webhook_url.is_some(),
    })
}

pub async fn alert_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    let token = authorize(&req, &state, "project:read").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    Ok(HttpResponse::Ok().json(settings_json(
        &state.store.alert_settings(project.id).await?,
        &token,
    )))
}

/// `PUT` with any of the fields of the GET answer; the others keep their values. Setting
/// `webhookUrl` (a URL, or null to remove it) takes `project:admin`.
pub async fn set_alert_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Answer {
    let token = authorize(&req, &state, "project:write").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    let body = json_body(&body)?;
    let mut s = state.store.alert_settings(project.id).await?;
    let bad = |k: &str| ApiError::BadRequest(format!("invalid {k}"));
    for (key, value) in body.as_object().expect("checked: an object") {
        let positive = || value.as_i64().filter(|n| *n >= 1).ok_or_else(|| bad(key));
        let optional = || match value {
            Value::Null => Ok(None),
            _ => value
                .as_i64()
                .filter(|n| *n >= 1)
                .map(Some)
                .ok_or_else(|| bad(key)),
        };
        let flag = || value.as_bool().ok_or_else(|| bad(key));
        let ratio = || value.as_f64().filter(|n| *n >= 1.0).ok_or_else(|| bad(key));
        let text = || match value {
            Value::Null => Ok(None),
            Value::String(t) => Ok(Some(t.clone())),
            _ => Err(bad(key)),
        };
        match key.as_str() {
            "onNewIssue" => s.on_new = flag()?,
            "onRegression" => s.on_regression = flag()?,
            "onSpike" => s.on_spike = flag()?,
            "spikeMinCount" => s.spike_min_count = positive()?,
            "spikeRatio" => s.spike_ratio = ratio()?,
            "spikeZ" => s.spike_z = ratio()?,
            "frequencyCount" => s.frequency_count = optional()?,
            "frequencyMinutes" => s.frequency_minutes = optional()?,
            "cooldownMinutes" => s.cooldown_minutes = positive()?,
            "maxEmailsPerHour" => s.max_emails_per_hour = positive()?,
            "recipients" => s.recipients = text()?,
            "webhookUrl" if !token.has_scope("project:admin") => {
                return Err(ApiError::Forbidden);
            }
            "webhookUrl" => s.webhook_url = text()?,
            "webhookConfigured" => {}
            other => return Err(ApiError::BadRequest(format!("unknown field {other:?}"))),
        }
    }
    let allow = crate::alerts::webhook::AllowList::new(&state.config.mail.webhook_allow_hosts);
    let s = crate::alerts::settings_to_save(s, &allow)
        .await
        .map_err(ApiError::BadRequest)?;
    state.store.set_alert_settings(project.id, &s).await?;
    Ok(HttpResponse::Ok().json(settings_json(&s, &token)))
}

pub async fn grouping_rules(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorize(&req, &state, "project:read").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    let (stacktrace, fingerprints) = state.store.grouping_rules(project.id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"stacktraceRules": stacktrace, "fingerprintRules": fingerprints})))
}

pub async fn set_grouping_rules(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Answer {
    authorize(&req, &state, "project:write").await?;
    let (project, _) = project_of(&state, &path.0, &path.1).await?;
    let body = json_body(&body)?;
    let text = |k: &str| match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::BadRequest(format!("{k} must be a string"))),
    };
    let (stacktrace, fingerprints) = (text("stacktraceRules")?, text("fingerprintRules")?);
    let (current_st, current_fp) = state.store.grouping_rules(project.id).await?;
    crate::grouping::ProjectRules::parse(
        stacktrace.as_deref().unwrap_or(&current_st),
        fingerprints.as_deref().unwrap_or(&current_fp),
    )
    .map_err(ApiError::BadRequest)?;
    state
        .store
        .set_grouping_rules(
            &project.name,
            stacktrace.as_deref(),
            fingerprints.as_deref(),
        )
        .await?;
    let (stacktrace, fingerprints) = state.store.grouping_rules(project.id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"stacktraceRules": stacktrace, "fingerprintRules": fingerprints})))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(super::openapi::document())
}
