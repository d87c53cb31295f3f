//! The index of the API.
//!
//! ```text
//! GET /api/0/               {"version": "0", "auth": {"scopes": ["event:read", …]} | null, "user": user | null}
//! GET /api/0/auth/          the user the token acts for: {"id", "email", "name", "username", …}
//! GET /api/0/openapi.json   the OpenAPI document (see super::openapi)
//! ```

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::access::{authenticate, authorize, token_user};
use super::{Answer, ApiError, ApiState, shapes};
use crate::store::tokens::Scope;

pub async fn root(req: HttpRequest, state: web::Data<ApiState>) -> Answer {
    // Any valid token may see its own scopes.
    let (auth, user) = if req.headers().contains_key("authorization") {
        let token = authenticate(&req, &state).await?;
        let user = token_user(&state, &token).await?;
        (
            json!({"scopes": token.scopes.split(' ').collect::<Vec<_>>()}),
            user.as_ref().map_or(Value::Null, shapes::account),
        )
    } else {
        (Value::Null, Value::Null)
    };
    Ok(HttpResponse::Ok().json(json!({"version": "0", "auth": auth, "user": user})))
}

/// `GET /api/0/auth/`: who the token acts for (Sentry's `whoami`).
pub async fn auth(req: HttpRequest, state: web::Data<ApiState>) -> Answer {
    let token = authorize(&req, &state, Scope::OrgRead).await?;
    match token_user(&state, &token).await? {
        Some(user) => Ok(HttpResponse::Ok().json(shapes::account(&user))),
        None => Err(ApiError::BadRequest(
            "this token acts for no user: make one on the Tokens page, or with snag token create --user EMAIL".into(),
        )),
    }
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(super::openapi::document())
}
