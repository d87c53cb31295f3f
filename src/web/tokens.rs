//! API tokens for people: create one (shown once) and revoke.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::WebState;
use super::auth::{check_csrf, require_admin, signed_in};
use super::format;
use super::issues::Nav;
use super::{WebError, page, see_other};
use crate::format::field;
use crate::store::StoreError;
use crate::store::tokens::SCOPES;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/tokens", web::get().to(tokens))
        .route("/settings/tokens", web::post().to(create))
        .route("/settings/tokens/{id}/revoke", web::post().to(revoke));
}

struct TokenRow {
    id: i64,
    name: String,
    scopes: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Option<Nav>,
    csrf: String,
    tokens: Vec<TokenRow>,
    scopes: &'static [&'static str],
    /// A token just created: shown this once.
    created: Option<String>,
    error: Option<String>,
}

async fn render(
    req: &HttpRequest,
    state: &WebState,
    session: &Session,
    created: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(req, session, state).await?;
    let now = crate::store::now_ms();
    let tokens = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            created: format::ago(t.created_at, now),
            last_used: t
                .last_used
                .map(|at| format::ago(at, now))
                .unwrap_or_else(|| "never".into()),
        })
        .collect();
    let failed = error.is_some();
    let mut response = page(&TokensPage {
        nav: Some(Nav::new(&who, "tokens")),
        csrf: who.csrf,
        tokens,
        scopes: &SCOPES,
        created,
        error,
    })?;
    if failed {
        *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

async fn tokens(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    render(&req, &state, &session, None, None).await
}

/// `name`, `csrf` and one `scope` per checked box.
async fn create(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    require_admin(&who)?;
    let field = |name: &str| field(&form, name);
    check_csrf(&session, field("csrf").unwrap_or(""))?;
    let scopes: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    if scopes.is_empty() {
        let error = Some("choose at least one scope".to_owned());
        return render(&req, &state, &session, None, error).await;
    }
    match state
        .store
        .create_token(field("name").unwrap_or(""), &scopes, Some(who.user.id))
        .await
    {
        Ok((token, _)) => render(&req, &state, &session, Some(token), None).await,
        Err(StoreError::Invalid(e)) => render(&req, &state, &session, None, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn revoke(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    path: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    require_admin(&signed_in(&req, &session, &state).await?)?;
    check_csrf(&session, &form.csrf)?;
    if !state.store.revoke_token(path.into_inner()).await? {
        return Err(WebError::NotFound);
    }
    Ok(see_other("/settings/tokens"))
}
