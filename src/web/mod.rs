//! The web UI: server-rendered pages for people. Event data is attacker-controlled: templates
//! escape every value (askama), links are made only from http(s) URLs, and every page carries a
//! strict Content-Security-Policy (no inline script or style at all).
//!
//! ```text
//! GET  /setup  POST /setup          first admin, while there is no user
//! GET  /login  POST /login          email + password (throttled), POST /logout
//! GET  /settings/account  POST …    the signed-in user's password
//! GET  /issues?project=ID&query=is:unresolved level:error&sort=last_seen&page=2
//! POST /issues/bulk                 ids + action (resolve | ignore | unresolve)
//! GET  /issues/{id}?event=EVENT_ID  issue page with one event (the latest by default)
//! POST /issues/{id}/status          status (resolved | ignored | unresolved)
//! GET  /issues/{id}/events/{event_id}/attachments/{n}
//! GET  /crons  GET /crons/{slug}     cron monitors and their runs (crons.rs)
//! GET  /logs  GET /logs/rows          log lines, searched, live (logs.rs)
//! GET  /projects  POST /projects    DSNs, how to connect, create a project
//! GET  /settings/tokens  POST …       API tokens: create (shown once), revoke
//! ```
//! Every page but setup and login requires a session; every form carries a CSRF token.

mod auth;
mod crons;
pub mod event_view;
pub mod format;
mod issues;
mod logs;
mod projects;
mod releases;
mod throttle;
mod tokens;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;

use crate::error::Failure;

pub use throttle::LoginLimiter;

/// Sent with every page: nothing but our own stylesheet and script may load or run.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The web UI's routes, behind the session cookie and the security headers.
/// What the pages use: the configuration (sessions, webhook allow list), the store, the disk
/// guard (its banner) and the sign-in throttle.
#[derive(Debug)]
pub struct WebState {
    pub config: std::sync::Arc<crate::config::Config>,
    pub store: crate::store::Store,
    pub disk: std::sync::Arc<crate::retention::disk::DiskGuard>,
    /// Failed web sign-ins per client and email.
    pub login_limiter: LoginLimiter,
}

/// Registers the pages and the state they use.
pub fn routes(
    cfg: &mut web::ServiceConfig,
    state: web::Data<WebState>,
    session_key: Key,
    secure_cookie: bool,
) {
    cfg.app_data(state);
    let session = SessionMiddleware::builder(CookieSessionStore::default(), session_key)
        .cookie_name("snag_session".into())
        .cookie_secure(secure_cookie)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .build();
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"));
    // Forms and query strings that do not decode get the same small error page as the rest.
    let form_errors = web::FormConfig::default().error_handler(|e, _| {
        WebError::BadRequest(format!("the form could not be read: {e}")).into()
    });
    let query_errors = web::QueryConfig::default().error_handler(|e, _| {
        WebError::BadRequest(format!("the address could not be read: {e}")).into()
    });
    // `/issues/abc`: no such page.
    let path_errors = web::PathConfig::default().error_handler(|_, _| WebError::NotFound.into());
    cfg.service(
        web::scope("")
            .app_data(form_errors)
            .app_data(query_errors)
            .app_data(path_errors)
            .wrap(session)
            .wrap(headers)
            .route("/", web::get().to(home))
            .route("/static/snag.css", web::get().to(stylesheet))
            .route("/static/snag.js", web::get().to(script))
            .configure(auth::routes)
            .configure(issues::routes)
            .configure(crons::routes)
            .configure(logs::routes)
            .configure(projects::routes)
            .configure(releases::routes)
            .configure(tokens::routes),
    );
}

async fn home() -> HttpResponse {
    see_other("/issues")
}

/// Our stylesheet: the page's, then the event view's.
async fn stylesheet() -> HttpResponse {
    const CSS: &str = concat!(
        include_str!("../../static/snag.css"),
        "\n",
        include_str!("../../static/event.css")
    );
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/snag.js"))
}

/// 303 to `location` (after a form, or to the login page); a location that cannot be a
/// header (control characters) goes to the issue list instead.
fn see_other(location: &str) -> HttpResponse {
    let location = header::HeaderValue::from_str(local_path(location))
        .unwrap_or(header::HeaderValue::from_static("/issues"));
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Only paths of this site: never `//host` or a scheme.
fn local_path(next: &str) -> &str {
    // Browsers drop tabs and newlines from URLs and read `\` as `/`: `/\t/evil.com` would be
    // `//evil.com`, another site.
    let clean = !next.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\');
    if clean && next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/issues"
    }
}

/// A form's `project` select: its "All projects" option sends an empty value, which is none.
pub fn empty_as_none<'de, D>(deserializer: D) -> Result<Option<crate::store::ProjectId>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) => id
            .parse::<i64>()
            .map(|id| Some(crate::store::ProjectId(id)))
            .map_err(|_| serde::de::Error::custom(format!("project {id:?} is not a number"))),
    }
}

/// A rendered page.
fn page(template: &impl Template) -> Result<HttpResponse, WebError> {
    let html = template
        .render()
        .map_err(|e| WebError::Internal(Failure::new("rendering the page", e)))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

/// What can go wrong on a page, each answered with a small HTML page (or a redirect).
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No session: go and sign in, then come back.
    #[error("sign in first")]
    LoginRequired { next: String },
    #[error("the form expired or did not come from this site; go back, reload and try again")]
    Csrf,
    #[error("only administrators may change this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("too many failed sign-in attempts from here; try again in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// The server's fault: an opaque 500 page, the cause chain logged.
    #[error("internal error")]
    Internal(#[source] Failure),
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        WebError::Internal(Failure::new("the database", e))
    }
}

impl From<actix_session::SessionGetError> for WebError {
    fn from(e: actix_session::SessionGetError) -> Self {
        WebError::Internal(Failure::new("reading the session cookie", e.to_string()))
    }
}

impl From<actix_session::SessionInsertError> for WebError {
    fn from(e: actix_session::SessionInsertError) -> Self {
        WebError::Internal(Failure::new("writing the session cookie", e.to_string()))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    /// Error pages are made without the server's state: no warning banner.
    warning: Option<String>,
    status: u16,
    message: &'a str,
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            WebError::Csrf | WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let WebError::LoginRequired { next } = self {
            let next = crate::format::url_encode(next);
            return see_other(&format!("/login?next={next}"));
        }
        if let WebError::Internal(_) = self {
            tracing::error!(error = crate::error::chain(self), "web page failed");
        }
        let message = self.to_string();
        let status = self.status_code();
        let body = ErrorPage {
            warning: None,
            status: status.as_u16(),
            message: &message,
        }
        .render()
        .unwrap_or(message);
        let mut response = HttpResponse::build(status);
        if let WebError::TooManyAttempts { retry_after } = self {
            response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        response.content_type("text/html; charset=utf-8").body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local_path("/issues/3?event=x"), "/issues/3?event=x");
        for outside in [
            "//evil.com",
            "https://evil.com",
            "/\\evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "javascript:x",
            "",
        ] {
            assert_eq!(local_path(outside), "/issues", "{outside}");
        }
    }

    #[test]
    fn redirects_never_carry_control_characters() {
        let r = see_other("/issues?q=a\r\nSet-Cookie: x=1");
        assert_eq!(r.headers().get(header::LOCATION).unwrap(), "/issues");
        let r = see_other("/issues/3");
        assert_eq!(r.headers().get(header::LOCATION).unwrap(), "/issues/3");
    }
}
