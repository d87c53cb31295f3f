//! `POST /api/{project_id}/envelope/`: every modern SDK sends everything here.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{accept, auth, body, counted, project_id, received};
use crate::app::AppState;
use crate::error::IngestError;
use crate::protocol::envelope;

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, IngestError> {
    counted(&state, &req, handle_envelope(&req, payload, &state).await)
}

async fn handle_envelope(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<HttpResponse, IngestError> {
    let project_id = project_id(req)?;
    // Check a key given outside the body before reading the body.
    let request_key = auth::request_key(req)?;
    if let Some(key) = &request_key {
        state.keys.authorize(key, project_id).await?;
    }
    let limit = state.config.limits.max_envelope_size;
    let raw = body::read(payload, limit, "envelope").await?;
    let body = body::decode(req, raw, limit, "envelope")?;
    let envelope = envelope::parse(&body)?;
    let dsn = envelope.header_str("dsn").map(auth::parse_dsn);
    match (&request_key, dsn) {
        (Some(key), Some(Ok(dsn))) if dsn.public_key != *key || dsn.project_id != project_id => {
            return Err(IngestError::BadRequest(
                "the envelope's dsn does not match the request's key".into(),
            ));
        }
        (Some(_), _) => {}
        // The browser tunnel: the only credentials are in the envelope header.
        (None, Some(dsn)) => {
            let dsn = dsn?;
            if dsn.project_id != project_id {
                return Err(IngestError::WrongProject);
            }
            state.keys.authorize(&dsn.public_key, project_id).await?;
        }
        (None, None) => return Err(IngestError::MissingAuth),
    }
    accept(state, &envelope, &received(req, project_id)).await
}
