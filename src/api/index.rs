//! The index of the API.
//!
//! ```text
//! GET /api/0/               {"version": "0", "auth": {"scopes": ["event:read", …]} | null, "user": null}
//! GET /api/0/openapi.json   the OpenAPI document (see super::openapi)
//! ```

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Answer;
use super::ApiState;
use super::access::authenticate;

pub async fn root(req: HttpRequest, state: web::Data<ApiState>) -> Answer {
    // Any valid token may see its own scopes.
    let auth = if req.headers().contains_key("authorization") {
        let token = authenticate(&req, &state).await?;
        json!({"scopes": token.scopes.split(' ').collect::<Vec<_>>()})
    } else {
        Value::Null
    };
    Ok(HttpResponse::Ok().json(json!({"version": "0", "auth": auth, "user": null})))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(super::openapi::document())
}
