//! Logging: `SNAG_LOG` (or `RUST_LOG`) filters, default `info`; logs go to stderr.
//!
//! Every request runs in a span named after its matched route, so whatever is logged while it
//! is served says where it came from; the pipeline, the writer and the store's entry points
//! have `debug` spans of their own (`SNAG_LOG=debug` times each):
//!
//! ```text
//! INFO request{method=POST route=/api/{project_id}/envelope/}: snag::ingest::rejections: ingest rejected reason="too_large" …
//! DEBUG request{method=GET route=/issues/{id}}: snag::telemetry: served status=200 ms=3
//! ```

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("SNAG_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        // Colours for a terminal only, not in a log file or a journal.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Middleware: serves the request inside a `request` span with its method and matched route
/// (the pattern, `/issues/{id}`, not the path: a bounded set of values), then records the
/// status on the span and, at `debug`, logs it with the time taken.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let route = req.match_pattern();
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        route = route.as_deref().unwrap_or("unmatched"),
        status = tracing::field::Empty,
    );
    let started = Instant::now();
    let response = next.call(req).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    span.record("status", status);
    span.in_scope(|| tracing::debug!(status, ms = started.elapsed().as_millis() as u64, "served"));
    Ok(response)
}
