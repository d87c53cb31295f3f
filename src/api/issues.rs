//! Issues: lists searched with the issue search language, one issue in detail, status changes.
//!
//! ```text
//! GET /api/0/organizations/{org}/issues/?project=ID&query=…&sort=date|new|freq|user|trends
//!     &groupStatsPeriod=24h|14d|auto&statsPeriod=14d|start=…&end=…   (issues seen in that range)
//! GET /api/0/projects/{org}/{project}/issues/?query=…&sort=…&statsPeriod=24h|14d&environment=…
//! PUT /api/0/projects/{org}/{project}/issues/?id=1&id=2   {"status": "resolved"}  (no id: every match of query/status)
//! GET /api/0/organizations/{org}/issues/{id}/  or  /api/0/issues/{id}/   issue with stats and tags
//! PUT /api/0/issues/{id}/                      {"status": "resolved | unresolved | ignored", "substatus": …}
//! GET /api/0/organizations/{org}/shortids/{short_id}/   {"groupId", "shortId", "group": issue…}
//! ```
//! `{id}` is the issue's number or its short id (`SHOP-12`). Lists are paged (`cursor`) and say
//! their total in `X-Hits`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::ApiState;
use super::access::{
    IssuePath, authorize, authorized_issue, authorized_org, issue_of, issue_search, json_body,
    project_of, projects_with_keys, token_user,
};
use super::tags::tag_summaries;
use super::{Answer, ApiError, Query, base_url, link_header, page, shapes};
use crate::format::field as get;
use crate::store::events::StoredIssue;
use crate::store::issue_state::Status;
use crate::store::issues::{IssueSort, IssueStatus};
use crate::store::projects::Project;
use crate::store::tokens::{ApiToken, Scope};
use crate::store::users::User;
use crate::store::{IssueId, ProjectId, now_ms};
use crate::time;

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
    state: &ApiState,
    token: &ApiToken,
    query: &[(String, String)],
    project_ids: &[ProjectId],
    org_wide: bool,
) -> Answer {
    let (size, offset) = page(query)?;
    // No `query`: unresolved issues, as Sentry; `query=` (empty): every issue.
    let mut filter =
        issue_search(state, token, get(query, "query").unwrap_or("is:unresolved")).await?;
    if get(query, "query").is_some_and(|q| q.trim().is_empty()) {
        filter.status = None;
    }
    filter.environments = super::events::environments_of(query);
    let now = now_ms();
    // The project endpoint's `statsPeriod` is the chart; the organization endpoint's is a time
    // range (issues seen in it), its chart `groupStatsPeriod`.
    let (period, range) = if org_wide {
        let range = super::time_range::from_query(query, "statsPeriod", now)?;
        (get(query, "groupStatsPeriod"), range)
    } else {
        (get(query, "statsPeriod"), None)
    };
    filter.seen_between = range.map(|r| (r.start_ms, r.end_ms));
    let stats = match period {
        None | Some("") => None,
        Some("24h") => Some(("24h", 60, 24)),
        Some("14d") => Some(("14d", time::MINUTES_PER_DAY, 14)),
        // Buckets that suit the range asked: hours up to two days, days beyond (at most 90).
        Some("auto") => Some(match range.map(|r| r.end_ms - r.start_ms) {
            Some(span) if span > 2 * time::DAY_MS => {
                ("auto", time::MINUTES_PER_DAY, (span / time::DAY_MS).min(90))
            }
            Some(span) => ("auto", 60, (span / time::HOUR_MS).max(1)),
            None => ("auto", 60, 24),
        }),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid statsPeriod {other:?}: 24h, 14d or auto"
            )));
        }
    };
    let sort = sort_of(query)?;
    let projects: BTreeMap<ProjectId, Project> = projects_with_keys(state)
        .await?
        .into_iter()
        .map(|(p, _)| (p.id, p))
        .collect();
    let now_minute = time::minute_of(now);
    filter.projects = project_ids.to_vec();
    let since = now_minute - time::MINUTES_PER_DAY + 1;
    let (mut shown, total) = state
        .store
        .find_issues(&filter, sort, since, size + 1, offset)
        .await?;
    let more = shown.len() as i64 > size;
    shown.truncate(size as usize);
    let ids: Vec<IssueId> = shown.iter().map(|i| i.id).collect();
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
                    time::minute_start(bucket),
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
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    query: Query,
) -> Answer {
    let token = authorize(&req, &state, Scope::EventRead).await?;
    let project = project_of(&state, &path.0, &path.1).await?;
    issue_page(&req, &state, &token, &query, &[project.id], false).await
}

pub async fn org_issues(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: Query,
) -> Answer {
    let token = authorized_org(&req, &state, &path, Scope::EventRead).await?;
    let projects = projects_of(&query)?;
    issue_page(&req, &state, &token, &query, &projects, true).await
}

/// The `project` ids a query names (repeatable; `-1` is Sentry's "every project").
pub(super) fn projects_of(query: &[(String, String)]) -> Result<Vec<ProjectId>, ApiError> {
    query
        .iter()
        .filter(|(k, v)| k == "project" && v != "-1")
        .map(|(_, v)| {
            v.parse::<ProjectId>()
                .map_err(|_| ApiError::BadRequest(format!("invalid project {v:?}")))
        })
        .collect()
}

/// `{"status": …}` of an update (Sentry's names, `muted` for ignored), with its details in
/// `statusDetails` or beside it, as Sentry reads them: `ignoreUntilEscalating`, and
/// `ignoreDuration` (minutes) or `ignoreUntil` (a date) for a while.
fn status_of(body: &Map<String, Value>, now_ms: i64) -> Result<IssueStatus, ApiError> {
    let status = body.get("status").and_then(Value::as_str).ok_or_else(|| {
        ApiError::BadRequest("give a status: resolved, unresolved or ignored".into())
    })?;
    let details = body
        .get("statusDetails")
        .and_then(Value::as_object)
        .unwrap_or(body);
    let detail = |key: &str| details.get(key).or_else(|| body.get(key));
    let until_escalating = body.get("substatus").and_then(Value::as_str)
        == Some("archived_until_escalating")
        || detail("ignoreUntilEscalating").and_then(Value::as_bool) == Some(true);
    for unsupported in [
        "ignoreCount",
        "ignoreWindow",
        "ignoreUserCount",
        "ignoreUserWindow",
    ] {
        if detail(unsupported).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::BadRequest(format!(
                "{unsupported} is not supported: ignore forever, for a duration (ignoreDuration, minutes), until a date (ignoreUntil) or until escalating"
            )));
        }
    }
    let until_ms = match (detail("ignoreDuration"), detail("ignoreUntil")) {
        (Some(minutes), _) if !minutes.is_null() => {
            let minutes = minutes
                .as_i64()
                .filter(|m| (1..=525_600 * 10).contains(m))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "invalid ignoreDuration {minutes}: a whole number of minutes"
                    ))
                })?;
            Some(now_ms + minutes * time::MINUTE_MS)
        }
        (_, Some(until)) if !until.is_null() => Some(
            crate::normalize::parse_timestamp(until)
                .filter(|t| *t > now_ms)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "invalid ignoreUntil {until}: a date and time in the future"
                    ))
                })?,
        ),
        _ => None,
    };
    match status {
        "resolved" | "resolvedInNextRelease" => Ok(IssueStatus::Resolved),
        "unresolved" => Ok(IssueStatus::Unresolved),
        "ignored" | "muted" | "archived" if until_escalating => {
            Ok(IssueStatus::IgnoredUntilEscalating)
        }
        "ignored" | "muted" | "archived" => Ok(match until_ms {
            Some(until_ms) => IssueStatus::IgnoredUntil(until_ms),
            None => IssueStatus::Ignored,
        }),
        other => Err(ApiError::BadRequest(format!("unknown status {other:?}"))),
    }
}

/// What a `PUT` changes: the status, the assignee (`Some(None)`: nobody), or both.
struct Update {
    status: Option<IssueStatus>,
    assignee: Option<Option<User>>,
    /// Who asks (the token's user), for the activity log.
    actor: Option<i64>,
}

impl Update {
    /// The update `body` asks of issues of `project`.
    async fn of(
        state: &ApiState,
        token: &ApiToken,
        body: &Map<String, Value>,
        project: ProjectId,
    ) -> Result<Update, ApiError> {
        let status = match body.get("status") {
            Some(_) => Some(match status_of(body, now_ms())? {
                IssueStatus::Resolved => resolved_in(state, body, project).await?,
                other => other,
            }),
            None => None,
        };
        let assignee = match body.get("assignedTo") {
            Some(who) => Some(assignee_of(state, token, who).await?),
            None => None,
        };
        if status.is_none() && assignee.is_none() {
            return Err(ApiError::BadRequest(
                "give a status (resolved, unresolved, ignored) or assignedTo".into(),
            ));
        }
        Ok(Update {
            status,
            assignee,
            actor: token.user_id,
        })
    }

    async fn apply(&self, state: &ApiState, issues: &[IssueId]) -> Result<(), ApiError> {
        if let Some(status) = &self.status {
            state
                .store
                .set_issue_status(issues, status.clone(), self.actor)
                .await?;
        }
        if let Some(assignee) = &self.assignee {
            state
                .store
                .assign_issues(issues, assignee.as_ref(), self.actor)
                .await?;
        }
        Ok(())
    }
}

/// A resolution as Sentry's clients ask for it: outright, `statusDetails.inRelease` (a version,
/// or `latest`), or in the next release (`status: resolvedInNextRelease` or
/// `statusDetails.inNextRelease`), which is after the project's newest release.
async fn resolved_in(
    state: &ApiState,
    body: &Map<String, Value>,
    project: ProjectId,
) -> Result<IssueStatus, ApiError> {
    let details = body.get("statusDetails").and_then(Value::as_object);
    let detail = |key: &str| details.and_then(|d| d.get(key)).filter(|v| !v.is_null());
    let next = body.get("status").and_then(Value::as_str) == Some("resolvedInNextRelease")
        || detail("inNextRelease").and_then(Value::as_bool) == Some(true);
    let newest = || async {
        state.store.newest_release(project).await?.ok_or_else(|| {
            ApiError::BadRequest("the project has no release yet to resolve in".into())
        })
    };
    let version = match detail("inRelease") {
        Some(Value::String(v)) if v == "latest" => newest().await?,
        Some(Value::String(v)) => {
            state
                .store
                .release(v)
                .await?
                .ok_or_else(|| ApiError::BadRequest(format!("no release {v:?}")))?
                .version
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid inRelease {other}: a release version"
            )));
        }
        None if next => newest().await?,
        None => return Ok(IssueStatus::Resolved),
    };
    Ok(IssueStatus::ResolvedInRelease(version))
}

/// `assignedTo` as Sentry's clients send it: `"user:3"`, `"3"`, an email, `"me"`; `null` or
/// `""` for nobody.
async fn assignee_of(
    state: &ApiState,
    token: &ApiToken,
    who: &Value,
) -> Result<Option<User>, ApiError> {
    let who = match who {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim(),
        other => {
            return Err(ApiError::BadRequest(format!(
                "invalid assignedTo {other}: \"user:ID\", an email, or null"
            )));
        }
    };
    let unknown = || ApiError::BadRequest(format!("no user {who:?} to assign to"));
    if who.starts_with("team:") {
        return Err(ApiError::BadRequest(
            "issues are assigned to users in Snag, not teams".into(),
        ));
    }
    let user = if who == "me" {
        token_user(state, token).await?.ok_or_else(|| {
            ApiError::BadRequest("\"me\" needs a token that acts for a user".into())
        })?
    } else if let Ok(id) = who.strip_prefix("user:").unwrap_or(who).parse::<i64>() {
        state.store.get_user(id).await?.ok_or_else(unknown)?
    } else {
        state.store.find_user(who).await?.ok_or_else(unknown)?
    };
    Ok(Some(user))
}

/// `PUT …/issues/?id=1&id=2` (or `?status=…`, or nothing: every issue) `{"status": …}`.
pub async fn bulk_update(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    query: Query,
    body: web::Bytes,
) -> Answer {
    let token = authorize(&req, &state, Scope::EventWrite).await?;
    let project = project_of(&state, &path.0, &path.1).await?;
    let body = json_body(&body)?;
    let update = Update::of(&state, &token, &body, project.id).await?;
    let ids: Vec<IssueId> = query
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| {
            v.parse::<IssueId>()
                .map_err(|_| ApiError::BadRequest(format!("invalid id {v:?}")))
        })
        .collect::<Result<_, _>>()?;
    let targets: Vec<IssueId> = if ids.is_empty() {
        let mut filter = issue_search(&state, &token, get(&query, "query").unwrap_or("")).await?;
        filter.status = match get(&query, "status") {
            Some(s) => Some(
                Status::parse(s)
                    .ok_or_else(|| ApiError::BadRequest(format!("unknown status {s:?}")))?,
            ),
            None => None,
        };
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
    update.apply(&state, &targets).await?;
    let mut answer = json!({"statusDetails": {}});
    if let Some(status) = body.get("status") {
        answer["status"] = status.clone();
    }
    if let Some(assignee) = &update.assignee {
        answer["assignedTo"] = assignee.as_ref().map_or(Value::Null, shapes::assignee);
    }
    Ok(HttpResponse::Ok().json(answer))
}

async fn issue_detail(
    req: &HttpRequest,
    state: &ApiState,
    issue: &StoredIssue,
    project: &Project,
) -> Result<Value, ApiError> {
    let now = now_ms();
    let now_minute = time::minute_of(now);
    let hourly = state
        .store
        .issue_counts(&[issue.id], now_minute, 60, 24)
        .await?;
    let daily = state
        .store
        .issue_counts(&[issue.id], now_minute, time::MINUTES_PER_DAY, 30)
        .await?;
    let mut v = shapes::issue(
        issue,
        project,
        &base_url(req, state),
        &state.config.org_slug,
    );
    v["stats"] = json!({
        "24h": shapes::series(hourly.get(&issue.id).map(Vec::as_slice).unwrap_or(&[]), now, time::HOUR_MS),
        "30d": shapes::series(daily.get(&issue.id).map(Vec::as_slice).unwrap_or(&[]), now, time::DAY_MS),
    });
    v["tags"] = Value::Array(tag_summaries(state, issue.id, 0).await?);
    // Not Sentry's: how many of `count` retention has kept.
    v["storedEventCount"] = json!(state.store.stored_events(issue.id).await?);
    v["userReportCount"] = json!(0);
    v["activity"] = super::activity::activity_of(state, issue).await?;
    v["seenBy"] = json!([]);
    v["participants"] = json!([]);
    v["pluginActions"] = json!([]);
    v["pluginContexts"] = json!([]);
    v["pluginIssues"] = json!([]);
    Ok(v)
}

pub async fn issue(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
) -> Answer {
    let (issue, project) = authorized_issue(&req, &state, &path, Scope::EventRead).await?;
    Ok(HttpResponse::Ok().json(issue_detail(&req, &state, &issue, &project).await?))
}

/// `GET /organizations/{org}/shortids/{short_id}/`: which issue a short id names.
pub async fn short_id(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Answer {
    authorized_org(&req, &state, &path.0, Scope::EventRead).await?;
    let (issue, project) = issue_of(&state, &path.1).await?;
    let group = issue_detail(&req, &state, &issue, &project).await?;
    Ok(HttpResponse::Ok().json(json!({
        "organizationSlug": state.config.org_slug,
        "projectSlug": project.name,
        "groupId": issue.id.to_string(),
        "shortId": group["shortId"],
        "group": group,
    })))
}

pub async fn update_issue(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<IssuePath>,
    body: web::Bytes,
) -> Answer {
    let token = authorize(&req, &state, Scope::EventWrite).await?;
    let (issue, project) = path.find(&state).await?;
    Update::of(&state, &token, &json_body(&body)?, project.id)
        .await?
        .apply(&state, &[issue.id])
        .await?;
    let issue = state
        .store
        .get_issue(issue.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(issue_detail(&req, &state, &issue, &project).await?))
}
