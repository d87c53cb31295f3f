//! Sign-in: the first admin's setup form, login and logout, the session and CSRF tokens.
//!
//! The session is a signed, encrypted cookie (`snag_session`: HttpOnly, SameSite=Lax, Secure
//! behind https) holding `user_id` and `csrf`. Every form posts `csrf`, compared with the
//! session's in constant time. Failed logins are counted per client address and per email:
//! [`MAX_FAILURES`] within [`FAILURE_WINDOW`] and the next attempts get 429 until it passes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{WebError, page, see_other};
use crate::app::AppState;
use crate::store::users::User;

pub const MAX_FAILURES: u32 = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(setup_form))
        .route("/setup", web::post().to(setup))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout));
}

/// The signed-in user of a request, with the session's CSRF token for the page's forms.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub csrf: String,
}

/// The session's user, or [`WebError::LoginRequired`] (back to this page after signing in).
pub async fn signed_in(
    req: &HttpRequest,
    session: &Session,
    state: &AppState,
) -> Result<SignedIn, WebError> {
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let Some(id) = session.get::<i64>("user_id")? else {
        return Err(WebError::LoginRequired { next });
    };
    let Some(user) = state.store.get_user(id).await? else {
        session.purge();
        return Err(WebError::LoginRequired { next });
    };
    Ok(SignedIn {
        user,
        csrf: csrf_token(session)?,
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

/// A field of a form read as pairs (forms with repeated fields: `ids`, `scope`).
pub fn field<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
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

/// Failed sign-ins per client address and per email.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    fn blocked(&self, keys: &[String]) -> bool {
        let failures = self.failures.lock().expect("limiter lock");
        keys.iter().any(|k| {
            failures
                .get(k)
                .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW)
        })
    }

    /// Counts an attempt before the password is checked (so that parallel attempts cannot all
    /// pass the check first); false when the keys are blocked. A success clears the count.
    fn attempt(&self, keys: &[String]) -> bool {
        if self.blocked(keys) {
            return false;
        }
        self.failed(keys);
        true
    }

    fn failed(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("limiter lock");
        // Forget expired entries now and then, so that the map stays small.
        if failures.len() > 10_000 {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        for k in keys {
            let entry = failures.entry(k.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= FAILURE_WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    fn succeeded(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("limiter lock");
        for k in keys {
            failures.remove(k);
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
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

/// Only paths of this site: never `//host` or a scheme.
fn local_path(next: &str) -> &str {
    // Browsers drop tabs and newlines from URLs and read `\` as `/`: `/\t/evil.com` would be
    // `//evil.com`, another site.
    let clean = !next.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\');
    if clean && next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/issues"
    }
}

async fn login_form(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, WebError> {
    if state.store.count_users().await? == 0 {
        return Ok(see_other("/setup"));
    }
    let csrf = csrf_token(&session)?;
    page(&LoginPage {
        csrf: &csrf,
        next: local_path(query.next.as_deref().unwrap_or("/issues")),
        email: "",
        error: None,
    })
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    check_csrf(&session, &form.csrf)?;
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let keys = [
        format!("ip:{client}"),
        format!("email:{}", form.email.trim().to_lowercase()),
    ];
    if !state.login_limiter.attempt(&keys) {
        return Err(WebError::TooManyAttempts);
    }
    let Some(user) = state
        .store
        .authenticate(&form.email, &form.password)
        .await?
    else {
        let csrf = csrf_token(&session)?;
        let mut response = page(&LoginPage {
            csrf: &csrf,
            next: local_path(&form.next),
            email: &form.email,
            error: Some("Wrong email or password."),
        })?;
        *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
        return Ok(response);
    };
    state.login_limiter.succeeded(&keys);
    start_session(&session, &user)?;
    Ok(see_other(local_path(&form.next)))
}

/// A fresh session (a new cookie and CSRF token) for `user`. (`purge` would drop the cookie
/// whatever is inserted after it; `renew` rotates it.)
fn start_session(session: &Session, user: &User) -> Result<(), WebError> {
    session.clear();
    session.renew();
    session.insert("user_id", user.id)?;
    session.insert("csrf", uuid::Uuid::new_v4().simple().to_string())?;
    Ok(())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(session: Session, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    check_csrf(&session, &form.csrf)?;
    session.purge();
    Ok(see_other("/login"))
}

async fn setup_form(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    if state.store.count_users().await? > 0 {
        return Ok(see_other("/login"));
    }
    let csrf = csrf_token(&session)?;
    page(&SetupPage {
        csrf: &csrf,
        email: "",
        error: None,
    })
}

async fn setup(
    state: web::Data<AppState>,
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
                start_session(&session, &user)?;
                return Ok(see_other("/issues"));
            }
            Err(crate::store::StoreError::Invalid(e) | crate::store::StoreError::Conflict(e)) => {
                Some(e)
            }
            Err(e) => return Err(e.into()),
        }
    };
    let csrf = csrf_token(&session)?;
    let mut response = page(&SetupPage {
        csrf: &csrf,
        email: &form.email,
        error,
    })?;
    *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local_path("/issues/3?event=x"), "/issues/3?event=x");
        for outside in [
            "//evil.com",
            "https://evil.com",
            "/\\evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "javascript:x",
            "",
        ] {
            assert_eq!(local_path(outside), "/issues", "{outside}");
        }
    }

    #[test]
    fn failures_block_after_the_limit() {
        let limiter = LoginLimiter::default();
        let keys = ["ip:1".to_owned()];
        for _ in 0..MAX_FAILURES {
            assert!(limiter.attempt(&keys));
        }
        assert!(!limiter.attempt(&keys));
        assert!(limiter.blocked(&keys));
        assert!(!limiter.blocked(&["ip:2".to_owned()]));
        limiter.succeeded(&keys);
        assert!(!limiter.blocked(&keys));
    }
}
