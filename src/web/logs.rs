//! The Logs page: lines newest first, filtered and searched, each opening to its attributes,
//! with the lines and the error of its trace a click away; new lines appear by themselves.
//! Also the lines of an event's trace on the issue page ([`trace_lines`]).
//!
//! ```text
//! GET /logs?project=ID&period=1h|24h|7d|14d|30d&level=warn&environment=prod&release=…&logger=…
//!          &query=card declined user.id:42&before=NS:LINEID
//! GET /logs/rows?…same filters…&after=BLOCK   the lines that arrived after block BLOCK, as rows
//!                                             (snag.js polls it; X-Newest-Block says where to go on)
//! ```
//! The filters become terms of the search language (`crate::logs::query`): `level=warn` is
//! `severity_number:>=13`, `environment=prod` is `environment:"prod"`.

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::WebState;
use super::auth::signed_in;
use super::issues::Nav;
use super::{WebError, page};
use crate::format::url_encode;
use crate::logs::block::{LineId, StoredLine, attribute_text};
use crate::logs::item::{AttrValue, Level};
use crate::logs::query;
use crate::logs::search::{self, Search};
use crate::store::{ProjectId, Store, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/logs", web::get().to(list))
        .route("/logs/rows", web::get().to(rows));
}

/// Lines per page.
const PAGE_SIZE: usize = 100;
/// Lines of a trace shown on the issue page.
pub const TRACE_LINES: usize = 200;

/// The periods offered, with their length in milliseconds.
const PERIODS: [(&str, i64); 6] = [
    ("15m", 15 * 60_000),
    ("1h", 3_600_000),
    ("24h", 86_400_000),
    ("7d", 7 * 86_400_000),
    ("14d", 14 * 86_400_000),
    ("30d", 30 * 86_400_000),
];

#[derive(Debug, Default, Deserialize)]
pub struct LogsQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    project: Option<ProjectId>,
    period: Option<String>,
    level: Option<String>,
    environment: Option<String>,
    release: Option<String>,
    logger: Option<String>,
    query: Option<String>,
    /// `NS:LINEID`: lines older than this one (the next page).
    before: Option<String>,
    /// Lines that arrived after this block (the live rows).
    after: Option<i64>,
}

/// A line as the pages show it.
pub struct LineView {
    pub id: String,
    pub time: String,
    pub time_utc: String,
    pub level: &'static str,
    pub project: String,
    pub body: String,
    pub attributes: Vec<(String, String)>,
    pub trace_id: String,
    pub span_id: Option<String>,
    pub trace_url: String,
    pub errors_url: String,
    /// On the issue page: where the event falls, after this line or before it.
    pub event_after: bool,
    pub event_before: bool,
}

impl LineView {
    fn new(line: &StoredLine, projects: &HashMap<ProjectId, String>) -> LineView {
        let at = chrono::DateTime::from_timestamp_nanos(line.timestamp_ns);
        LineView {
            id: line.id.hex(),
            time: at.format("%b %-d %H:%M:%S%.3f").to_string(),
            time_utc: at.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string(),
            level: line.level.as_str(),
            project: projects.get(&line.project_id).cloned().unwrap_or_default(),
            body: line.body.clone(),
            attributes: line
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect(),
            trace_id: line.trace_id.clone(),
            span_id: line.span_id.clone(),
            trace_url: format!(
                "/logs?period=30d&query={}",
                url_encode(&format!("trace:{}", line.trace_id))
            ),
            errors_url: format!(
                "/issues?query={}",
                url_encode(&format!("is:all trace:{}", line.trace_id))
            ),
            event_after: false,
            event_before: false,
        }
    }
}

fn value_text(value: &AttrValue) -> String {
    match value {
        AttrValue::Array(items) => {
            let texts: Vec<String> = items.iter().filter_map(attribute_text).collect();
            format!("[{}]", texts.join(", "))
        }
        scalar => attribute_text(scalar).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "logs.html")]
struct LogsPage {
    nav: Option<Nav>,
    projects: Vec<(ProjectId, String)>,
    project: Option<ProjectId>,
    periods: Vec<&'static str>,
    period: &'static str,
    levels: Vec<&'static str>,
    level: String,
    environment: String,
    release: String,
    logger: String,
    query: String,
    error: Option<String>,
    lines: Vec<LineView>,
    /// How many lines were read, when the search stopped before the end of the period.
    partial: Option<String>,
    older: Option<String>,
    /// The live rows' address (first page only), and the newest block when the page was made.
    poll: Option<String>,
    newest_block: i64,
}

#[derive(Template)]
#[template(path = "log_lines.html")]
struct LineRows {
    lines: Vec<LineView>,
}

/// A search of the page's filters, for lines up to `until_ns`.
fn search_of(
    params: &LogsQuery,
    projects: &[(ProjectId, String)],
    now_ms: i64,
) -> Result<(Search, &'static str), String> {
    let (period, length) = PERIODS
        .iter()
        .find(|(name, _)| Some(*name) == params.period.as_deref())
        .copied()
        .unwrap_or(PERIODS[2]);
    let mut text = params.query.clone().unwrap_or_default();
    let mut term = |key: &str, value: &Option<String>| {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            text.push_str(&format!(" {key}:\"{}\"", v.replace('"', "")));
        }
    };
    term("environment", &params.environment);
    term("release", &params.release);
    term("logger.name", &params.logger);
    if let Some(level) = params.level.as_deref().filter(|l| !l.is_empty()) {
        let level = Level::parse(level).ok_or_else(|| format!("unknown level {level:?}"))?;
        text.push_str(&format!(" severity_number:>={}", level.severity_number()));
    }
    let mut query = query::parse(&text).map_err(|e| e.0)?;
    let mut ids: Vec<ProjectId> = match params.project {
        Some(p) => vec![p],
        None => projects.iter().map(|(id, _)| *id).collect(),
    };
    for name in std::mem::take(&mut query.projects) {
        let found = projects
            .iter()
            .find(|(id, slug)| *slug == name || id.get().to_string() == name)
            .ok_or_else(|| format!("no project {name:?}"))?;
        ids.retain(|id| *id == found.0);
    }
    let after = match params.before.as_deref() {
        Some(cursor) => {
            let (ns, id) = cursor
                .split_once(':')
                .and_then(|(ns, id)| Some((ns.parse::<i64>().ok()?, LineId::parse(id)?)))
                .ok_or_else(|| "that page of lines is gone; start again".to_owned())?;
            Some((ns, id))
        }
        None => None,
    };
    let since_ns = (now_ms - length).saturating_mul(1_000_000);
    Ok((
        Search {
            projects: ids,
            since_ns,
            until_ns: i64::MAX,
            after_block: params.after,
            until_block: None,
            query,
            newest_first: true,
            limit: PAGE_SIZE,
            after,
        },
        period,
    ))
}

async fn project_names(store: &Store) -> Result<Vec<(ProjectId, String)>, StoreError> {
    Ok(store
        .list_projects()
        .await?
        .into_iter()
        .map(|(p, _)| (p.id, p.name))
        .collect())
}

/// The address of the same filters with `extra` parameters.
fn address(path: &str, params: &LogsQuery, period: &str, extra: &str) -> String {
    let mut url = format!("{path}?period={period}");
    let mut add = |key: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            url.push_str(&format!("&{key}={}", url_encode(v)));
        }
    };
    add("project", params.project.map(|p| p.to_string()).as_deref());
    add("level", params.level.as_deref());
    add("environment", params.environment.as_deref());
    add("release", params.release.as_deref());
    add("logger", params.logger.as_deref());
    add("query", params.query.as_deref());
    url.push_str(extra);
    url
}

async fn list(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    params: web::Query<LogsQuery>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    let projects = project_names(&state.store).await?;
    let names: HashMap<ProjectId, String> = projects.iter().cloned().collect();
    let now = crate::store::now_ms();
    let mut view = LogsPage {
        nav: Some(Nav::new(&who, "logs")),
        projects: projects.clone(),
        project: params.project,
        periods: PERIODS.iter().map(|(p, _)| *p).collect(),
        period: PERIODS[2].0,
        levels: Level::ALL.iter().map(|l| l.as_str()).collect(),
        level: params.level.clone().unwrap_or_default(),
        environment: params.environment.clone().unwrap_or_default(),
        release: params.release.clone().unwrap_or_default(),
        logger: params.logger.clone().unwrap_or_default(),
        query: params.query.clone().unwrap_or_default(),
        error: None,
        lines: Vec::new(),
        partial: None,
        older: None,
        poll: None,
        newest_block: 0,
    };
    match search_of(&params, &projects, now) {
        Err(error) => view.error = Some(error),
        Ok((search, period)) => {
            view.period = period;
            let found = search::search(&state.store, &search).await?;
            if !found.complete {
                view.partial = Some(format!(
                    "Searched the newest {} lines of the period; narrow the search or the period to reach older ones.",
                    found.scanned
                ));
            }
            if found.lines.len() == PAGE_SIZE
                && let Some(last) = found.lines.last()
            {
                let cursor = format!("{}:{}", last.timestamp_ns, last.id.hex());
                view.older = Some(address(
                    "/logs",
                    &params,
                    period,
                    &format!("&before={}", url_encode(&cursor)),
                ));
            }
            if params.before.is_none() {
                view.poll = Some(address("/logs/rows", &params, period, ""));
                view.newest_block = state.store.newest_log_block().await?;
            }
            view.lines = found
                .lines
                .iter()
                .map(|l| LineView::new(l, &names))
                .collect();
        }
    }
    page(&view)
}

/// The lines that arrived after block `after`, newest first, as rows for the page to put on
/// top; the newest block read in `X-Newest-Block` (lines come late: arrival, not their time,
/// says what is new).
async fn rows(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    params: web::Query<LogsQuery>,
) -> Result<HttpResponse, WebError> {
    signed_in(&req, &session, &state).await?;
    if params.after.is_none() || params.before.is_some() {
        return Err(WebError::BadRequest(
            "the live rows take after=BLOCK only".into(),
        ));
    }
    let projects = project_names(&state.store).await?;
    let names: HashMap<ProjectId, String> = projects.iter().cloned().collect();
    // Read the newest block first: a block that arrives meanwhile is read by the next poll.
    let newest = state.store.newest_log_block().await?;
    let (mut search, _) =
        search_of(&params, &projects, crate::store::now_ms()).map_err(WebError::BadRequest)?;
    search.until_block = Some(newest);
    let found = search::search(&state.store, &search).await?;
    let html = LineRows {
        lines: found
            .lines
            .iter()
            .map(|l| LineView::new(l, &names))
            .collect(),
    }
    .render()
    .map_err(|e| WebError::Internal(crate::error::Failure::new("rendering the rows", e)))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Newest-Block", newest.to_string()))
        .body(html))
}

/// The lines of `trace_id` in `project`, oldest first, the event's place (`event_ms`) marked:
/// after the last line before it, or before the first line.
pub async fn trace_lines(
    store: &Store,
    project: (ProjectId, &str),
    trace_id: &str,
    event_ms: i64,
) -> Result<Vec<LineView>, StoreError> {
    let found = search::trace_lines(store, &[project.0], trace_id, TRACE_LINES).await?;
    let names = HashMap::from([(project.0, project.1.to_owned())]);
    let mut views: Vec<LineView> = found
        .lines
        .iter()
        .map(|l| LineView::new(l, &names))
        .collect();
    // The event's time has milliseconds; its own line (`log.exception`) comes just before it.
    let event_ns = event_ms.saturating_mul(1_000_000) + 999_999;
    match found.lines.iter().rposition(|l| l.timestamp_ns <= event_ns) {
        Some(last_before) => views[last_before].event_after = true,
        None => {
            if let Some(first) = views.first_mut() {
                first.event_before = true;
            }
        }
    }
    Ok(views)
}
