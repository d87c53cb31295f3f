//! Cron monitors and their check-ins, as Sentry's crons API serves them (see [`crate::crons`]).
//!
//! ```text
//! GET    /api/0/organizations/{org}/monitors/?project=ID&environment=prod&query=nightly   [monitor]
//! POST   /api/0/organizations/{org}/monitors/
//!        {"project": "shop", "name": "Nightly invoices", "slug"?, "status"?: "active|disabled",
//!         "isMuted"?: false, "type"?: "cron_job",
//!         "config": {"schedule_type": "crontab", "schedule": "0 2 * * *", "timezone"?, …}}
//!        → 201 monitor (the config as check-ins send it, `{"schedule": {"type", "value"}}`, too)
//! GET    /api/0/organizations/{org}/monitors/{slug}/           monitor
//! PUT    /api/0/organizations/{org}/monitors/{slug}/           any of the POST fields → monitor
//! DELETE /api/0/organizations/{org}/monitors/{slug}/           202, the monitor and its runs gone
//! GET    /api/0/organizations/{org}/monitors/{slug}/checkins/?environment=prod&statsPeriod=7d
//!        [check-in], newest first (default: the last 90 days)
//!
//! monitor   {"id": guid, "slug", "name", "status": "active|disabled", "isMuted", "type": "cron_job",
//!            "dateCreated", "project": {…}, "owner": null,
//!            "config": {"schedule_type", "schedule": "0 2 * * *" | [2, "hour"], "checkin_margin",
//!                       "max_runtime", "timezone", "failure_issue_threshold", "recovery_threshold"},
//!            "environments": [{"name", "status": "active|ok|error|disabled", "isMuted", "dateCreated",
//!                              "lastCheckIn", "nextCheckIn", "nextCheckInLatest",
//!                              "activeIncident": null | {"startingTimestamp", …}}]}
//! check-in  {"id": guid, "environment", "status": "ok|error|in_progress|missed|timeout",
//!            "duration": ms | null, "dateCreated", "expectedTime", "monitorConfig": {…}}
//! ```
//! The same monitor under `/api/0/projects/{org}/{project}/monitors/{slug}/[checkins/]`, when
//! it belongs to that project. Scopes as Sentry's: `org:read` to read through the
//! organization, `project:read` through the project, `project:write` to create and change,
//! `project:admin` to delete. A list is sorted with the monitors in error first, then by name;
//! `query` is text in the name or slug. A taken slug is a 400, as in Sentry.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::access::{authorized_org, authorized_project, json_body, projects_with_keys};
use super::events::environments_of;
use super::issues::projects_of;
use super::{Answer, ApiError, ApiState, Query, link_header, page, shapes, time_range};
use crate::crons::check_in::{MAX_SLUG, slug_of};
use crate::crons::config::MonitorConfig;
use crate::format::field as get;
use crate::store::monitors::{CheckInSearch, Monitor, MonitorSearch};
use crate::store::projects::Project;
use crate::store::tokens::Scope;
use crate::store::{ProjectId, StoreError};
use crate::time::DAY_MS;

/// The longest monitor name (Sentry's).
const MAX_NAME: usize = 128;
/// The check-ins listed without a time range: the last 90 days.
const DEFAULT_PERIOD_MS: i64 = 90 * DAY_MS;
/// Slugs tried for a monitor named like another (`nightly`, `nightly-2`, … `nightly-20`).
const SLUG_TRIES: usize = 20;

/// `/organizations/{org}/monitors/[{slug}/…]` or `/projects/{org}/{project}/monitors/{slug}/…`.
#[derive(Debug, Deserialize)]
pub struct MonitorPath {
    org: String,
    project: Option<String>,
    slug: Option<String>,
}

impl MonitorPath {
    /// The scope reading needs: `project:read` through a project, `org:read` otherwise.
    fn read_scope(&self) -> Scope {
        match self.project {
            Some(_) => Scope::ProjectRead,
            None => Scope::OrgRead,
        }
    }

    /// The token holding `scope` and the organization checked; the project the path names.
    async fn authorize(
        &self,
        req: &HttpRequest,
        state: &ApiState,
        scope: Scope,
    ) -> Result<Option<Project>, ApiError> {
        match &self.project {
            Some(project) => Ok(Some(
                authorized_project(req, state, &self.org, project, scope).await?,
            )),
            None => authorized_org(req, state, &self.org, scope)
                .await
                .map(|_| None),
        }
    }

    /// The monitor the path names, the token holding `scope`; 404 when there is none, or
    /// when it belongs to another project than the path's.
    async fn monitor(
        &self,
        req: &HttpRequest,
        state: &ApiState,
        scope: Scope,
    ) -> Result<Monitor, ApiError> {
        let project = self.authorize(req, state, scope).await?;
        let slug = self.slug.as_deref().unwrap_or_default();
        let monitor = state.store.monitor(slug).await?.ok_or(ApiError::NotFound)?;
        match project {
            Some(p) if p.id != monitor.project_id => Err(ApiError::NotFound),
            _ => Ok(monitor),
        }
    }
}

/// What a POST or PUT body asks for, each field checked; `None` leaves a field as it is.
#[derive(Debug, Default)]
struct Change {
    /// A project slug or id, as sent.
    project: Option<String>,
    name: Option<String>,
    slug: Option<String>,
    disabled: Option<bool>,
    muted: Option<bool>,
    config: Option<MonitorConfig>,
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest(detail.into())
}

/// The fields of a monitor's body; anything Snag cannot honour is refused.
fn change_of(body: &Map<String, Value>) -> Result<Change, ApiError> {
    let mut change = Change::default();
    for (key, value) in body {
        match (key.as_str(), value) {
            (_, Value::Null) if key != "config" => {}
            ("project", value) => change.project = Some(project_of(value)?),
            ("name", value) => change.name = Some(name_of(value)?),
            ("slug", value) => change.slug = Some(given_slug(value)?),
            ("status", Value::String(s)) if s == "active" || s == "disabled" => {
                change.disabled = Some(s == "disabled");
            }
            ("status", other) => {
                return Err(bad(format!("invalid status {other}: active or disabled")));
            }
            ("isMuted" | "is_muted", Value::Bool(muted)) => change.muted = Some(*muted),
            ("isMuted" | "is_muted", other) => {
                return Err(bad(format!("invalid {key} {other}: true or false")));
            }
            ("type", Value::String(t)) if t == "cron_job" => {}
            ("type", other) => {
                return Err(bad(format!("invalid type {other}: only \"cron_job\"")));
            }
            ("config", config) => {
                let config = MonitorConfig::parse(config)
                    .map_err(|e| bad(format!("invalid config: {e}")))?;
                change.config = Some(config);
            }
            ("owner", _) => return Err(bad("Snag keeps no owners: leave owner out")),
            // What a client sends back as it read it.
            ("id" | "dateCreated" | "environments", _) => {}
            (other, _) => {
                return Err(bad(format!(
                    "unknown field {other:?}: a monitor has project, name, slug, status, isMuted, type and config"
                )));
            }
        }
    }
    Ok(change)
}

/// `"shop"`, `1`, or the project object a GET gave.
fn project_of(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Object(o) => o
            .get("id")
            .or_else(|| o.get("slug"))
            .map(project_of)
            .unwrap_or_else(|| Err(bad("invalid project: a project slug or id"))),
        other => Err(bad(format!(
            "invalid project {other}: a project slug or id"
        ))),
    }
}

fn name_of(value: &Value) -> Result<String, ApiError> {
    match value.as_str().map(str::trim) {
        Some(name) if !name.is_empty() && name.chars().count() <= MAX_NAME => Ok(name.to_owned()),
        _ => Err(bad(format!(
            "invalid name {value}: text of 1 to {MAX_NAME} characters"
        ))),
    }
}

/// A slug as given, which must already be one (`nightly-invoices`).
fn given_slug(value: &Value) -> Result<String, ApiError> {
    let refused = || {
        bad(format!(
            "invalid slug {value}: at most {MAX_SLUG} lower case letters, digits, _ and -, not starting or ending with -"
        ))
    };
    let slug = value.as_str().ok_or_else(refused)?;
    match slug_of(slug) {
        Ok(made) if made == slug => Ok(made),
        _ => Err(refused()),
    }
}

/// The project a body names; it must exist.
async fn named_project(state: &ApiState, name: &str) -> Result<Project, ApiError> {
    state
        .store
        .find_project(name)
        .await?
        .ok_or_else(|| bad(format!("no project {name:?}")))
}

/// A monitor in Sentry's shape, with its environments (only those named, when some are).
async fn monitor_json(
    state: &ApiState,
    monitor: &Monitor,
    environments: &[String],
) -> Result<Value, ApiError> {
    let list = monitors_json(state, std::slice::from_ref(monitor), environments).await?;
    Ok(list.into_iter().next().unwrap_or_default())
}

/// Monitors in Sentry's shape, loading their environments and projects once.
async fn monitors_json(
    state: &ApiState,
    monitors: &[Monitor],
    environments: &[String],
) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<i64> = monitors.iter().map(|m| m.id).collect();
    let envs = state.store.environments_of(&ids).await?;
    let projects = projects_with_keys(state).await?;
    let project_json = |id: ProjectId| {
        projects
            .iter()
            .find(|(p, _)| p.id == id)
            .map(|(p, _)| {
                let mut json = shapes::project(p, None);
                if let Some(fields) = json.as_object_mut() {
                    fields.remove("storage");
                }
                json
            })
            .unwrap_or_default()
    };
    Ok(monitors
        .iter()
        .map(|m| {
            let mine: Vec<_> = envs
                .iter()
                .filter(|e| e.monitor_id == m.id)
                .filter(|e| environments.is_empty() || environments.contains(&e.environment))
                .collect();
            shapes::monitor(m, project_json(m.project_id), &mine)
        })
        .collect())
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<MonitorPath>,
    query: Query,
) -> Answer {
    path.authorize(&req, &state, path.read_scope()).await?;
    let (size, offset) = page(&query)?;
    let search = MonitorSearch {
        projects: projects_of(&query)?,
        environments: environments_of(&query),
        text: get(&query, "query")
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned),
    };
    let (monitors, total) = state.store.search_monitors(&search, size, offset).await?;
    let body = monitors_json(&state, &monitors, &search.environments).await?;
    let more = offset + (monitors.len() as i64) < total;
    let url = format!("{}{}", super::base_url(&req, &state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&url, &query, size, offset, more)))
        .insert_header(("X-Hits", total.to_string()))
        .json(body))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<MonitorPath>,
    body: web::Bytes,
) -> Answer {
    path.authorize(&req, &state, Scope::ProjectWrite).await?;
    let change = change_of(&json_body(&body)?)?;
    let project = change
        .project
        .as_deref()
        .ok_or_else(|| bad("give the monitor's project: its slug or id"))?;
    let project = named_project(&state, project).await?;
    let name = change
        .name
        .clone()
        .ok_or_else(|| bad("give the monitor's name"))?;
    let config = change.config.as_ref().ok_or_else(|| {
        bad("give the monitor's config: {\"schedule_type\": \"crontab\", \"schedule\": \"0 2 * * *\"}")
    })?;
    let monitor = insert(&state, project.id, &change, &name, config).await?;
    if change.muted == Some(true) {
        state.store.set_monitor_muted(monitor.id, true).await?;
    }
    if change.disabled == Some(true) {
        let now = crate::store::now_ms();
        state
            .store
            .set_monitor_disabled(&monitor, true, now)
            .await?;
    }
    let monitor = state
        .store
        .monitor(&monitor.slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Created().json(monitor_json(&state, &monitor, &[]).await?))
}

/// Creates the monitor under its given slug (taken: a 400), or under one made from its name
/// (taken: with `-2`, `-3`, … as Sentry adds a suffix).
async fn insert(
    state: &ApiState,
    project: ProjectId,
    change: &Change,
    name: &str,
    config: &MonitorConfig,
) -> Result<Monitor, ApiError> {
    let now = crate::store::now_ms();
    if let Some(slug) = &change.slug {
        return Ok(state
            .store
            .create_monitor(project, slug, name, config, now)
            .await?);
    }
    let base = slug_of(name).map_err(|e| bad(e.to_string()))?;
    for n in 1..=SLUG_TRIES {
        let slug = match n {
            1 => base.clone(),
            n => {
                let suffix = format!("-{n}");
                let stem: String = base.chars().take(MAX_SLUG - suffix.len()).collect();
                format!("{}{suffix}", stem.trim_end_matches('-'))
            }
        };
        match state
            .store
            .create_monitor(project, &slug, name, config, now)
            .await
        {
            Err(StoreError::Conflict(_)) => continue,
            other => return Ok(other?),
        }
    }
    Err(bad(format!(
        "monitors named like {base:?} exist already: give this one a slug"
    )))
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<MonitorPath>,
) -> Answer {
    let monitor = path.monitor(&req, &state, path.read_scope()).await?;
    Ok(HttpResponse::Ok().json(monitor_json(&state, &monitor, &[]).await?))
}

/// A partial change: the fields given replace the monitor's (a config as a whole).
pub async fn update(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<MonitorPath>,
    body: web::Bytes,
) -> Answer {
    let monitor = path.monitor(&req, &state, Scope::ProjectWrite).await?;
    let change = change_of(&json_body(&body)?)?;
    if let Some(project) = &change.project
        && named_project(&state, project).await?.id != monitor.project_id
    {
        return Err(bad("a monitor cannot move to another project"));
    }
    let store = &state.store;
    let slug = change.slug.clone().unwrap_or_else(|| monitor.slug.clone());
    if slug != monitor.slug {
        store.rename_monitor(monitor.id, &slug).await?;
    }
    let updated = Monitor {
        slug,
        name: change.name.clone().unwrap_or_else(|| monitor.name.clone()),
        config: change
            .config
            .clone()
            .unwrap_or_else(|| monitor.config.clone()),
        ..monitor.clone()
    };
    if change.name.is_some() || change.config.is_some() {
        store
            .update_monitor(&updated, &updated.name, &updated.config)
            .await?;
    }
    if let Some(muted) = change.muted.filter(|m| *m != monitor.is_muted) {
        store.set_monitor_muted(monitor.id, muted).await?;
    }
    if let Some(disabled) = change.disabled.filter(|d| *d != monitor.disabled) {
        let now = crate::store::now_ms();
        store.set_monitor_disabled(&updated, disabled, now).await?;
    }
    let monitor = store
        .monitor(&updated.slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(monitor_json(&state, &monitor, &[]).await?))
}

/// Deletes the monitor with its environments and runs (its issues stay); 202 as Sentry.
/// Sentry's `?environment=` (deleting only those environments) is refused: Snag deletes whole
/// monitors.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<MonitorPath>,
    query: Query,
) -> Answer {
    let monitor = path.monitor(&req, &state, Scope::ProjectAdmin).await?;
    if get(&query, "environment").is_some() {
        return Err(bad(
            "Snag deletes whole monitors: leave environment out to delete this one",
        ));
    }
    state.store.delete_monitor(monitor.id).await?;
    Ok(HttpResponse::Accepted().finish())
}

pub async fn check_ins(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<MonitorPath>,
    query: Query,
) -> Answer {
    let monitor = path.monitor(&req, &state, path.read_scope()).await?;
    let (size, offset) = page(&query)?;
    let now = crate::store::now_ms();
    let range =
        time_range::from_query(&query, "statsPeriod", now)?.unwrap_or(time_range::TimeRange {
            start_ms: now - DEFAULT_PERIOD_MS,
            end_ms: now + 1,
        });
    let search = CheckInSearch {
        environments: environments_of(&query),
        start_ms: range.start_ms,
        end_ms: range.end_ms,
    };
    let mut runs = state
        .store
        .search_check_ins(monitor.id, &search, size + 1, offset)
        .await?;
    let more = runs.len() as i64 > size;
    runs.truncate(size as usize);
    let config = monitor.config.to_json();
    let body: Vec<Value> = runs
        .iter()
        .map(|(environment, run)| shapes::check_in(environment, run, &config))
        .collect();
    let url = format!("{}{}", super::base_url(&req, &state), req.path());
    Ok(HttpResponse::Ok()
        .insert_header(("Link", link_header(&url, &query, size, offset, more)))
        .json(body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn bodies_are_read_as_sentrys() {
        let change = change_of(&fields(json!({
            "project": 1, "name": " Nightly ", "slug": "nightly", "status": "disabled",
            "is_muted": true, "type": "cron_job", "owner": null, "id": "abc",
            "config": {"schedule_type": "interval", "schedule": [2, "hour"]},
        })))
        .unwrap();
        assert_eq!(change.project.as_deref(), Some("1"));
        assert_eq!(change.name.as_deref(), Some("Nightly"));
        assert_eq!(change.slug.as_deref(), Some("nightly"));
        assert_eq!((change.disabled, change.muted), (Some(true), Some(true)));
        assert!(change.config.is_some());
        let change = change_of(&fields(json!({"project": {"id": "7", "slug": "shop"}}))).unwrap();
        assert_eq!(change.project.as_deref(), Some("7"));
    }

    #[test]
    fn bad_fields_say_what_is_wrong() {
        for (body, says) in [
            (json!({"name": ""}), "invalid name"),
            (json!({"name": "x".repeat(129)}), "invalid name"),
            (json!({"slug": "Not A Slug"}), "invalid slug"),
            (json!({"slug": "a".repeat(51)}), "invalid slug"),
            (json!({"status": "paused"}), "invalid status"),
            (json!({"isMuted": "yes"}), "invalid isMuted"),
            (json!({"type": "heartbeat"}), "invalid type"),
            (json!({"config": null}), "invalid config"),
            (json!({"config": {"schedule": "nope"}}), "invalid config"),
            (json!({"owner": "user:1"}), "no owners"),
            (json!({"schedule": "@daily"}), "unknown field"),
            (json!({"project": []}), "invalid project"),
        ] {
            let error = change_of(&fields(body.clone())).unwrap_err().to_string();
            assert!(error.contains(says), "{body}: {error}");
        }
    }
}
