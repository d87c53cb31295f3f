//! Ingest's errors, mapped to HTTP in one place (the API's are in `crate::api`, the web UI's
//! in `crate::web`).
//!
//! Ingest errors answer as Relay does: a status code and `{"detail": "…"}` (plus `causes` when
//! there is an underlying reason), with `Retry-After` and `X-Sentry-Rate-Limits` on 429.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::error::Failure;
use crate::protocol::EnvelopeError;
use crate::protocol::rate_limits::{self, RateLimit};

/// Seconds an SDK is asked to wait when the write queue is full.
pub const OVERLOAD_RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("missing authorization information")]
    MissingAuth,
    #[error("multiple authorization payloads detected")]
    MultipleAuth,
    #[error("bad x-sentry-auth header")]
    BadAuth(String),
    #[error("unknown public key")]
    UnknownKey,
    #[error("event submission rejected with_reason: DisabledKey")]
    DisabledKey,
    #[error("event submission rejected with_reason: ProjectId")]
    WrongProject,
    #[error("invalid project id in path")]
    BadProjectId,
    #[error("unsupported protocol version ({0})")]
    UnsupportedVersion(u32),
    #[error("invalid event envelope")]
    Envelope(#[from] EnvelopeError),
    #[error("invalid JSON data")]
    InvalidJson(String),
    #[error("{0}")]
    BadRequest(String),
    /// A security report sent with a content type browsers do not use for them.
    #[error("unsupported content type {0:?}")]
    UnsupportedMediaType(String),
    #[error("envelope exceeded size limits for type '{0}'")]
    TooLarge(&'static str),
    #[error("the request body did not arrive within {0} s")]
    BodyTimeout(u64),
    #[error("the service is overloaded")]
    Overloaded,
    /// A quota, or the disk guard: the SDK backs off for the limit's seconds.
    #[error("Snag dropped data because a limit was reached: {}", .0.reason)]
    RateLimited(RateLimit),
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The server's fault: answered with an opaque 500, the cause chain logged.
    #[error("internal server error")]
    Internal(#[source] Failure),
}

impl IngestError {
    /// A server-side failure while `doing` something, caused by `cause`.
    pub fn internal(
        doing: &'static str,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> IngestError {
        IngestError::Internal(Failure::new(doing, cause))
    }

    /// A server-side failure with nothing more to say than what went wrong.
    pub fn broken(doing: &'static str) -> IngestError {
        IngestError::Internal(Failure::bare(doing))
    }
}

impl IngestError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::MissingAuth | IngestError::MultipleAuth | IngestError::BadAuth(_) => {
                "auth"
            }
            IngestError::UnknownKey => "unknown_key",
            IngestError::DisabledKey => "disabled_key",
            IngestError::WrongProject => "wrong_project",
            IngestError::BadProjectId
            | IngestError::UnsupportedVersion(_)
            | IngestError::BadRequest(_) => "bad_request",
            IngestError::UnsupportedMediaType(_) => "unsupported_media_type",
            IngestError::Envelope(_) => "invalid_envelope",
            IngestError::InvalidJson(_) => "invalid_json",
            IngestError::TooLarge(_) => "too_large",
            IngestError::BodyTimeout(_) => "timeout",
            IngestError::Overloaded => "overloaded",
            IngestError::RateLimited(limit) => limit.reason,
            IngestError::ShuttingDown => "shutting_down",
            IngestError::Internal(_) => "internal",
        }
    }

    fn cause(&self) -> Option<String> {
        match self {
            IngestError::BadAuth(c) | IngestError::InvalidJson(c) => Some(c.clone()),
            IngestError::Envelope(e) => Some(e.to_string()),
            _ => None,
        }
    }
}

impl ResponseError for IngestError {
    fn status_code(&self) -> StatusCode {
        match self {
            IngestError::MissingAuth
            | IngestError::MultipleAuth
            | IngestError::BadAuth(_)
            | IngestError::UnknownKey => StatusCode::UNAUTHORIZED,
            IngestError::DisabledKey | IngestError::WrongProject => StatusCode::FORBIDDEN,
            IngestError::Envelope(EnvelopeError::TooManyItems(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::BadProjectId
            | IngestError::UnsupportedVersion(_)
            | IngestError::Envelope(_)
            | IngestError::InvalidJson(_)
            | IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            IngestError::Overloaded | IngestError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            IngestError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = serde_json::Map::new();
        body.insert("detail".into(), self.to_string().into());
        if let Some(cause) = self.cause() {
            body.insert("causes".into(), serde_json::json!([cause]));
        }
        let mut response = HttpResponse::build(self.status_code());
        if let IngestError::RateLimited(limit) = self {
            response.insert_header((header::RETRY_AFTER, limit.retry_after_secs.to_string()));
            response.insert_header((
                "x-sentry-rate-limits",
                rate_limits::header_value(std::slice::from_ref(limit)),
            ));
        }
        if matches!(self, IngestError::Overloaded | IngestError::ShuttingDown) {
            let secs = OVERLOAD_RETRY_AFTER_SECS.to_string();
            response.insert_header((
                header::RETRY_AFTER,
                HeaderValue::from_str(&secs).expect("digits"),
            ));
            if matches!(self, IngestError::Overloaded) {
                // Empty categories: every kind of data; SDKs back off for `secs` seconds.
                response.insert_header((
                    "x-sentry-rate-limits",
                    format!("{secs}::organization:overloaded"),
                ));
            }
        }
        response.json(body)
    }
}
