//! `POST /api/{project_id}/store/`: the legacy endpoint (raven, sentry-python 1.x).
//!
//! The body is one JSON event, possibly `base64(zlib(json))`; with
//! `Content-Type: application/x-sentry-envelope` it is an envelope.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};

use super::IngestState;
use super::{accept, admitted_key, body, counted, open_rows, project_setup, read_body, received};
use crate::ingest::error::IngestError;
use crate::protocol::{Envelope, Item, ItemType, envelope};

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    counted(&state, &req, handle_store(&req, payload, &state).await)
}

async fn handle_store(
    req: &HttpRequest,
    payload: web::Payload,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let (project_id, key) = admitted_key(req, state).await?;
    let rules = project_setup(state, project_id).await?;
    let limits = state.limits.clone();
    let (encoding, raw) = read_body(req, payload, state, "event").await?;
    let is_envelope = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-sentry-envelope"));
    let received = received(req, project_id);
    let budget = state.budget.clone();
    let rows = {
        let received = received.clone();
        state
            .cpu
            .run(move || {
                if is_envelope {
                    let body =
                        body::decode(encoding, raw, limits.max_envelope_size, "envelope", &budget)?;
                    let envelope = envelope::parse(&body, limits.max_envelope_items)?;
                    return open_rows(&envelope, &received, &rules, &limits, &budget);
                }
                let body = body::decode(encoding, raw, limits.max_event_size, "event", &budget)?;
                let body = body::legacy_store_body(body, limits.max_event_size, &budget)?;
                if body.iter().all(u8::is_ascii_whitespace) {
                    return Err(IngestError::BadRequest("empty request body".into()));
                }
                // One event, handled as an envelope with a single item.
                let envelope = Envelope {
                    headers: Default::default(),
                    items: vec![Item {
                        ty: ItemType::Event,
                        headers: Default::default(),
                        payload: &body,
                    }],
                };
                open_rows(&envelope, &received, &rules, &limits, &budget)
            })
            .await?
    };
    accept(state, rows, &received, &key).await
}
