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
//! ```
//! Lists are paged with Sentry's `Link` header (`cursor="0:{offset}:0"`, `results="true|false"`).
//! Errors are `{"detail": "…"}`: 401 without a valid token, 403 without the scope, 404.

mod handlers;
pub mod openapi;
pub mod shapes;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::app::AppState;
use crate::format::url_encode;
use crate::store::StoreError;
use crate::store::tokens::ApiToken;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // A query string that does not decode is the client's error, answered as JSON.
    let query_errors = web::QueryConfig::default()
        .error_handler(|e, _| ApiError::BadRequest(format!("invalid query string: {e}")).into());
    cfg.service(
        web::scope("/api/0")
            .app_data(query_errors)
            .route("/", web::get().to(handlers::root))
            .route("/openapi.json", web::get().to(handlers::openapi))
            .route("/organizations/", web::get().to(handlers::organizations))
            .route(
                "/organizations/{org}/",
                web::get().to(handlers::organization),
            )
            .route(
                "/organizations/{org}/projects/",
                web::get().to(handlers::projects),
            )
            .route(
                "/organizations/{org}/issues/",
                web::get().to(handlers::org_issues),
            )
            .route(
                "/organizations/{org}/issues/{id}/",
                web::get().to(handlers::org_issue),
            )
            .route(
                "/projects/{org}/{project}/",
                web::get().to(handlers::project),
            )
            .route(
                "/projects/{org}/{project}/",
                web::put().to(handlers::update_project),
            )
            .route(
                "/projects/{org}/{project}/keys/",
                web::get().to(handlers::keys),
            )
            .route(
                "/projects/{org}/{project}/keys/{key_id}/",
                web::put().to(handlers::update_key),
            )
            .route(
                "/projects/{org}/{project}/issues/",
                web::get().to(handlers::project_issues),
            )
            .route(
                "/projects/{org}/{project}/issues/",
                web::put().to(handlers::bulk_update),
            )
            .route(
                "/projects/{org}/{project}/events/",
                web::get().to(handlers::project_events),
            )
            .route(
                "/projects/{org}/{project}/events/{event_id}/",
                web::get().to(handlers::project_event),
            )
            .route(
                "/projects/{org}/{project}/alert-settings/",
                web::get().to(handlers::alert_settings),
            )
            .route(
                "/projects/{org}/{project}/alert-settings/",
                web::put().to(handlers::set_alert_settings),
            )
            .route(
                "/projects/{org}/{project}/grouping-rules/",
                web::get().to(handlers::grouping_rules),
            )
            .route(
                "/projects/{org}/{project}/grouping-rules/",
                web::put().to(handlers::set_grouping_rules),
            )
            .route("/issues/{id}/", web::get().to(handlers::issue))
            .route("/issues/{id}/", web::put().to(handlers::update_issue))
            .route(
                "/issues/{id}/events/",
                web::get().to(handlers::issue_events),
            )
            .route(
                "/issues/{id}/events/{which}/",
                web::get().to(handlers::issue_event),
            )
            .route("/issues/{id}/tags/", web::get().to(handlers::issue_tags))
            .route(
                "/issues/{id}/tags/{key}/",
                web::get().to(handlers::issue_tag),
            )
            .route(
                "/issues/{id}/tags/{key}/values/",
                web::get().to(handlers::issue_tag_values),
            )
            .default_service(web::to(handlers::not_found)),
    );
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
    #[error("{0}")]
    BadRequest(String),
    #[error("Internal Error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) | StoreError::Conflict(m) => ApiError::BadRequest(m),
            other => ApiError::Internal(format!("{other:#}")),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NoCredentials | ApiError::BadToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "API request failed");
        }
        HttpResponse::build(self.status_code())
            .json(serde_json::json!({"detail": self.to_string()}))
    }
}

/// The request's token, which must hold `scope`.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    scope: &str,
) -> Result<ApiToken, ApiError> {
    let token = authenticate(req, state).await?;
    if token.has_scope(scope) || token.has_scope(&upgrade(scope)) {
        Ok(token)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The request's valid token, whatever its scopes.
pub async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<ApiToken, ApiError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::NoCredentials)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::NoCredentials)?;
    state
        .store
        .find_token(token)
        .await?
        .ok_or(ApiError::BadToken)
}

/// A write scope implies the read scope (`event:write` may read events).
fn upgrade(scope: &str) -> String {
    scope.replace(":read", ":write")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

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
