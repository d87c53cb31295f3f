//! Sentry's Web API, `/api/0/`, as sentry-cli and other clients call it (WEBAPI.md).
//!
//! ```text
//! Authorization: Bearer <token>            (snag token create, or the Tokens page)
//! GET  /api/0/                             auth info
//! GET  /api/0/organizations/[{org}/[projects/ | issues/]]
//! GET  /api/0/projects/{org}/{project}/[keys/ | issues/ | events/[{event_id}/]]
//! PUT  /api/0/projects/{org}/{project}/issues/?id=1&id=2   {"status": "resolved"}
//! GET  /api/0/issues/{id}/[events/[latest|oldest|{event_id}/] | tags/[{key}/[values/]]]
//! PUT  /api/0/issues/{id}/                 {"status": "ignored"}
//! GET  /api/0/projects/{org}/{project}/alert-settings/ (and PUT), …/grouping-rules/ (and PUT)
//! PUT  /api/0/projects/{org}/{project}/    {"quotas": {"dailyEvents": 50000, "attachmentBytes": null}}
//! PUT  /api/0/projects/{org}/{project}/keys/{public key}/   {"rateLimit": {"count": 10, "window": 60}}
//! GET  /api/0/organizations/{org}/monitors/[{slug}/[checkins/]]   (and POST, PUT, DELETE)
//! ```
//! Lists are paged with Sentry's `Link` header (`cursor="0:{offset}:0"`, `results="true|false"`).
//! Errors are `{"detail": "…"}`: 401 without a valid token, 403 without the scope, 404.
//!
//! One file per resource, each with its routes and shapes: [`organizations`], [`projects`],
//! [`keys`], [`issues`], [`events`], [`tags`], [`monitors`], [`settings`] (alerts, grouping rules) and
//! [`index`] (`/api/0/`, the OpenAPI document). Every endpoint first checks its token's scope
//! and loads what its path names through [`access`]; [`shapes`] makes Sentry's JSON.

mod access;
mod activity;
mod discover;
mod events;
mod features_off;
mod feedback;
mod index;
mod issues;
mod keys;
mod logs;
mod monitors;
pub mod openapi;
mod organizations;
mod projects;
mod releases;
mod settings;
pub mod shapes;
mod stats;
mod tags;
mod teams;
mod time_range;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::json;

use crate::config::Config;
use crate::error::Failure;
use crate::format::url_encode;
use crate::store::Store;
use crate::store::StoreError;

/// What the REST API uses: the configuration (organization slug, base URL, webhook allow
/// list) and the store.
#[derive(Debug)]
pub struct ApiState {
    pub config: std::sync::Arc<Config>,
    pub store: Store,
}

/// Registers `/api/0/` and the state it uses.
pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<ApiState>) {
    cfg.app_data(state);
    // A query string that does not decode is the client's error, answered as JSON.
    let query_errors = web::QueryConfig::default()
        .error_handler(|e, _| ApiError::BadRequest(format!("invalid query string: {e}")).into());
    cfg.service(
        web::scope("/api/0")
            .app_data(query_errors)
            .route("/", web::get().to(index::root))
            .route("/openapi.json", web::get().to(index::openapi))
            .route("/auth/", web::get().to(index::auth))
            .route(
                "/organizations/",
                web::get().to(organizations::organizations),
            )
            .route(
                "/organizations/{org}/",
                web::get().to(organizations::organization),
            )
            .route(
                "/organizations/{org}/projects/",
                web::get().to(projects::projects),
            )
            .route(
                "/organizations/{org}/issues/",
                web::get().to(issues::org_issues),
            )
            .route(
                "/organizations/{org}/shortids/{short_id}/",
                web::get().to(issues::short_id),
            )
            .route("/organizations/{org}/teams/", web::get().to(teams::teams))
            .route("/organizations/{org}/tags/", web::get().to(tags::org_tags))
            .route(
                "/organizations/{org}/events/",
                web::get().to(discover::events),
            )
            .route(
                "/organizations/{org}/events/validate/",
                web::get().to(discover::validate),
            )
            .route(
                "/organizations/{org}/trace-logs/",
                web::get().to(logs::trace_logs),
            )
            .route(
                "/organizations/{org}/events-stats/",
                web::get().to(discover::events_stats),
            )
            .route(
                "/organizations/{org}/events-timeseries/",
                web::get().to(discover::events_timeseries),
            )
            .route(
                "/organizations/{org}/stats_v2/",
                web::get().to(stats::stats_v2),
            )
            .route(
                "/organizations/{org}/members/",
                web::get().to(teams::members),
            )
            .route("/organizations/{org}/repos/", web::get().to(teams::repos))
            .route(
                "/organizations/{org}/monitors/",
                web::get().to(monitors::list),
            )
            .route(
                "/organizations/{org}/monitors/",
                web::post().to(monitors::create),
            )
            .configure(|cfg| monitor_routes(cfg, "/organizations/{org}/monitors/{slug}"))
            .configure(|cfg| monitor_routes(cfg, "/projects/{org}/{project}/monitors/{slug}"))
            .configure(|cfg| release_routes(cfg, "/organizations/{org}/releases"))
            .configure(|cfg| release_routes(cfg, "/projects/{org}/{project}/releases"))
            .route("/teams/{org}/{team}/", web::get().to(teams::team_detail))
            .route(
                "/teams/{org}/{team}/projects/",
                web::get().to(teams::team_projects),
            )
            .route(
                "/projects/{org}/{project}/",
                web::get().to(projects::project),
            )
            .route(
                "/projects/{org}/{project}/",
                web::put().to(projects::update_project),
            )
            .route("/projects/{org}/{project}/keys/", web::get().to(keys::keys))
            .route(
                "/projects/{org}/{project}/keys/{key_id}/",
                web::put().to(keys::update_key),
            )
            .route(
                "/projects/{org}/{project}/issues/",
                web::get().to(issues::project_issues),
            )
            .route(
                "/projects/{org}/{project}/issues/",
                web::put().to(issues::bulk_update),
            )
            .route(
                "/projects/{org}/{project}/events/",
                web::get().to(events::project_events),
            )
            .route(
                "/projects/{org}/{project}/events/{event_id}/",
                web::get().to(events::project_event),
            )
            .route(
                "/projects/{org}/{project}/user-feedback/",
                web::get().to(feedback::user_feedback),
            )
            .route(
                "/projects/{org}/{project}/events/{event_id}/attachments/",
                web::get().to(feedback::attachments),
            )
            .route(
                "/projects/{org}/{project}/events/{event_id}/attachments/{attachment_id}/",
                web::get().to(feedback::attachment),
            )
            .route(
                "/projects/{org}/{project}/alert-settings/",
                web::get().to(settings::alert_settings),
            )
            .route(
                "/projects/{org}/{project}/alert-settings/",
                web::put().to(settings::set_alert_settings),
            )
            .route(
                "/projects/{org}/{project}/grouping-rules/",
                web::get().to(settings::grouping_rules),
            )
            .route(
                "/projects/{org}/{project}/grouping-rules/",
                web::put().to(settings::set_grouping_rules),
            )
            .configure(|cfg| issue_routes(cfg, "/issues/{id}"))
            .configure(|cfg| issue_routes(cfg, "/organizations/{org}/issues/{id}"))
            .default_service(web::to(not_found)),
    );
}

/// One issue's endpoints under `prefix`: Sentry serves them at `/issues/{id}/…` and, for its
/// newer clients, at `/organizations/{org}/issues/{id}/…`.
fn issue_routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.route(&format!("{prefix}/"), web::get().to(issues::issue))
        .route(&format!("{prefix}/"), web::put().to(issues::update_issue))
        .route(
            &format!("{prefix}/events/"),
            web::get().to(events::issue_events),
        )
        .route(
            &format!("{prefix}/events/{{which}}/"),
            web::get().to(events::issue_event),
        )
        .route(
            &format!("{prefix}/activities/"),
            web::get().to(activity::activities),
        )
        // Sentry serves an issue's notes as `comments/`; its MCP server asks for `notes/`.
        .route(
            &format!("{prefix}/comments/"),
            web::get().to(activity::notes),
        )
        .route(
            &format!("{prefix}/comments/"),
            web::post().to(activity::add_note),
        )
        .route(&format!("{prefix}/notes/"), web::get().to(activity::notes))
        .route(
            &format!("{prefix}/notes/"),
            web::post().to(activity::add_note),
        )
        .route(
            &format!("{prefix}/user-reports/"),
            web::get().to(feedback::issue_user_reports),
        )
        .route(
            &format!("{prefix}/autofix/"),
            web::get().to(features_off::autofix),
        )
        .route(
            &format!("{prefix}/autofix/"),
            web::post().to(features_off::autofix),
        )
        .route(&format!("{prefix}/tags/"), web::get().to(tags::issue_tags))
        .route(
            &format!("{prefix}/tags/{{key}}/"),
            web::get().to(tags::issue_tag),
        )
        .route(
            &format!("{prefix}/tags/{{key}}/values/"),
            web::get().to(tags::issue_tag_values),
        );
}

/// One monitor's endpoints under `prefix`: through the organization, and through its project.
fn monitor_routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.route(&format!("{prefix}/"), web::get().to(monitors::detail))
        .route(&format!("{prefix}/"), web::put().to(monitors::update))
        .route(&format!("{prefix}/"), web::delete().to(monitors::delete))
        .route(
            &format!("{prefix}/checkins/"),
            web::get().to(monitors::check_ins),
        );
}

/// The release endpoints under `prefix`: the organization's, and a project's (sentry-cli `-p`).
fn release_routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.route(&format!("{prefix}/"), web::get().to(releases::list))
        .route(&format!("{prefix}/"), web::post().to(releases::create))
        .route(
            &format!("{prefix}/{{version}}/"),
            web::get().to(releases::detail),
        )
        .route(
            &format!("{prefix}/{{version}}/"),
            web::put().to(releases::update),
        )
        .route(
            &format!("{prefix}/{{version}}/"),
            web::delete().to(releases::delete),
        )
        .route(
            &format!("{prefix}/{{version}}/commits/"),
            web::get().to(releases::commits),
        )
        .route(
            &format!("{prefix}/{{version}}/deploys/"),
            web::get().to(releases::deploys),
        )
        .route(
            &format!("{prefix}/{{version}}/deploys/"),
            web::post().to(releases::add_deploy),
        );
}

/// A query string as pairs (`id` and `project` repeat).
type Query = web::Query<Vec<(String, String)>>;
/// What an endpoint answers.
type Answer = Result<HttpResponse, ApiError>;

/// The public base URL (for permalinks, DSNs and Link headers).
fn base_url(req: &HttpRequest, state: &ApiState) -> String {
    state
        .config
        .public_base_url(Some(req.app_config().local_addr()))
}

/// Any other path under `/api/0/`.
async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"detail": "The requested resource does not exist"}))
}

/// What an API request can fail with, answered as Sentry does.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Authentication credentials were not provided.")]
    NoCredentials,
    #[error("Invalid token")]
    BadToken,
    #[error("You do not have permission to perform this action.")]
    Forbidden,
    #[error("The requested resource does not exist")]
    NotFound,
    /// A Sentry feature Snag does not have, answered as Sentry does when it is turned off.
    #[error("{0}")]
    FeatureOff(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// The server's fault: an opaque 500, the cause chain logged.
    #[error("Internal Error")]
    Internal(#[source] Failure),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) | StoreError::Conflict(m) => ApiError::BadRequest(m),
            other => ApiError::Internal(Failure::new("the database", other)),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NoCredentials | ApiError::BadToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::FeatureOff(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(_) = self {
            tracing::error!(error = crate::error::chain(self), "API request failed");
        }
        HttpResponse::build(self.status_code()).json(json!({"detail": self.to_string()}))
    }
}

/// Deepest offset a cursor may ask for (keeps every offset + size far from overflowing).
const MAX_OFFSET: i64 = 10_000_000;

/// Page size (`per_page` or `limit`, at most 100) and offset (`cursor="0:{offset}:0"`).
pub fn page(query: &[(String, String)]) -> Result<(i64, i64), ApiError> {
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let size = match get("per_page").or(get("limit")) {
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::BadRequest(format!("invalid per_page {v:?}")))?
            .min(100),
        None => 100,
    };
    let offset = match get("cursor").filter(|c| !c.is_empty()) {
        Some(c) => c
            .split(':')
            .nth(1)
            .and_then(|o| o.parse::<i64>().ok())
            .filter(|o| (0..=MAX_OFFSET).contains(o))
            .ok_or_else(|| ApiError::BadRequest(format!("invalid cursor {c:?}")))?,
        None => 0,
    };
    Ok((size, offset))
}

/// `-name` (descending) or `name`, which must be one of the `fields` asked for.
pub(crate) fn sort_field<'s, T>(
    sort: &'s str,
    fields: &[(String, T)],
) -> Result<(&'s str, bool), ApiError> {
    let (name, descending) = match sort.strip_prefix('-') {
        Some(name) => (name, true),
        None => (sort, false),
    };
    if !fields.iter().any(|(n, _)| n == name) {
        return Err(ApiError::BadRequest(format!(
            "sort by one of the fields asked for, not {name:?}"
        )));
    }
    Ok((name, descending))
}

/// Sentry's `Link` header: previous and next pages, with `results` saying whether they exist.
pub fn link_header(
    url: &str,
    query: &[(String, String)],
    size: i64,
    offset: i64,
    more: bool,
) -> String {
    let base: String = {
        let kept: Vec<String> = query
            .iter()
            .filter(|(k, _)| k != "cursor")
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect();
        if kept.is_empty() {
            format!("{url}?")
        } else {
            format!("{url}?{}&", kept.join("&"))
        }
    };
    let previous = format!("0:{}:1", (offset - size).max(0));
    let next = format!("0:{}:0", offset + size);
    format!(
        "<{base}cursor={previous}>; rel=\"previous\"; results=\"{}\"; cursor=\"{previous}\", \
         <{base}cursor={next}>; rel=\"next\"; results=\"{more}\"; cursor=\"{next}\"",
        offset > 0
    )
}

/// A query string's pairs from literals (unit tests).
#[cfg(test)]
fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_links() {
        assert_eq!(page(&q(&[])).unwrap(), (100, 0));
        assert_eq!(
            page(&q(&[("cursor", "0:200:0"), ("per_page", "500")])).unwrap(),
            (100, 200)
        );
        assert!(page(&q(&[("cursor", "nonsense")])).is_err());
        assert!(page(&q(&[("per_page", "-1")])).is_err());
        let link = link_header(
            "http://h/api/0/x/",
            &q(&[("query", "is:unresolved"), ("cursor", "0:100:0")]),
            100,
            100,
            true,
        );
        assert_eq!(
            link,
            "<http://h/api/0/x/?query=is%3Aunresolved&cursor=0:0:1>; rel=\"previous\"; results=\"true\"; cursor=\"0:0:1\", \
             <http://h/api/0/x/?query=is%3Aunresolved&cursor=0:200:0>; rel=\"next\"; results=\"true\"; cursor=\"0:200:0\""
        );
        assert!(
            link_header("http://h/x/", &[], 100, 0, false)
                .contains("rel=\"next\"; results=\"false\"")
        );
    }
}
