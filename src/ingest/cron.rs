//! HTTP check-ins for shell scripts, as Relay's cron endpoint:
//!
//! ```text
//! GET|POST [/{prefix}]/api/{project_id}/cron/{monitor_slug}/{public_key}[/]?status=ok[&check_in_id=…&environment=…&duration=…]
//! GET|POST [/{prefix}]/api/{project_id}/cron/{monitor_slug}[/]   key by header, Basic auth or ?sentry_key=
//! POST with Content-Type application/json: the check-in object (may carry a monitor_config)
//! → 202, empty body, once the check-in is committed
//! ```
//!
//! The key is named exactly once (path, header or query). A check-in the key's rate limit
//! refuses is dropped with a 202 as by Relay ("never respond with a 429"): cron jobs do not
//! retry. Bad input is a 400 with the reason.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{IngestState, admit, auth, authorize, body, counted, outcomes, project_id, take_event};
use crate::crons::check_in::{CheckIn, Query};
use crate::ingest::error::IngestError;

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    counted(&state, &req, check_in(&req, payload, &state).await)
}

async fn check_in(
    req: &HttpRequest,
    payload: web::Payload,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let project_id = project_id(req)?;
    admit(state)?;
    let path_key = req.match_info().get("public_key").map(str::to_owned);
    let key = match (path_key, auth::request_key(req)?) {
        (Some(_), Some(_)) => return Err(IngestError::MultipleAuth),
        (Some(key), None) | (None, Some(key)) => key,
        (None, None) => return Err(IngestError::MissingAuth),
    };
    let key = authorize(req, state, &key, project_id).await?;
    let slug = req.match_info().get("monitor_slug").unwrap_or_default();
    let is_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    let check_in = if is_json {
        let raw = body::read(req, payload, &state.limits, "check_in", &state.budget).await?;
        let encoding = body::encoding(req)?;
        let body = body::decode(
            encoding,
            raw,
            state.limits.max_event_size,
            "check_in",
            &state.budget,
        )?;
        CheckIn::from_json(&body, Some(slug))
    } else {
        let query = web::Query::<Query>::from_query(req.query_string())
            .map_err(|e| IngestError::BadRequest(format!("bad query string: {e}")))?;
        CheckIn::from_query(slug, &query)
    }
    .map_err(|e| IngestError::BadRequest(e.to_string()))?;
    let now_ms = crate::store::now_ms();
    match take_event(state, &key, project_id, None, now_ms.div_euclid(1000)).await? {
        Ok(_) => {
            crate::crons::record::record(
                &state.store,
                &state.writer,
                &state.metrics,
                project_id,
                &check_in,
                now_ms,
            )
            .await?;
            state.outcomes.record(
                project_id,
                now_ms,
                outcomes::MONITOR,
                outcomes::ACCEPTED,
                "",
                1,
            );
            state.metrics.accepted("check_in", 1);
        }
        Err(limit) => {
            state.metrics.rate_limited(limit.reason, 1);
            let limited = outcomes::RATE_LIMITED;
            state.outcomes.record(
                project_id,
                now_ms,
                outcomes::MONITOR,
                limited,
                limit.reason,
                1,
            );
        }
    }
    Ok(HttpResponse::Accepted().finish())
}
