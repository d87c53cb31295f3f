//! The issue list and the issue page.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::WebState;
use super::auth::{SignedIn, check_csrf, signed_in};
use super::event_view::{AttachmentLink, EventView, Feedback, event_view};
use super::format::{self, Bar};
use super::{WebError, page, see_other};
use crate::format::{field, url_encode, utc};
use crate::issue_search::{self, DEFAULT_QUERY};
use serde_json::Value;

use crate::store::activity::Activity;
use crate::store::alerts::Delivery;
use crate::store::events::TagCount;
use crate::store::issue_state::{Level, Status, Substatus};
use crate::store::issues::Neighbours;
use crate::store::issues::{IssueSort, IssueStatus};
use crate::store::{IssueId, ProjectId, StoreError, now_ms};
use crate::time;

/// Issues per page of the list.
const PAGE_SIZE: i64 = 25;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/issues", web::get().to(list))
        .route("/issues/bulk", web::post().to(bulk))
        .route("/issues/{id}", web::get().to(issue))
        // Sentry's web address of an issue (what its tools link to), by number or short id.
        .route(
            "/organizations/{org}/issues/{id}",
            web::get().to(sentry_issue_address),
        )
        .route(
            "/organizations/{org}/issues/{id}/",
            web::get().to(sentry_issue_address),
        )
        .route("/issues/{id}/status", web::post().to(status))
        .route("/issues/{id}/assign", web::post().to(assign))
        .route("/issues/{id}/notes", web::post().to(note))
        .route(
            "/issues/{id}/events/{event_id}/attachments/{n}",
            web::get().to(attachment),
        );
}

/// The header and navigation every signed-in page shows.
pub struct Nav {
    pub email: String,
    pub csrf: String,
    pub section: &'static str,
    /// See [`SignedIn::warning`].
    pub warning: Option<String>,
}

impl Nav {
    pub fn new(who: &SignedIn, section: &'static str) -> Nav {
        Nav {
            email: who.user.email.clone(),
            csrf: who.csrf.clone(),
            section,
            warning: who.warning.clone(),
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    project: Option<ProjectId>,
    query: Option<String>,
    sort: Option<String>,
    page: Option<i64>,
}

struct IssueRow {
    id: IssueId,
    short_id: String,
    title: String,
    culprit: String,
    level: Level,
    status: Status,
    events: String,
    users: String,
    first_seen: String,
    last_seen: String,
    last_seen_utc: String,
    sparkline: Vec<Bar>,
}

/// An `<option>` of a select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "issues.html")]
struct IssuesPage {
    nav: Option<Nav>,
    csrf: String,
    projects: Vec<Choice>,
    query: String,
    sorts: Vec<Choice>,
    rows: Vec<IssueRow>,
    total: i64,
    first: i64,
    last: i64,
    previous_page: Option<String>,
    next_page: Option<String>,
    /// This page's URL, to come back to after a bulk action.
    here: String,
}

fn sort_of(name: Option<&str>) -> (IssueSort, &'static str) {
    match name {
        Some("first_seen") => (IssueSort::FirstSeen, "first_seen"),
        Some("events") => (IssueSort::Events, "events"),
        Some("users") => (IssueSort::Users, "users"),
        Some("trend") => (IssueSort::Trend, "trend"),
        _ => (IssueSort::LastSeen, "last_seen"),
    }
}

fn list_url(project: Option<ProjectId>, query: &str, sort: &str, page: i64) -> String {
    let url = format!("/issues?query={}&sort={sort}", url_encode(query));
    with_project_and_page(url, project, page)
}

/// A list's URL (with its query string begun) narrowed to a project and at a page.
pub fn with_project_and_page(mut url: String, project: Option<ProjectId>, page: i64) -> String {
    if let Some(p) = project {
        url.push_str(&format!("&project={p}"));
    }
    if page > 1 {
        url.push_str(&format!("&page={page}"));
    }
    url
}

async fn list(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    params: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    let projects: Vec<(ProjectId, String)> = state
        .store
        .list_projects()
        .await?
        .into_iter()
        .map(|(p, _)| (p.id, p.name))
        .collect();
    let names: std::collections::HashMap<ProjectId, &str> =
        projects.iter().map(|(id, n)| (*id, n.as_str())).collect();
    let query = params.query.clone().unwrap_or_else(|| DEFAULT_QUERY.into());
    let (sort, sort_name) = sort_of(params.sort.as_deref());
    let page_number = params.page.unwrap_or(1).clamp(1, 10_000);
    let mut filter = issue_search::parse(&query)
        .map_err(|e| WebError::BadRequest(e.to_string()))?
        .with_me(Some(&who.user.email))
        .map_err(WebError::BadRequest)?;
    filter.projects = params.project.into_iter().collect();

    let now = now_ms();
    let now_minute = time::minute_of(now);
    let (issues, total) = state
        .store
        .find_issues(
            &filter,
            sort,
            now_minute - time::MINUTES_PER_DAY + 1,
            PAGE_SIZE,
            (page_number - 1) * PAGE_SIZE,
        )
        .await?;
    let ids: Vec<IssueId> = issues.iter().map(|i| i.id).collect();
    let hourly = state.store.issue_counts(&ids, now_minute, 60, 24).await?;
    let rows = issues
        .into_iter()
        .map(|i| {
            let counts = hourly.get(&i.id).cloned().unwrap_or_default();
            IssueRow {
                id: i.id,
                short_id: format!(
                    "{}-{}",
                    names.get(&i.project_id).unwrap_or(&"?").to_uppercase(),
                    i.short_id
                ),
                title: i.title,
                culprit: i.culprit,
                level: i.level,
                status: i.status,
                events: format::count(i.times_seen),
                users: format::count(i.users_seen),
                first_seen: format::ago(i.first_seen, now),
                last_seen: format::ago(i.last_seen, now),
                last_seen_utc: utc(i.last_seen),
                sparkline: format::bars(&counts, 96.0, 24.0, &[]),
            }
        })
        .collect::<Vec<_>>();
    let offset = (page_number - 1) * PAGE_SIZE;
    let shown = rows.len() as i64;
    page(&IssuesPage {
        nav: Some(Nav::new(&who, "issues")),
        csrf: who.csrf.clone(),
        here: list_url(params.project, &query, sort_name, page_number),
        previous_page: (page_number > 1)
            .then(|| list_url(params.project, &query, sort_name, page_number - 1)),
        next_page: (offset + shown < total)
            .then(|| list_url(params.project, &query, sort_name, page_number + 1)),
        first: if shown > 0 { offset + 1 } else { 0 },
        last: offset + shown,
        total,
        rows,
        projects: projects
            .iter()
            .map(|(id, name)| Choice {
                value: id.to_string(),
                label: name.clone(),
                selected: params.project == Some(*id),
            })
            .collect(),
        query,
        sorts: [
            ("last_seen", "Last seen"),
            ("first_seen", "First seen"),
            ("events", "Events"),
            ("users", "Users"),
            ("trend", "Trend (24 h)"),
        ]
        .into_iter()
        .map(|(value, label)| Choice {
            value: value.into(),
            label: label.into(),
            selected: value == sort_name,
        })
        .collect(),
    })
}

/// The page to go back to: a path of this site, else the list.
fn back_to(value: Option<&str>) -> String {
    match value {
        Some(v) if v.starts_with("/issues") => super::local_path(v).to_owned(),
        _ => "/issues".to_owned(),
    }
}

/// `ids=1&ids=2&action=resolve&csrf=…&back=/issues?…`
async fn bulk(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    let field = |name: &str| field(&form, name);
    check_csrf(&session, field("csrf").unwrap_or(""))?;
    let status = field("action")
        .and_then(|action| IssueStatus::parse(action, now_ms()))
        .ok_or_else(|| WebError::BadRequest("choose resolve, ignore or unresolve".into()))?;
    let ids: Vec<IssueId> = form
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| {
            v.parse()
                .map_err(|_| WebError::BadRequest(format!("{v:?} is not an issue id")))
        })
        .collect::<Result<_, _>>()?;
    state
        .store
        .set_issue_status(&ids, status, Some(who.user.id))
        .await?;
    Ok(see_other(&back_to(field("back"))))
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    csrf: String,
}

async fn status(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<IssueId>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    check_csrf(&session, &form.csrf)?;
    let id = path.into_inner();
    let issue = state.store.get_issue(id).await?.ok_or(WebError::NotFound)?;
    let status = if form.status == "resolved_in_next_release" {
        let newest = state.store.newest_release(issue.project_id).await?;
        IssueStatus::ResolvedInRelease(newest.ok_or_else(|| {
            WebError::BadRequest("the project has no release yet to resolve in".into())
        })?)
    } else {
        IssueStatus::parse(&form.status, now_ms())
            .ok_or_else(|| WebError::BadRequest(format!("unknown status {:?}", form.status)))?
    };
    state
        .store
        .set_issue_status(&[id], status, Some(who.user.id))
        .await?;
    Ok(see_other(&format!("/issues/{id}")))
}

#[derive(Deserialize)]
struct AssignForm {
    /// A user id; empty for nobody.
    assignee: String,
    csrf: String,
}

async fn assign(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<IssueId>,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    check_csrf(&session, &form.csrf)?;
    let id = path.into_inner();
    state.store.get_issue(id).await?.ok_or(WebError::NotFound)?;
    let assignee = match form.assignee.trim() {
        "" => None,
        user => {
            let unknown = || WebError::BadRequest(format!("no user {user:?}"));
            let user_id: i64 = user.parse().map_err(|_| unknown())?;
            Some(state.store.get_user(user_id).await?.ok_or_else(unknown)?)
        }
    };
    state
        .store
        .assign_issues(&[id], assignee.as_ref(), Some(who.user.id))
        .await?;
    Ok(see_other(&format!("/issues/{id}")))
}

#[derive(Deserialize)]
struct NoteForm {
    text: String,
    csrf: String,
}

async fn note(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<IssueId>,
    form: web::Form<NoteForm>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    check_csrf(&session, &form.csrf)?;
    let id = path.into_inner();
    state.store.get_issue(id).await?.ok_or(WebError::NotFound)?;
    match state
        .store
        .add_note(id, Some(who.user.id), &form.text)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/issues/{id}#activity"))),
        Err(StoreError::Invalid(e)) => Err(WebError::BadRequest(e)),
        Err(e) => Err(e.into()),
    }
}

/// The activity as the issue page lists it, newest first, ending with its first sighting.
fn activity_rows(activity: &[Activity], first_seen: i64, now: i64) -> Vec<ActivityRow> {
    let mut rows: Vec<ActivityRow> = activity
        .iter()
        .map(|a| {
            let data = a.data();
            let text = |key: &str| {
                data.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let what = match a.kind.as_str() {
                "set_resolved" => "Resolved".to_owned(),
                "set_unresolved" => "Unresolved".to_owned(),
                "set_ignored" => match data.get("ignoreUntil").and_then(Value::as_i64) {
                    Some(until) => format!("Ignored until {}", utc(until)),
                    None if data.get("ignoreUntilEscalating").is_some() => {
                        "Ignored until it spikes".to_owned()
                    }
                    None => "Ignored".to_owned(),
                },
                "assigned" => format!("Assigned to {}", text("assigneeEmail")),
                "unassigned" => "Unassigned".to_owned(),
                "set_regression" => "Regressed: seen again after it was resolved".to_owned(),
                "set_resolved_in_release" => {
                    format!(
                        "Resolved: comes back only in a release after {}",
                        text("version")
                    )
                }
                other => other.to_owned(),
            };
            ActivityRow {
                when: format::ago(a.created_at, now),
                when_utc: utc(a.created_at),
                who: a.user_email.clone().unwrap_or_default(),
                what,
                note: (a.kind == "note").then(|| text("text")),
            }
        })
        .collect();
    rows.push(ActivityRow {
        when: format::ago(first_seen, now),
        when_utc: utc(first_seen),
        who: String::new(),
        what: "First seen".to_owned(),
        note: None,
    });
    rows
}

/// One tag key's most frequent values.
struct TagDistribution {
    key: String,
    total: String,
    values: Vec<(String, String, u32)>,
}

/// Tags shown first, in this order (the rest follow alphabetically).
const FIRST_TAGS: [&str; 8] = [
    "environment",
    "release",
    "browser.name",
    "os.name",
    "runtime.name",
    "server_name",
    "user",
    "url",
];

fn distributions(rows: Vec<TagCount>) -> Vec<TagDistribution> {
    let mut by_key: Vec<(String, Vec<(String, i64)>)> = Vec::new();
    for TagCount {
        key,
        value,
        count: n,
    } in rows
    {
        match by_key.last_mut() {
            Some((k, values)) if *k == key => values.push((value, n)),
            _ => by_key.push((key, vec![(value, n)])),
        }
    }
    let rank = |k: &str| {
        FIRST_TAGS
            .iter()
            .position(|f| *f == k)
            .unwrap_or(FIRST_TAGS.len())
    };
    by_key.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    by_key
        .into_iter()
        .map(|(key, mut values)| {
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let total: i64 = values.iter().map(|(_, n)| n).sum();
            TagDistribution {
                key,
                total: format::count(total),
                values: values
                    .into_iter()
                    .take(5)
                    .map(|(v, n)| {
                        let percent = (n as f64 * 100.0 / total.max(1) as f64).round() as u32;
                        (v, format::count(n), percent)
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct IssueQuery {
    event: Option<String>,
}

struct Chart {
    title: &'static str,
    bars: Vec<Bar>,
    total: String,
}

/// An alert in the issue's history.
/// One line of the issue's activity: a note, or what changed.
struct ActivityRow {
    when: String,
    when_utc: String,
    /// Who did it (empty: nobody, an event).
    who: String,
    what: String,
    note: Option<String>,
}

struct AlertRow {
    when: String,
    when_utc: String,
    rule: String,
    reason: String,
    status: String,
}

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    nav: Option<Nav>,
    csrf: String,
    id: IssueId,
    short_id: String,
    project_id: ProjectId,
    project: String,
    /// (status, button label) of the status changes offered.
    actions: Vec<(&'static str, &'static str)>,
    /// The release it was resolved in (or after, resolved in the next release).
    resolved_in: Option<String>,
    activity: Vec<ActivityRow>,
    /// Who it is assigned to, and who it may be: (user id, email).
    assignee: Option<i64>,
    assignees: Vec<(i64, String)>,
    alerts: Vec<AlertRow>,
    /// Events in the last minute, hour and 24 hours.
    last_minute: String,
    last_hour: String,
    last_day: String,
    title: String,
    culprit: String,
    level: Level,
    status: Status,
    substatus: Substatus,
    events: String,
    /// Events still stored, when retention has deleted some.
    stored: Option<String>,
    users: String,
    first_seen: String,
    first_seen_utc: String,
    last_seen: String,
    last_seen_utc: String,
    first_release: String,
    last_release: String,
    charts: Vec<Chart>,
    tags: Vec<TagDistribution>,
    event: Option<EventView>,
    event_id: String,
    event_time: String,
    older: Option<String>,
    newer: Option<String>,
    /// The log lines of the event's trace, oldest first (the first after the event marked),
    /// and the trace's Logs page.
    trace_lines: Vec<super::logs::LineView>,
    trace_logs_url: Option<String>,
}

/// An event's trace id (`contexts.trace.trace_id`), as the logs keep it.
fn trace_of(event: &serde_json::Value) -> Option<String> {
    let id = event.pointer("/contexts/trace/trace_id")?.as_str()?;
    uuid::Uuid::try_parse(id)
        .ok()
        .map(|id| id.simple().to_string())
}

/// `/organizations/snag/issues/SHOP-12/` → this issue's page.
async fn sentry_issue_address(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    signed_in(&req, &session, &state).await?;
    let (_, id) = path.into_inner();
    let issue = state
        .store
        .find_issue(&id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(see_other(&format!("/issues/{}", issue.id)))
}

async fn issue(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<IssueId>,
    params: web::Query<IssueQuery>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    let id = path.into_inner();
    let store = &state.store;
    let issue = store.get_issue(id).await?.ok_or(WebError::NotFound)?;
    let project = store
        .list_projects()
        .await?
        .into_iter()
        .find(|(p, _)| p.id == issue.project_id)
        .map(|(p, _)| p.name)
        .unwrap_or_default();
    let now = now_ms();
    let now_minute = time::minute_of(now);
    let hourly = store.issue_counts(&[id], now_minute, 60, 24).await?;
    let daily = store
        .issue_counts(&[id], now_minute, time::MINUTES_PER_DAY, 14)
        .await?;
    let per_minute = store
        .issue_counts(&[id], now_minute, 1, 60)
        .await?
        .remove(&id)
        .unwrap_or_default();
    let chart = |title, counts: Option<&Vec<i64>>, unit_ms: i64| {
        let counts = counts.cloned().unwrap_or_default();
        let n = counts.len() as i64;
        let labels: Vec<String> = (0..n).map(|i| utc(now - (n - 1 - i) * unit_ms)).collect();
        Chart {
            title,
            total: format::count(counts.iter().sum()),
            bars: format::bars(&counts, 480.0, 80.0, &labels),
        }
    };
    let charts = vec![
        chart("Last 24 hours", hourly.get(&id), time::HOUR_MS),
        chart("Last 14 days", daily.get(&id), time::DAY_MS),
    ];
    let tags = distributions(store.issue_tags(id).await?);
    let stored_events = store.stored_events(id).await?;

    let stored = store.issue_event(id, params.event.as_deref()).await?;
    if params.event.is_some() && stored.is_none() {
        return Err(WebError::NotFound);
    }
    let (mut event, mut event_id, mut event_time, mut neighbours) =
        (None, String::new(), String::new(), Neighbours::default());
    let (mut lines, mut trace_logs_url) = (Vec::new(), None);
    if let Some(stored) = stored {
        let json = stored.json()?;
        let attachments = store
            .event_attachments(stored.project_id, &stored.event_id)
            .await?
            .into_iter()
            .enumerate()
            .map(|(n, a)| AttachmentLink {
                url: format!("/issues/{id}/events/{}/attachments/{n}", stored.event_id),
                filename: a.filename,
                attachment_type: a.attachment_type,
                size: a.size,
            })
            .collect();
        let feedback = store
            .event_feedback(stored.project_id, &stored.event_id)
            .await?
            .into_iter()
            .map(|r| Feedback {
                name: r.name,
                email: r.email,
                comments: r.comments,
            })
            .collect();
        neighbours = store.neighbour_events(id, &stored.event_id).await?;
        if let Some(trace) = trace_of(&json) {
            let project = (issue.project_id, project.as_str());
            lines = super::logs::trace_lines(store, project, &trace, stored.timestamp).await?;
            trace_logs_url = Some(format!(
                "/logs?period=30d&query={}",
                crate::format::url_encode(&format!("trace:{trace}"))
            ));
        }
        event = Some(event_view(&json, attachments, feedback));
        event_time = utc(stored.timestamp);
        event_id = stored.event_id;
    }
    let has_release = store.newest_release(issue.project_id).await?.is_some();
    page(&IssuePage {
        nav: Some(Nav::new(&who, "issues")),
        csrf: who.csrf.clone(),
        id,
        short_id: format!("{}-{}", project.to_uppercase(), issue.short_id),
        project_id: issue.project_id,
        project,
        actions: [
            ("resolved", "Resolve"),
            ("resolved_in_next_release", "Resolve in the next release"),
            ("ignored", "Ignore"),
            ("ignored_for_60", "Ignore for an hour"),
            ("ignored_for_1440", "Ignore for a day"),
            ("ignored_until_escalating", "Ignore until it spikes"),
            ("unresolved", "Unresolve"),
        ]
        .into_iter()
        .filter(|(s, _)| !s.starts_with(issue.status.as_str()))
        .filter(|(s, _)| *s != "resolved_in_next_release" || has_release)
        .collect(),
        resolved_in: issue.resolved_in_release.clone(),
        activity: activity_rows(&store.issue_activity(id).await?, issue.first_seen, now),
        assignee: issue.assignee_id,
        assignees: store
            .list_users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect(),
        alerts: store
            .issue_alerts(id)
            .await?
            .into_iter()
            .map(|a| AlertRow {
                when: format::ago(a.created_at, now),
                when_utc: utc(a.created_at),
                rule: a.rule,
                reason: a.reason,
                status: match (a.status, a.attempts) {
                    (Delivery::Pending, 0) => "queued".to_owned(),
                    (Delivery::Pending, n) => format!("retrying ({n} failed attempts)"),
                    (Delivery::Sent, _) => format!("sent to {}", a.recipients),
                    (Delivery::MailOff, _) => "recorded (mail is off)".to_owned(),
                    (Delivery::Capped, _) => "in the hourly summary (limit reached)".to_owned(),
                    (Delivery::Failed, n) => format!("failed ({n} attempts)"),
                },
            })
            .collect(),
        last_minute: format::count(per_minute.last().copied().unwrap_or(0)),
        last_hour: format::count(per_minute.iter().sum()),
        last_day: format::count(hourly.get(&id).map(|c| c.iter().sum()).unwrap_or(0)),
        title: issue.title,
        culprit: issue.culprit,
        level: issue.level,
        status: issue.status,
        substatus: issue.substatus,
        events: format::count(issue.times_seen),
        stored: (stored_events < issue.times_seen).then(|| format::count(stored_events)),
        users: format::count(issue.users_seen),
        first_seen: format::ago(issue.first_seen, now),
        first_seen_utc: utc(issue.first_seen),
        last_seen: format::ago(issue.last_seen, now),
        last_seen_utc: utc(issue.last_seen),
        first_release: issue.first_release.unwrap_or_default(),
        last_release: issue.last_release.unwrap_or_default(),
        charts,
        tags,
        event,
        event_id,
        event_time,
        older: neighbours.older,
        newer: neighbours.newer,
        trace_lines: lines,
        trace_logs_url,
    })
}

/// An attachment as a download, never rendered inline (its bytes are the sender's).
async fn attachment(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<(IssueId, String, i64)>,
) -> Result<HttpResponse, WebError> {
    signed_in(&req, &session, &state).await?;
    let (id, event_id, n) = path.into_inner();
    let issue = state.store.get_issue(id).await?.ok_or(WebError::NotFound)?;
    let crate::store::events::Attachment { filename, data, .. } = state
        .store
        .event_attachment(issue.project_id, &event_id, n)
        .await?
        .ok_or(WebError::NotFound)?;
    let safe_name: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{safe_name}\""),
        ))
        .body(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_distributions_rank_keys_and_values() {
        let tag = |key: &str, value: &str, count| TagCount {
            key: key.into(),
            value: value.into(),
            count,
        };
        let rows = vec![
            tag("level", "error", 3),
            tag("release", "a", 1),
            tag("release", "b", 3),
            tag("environment", "prod", 4),
        ];
        let d = distributions(rows);
        let keys: Vec<&str> = d.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["environment", "release", "level"]);
        assert_eq!(d[1].values[0], ("b".to_owned(), "3".to_owned(), 75));
        assert_eq!(d[1].values[1], ("a".to_owned(), "1".to_owned(), 25));
    }

    #[test]
    fn back_links_stay_on_the_issue_list() {
        assert_eq!(back_to(Some("/issues?page=2")), "/issues?page=2");
        assert_eq!(back_to(Some("https://evil.com")), "/issues");
        assert_eq!(back_to(None), "/issues");
    }
}
