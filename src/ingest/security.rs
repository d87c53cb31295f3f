//! `POST /api/{project_id}/security/` (and the legacy `/csp-report/`): reports browsers post
//! on their own, named in a page's policy:
//!
//! ```text
//! Content-Security-Policy: script-src 'self'; report-uri https://snag.example/api/1/security/?sentry_key=<key>&sentry_environment=production
//! POST /api/1/security/?sentry_key=<key>[&sentry_release=…][&sentry_environment=…]
//! Content-Type: application/csp-report | application/reports+json | application/json
//!               | application/expect-ct-report[+json] | application/expect-staple-report
//! → 200 (empty body) once every report of the body is committed, one event each
//! ```
//! The key is only in the query string (browsers send no auth headers). Reports count as
//! events against the key's rate limit and the project's daily cap (Relay's `security`
//! category). Wrong content type: 415; empty or malformed body, or an unknown kind of
//! report: 400; over the event size: 413.

use actix_web::http::header::{CONTENT_TYPE, ORIGIN, REFERER, USER_AGENT};
use actix_web::{HttpRequest, HttpResponse, web};

use super::IngestState;
use super::{Rows, accept, admitted_key, body, counted, open_rows, project_setup};
use crate::ingest::error::IngestError;
use crate::protocol::security_report::{self, Context, ReportError};
use crate::protocol::{Envelope, Item, ItemType};

/// Reports stored from one request (a Reporting API batch holds a few).
const MAX_REPORTS: usize = 100;

/// The browser's client hints Relay copies beside the `User-Agent`.
const CLIENT_HINTS: [&str; 4] = [
    "sec-ch-ua-platform",
    "sec-ch-ua-platform-version",
    "sec-ch-ua",
    "sec-ch-ua-model",
];

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    counted(&state, &req, handle_reports(&req, payload, &state).await)
}

async fn handle_reports(
    req: &HttpRequest,
    payload: web::Payload,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let (project_id, key) = admitted_key(req, state).await?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !security_report::is_report_content_type(content_type) {
        return Err(IngestError::UnsupportedMediaType(
            content_type.chars().take(100).collect(),
        ));
    }
    let setup = project_setup(state, project_id).await?;
    let limits = state.limits.clone();
    let (encoding, raw) = super::read_body(req, payload, state, "security").await?;
    let received = super::received(req, project_id);
    let ctx = context(req)?;
    let budget = state.budget.clone();
    let all_rows = {
        let received = received.clone();
        state
            .cpu
            .run(move || -> Result<Vec<Rows>, IngestError> {
                let body = body::decode(encoding, raw, limits.max_event_size, "security", &budget)?;
                if body.iter().all(u8::is_ascii_whitespace) {
                    return Err(IngestError::BadRequest("empty request body".into()));
                }
                let events = events(&body, &ctx)?;
                events
                    .iter()
                    .map(|event| {
                        let envelope = Envelope {
                            headers: Default::default(),
                            items: vec![Item {
                                ty: ItemType::Event,
                                headers: Default::default(),
                                payload: event,
                            }],
                        };
                        open_rows(&envelope, &received, &setup, &limits, &budget)
                    })
                    .collect()
            })
            .await?
    };
    // Each report is its own event; 200 only once all of them are committed.
    let mut limited = None;
    let mut stored = 0;
    for rows in all_rows {
        match accept(state, rows, &received, &key).await {
            Ok(_) => stored += 1,
            Err(IngestError::RateLimited(limit)) => limited = Some(limit),
            Err(e) => return Err(e),
        }
    }
    match limited {
        Some(limit) if stored == 0 => Err(IngestError::RateLimited(limit)),
        _ => Ok(HttpResponse::Ok().finish()),
    }
}

/// The body's reports as event payloads; reports of kinds Snag does not take are skipped, but
/// a body with none that it takes is refused.
fn events(body: &[u8], ctx: &Context) -> Result<Vec<Vec<u8>>, IngestError> {
    let reports = security_report::reports(body).map_err(refused)?;
    if reports.len() > MAX_REPORTS {
        return Err(IngestError::TooLarge("security"));
    }
    let mut events = Vec::with_capacity(reports.len());
    let mut skipped = None;
    for report in &reports {
        let kind = match security_report::kind(report) {
            Ok(kind) => kind,
            Err(e @ ReportError::Unsupported) => {
                skipped = Some(e);
                continue;
            }
            Err(e) => return Err(refused(e)),
        };
        let event = security_report::to_event(report, kind, ctx).map_err(refused)?;
        events.push(serde_json::to_vec(&event).expect("JSON values serialize"));
    }
    match skipped {
        Some(e) if events.is_empty() => Err(refused(e)),
        _ => Ok(events),
    }
}

fn refused(e: ReportError) -> IngestError {
    match e {
        ReportError::Json(cause) => IngestError::InvalidJson(cause),
        e => IngestError::BadRequest(match e.cause() {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        }),
    }
}

/// What the request itself says: query parameters, the page's origin, the browser.
fn context(req: &HttpRequest) -> Result<Context, IngestError> {
    let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| IngestError::BadRequest(format!("bad query string: {e}")))?;
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.chars().take(200).collect::<String>())
            .filter(|v| !v.is_empty())
    };
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && *v != "null")
    };
    let origin = header(ORIGIN.as_str())
        .map(str::to_owned)
        .or_else(|| header(REFERER.as_str()).and_then(origin_of));
    let mut user_agent = Vec::new();
    if let Some(ua) = header(USER_AGENT.as_str()) {
        user_agent.push(("User-Agent".to_owned(), ua.to_owned()));
    }
    for hint in CLIENT_HINTS {
        if let Some(value) = header(hint) {
            user_agent.push((hint.to_owned(), value.to_owned()));
        }
    }
    Ok(Context {
        release: param("sentry_release"),
        environment: param("sentry_environment"),
        origin,
        user_agent,
    })
}

/// `https://shop.example:8443/page?q` → `https://shop.example:8443`.
fn origin_of(referer: &str) -> Option<String> {
    let url = url::Url::parse(referer).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}
