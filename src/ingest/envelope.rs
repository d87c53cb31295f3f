//! `POST /api/{project_id}/envelope/`: every modern SDK sends everything here.

use actix_web::{HttpRequest, HttpResponse, web};

use super::IngestState;
use super::{
    Opened, accept, admit, auth, authorize, body, counted, open_rows, project_id, project_setup,
    read_body, received,
};
use crate::ingest::error::IngestError;
use crate::protocol::envelope;

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    counted(&state, &req, handle_envelope(&req, payload, &state).await)
}

async fn handle_envelope(
    req: &HttpRequest,
    payload: web::Payload,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let project_id = project_id(req)?;
    admit(state)?;
    // Check a key given outside the body before reading the body.
    let request_key = auth::request_key(req)?;
    let (authorized, rules) = match &request_key {
        Some(key) => (
            Some(authorize(req, state, key, project_id).await?),
            Some(project_setup(state, project_id).await?),
        ),
        None => (None, None),
    };
    let limits = state.limits.clone();
    let (encoding, raw) = read_body(req, payload, state, "envelope").await?;
    let received = received(req, project_id);
    let budget = state.budget.clone();
    let opened = {
        let received = received.clone();
        state
            .cpu
            .run(move || {
                let body =
                    body::decode(encoding, raw, limits.max_envelope_size, "envelope", &budget)?;
                let envelope = envelope::parse(&body, limits.max_envelope_items)?;
                let dsn = envelope.header_str("dsn");
                match (request_key, rules) {
                    (Some(key), Some(rules)) => {
                        if let Some(Ok(dsn)) = dsn.map(auth::parse_dsn)
                            && (dsn.public_key != key || dsn.project_id != project_id)
                        {
                            return Err(IngestError::BadRequest(
                                "the envelope's dsn does not match the request's key".into(),
                            ));
                        }
                        open_rows(&envelope, &received, &rules, &limits, &budget)
                            .map(|rows| Opened::Rows(Box::new(rows)))
                    }
                    // The browser tunnel: the only credentials are in the envelope header.
                    _ => {
                        let dsn = auth::parse_dsn(dsn.ok_or(IngestError::MissingAuth)?)?;
                        if dsn.project_id != project_id {
                            return Err(IngestError::WrongProject);
                        }
                        drop(envelope);
                        Ok(Opened::Tunnel {
                            key: dsn.public_key,
                            body,
                        })
                    }
                }
            })
            .await?
    };
    let (rows, key) = match (opened, authorized) {
        (Opened::Rows(rows), Some(key)) => (*rows, key),
        (Opened::Rows(_), None) => {
            return Err(IngestError::broken("rows without a key"));
        }
        (Opened::Tunnel { key, body }, _) => {
            let key = authorize(req, state, &key, project_id).await?;
            let rules = project_setup(state, project_id).await?;
            let limits = state.limits.clone();
            let budget = state.budget.clone();
            let received = received.clone();
            let rows = state
                .cpu
                .run(move || {
                    let envelope = envelope::parse(&body, limits.max_envelope_items)?;
                    open_rows(&envelope, &received, &rules, &limits, &budget)
                })
                .await?;
            (rows, key)
        }
    };
    accept(state, rows, &received, &key).await
}
