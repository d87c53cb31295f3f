//! The Crons pages: every monitor with its schedule in words, its state per environment, its
//! last and next check-in and a timeline of its runs; a monitor's page with its runs; and the
//! admin's forms (create, edit, mute, disable, delete).
//!
//! ```text
//! GET  /crons?project=ID&span=24h|7d|30d&page=N
//! POST /crons                         create (slug, name, project, schedule, config)
//! GET  /crons/{slug}?span=7d          a monitor, its environments and its newest runs
//! POST /crons/{slug}/edit | mute | unmute | disable | enable | delete
//! ```

use std::collections::HashMap;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::WebState;
use super::auth::{check_csrf, require_admin, signed_in};
use super::format::{self, Bar};
use super::issues::{Nav, with_project_and_page};
use super::{WebError, page, see_other};
use crate::crons::check_in::{CheckInStatus, slug_of};
use crate::crons::config::MonitorConfig;
use crate::crons::incident::EnvStatus;
use crate::crons::timeline::{self, Mark, Span};
use crate::format::{url_encode, utc};
use crate::store::monitors::{HourTally, Monitor, MonitorEnvironment};
use crate::store::{ProjectId, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/crons", web::get().to(list))
        .route("/crons", web::post().to(create))
        .route("/crons/{slug}", web::get().to(detail))
        .route("/crons/{slug}/{action}", web::post().to(act));
}

/// Monitors per page of the list (as the issue list: each row carries a timeline).
const PAGE_SIZE: i64 = 25;
/// Runs listed on a monitor's page.
const RUNS_SHOWN: i64 = 100;

/// A timeline as the page draws it: a mark per bucket and a bar per bucket's mean duration.
struct TimelineView {
    marks: Vec<MarkView>,
    durations: Vec<Bar>,
    width: usize,
    summary: String,
}

struct MarkView {
    x: usize,
    class: &'static str,
    title: String,
}

fn timeline_view(marks: &[Mark]) -> TimelineView {
    let means: Vec<i64> = marks
        .iter()
        .map(|m| m.mean_duration().unwrap_or(0))
        .collect();
    let mut durations = format::bars(&means, marks.len() as f64, 10.0, &[]);
    for (bar, mark) in durations.iter_mut().zip(marks) {
        bar.label = match mark.mean_duration() {
            Some(ms) => format!(
                "mean {}, longest {}",
                duration(ms),
                duration(mark.duration_max)
            ),
            None => "no duration".to_owned(),
        };
    }
    let total: i64 = marks.iter().flat_map(|m| m.counts).sum();
    let failures: i64 = marks
        .iter()
        .map(|m| {
            [
                CheckInStatus::Error,
                CheckInStatus::Missed,
                CheckInStatus::Timeout,
            ]
            .into_iter()
            .map(|s| m.count(s))
            .sum::<i64>()
        })
        .sum();
    TimelineView {
        marks: marks
            .iter()
            .enumerate()
            .map(|(x, m)| MarkView {
                x,
                class: m.worst().map(CheckInStatus::as_str).unwrap_or("none"),
                title: format!("{}: {}", span_words(m.start_ms, m.end_ms), m.summary()),
            })
            .collect(),
        durations,
        width: marks.len(),
        summary: format!("{total} runs, {failures} failed"),
    }
}

/// "Nov 4 05:00–17:00 UTC", "Nov 4 17:00 – Nov 5 05:00 UTC": a mark's time, short (a page
/// holds thousands of them).
fn span_words(start_ms: i64, end_ms: i64) -> String {
    let (Some(start), Some(end)) = (
        chrono::DateTime::from_timestamp_millis(start_ms),
        chrono::DateTime::from_timestamp_millis(end_ms),
    ) else {
        return String::new();
    };
    if start.date_naive() == end.date_naive() || end.format("%H:%M").to_string() == "00:00" {
        format!(
            "{}–{} UTC",
            start.format("%b %-d %H:%M"),
            end.format("%H:%M")
        )
    } else {
        format!(
            "{} – {} UTC",
            start.format("%b %-d %H:%M"),
            end.format("%b %-d %H:%M")
        )
    }
}

/// 850 ms, 12.5 s, 3 min 20 s, 2 h 5 min.
fn duration(ms: i64) -> String {
    match ms {
        ..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0).replace(".0 s", " s"),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// "in 5 minutes", "due now", "2 hours overdue".
fn until(then_ms: i64, now_ms: i64) -> String {
    match then_ms - now_ms {
        -59_999..60_000 => "due now".to_owned(),
        ahead if ahead > 0 => format!(
            "in {}",
            format::ago(now_ms, then_ms).trim_end_matches(" ago")
        ),
        _ => format::ago(then_ms, now_ms).replace(" ago", " overdue"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_to_come_read_as_such() {
        let now = 1_800_000_000_000;
        assert_eq!(until(now + 5 * 60_000, now), "in 5 minutes");
        assert_eq!(until(now + 20_000, now), "due now");
        assert_eq!(until(now - 2 * 3_600_000, now), "2 hours overdue");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_500), "12.5 s");
        assert_eq!(duration(200_000), "3 min 20 s");
        assert_eq!(duration(7_500_000), "2 h 5 min");
        let hour = 3_600_000;
        let nov_4 = 1_793_750_400_000; // 2026-11-04 00:00 UTC
        assert_eq!(
            span_words(nov_4 + 5 * hour, nov_4 + 17 * hour),
            "Nov 4 05:00–17:00 UTC"
        );
        assert_eq!(
            span_words(nov_4 + 17 * hour, nov_4 + 29 * hour),
            "Nov 4 17:00 – Nov 5 05:00 UTC"
        );
        assert_eq!(
            span_words(nov_4 + 23 * hour, nov_4 + 24 * hour),
            "Nov 4 23:00–00:00 UTC"
        );
    }
}

/// The schedule in words, with its zone when it is not UTC.
fn schedule_words(config: &MonitorConfig) -> String {
    let words = config.schedule.describe();
    match config.timezone {
        chrono_tz::Tz::UTC => format!("{words} (UTC)"),
        zone => format!("{words} ({})", zone.name()),
    }
}

/// A monitor's state in an environment, as its badge says it.
fn env_state(monitor: &Monitor, env: &MonitorEnvironment) -> &'static str {
    if monitor.disabled {
        "disabled"
    } else {
        match env.status.0 {
            EnvStatus::Error => "failing",
            EnvStatus::Ok => "ok",
            EnvStatus::Active => "waiting",
        }
    }
}

struct EnvRow {
    environment: String,
    state: &'static str,
    last: String,
    next: String,
    timeline: TimelineView,
    issue_url: Option<String>,
}

fn env_row(
    monitor: &Monitor,
    env: &MonitorEnvironment,
    span: Span,
    tallies: &[HourTally],
    now: i64,
) -> EnvRow {
    let own: Vec<HourTally> = tallies
        .iter()
        .filter(|t| t.monitor_environment_id == env.id)
        .copied()
        .collect();
    EnvRow {
        environment: env.environment.clone(),
        state: env_state(monitor, env),
        last: env
            .last_checkin
            .map(|t| format::ago(t, now))
            .unwrap_or_else(|| "never".into()),
        next: match (monitor.disabled, env.next_checkin) {
            (true, _) => "—".into(),
            (false, Some(next)) => until(next, now),
            (false, None) => "not expected".into(),
        },
        timeline: timeline_view(&timeline::marks(span, now, &own)),
        issue_url: env.issue_id.map(|id| format!("/issues/{id}")),
    }
}

struct MonitorRow {
    slug: String,
    name: String,
    project: String,
    schedule: String,
    muted: bool,
    disabled: bool,
    envs: Vec<EnvRow>,
}

#[derive(Template)]
#[template(path = "crons.html")]
struct CronsPage {
    nav: Option<Nav>,
    monitors: Vec<MonitorRow>,
    span: &'static str,
    spans: Vec<(&'static str, String)>,
    project: Option<ProjectId>,
    projects: Vec<(ProjectId, String)>,
    total: i64,
    previous_page: Option<String>,
    next_page: Option<String>,
    is_admin: bool,
    error: Option<String>,
    form: CreateForm,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    project: Option<ProjectId>,
    span: Option<String>,
    page: Option<i64>,
}

fn list_url(project: Option<ProjectId>, span: Span, page: i64) -> String {
    with_project_and_page(format!("/crons?span={}", span.as_str()), project, page)
}

async fn list(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    render_list(&req, &state, &session, &query, None, CreateForm::default()).await
}

async fn render_list(
    req: &HttpRequest,
    state: &WebState,
    session: &Session,
    query: &ListQuery,
    error: Option<String>,
    form: CreateForm,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(req, session, state).await?;
    let now = crate::store::now_ms();
    let span = Span::parse(query.span.as_deref().unwrap_or_default());
    let page_number = query.page.unwrap_or(1).clamp(1, 10_000);
    let store = &state.store;
    let (monitors, total) = store
        .list_monitors(query.project, PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
        .await?;
    let ids: Vec<i64> = monitors.iter().map(|m| m.id).collect();
    let envs = store.environments_of(&ids).await?;
    let env_ids: Vec<i64> = envs.iter().map(|e| e.id).collect();
    let tallies = store
        .monitor_hours(&env_ids, span.first_hour(now), span.bucket_hours())
        .await?;
    let projects: Vec<(ProjectId, String)> = store
        .list_projects()
        .await?
        .into_iter()
        .map(|(p, _)| (p.id, p.name))
        .collect();
    let names: HashMap<ProjectId, &String> = projects.iter().map(|(id, n)| (*id, n)).collect();
    let rows = monitors
        .iter()
        .map(|m| MonitorRow {
            slug: m.slug.clone(),
            name: m.name.clone(),
            project: names
                .get(&m.project_id)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            schedule: schedule_words(&m.config),
            muted: m.is_muted,
            disabled: m.disabled,
            envs: envs
                .iter()
                .filter(|e| e.monitor_id == m.id)
                .map(|e| env_row(m, e, span, &tallies, now))
                .collect(),
        })
        .collect();
    page(&CronsPage {
        nav: Some(Nav::new(&who, "crons")),
        monitors: rows,
        span: span.as_str(),
        spans: Span::ALL
            .into_iter()
            .map(|s| (s.as_str(), list_url(query.project, s, 1)))
            .collect(),
        project: query.project,
        projects,
        total,
        previous_page: (page_number > 1).then(|| list_url(query.project, span, page_number - 1)),
        next_page: (page_number * PAGE_SIZE < total)
            .then(|| list_url(query.project, span, page_number + 1)),
        is_admin: who.user.is_admin,
        error,
        form,
    })
}

/// The create and edit forms: a monitor's slug, name and config.
#[derive(Deserialize, Default, Clone)]
struct CreateForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    project: Option<ProjectId>,
    #[serde(default)]
    schedule_type: String,
    #[serde(default)]
    schedule: String,
    #[serde(default)]
    interval_unit: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    checkin_margin: String,
    #[serde(default)]
    max_runtime: String,
    #[serde(default)]
    failure_issue_threshold: String,
    #[serde(default)]
    recovery_threshold: String,
    #[serde(default)]
    csrf: String,
}

impl CreateForm {
    fn of(monitor: &Monitor) -> CreateForm {
        let (kind, value) = monitor.config.schedule.stored();
        let (schedule, unit) = match kind {
            "interval" => value
                .split_once(' ')
                .map(|(n, u)| (n.to_owned(), u.to_owned()))
                .unwrap_or_default(),
            _ => (value, String::new()),
        };
        let c = &monitor.config;
        CreateForm {
            slug: monitor.slug.clone(),
            name: monitor.name.clone(),
            project: Some(monitor.project_id),
            schedule_type: kind.to_owned(),
            schedule,
            interval_unit: unit,
            timezone: c.timezone.name().to_owned(),
            checkin_margin: c.checkin_margin.to_string(),
            max_runtime: c.max_runtime.to_string(),
            failure_issue_threshold: c.failure_issue_threshold.to_string(),
            recovery_threshold: c.recovery_threshold.to_string(),
            csrf: String::new(),
        }
    }

    /// The config the form describes, checked as a check-in's would be.
    fn config(&self) -> Result<MonitorConfig, String> {
        let number = |field: &str, text: &str| -> Result<serde_json::Value, String> {
            match text.trim() {
                "" => Ok(serde_json::Value::Null),
                t => t
                    .parse::<u64>()
                    .map(serde_json::Value::from)
                    .map_err(|_| format!("{field} must be a whole number")),
            }
        };
        let schedule = match self.schedule_type.as_str() {
            "interval" => serde_json::json!({"type": "interval", "value": self.schedule.trim(),
                "unit": self.interval_unit}),
            _ => serde_json::json!({"type": "crontab", "value": self.schedule}),
        };
        let config = serde_json::json!({
            "schedule": schedule,
            "timezone": self.timezone,
            "checkin_margin": number("checkin margin", &self.checkin_margin)?,
            "max_runtime": number("max runtime", &self.max_runtime)?,
            "failure_issue_threshold": number("failure threshold", &self.failure_issue_threshold)?,
            "recovery_threshold": number("recovery threshold", &self.recovery_threshold)?,
        });
        MonitorConfig::parse(&config).map_err(|e| e.to_string())
    }
}

async fn create(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    require_admin(&who)?;
    check_csrf(&session, &form.csrf)?;
    let query = ListQuery {
        project: None,
        span: None,
        page: None,
    };
    let form = form.into_inner();
    let checked = (|| {
        let slug = slug_of(&form.slug).map_err(|e| e.to_string())?;
        let project = form.project.ok_or("choose a project")?;
        Ok::<_, String>((slug, project, form.config()?))
    })();
    let (slug, project, config) = match checked {
        Ok(checked) => checked,
        Err(e) => return render_list(&req, &state, &session, &query, Some(e), form).await,
    };
    let name = match form.name.trim() {
        "" => slug.clone(),
        name => name.chars().take(128).collect(),
    };
    let now = crate::store::now_ms();
    match state
        .store
        .create_monitor(project, &slug, &name, &config, now)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/crons/{}", url_encode(&slug)))),
        Err(StoreError::Conflict(e) | StoreError::Invalid(e)) => {
            render_list(&req, &state, &session, &query, Some(e), form).await
        }
        Err(e) => Err(e.into()),
    }
}

struct RunRow {
    status: &'static str,
    environment: String,
    started: String,
    started_utc: String,
    expected: String,
    duration: String,
    release: String,
    trace_url: Option<String>,
}

#[derive(Template)]
#[template(path = "cron.html")]
struct CronPage {
    nav: Option<Nav>,
    slug: String,
    name: String,
    project: String,
    schedule: String,
    config: MonitorConfig,
    muted: bool,
    disabled: bool,
    span: &'static str,
    spans: Vec<(&'static str, String)>,
    envs: Vec<EnvRow>,
    runs: Vec<RunRow>,
    /// The admin's buttons: (action, label).
    actions: Vec<(&'static str, &'static str)>,
    is_admin: bool,
    error: Option<String>,
    form: CreateForm,
}

#[derive(Deserialize)]
struct DetailQuery {
    span: Option<String>,
}

async fn detail(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, WebError> {
    let monitor = state
        .store
        .monitor(&path)
        .await?
        .ok_or(WebError::NotFound)?;
    let span = Span::parse(query.span.as_deref().unwrap_or_default());
    render_detail(
        &req,
        &state,
        &session,
        &monitor,
        span,
        None,
        CreateForm::of(&monitor),
    )
    .await
}

async fn render_detail(
    req: &HttpRequest,
    state: &WebState,
    session: &Session,
    monitor: &Monitor,
    span: Span,
    error: Option<String>,
    form: CreateForm,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(req, session, state).await?;
    let now = crate::store::now_ms();
    let store = &state.store;
    let envs = store.monitor_environments(monitor.id).await?;
    let env_ids: Vec<i64> = envs.iter().map(|e| e.id).collect();
    let tallies = store
        .monitor_hours(&env_ids, span.first_hour(now), span.bucket_hours())
        .await?;
    let project = store
        .list_projects()
        .await?
        .into_iter()
        .find(|(p, _)| p.id == monitor.project_id)
        .map(|(p, _)| p.name)
        .unwrap_or_default();
    let runs = store
        .check_ins(monitor.id, RUNS_SHOWN)
        .await?
        .into_iter()
        .map(|(environment, run)| RunRow {
            status: run.status.0.as_str(),
            environment,
            started: format::ago(run.date_added, now),
            started_utc: utc(run.date_added),
            expected: run.expected_time.map(utc).unwrap_or_default(),
            duration: run.duration.map(duration).unwrap_or_default(),
            release: run.release.unwrap_or_default(),
            trace_url: run
                .trace_id
                .map(|t| format!("/issues?query={}", url_encode(&format!("is:all trace:{t}")))),
        })
        .collect();
    let here = format!("/crons/{}", url_encode(&monitor.slug));
    page(&CronPage {
        nav: Some(Nav::new(&who, "crons")),
        slug: monitor.slug.clone(),
        name: monitor.name.clone(),
        project,
        schedule: schedule_words(&monitor.config),
        config: monitor.config.clone(),
        muted: monitor.is_muted,
        disabled: monitor.disabled,
        span: span.as_str(),
        spans: Span::ALL
            .into_iter()
            .map(|s| (s.as_str(), format!("{here}?span={}", s.as_str())))
            .collect(),
        envs: envs
            .iter()
            .map(|e| env_row(monitor, e, span, &tallies, now))
            .collect(),
        runs,
        actions: [
            ("mute", "Mute", !monitor.is_muted),
            ("unmute", "Unmute", monitor.is_muted),
            ("disable", "Disable", !monitor.disabled),
            ("enable", "Enable", monitor.disabled),
            ("delete", "Delete", true),
        ]
        .into_iter()
        .filter(|a| a.2)
        .map(|(action, label, _)| (action, label))
        .collect(),
        is_admin: who.user.is_admin,
        error,
        form,
    })
}

async fn act(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    require_admin(&who)?;
    check_csrf(&session, &form.csrf)?;
    let (slug, action) = path.into_inner();
    let store = &state.store;
    let monitor = store.monitor(&slug).await?.ok_or(WebError::NotFound)?;
    let here = format!("/crons/{}", url_encode(&monitor.slug));
    let now = crate::store::now_ms();
    match action.as_str() {
        "mute" | "unmute" => {
            store
                .set_monitor_muted(monitor.id, action == "mute")
                .await?
        }
        "disable" | "enable" => {
            store
                .set_monitor_disabled(&monitor, action == "disable", now)
                .await?
        }
        "delete" => {
            store.delete_monitor(monitor.id).await?;
            return Ok(see_other("/crons"));
        }
        "edit" => {
            let form = form.into_inner();
            let config = match form.config() {
                Ok(config) => config,
                Err(e) => {
                    return render_detail(
                        &req,
                        &state,
                        &session,
                        &monitor,
                        Span::Day,
                        Some(e),
                        form,
                    )
                    .await;
                }
            };
            let name = match form.name.trim() {
                "" => monitor.slug.clone(),
                name => name.chars().take(128).collect(),
            };
            store.update_monitor(&monitor, &name, &config).await?;
        }
        _ => return Err(WebError::NotFound),
    }
    Ok(see_other(&here))
}
