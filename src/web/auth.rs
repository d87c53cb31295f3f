//! Sign-in: the first admin's setup form, login and logout, the session and CSRF tokens, and
//! the account page where a password is changed.
//!
//! The cookie (`snag_session`: signed, encrypted, HttpOnly, SameSite=Lax, Secure behind https)
//! holds `sid`, a session token whose hash is a row of the `sessions` table, and `csrf`. The row
//! is what makes a session valid: signing out deletes it, a password change deletes all of the
//! user's, and it expires after `--session-lifetime` or `--session-idle-timeout`. Every form
//! posts `csrf`, compared with the session's in constant time. Failed sign-ins slow down the
//! client that makes them (see [`super::throttle`]).

use std::time::Instant;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::WebState;
use super::issues::Nav;
use super::throttle::client_address;
use super::{WebError, local_path, page, see_other};
use crate::store::StoreError;
use crate::store::sessions::SessionPolicy;
use crate::store::users::User;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(setup_form))
        .route("/setup", web::post().to(setup))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/settings/account", web::get().to(account))
        .route("/settings/account", web::post().to(change_password));
}

/// 429 with the wait in whole seconds, rounded up.
fn too_many_attempts(wait: std::time::Duration) -> WebError {
    WebError::TooManyAttempts {
        retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

fn policy(state: &WebState) -> SessionPolicy {
    SessionPolicy::of(&state.config.web)
}

/// The signed-in user of a request, with the session's CSRF token for the page's forms.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub csrf: String,
    /// What every page must say about the server (a short disk), shown as a banner.
    pub warning: Option<String>,
}

/// The session's user, or [`WebError::LoginRequired`] (back to this page after signing in).
pub async fn signed_in(
    req: &HttpRequest,
    session: &Session,
    state: &WebState,
) -> Result<SignedIn, WebError> {
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let Some(token) = session.get::<String>("sid")? else {
        return Err(WebError::LoginRequired { next });
    };
    let Some(user) = state.store.session_user(&token, policy(state)).await? else {
        session.purge();
        return Err(WebError::LoginRequired { next });
    };
    Ok(SignedIn {
        user,
        csrf: csrf_token(session)?,
        warning: state.disk.problem(),
    })
}

/// Changing projects, alerts, rules and tokens is for administrators.
pub fn require_admin(who: &SignedIn) -> Result<(), WebError> {
    if who.user.is_admin {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> Result<String, WebError> {
    if let Some(token) = session.get::<String>("csrf")? {
        return Ok(token);
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    session.insert("csrf", &token)?;
    Ok(token)
}

/// Rejects a form whose token is not the session's.
pub fn check_csrf(session: &Session, submitted: &str) -> Result<(), WebError> {
    let expected = session.get::<String>("csrf")?.ok_or(WebError::Csrf)?;
    if crate::secret::same_secret(submitted, &expected) {
        Ok(())
    } else {
        Err(WebError::Csrf)
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    warning: Option<String>,
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    warning: Option<String>,
    csrf: &'a str,
    email: &'a str,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
struct SetupForm {
    email: String,
    password: String,
    password_again: String,
    csrf: String,
}

async fn login_form(
    state: web::Data<WebState>,
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, WebError> {
    if state.store.count_users().await? == 0 {
        return Ok(see_other("/setup"));
    }
    let csrf = csrf_token(&session)?;
    page(&LoginPage {
        warning: state.disk.problem(),
        csrf: &csrf,
        next: local_path(query.next.as_deref().unwrap_or("/issues")),
        email: "",
        error: None,
    })
}

async fn login(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    check_csrf(&session, &form.csrf)?;
    let client = client_address(&req, &state.config.web.trusted_proxies);
    let attempt = state
        .login_limiter
        .attempt(client, &form.email, Instant::now())
        .map_err(too_many_attempts)?;
    let Some(user) = state
        .store
        .authenticate(&form.email, &form.password)
        .await?
    else {
        let csrf = csrf_token(&session)?;
        let mut response = page(&LoginPage {
            warning: state.disk.problem(),
            csrf: &csrf,
            next: local_path(&form.next),
            email: &form.email,
            error: Some("Wrong email or password."),
        })?;
        *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
        return Ok(response);
    };
    state.login_limiter.succeeded(attempt);
    start_session(&session, &state, &user).await?;
    Ok(see_other(local_path(&form.next)))
}

/// A fresh session (a new row, cookie and CSRF token) for `user`. (`purge` would drop the
/// cookie whatever is inserted after it; `renew` rotates it.)
async fn start_session(session: &Session, state: &WebState, user: &User) -> Result<(), WebError> {
    let token = state.store.create_session(user.id).await?;
    session.clear();
    session.renew();
    session.insert("sid", token)?;
    session.insert("csrf", uuid::Uuid::new_v4().simple().to_string())?;
    Ok(())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    state: web::Data<WebState>,
    session: Session,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    check_csrf(&session, &form.csrf)?;
    if let Some(token) = session.get::<String>("sid")? {
        state.store.end_session(&token).await?;
    }
    session.purge();
    Ok(see_other("/login"))
}

async fn setup_form(
    state: web::Data<WebState>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    if state.store.count_users().await? > 0 {
        return Ok(see_other("/login"));
    }
    let csrf = csrf_token(&session)?;
    page(&SetupPage {
        warning: state.disk.problem(),
        csrf: &csrf,
        email: "",
        error: None,
    })
}

async fn setup(
    state: web::Data<WebState>,
    session: Session,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, WebError> {
    check_csrf(&session, &form.csrf)?;
    // Only while nobody has an account: afterwards this form is gone.
    if state.store.count_users().await? > 0 {
        return Ok(see_other("/login"));
    }
    let error = if form.password != form.password_again {
        Some("The two passwords differ.".to_owned())
    } else {
        match state
            .store
            .create_user(&form.email, &form.password, true)
            .await
        {
            Ok(user) => {
                start_session(&session, &state, &user).await?;
                return Ok(see_other("/issues"));
            }
            Err(StoreError::Invalid(e) | StoreError::Conflict(e)) => Some(e),
            Err(e) => return Err(e.into()),
        }
    };
    let csrf = csrf_token(&session)?;
    let mut response = page(&SetupPage {
        warning: state.disk.problem(),
        csrf: &csrf,
        email: &form.email,
        error,
    })?;
    *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    Ok(response)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Option<Nav>,
    csrf: String,
    email: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// The account page; `csrf` is the session's (a new one after a password change).
fn account_page(
    who: &SignedIn,
    csrf: String,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let failed = error.is_some();
    let mut response = page(&AccountPage {
        email: who.user.email.clone(),
        nav: Some(Nav {
            csrf: csrf.clone(),
            ..Nav::new(who, "account")
        }),
        csrf,
        notice,
        error,
    })?;
    if failed {
        *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

async fn account(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    account_page(&who, who.csrf.clone(), None, None)
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current: String,
    password: String,
    password_again: String,
}

/// A new password ends every session of the user, this browser's too; this browser then gets
/// a fresh one.
async fn change_password(
    req: HttpRequest,
    state: web::Data<WebState>,
    session: Session,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, WebError> {
    let who = signed_in(&req, &session, &state).await?;
    check_csrf(&session, &form.csrf)?;
    // Guessing the current password here is throttled like signing in.
    let client = client_address(&req, &state.config.web.trusted_proxies);
    let attempt = state
        .login_limiter
        .attempt(client, &who.user.email, Instant::now())
        .map_err(too_many_attempts)?;
    let error = if form.password != form.password_again {
        Some("The two new passwords differ.".to_owned())
    } else if state
        .store
        .authenticate(&who.user.email, &form.current)
        .await?
        .is_none()
    {
        Some("The current password is wrong.".to_owned())
    } else {
        state.login_limiter.succeeded(attempt);
        match state.store.set_password(who.user.id, &form.password).await {
            Ok(_) => None,
            Err(StoreError::Invalid(e)) => Some(e),
            Err(e) => return Err(e.into()),
        }
    };
    if error.is_some() {
        return account_page(&who, who.csrf.clone(), None, error);
    }
    start_session(&session, &state, &who.user).await?;
    let notice = "Password changed. Every other session of yours was signed out.";
    account_page(&who, csrf_token(&session)?, Some(notice), None)
}
