//! The web UI through real HTTP: sign-in, sessions and CSRF, the issue list (search, sort,
//! pagination, bulk status), the issue page, and hostile event data rendered inert.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use snag::store::ProjectId;

use crate::helpers::{TestApp, event_envelope, post_envelope, spawn_app, spawn_app_with};

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A browser: a cookie jar, redirects not followed (their targets are checked).
pub(crate) struct Browser {
    client: reqwest::Client,
    base: String,
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Browser {
        Browser::with_headers(app, reqwest::header::HeaderMap::new())
    }

    /// A browser whose requests reach Snag through a reverse proxy naming `client`.
    fn behind_proxy(app: &TestApp, client: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", client.parse().unwrap());
        Browser::with_headers(app, headers)
    }

    /// A browser of the server on `port` (a `snag serve` process).
    pub(crate) fn at_port(port: u16) -> Browser {
        Browser::with_port(port, reqwest::header::HeaderMap::new())
    }

    /// Sends the next requests to the server on `port`, cookies and all (as a load balancer
    /// may).
    pub(crate) fn move_to(&mut self, port: u16) {
        self.base = format!("http://127.0.0.1:{port}");
    }

    fn with_headers(app: &TestApp, headers: reqwest::header::HeaderMap) -> Browser {
        Browser::with_port(app.port, headers)
    }

    fn with_port(port: u16, headers: reqwest::header::HeaderMap) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .default_headers(headers)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The page at `path`.
    pub(crate) async fn html(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// The CSRF token of the form on `path`.
    async fn csrf(&self, path: &str) -> String {
        csrf_of(&self.html(path).await)
    }

    /// The id of the first issue the list at `path` shows.
    async fn first_issue(&self, path: &str) -> String {
        let html = self.html(path).await;
        let at = html.find("href=\"/issues/").expect("an issue link") + "href=\"/issues/".len();
        html[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    }

    /// Posts the login form.
    async fn login(&self, email: &str, password: &str, csrf: &str) -> reqwest::Response {
        let form = [
            ("email", email),
            ("password", password),
            ("csrf", csrf),
            ("next", "/issues"),
        ];
        self.post("/login", &form).await
    }

    /// Posts the first-admin form.
    async fn setup(&self, password_again: &str, csrf: &str) -> reqwest::Response {
        let form = [
            ("email", "first@example.com"),
            ("password", PASSWORD),
            ("password_again", password_again),
            ("csrf", csrf),
        ];
        self.post("/setup", &form).await
    }

    pub(crate) async fn sign_in(&self, email: &str) {
        self.sign_in_with(email, PASSWORD).await;
    }

    pub(crate) async fn sign_in_with(&self, email: &str, password: &str) {
        let csrf = self.csrf("/login").await;
        let r = self.login(email, password, &csrf).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign in as {email}");
    }
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// How many issues the list says match ("1–25 of 31", or "No issues").
fn matching(html: &str) -> usize {
    let Some(at) = html.find("</span>").and(html.find("–")) else {
        return 0;
    };
    let rest = &html[at..];
    let of = rest.find(" of ").expect("a count") + 4;
    rest[of..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

fn location(r: &reqwest::Response) -> &str {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A running Snag with an admin account and a project `web` (id 5, key `webkey`).
async fn app_with_admin() -> TestApp {
    let app = spawn_app().await;
    app.store
        .create_user("admin@example.com", PASSWORD, true)
        .await
        .unwrap();
    app.project("web", ProjectId(5), "webkey").await;
    app
}

async fn send(app: &TestApp, event: Value) {
    let r = post_envelope(app, 5, "webkey", &event_envelope(&event)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

fn error_event(ty: &str, value: &str, function: &str, extra: Value) -> Value {
    let mut event = json!({
        "event_id": uuid::Uuid::new_v4().simple().to_string(),
        "platform": "python",
        "level": "error",
        "exception": {"values": [{"type": ty, "value": value, "stacktrace": {"frames": [
            {"module": "shop.views", "filename": "shop/views.py", "function": function, "lineno": 12, "in_app": true,
             "context_line": "    total = compute(order)", "pre_context": ["def handle(order):"], "post_context": ["    return total"],
             "vars": {"order": "<Order 7>"}}
        ]}}]}
    });
    if let (Some(e), Some(x)) = (event.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            e.insert(k.clone(), v.clone());
        }
    }
    event
}

#[tokio::test]
async fn pages_require_a_session_and_the_first_visit_sets_up_an_admin() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    for path in ["/issues", "/issues/1", "/projects", "/"] {
        let r = browser.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(
            location(&r) == "/issues" || location(&r).starts_with("/login?next="),
            "{path} → {}",
            location(&r)
        );
    }
    // No user yet: the login page sends to the one-time setup.
    let r = browser.get("/login").await;
    assert_eq!(location(&r), "/setup");
    let csrf = browser.csrf("/setup").await;
    let r = browser.setup("different!", &csrf).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("differ"));
    let r = browser.setup(PASSWORD, "forged").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = browser.setup(PASSWORD, &csrf).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/issues");
    // Signed in by the setup; the setup form is gone for good.
    let r = browser.get("/issues").await;
    assert_eq!(r.status(), StatusCode::OK);
    let headers = r.headers().clone();
    let csp = headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let html = r.text().await.unwrap();
    assert!(html.contains("first@example.com"));
    assert_eq!(location(&browser.get("/setup").await), "/login");
    assert!(
        cookie
            .iter()
            .all(|c| !c.contains("snag_session") || c.contains("HttpOnly"))
    );
    // Logout needs the token, then the session is gone.
    let r = browser.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = browser.post("/logout", &[("csrf", &csrf_of(&html))]).await;
    assert_eq!(location(&r), "/login");
    assert_eq!(browser.get("/issues").await.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_slow_down_the_guesser_and_nobody_else() {
    // Behind a reverse proxy on loopback, as most installs are.
    let app = spawn_app_with(|c| c.web.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    app.store
        .create_user("admin@example.com", PASSWORD, true)
        .await
        .unwrap();
    let guesser = Browser::behind_proxy(&app, "203.0.113.9");
    let csrf = guesser.csrf("/login").await;
    for _ in 0..3 {
        let r = guesser
            .login("admin@example.com", "wrong password", &csrf)
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.text().await.unwrap().contains("Wrong email or password"));
    }
    // The guesser waits a second now, even with the right password…
    let r = guesser.login("admin@example.com", PASSWORD, &csrf).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "1");
    // …while the account's owner, elsewhere, signs in at once.
    let owner = Browser::behind_proxy(&app, "198.51.100.4");
    owner.sign_in("admin@example.com").await;
    // After the wait one more guess, then two seconds.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = guesser
        .login("admin@example.com", "wrong password", &csrf)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = guesser.login("admin@example.com", PASSWORD, &csrf).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "2");
    // A forwarded address from a peer that is not a trusted proxy is not believed.
    let app2 = app_with_admin().await;
    let spoofing = Browser::behind_proxy(&app2, "192.0.2.77");
    let csrf = spoofing.csrf("/login").await;
    for _ in 0..3 {
        spoofing.login("admin@example.com", "wrong", &csrf).await;
    }
    let other = Browser::behind_proxy(&app2, "192.0.2.78");
    let csrf = other.csrf("/login").await;
    let r = other.login("admin@example.com", PASSWORD, &csrf).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "both are 127.0.0.1"
    );
    // Without the form's token nothing is even checked.
    let r = Browser::new(&app)
        .login("admin@example.com", PASSWORD, "x")
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
    app2.stop().await;
}

/// The session cookie a response set.
fn session_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("snag_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

#[tokio::test]
async fn a_signed_out_cookie_no_longer_works() {
    let app = app_with_admin().await;
    let browser = Browser::new(&app);
    let csrf = browser.csrf("/login").await;
    let r = browser.login("admin@example.com", PASSWORD, &csrf).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    let csrf = browser.csrf("/projects").await;
    let r = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The old cookie, replayed by someone who kept it, is refused for an admin action.
    let replay = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let r = replay
        .post(format!("http://127.0.0.1:{}/projects", app.port))
        .header("cookie", &cookie)
        .form(&[("name", "stolen"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login"), "{}", location(&r));
    let projects = app.store.list_projects().await.unwrap();
    assert!(projects.iter().all(|(p, _)| p.name != "stolen"));
    app.stop().await;
}

#[tokio::test]
async fn a_new_password_signs_out_every_other_session() {
    let app = app_with_admin().await;
    let laptop = Browser::new(&app);
    laptop.sign_in("admin@example.com").await;
    let phone = Browser::new(&app);
    phone.sign_in("admin@example.com").await;
    let csrf = laptop.csrf("/settings/account").await;
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let csrf = csrf.clone();
        let laptop = &laptop;
        async move {
            laptop
                .post(
                    "/settings/account",
                    &[
                        ("csrf", csrf.as_str()),
                        ("current", current),
                        ("password", new),
                        ("password_again", again),
                    ],
                )
                .await
        }
    };
    let r = change("not it", "a new secret phrase", "a new secret phrase").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("current password is wrong")
    );
    let r = change(PASSWORD, "a new secret phrase", "another phrase").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = change(PASSWORD, "short", "short").await;
    assert!(r.text().await.unwrap().contains("at least 8 characters"));
    let r = change(PASSWORD, "a new secret phrase", "a new secret phrase").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Password changed"));
    // The phone is signed out; the laptop goes on with a fresh session.
    let r = phone.get("/issues").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login"));
    assert_eq!(laptop.get("/issues").await.status(), StatusCode::OK);
    // The new password signs in; the old does not.
    let again = Browser::new(&app);
    let csrf = again.csrf("/login").await;
    let r = again.login("admin@example.com", PASSWORD, &csrf).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = again
        .login("admin@example.com", "a new secret phrase", &csrf)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_after_their_lifetime_and_when_idle() {
    let app = spawn_app_with(|c| {
        c.web.session_lifetime = std::time::Duration::from_secs(3);
        c.web.session_idle_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    app.store
        .create_user("admin@example.com", PASSWORD, true)
        .await
        .unwrap();
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    assert_eq!(browser.get("/issues").await.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let r = browser.get("/issues").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "idle for over a second");
    // Busy, but past the lifetime.
    let app = {
        app.stop().await;
        let app = spawn_app_with(|c| {
            c.web.session_lifetime = std::time::Duration::from_secs(2);
        })
        .await;
        app.store
            .create_user("admin@example.com", PASSWORD, true)
            .await
            .unwrap();
        app
    };
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    for _ in 0..4 {
        assert_eq!(browser.get("/issues").await.status(), StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(browser.get("/issues").await.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn issue_list_searches_sorts_pages_and_changes_status() {
    let app = app_with_admin().await;
    // 30 issues: distinct functions; one seen three times by a user in production.
    for i in 0..30 {
        send(
            &app,
            error_event(
                "ValueError",
                &format!("bad value {i}"),
                &format!("step_{i}"),
                json!({"environment": "staging"}),
            ),
        )
        .await;
    }
    for _ in 0..3 {
        send(&app, error_event("TimeoutError", "db timed out", "query", json!({"environment": "production", "release": "shop@2.4", "user": {"id": "42"}, "level": "warning"}))).await;
    }
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;

    let page = |query: &str, sort: &str, page: u32| {
        let query = query
            .replace(' ', "+")
            .replace(':', "%3A")
            .replace('@', "%40")
            .replace('"', "%22");
        format!("/issues?project=5&query={query}&sort={sort}&page={page}")
    };
    let html = browser.html(&page("is:unresolved", "last_seen", 1)).await;
    assert!(html.contains("1–25 of 31"), "first page");
    assert_eq!(html.matches("name=\"ids\"").count(), 25);
    assert!(html.contains("<svg class=\"spark\""));
    let html = browser.html(&page("is:unresolved", "last_seen", 2)).await;
    assert!(html.contains("26–31 of 31"));
    assert_eq!(html.matches("name=\"ids\"").count(), 6);

    // Sorted by events, the issue seen three times comes first.
    let html = browser.html(&page("", "events", 1)).await;
    let first = html.find("TimeoutError").unwrap();
    assert!(html.find("ValueError").unwrap() > first);

    for (query, expected) in [
        ("environment:production", 1),
        ("release:shop@2.4", 1),
        ("has:user", 1),
        ("level:warning", 1),
        ("level:error", 30),
        ("timed out", 1),
        ("bad value 7", 3), // every word: 7, 17, 27
        ("\"bad value 7\"", 1),
        ("nothing matches this", 0),
    ] {
        let html = browser.html(&page(query, "last_seen", 1)).await;
        assert_eq!(matching(&html), expected, "{query}");
    }

    // Resolve two issues in bulk: they leave the default list and show under is:resolved.
    let html = browser.html(&page("bad value 1", "last_seen", 1)).await;
    let ids: Vec<String> = html
        .match_indices("name=\"ids\" value=\"")
        .map(|(at, m)| html[at + m.len()..].split('"').next().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 2, "bad value 1, 10..19 match");
    let csrf = csrf_of(&html);
    let r = browser
        .post(
            "/issues/bulk",
            &[
                ("ids", &ids[0]),
                ("ids", &ids[1]),
                ("action", "resolve"),
                ("csrf", &csrf),
                ("back", "/issues?project=5"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/issues?project=5");
    let html = browser.html(&page("is:resolved", "last_seen", 1)).await;
    assert_eq!(html.matches("name=\"ids\"").count(), 2);
    // A way back that could not be a header goes to the list, after the change was made.
    let r = browser
        .post(
            "/issues/bulk",
            &[
                ("ids", &ids[1]),
                ("action", "resolve"),
                ("csrf", &csrf),
                ("back", "/issues?a\r\nSet-Cookie: x=1"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/issues");
    // Searches too large to run say why.
    let r = browser
        .get(&format!("/issues?query={}", "a+".repeat(50)))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("at most 20 terms"));
    let r = browser
        .post(
            "/issues/bulk",
            &[("ids", &ids[0]), ("action", "ignore"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // One issue: ignore it from its page, then unresolve it.
    let id = &ids[0];
    let html = browser.html(&format!("/issues/{id}")).await;
    assert!(html.contains("status-resolved"));
    let csrf = csrf_of(&html);
    let r = browser
        .post(
            &format!("/issues/{id}/status"),
            &[("status", "ignored"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&r), format!("/issues/{id}"));
    let html = browser.html(&page("is:ignored", "last_seen", 1)).await;
    assert_eq!(html.matches("name=\"ids\"").count(), 1);
    browser
        .post(
            &format!("/issues/{id}/status"),
            &[("status", "unresolved"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        app.store
            .get_issue(id.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "unresolved"
    );
    // Assigned from its page, then found by `assigned:me`; ignored for an hour.
    let admin = app
        .store
        .find_user("admin@example.com")
        .await
        .unwrap()
        .unwrap();
    let r = browser
        .post(
            &format!("/issues/{id}/assign"),
            &[("assignee", &admin.id.to_string()), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&r), format!("/issues/{id}"));
    let html = browser.html(&format!("/issues/{id}")).await;
    assert!(html.contains(&format!(
        "<option value=\"{}\" selected>admin@example.com",
        admin.id
    )));
    let html = browser
        .html(&page("is:all assigned:me", "last_seen", 1))
        .await;
    assert_eq!(html.matches("name=\"ids\"").count(), 1);
    let html = browser
        .html(&page("is:all is:unassigned", "last_seen", 1))
        .await;
    assert!(
        !html.contains(&format!("value=\"{id}\"")),
        "the assigned issue is left out"
    );
    assert!(html.contains("name=\"ids\""));
    let r = browser
        .post(
            &format!("/issues/{id}/assign"),
            &[("assignee", "424242"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    browser
        .post(
            &format!("/issues/{id}/status"),
            &[("status", "ignored_for_60"), ("csrf", &csrf)],
        )
        .await;
    let issue = app
        .store
        .get_issue(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(issue.substatus.as_str(), "archived_until_condition_met");
    // A note, then the activity on the page: who did what.
    let r = browser
        .post(
            &format!("/issues/{id}/notes"),
            &[("text", "<b>looked</b> at it"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&r), format!("/issues/{id}#activity"));
    let html = browser.html(&format!("/issues/{id}")).await;
    assert!(
        html.contains("&#60;b&#62;looked&#60;/b&#62; at it") && !html.contains("<b>looked"),
        "notes are escaped"
    );
    assert!(html.contains("Assigned to admin@example.com"));
    assert!(html.contains("First seen"));
    let r = browser
        .post(
            &format!("/issues/{id}/notes"),
            &[("text", " "), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        issue
            .ignored_until
            .is_some_and(|t| t > snag::store::now_ms() + 59 * 60_000)
    );
    assert_eq!(
        browser.get("/issues/999999").await.status(),
        StatusCode::NOT_FOUND
    );
    // Undecodable input: the error page, not a bare text answer.
    for r in [
        browser.get("/issues?page=banana").await,
        browser.post("/login", &[("email", "x")]).await,
        browser.get("/issues/not-a-number").await,
    ] {
        let status = r.status();
        let html = r.text().await.unwrap();
        assert!(status.is_client_error(), "{status}");
        assert!(html.contains("<html"), "an HTML error page: {html}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_issue_page_shows_counts_tags_and_events_in_order() {
    let app = app_with_admin().await;
    for release in ["shop@1.0", "shop@1.1", "shop@1.1"] {
        send(
            &app,
            error_event(
                "KeyError",
                "'sku'",
                "lookup",
                json!({"release": release, "environment": "production"}),
            ),
        )
        .await;
    }
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let id = browser.first_issue("/issues?project=5").await;
    let html = browser.html(&format!("/issues/{id}")).await;
    assert!(
        html.contains("KeyError: &#39;sku&#39;") || html.contains("KeyError: &#x27;sku&#x27;"),
        "title"
    );
    assert!(html.contains("shop.views in lookup"), "culprit");
    assert!(html.contains("Last 24 hours") && html.contains("Last 14 days"));
    // Release shop@1.1 is two of three events.
    assert!(html.contains("shop@1.1") && html.contains("67%"));
    // The latest event, with a link to the older one and none to a newer one.
    assert!(html.contains("← Older") && !html.contains("Newer →"));
    let at = html.find("?event=").unwrap() + "?event=".len();
    let older: String = html[at..].chars().take(32).collect();
    let html = browser.html(&format!("/issues/{id}?event={older}")).await;
    assert!(html.contains("Newer →"));
    assert!(html.contains("total = compute(order)"), "context line");
    let r = browser
        .get(&format!(
            "/issues/{id}?event=ffffffffffffffffffffffffffffffff"
        ))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn hostile_event_data_is_never_rendered_live() {
    let app = app_with_admin().await;
    let payloads = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><svg onload=alert(1)>",
    ];
    let event = error_event(
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><svg onload=alert(1)>",
        json!({
            "tags": {"<script>alert(1)</script>": "<img src=x onerror=alert(1)>"},
            "user": {"email": "\"><svg onload=alert(1)>", "username": "<script>alert(1)</script>"},
            "breadcrumbs": [{"message": "<img src=x onerror=alert(1)>", "category": "<script>alert(1)</script>"}],
            "request": {"url": "javascript:alert(1)", "method": "GET",
                        "headers": {"X-Evil": "<script>alert(1)</script>"}},
            "culprit": "<img src=x onerror=alert(1)>",
            "release": "<script>alert(1)</script>",
        }),
    );
    send(&app, event).await;
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let list = browser.html("/issues?project=5").await;
    let id = browser.first_issue("/issues?project=5").await;
    let page = browser.html(&format!("/issues/{id}")).await;
    for html in [&list, &page] {
        for payload in payloads {
            assert!(!html.contains(payload), "{payload} rendered live");
        }
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("onerror=alert(1)>"));
        assert!(!html.to_lowercase().contains("href=\"javascript:"));
    }
    // Shown as text (askama writes `<` as `&#60;`).
    let text = page.replace("&#60;", "&lt;").replace("&#62;", "&gt;");
    assert!(
        text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the payloads are shown as text: {page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn projects_show_their_dsn_and_take_new_projects_and_rules() {
    let app = app_with_admin().await;
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let html = browser.html("/projects").await;
    let dsn = format!("http://webkey@127.0.0.1:{}/5", app.port);
    assert!(html.contains(&dsn), "the DSN of project web");
    assert!(html.contains("sentry_sdk.init(dsn="));
    let csrf = csrf_of(&html);

    let r = browser
        .post("/projects", &[("name", "Not A Slug!"), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = browser
        .post("/projects", &[("name", "checkout"), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let listed = app.store.list_projects().await.unwrap();
    let (checkout, keys) = listed.iter().find(|(p, _)| p.name == "checkout").unwrap();
    assert!(location(&r).ends_with(&format!("#project-{}", checkout.id)));
    assert!(
        browser
            .html("/projects")
            .await
            .contains(&keys[0].public_key)
    );
    let r = browser
        .post("/projects", &[("name", "checkout"), ("csrf", "forged")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Rules: a broken rule is refused with its reason, a good one is stored.
    let rules = |stacktrace: &'static str, csrf: &str| {
        let csrf = csrf.to_owned();
        let browser = &browser;
        async move {
            let form = [
                ("stacktrace_rules", stacktrace),
                (
                    "fingerprint_rules",
                    "error.type:DatabaseError -> database-error",
                ),
                ("csrf", csrf.as_str()),
            ];
            browser.post("/projects/5/rules", &form).await
        }
    };
    let r = rules("stack.function:runApp +nonsense", &csrf).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("stack-trace rules"));
    let r = rules("stack.function:runApp -app -group", &csrf).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let rules = app.store.grouping_rules(ProjectId(5)).await.unwrap();
    assert_eq!(rules.stacktrace, "stack.function:runApp -app -group");
    assert_eq!(
        rules.fingerprints,
        "error.type:DatabaseError -> database-error"
    );
    assert_eq!(
        browser
            .post(
                "/projects/404/rules",
                &[
                    ("stacktrace_rules", ""),
                    ("fingerprint_rules", ""),
                    ("csrf", &csrf)
                ]
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Quotas: a key's rate limit and the project's caps, set and shown; bad ones refused.
    let quotas = |count: &'static str, cap: &'static str| {
        let csrf = csrf.clone();
        let browser = &browser;
        async move {
            let form = [
                ("rate_count_webkey", count),
                ("rate_window_webkey", "300"),
                ("daily_events", "5000"),
                ("attachment_bytes", cap),
                ("csrf", csrf.as_str()),
            ];
            browser.post("/projects/5/quotas", &form).await
        }
    };
    let r = quotas("20", "a lot").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("attachment cap"));
    let r = quotas("20", "2GB").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let key = app.store.find_key("webkey").await.unwrap().unwrap();
    assert_eq!(
        key.rate_limit(),
        Some(snag::store::quotas::KeyRateLimit::new(20, 300).unwrap())
    );
    let caps = app.store.project_quotas(ProjectId(5)).await.unwrap();
    assert_eq!(
        (caps.daily_events, caps.attachment_bytes),
        (Some(5000), Some(2_000_000_000))
    );
    let html = browser.html("/projects").await;
    assert!(
        html.contains("name=\"rate_count_webkey\" min=\"1\" value=\"20\""),
        "{html}"
    );
    assert!(html.contains("<option value=\"300\" selected>"));
    // Empty lifts the key's limit.
    assert_eq!(quotas("", "").await.status(), StatusCode::SEE_OTHER);
    let key = app.store.find_key("webkey").await.unwrap().unwrap();
    assert_eq!(key.rate_limit(), None);
    assert_eq!(
        app.store
            .project_quotas(ProjectId(5))
            .await
            .unwrap()
            .attachment_bytes,
        None
    );
    app.stop().await;
}

#[tokio::test]
async fn attachments_download_and_never_render() {
    let app = app_with_admin().await;
    let event = error_event("OSError", "disk full", "save", json!({}));
    let event_id = event["event_id"].as_str().unwrap().to_owned();
    let payload = event.to_string();
    let html_file = "<html><script>alert(1)</script></html>";
    let envelope = format!(
        "{{\"event_id\":\"{event_id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{payload}\n\
         {{\"type\":\"attachment\",\"length\":{},\"filename\":\"../evil \\\"name\\\".html\",\"content_type\":\"text/html\"}}\n{html_file}\n",
        payload.len(),
        html_file.len()
    );
    let r = post_envelope(&app, 5, "webkey", envelope.as_bytes()).await;
    assert_eq!(r.status, 200);
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let id = browser.first_issue("/issues?project=5").await;
    let html = browser.html(&format!("/issues/{id}")).await;
    let link = format!("/issues/{id}/events/{event_id}/attachments/0");
    assert!(
        html.contains(&link),
        "the attachment is listed with its link"
    );
    let r = browser.get(&link).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(disposition, "attachment; filename=\".._evil__name_.html\"");
    assert_eq!(r.text().await.unwrap(), html_file);
    assert_eq!(
        browser.get(&format!("{link}1")).await.status(),
        StatusCode::NOT_FOUND
    );
    // Not signed in: no download.
    let stranger = Browser::new(&app);
    assert_eq!(stranger.get(&link).await.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn alert_settings_are_edited_and_alerts_are_listed_on_the_issue() {
    let app = app_with_admin().await;
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let csrf = browser.csrf("/projects").await;
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("on_new", "1"),
        ("on_spike", "1"),
        ("spike_min_count", "20"),
        ("spike_ratio", "5"),
        ("spike_z", "4"),
        ("frequency_count", "100"),
        ("frequency_minutes", "10"),
        ("cooldown_minutes", "60"),
        ("recipients", "a@example.com, b@example.com"),
        ("max_emails_per_hour", "5"),
    ];
    let r = browser.post("/projects/5/alerts", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let s = app.store.alert_settings(ProjectId(5)).await.unwrap();
    assert!(s.on_new && !s.on_regression && s.on_spike);
    assert_eq!((s.spike_min_count, s.spike_ratio), (20, 5.0));
    assert_eq!(
        (s.frequency_count, s.frequency_minutes),
        (Some(100), Some(10))
    );
    assert_eq!(
        s.recipients.as_deref(),
        Some("a@example.com, b@example.com")
    );
    let html = browser.html("/projects").await;
    assert!(html.contains("value=\"a@example.com, b@example.com\""));
    assert!(html.contains("Events per minute, last hour"));
    // Half a frequency rule, or a bad address, is refused with the reason.
    form[7] = ("frequency_minutes", "");
    let r = browser.post("/projects/5/alerts", &form).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("or neither"));
    form[7] = ("frequency_minutes", "10");
    form[9] = ("recipients", "not an address");
    assert_eq!(
        browser.post("/projects/5/alerts", &form).await.status(),
        StatusCode::BAD_REQUEST
    );
    form[9] = ("recipients", "a@example.com");

    // A webhook inside the network is refused; a public one is kept and shown masked only;
    // leaving the field empty keeps it; the box removes it.
    form.push(("webhook_url", "http://169.254.169.254/latest/meta-data/"));
    let r = browser.post("/projects/5/alerts", &form).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("link-local"));
    let secret = "https://93.184.216.34/services/T0/B0/s3cr3t";
    *form.last_mut().unwrap() = ("webhook_url", secret);
    let r = browser.post("/projects/5/alerts", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = browser.html("/projects").await;
    assert!(!html.contains("s3cr3t"));
    assert!(html.contains("https://93.184.216.34/services/…"));
    *form.last_mut().unwrap() = ("webhook_url", "");
    browser.post("/projects/5/alerts", &form).await;
    let kept = app
        .store
        .alert_settings(ProjectId(5))
        .await
        .unwrap()
        .webhook_url;
    assert_eq!(kept.as_deref(), Some(secret));
    form.push(("remove_webhook", "1"));
    browser.post("/projects/5/alerts", &form).await;
    assert_eq!(
        app.store
            .alert_settings(ProjectId(5))
            .await
            .unwrap()
            .webhook_url,
        None
    );

    // Mail is off in this server: the new-issue alert is recorded and shown on the issue.
    send(&app, error_event("KeyError", "'x'", "lookup", json!({}))).await;
    let id = browser.first_issue("/issues?project=5").await;
    let mut html = String::new();
    for _ in 0..50 {
        html = browser.html(&format!("/issues/{id}")).await;
        if html.contains("recorded (mail is off)") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(html.contains("A new issue"), "the alert is listed");
    assert!(html.contains("recorded (mail is off)"));
    app.stop().await;
}

#[tokio::test]
async fn api_tokens_are_made_once_and_revoked_from_the_settings_page() {
    let app = app_with_admin().await;
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let csrf = browser.csrf("/settings/tokens").await;
    let r = browser
        .post(
            "/settings/tokens",
            &[("csrf", csrf.as_str()), ("name", "ci")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no scope chosen");
    let r = browser
        .post(
            "/settings/tokens",
            &[
                ("csrf", csrf.as_str()),
                ("name", "ci"),
                ("scope", "event:read"),
            ],
        )
        .await;
    let html = r.text().await.unwrap();
    let at = html.find("id=\"new-token\"").expect("the token is shown");
    let start = html[..at].rfind("value=\"").unwrap() + "value=\"".len();
    let token = html[start..].split('"').next().unwrap().to_owned();
    assert!(token.starts_with("snag_"));
    assert!(
        !browser.html("/settings/tokens").await.contains(&token),
        "shown once"
    );
    let api = |token: String| {
        let port = app.port;
        async move {
            let headers = [("Authorization".to_owned(), format!("Bearer {token}"))];
            crate::helpers::send_raw(
                port,
                "GET",
                "/api/0/projects/snag/web/issues/",
                &headers,
                b"",
                false,
            )
            .await
            .status
        }
    };
    assert_eq!(api(token.clone()).await, 200);
    let id = app.store.list_tokens().await.unwrap()[0].id;
    let r = browser
        .post(
            &format!("/settings/tokens/{id}/revoke"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(api(token).await, 401);
    app.stop().await;
}

#[tokio::test]
async fn only_administrators_change_projects_alerts_and_tokens() {
    let app = app_with_admin().await;
    app.store
        .create_user("viewer@example.com", PASSWORD, false)
        .await
        .unwrap();
    let browser = Browser::new(&app);
    browser.sign_in("viewer@example.com").await;
    // Reading is for everyone.
    assert_eq!(browser.get("/projects").await.status(), StatusCode::OK);
    let csrf = browser.csrf("/projects").await;
    for (path, form) in [
        ("/projects", vec![("name", "mine"), ("csrf", csrf.as_str())]),
        (
            "/projects/5/rules",
            vec![
                ("stacktrace_rules", ""),
                ("fingerprint_rules", ""),
                ("csrf", csrf.as_str()),
            ],
        ),
        (
            "/settings/tokens",
            vec![
                ("name", "t"),
                ("scope", "event:read"),
                ("csrf", csrf.as_str()),
            ],
        ),
    ] {
        let r = browser.post(path, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert!(app.store.list_tokens().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn releases_are_listed_and_issues_resolve_in_the_next_release_from_their_page() {
    let app = app_with_admin().await;
    let mut first = error_event("KeyError", "cart", "load_cart", json!({}));
    first["release"] = json!("web@1.0");
    send(&app, first).await;
    let browser = Browser::new(&app);
    browser.sign_in("admin@example.com").await;
    let html = browser.html("/releases").await;
    assert!(html.contains("web@1.0"), "{html}");
    assert!(
        html.contains("first-release%3A%22web%401.0%22"),
        "links its new issues: {html}"
    );
    let issues = browser
        .html("/issues?query=is:all%20first-release:web@1.0")
        .await;
    assert_eq!(issues.matches("name=\"ids\"").count(), 1);

    let id = browser.first_issue("/issues").await;
    let html = browser.html(&format!("/issues/{id}")).await;
    let csrf = csrf_of(&html);
    assert!(html.contains("Resolve in the next release"));
    browser
        .post(
            &format!("/issues/{id}/status"),
            &[("status", "resolved_in_next_release"), ("csrf", &csrf)],
        )
        .await;
    let html = browser.html(&format!("/issues/{id}")).await;
    assert!(
        html.contains("comes back only in a release after web@1.0"),
        "{html}"
    );
    // The same release again: still resolved.
    let mut again = error_event("KeyError", "cart", "load_cart", json!({}));
    again["release"] = json!("web@1.0");
    send(&app, again).await;
    let issue = app
        .store
        .get_issue(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(issue.status.as_str(), "resolved");
    app.stop().await;
}

#[tokio::test]
async fn sentrys_address_of_an_issue_leads_to_its_page_for_those_signed_in() {
    let app = app_with_admin().await;
    send(
        &app,
        error_event("KeyError", "cart", "load_cart", json!({})),
    )
    .await;
    let issue = app.store.list_issues(ProjectId(5)).await.unwrap()[0].clone();
    let project = app
        .store
        .get_project(issue.project_id)
        .await
        .unwrap()
        .unwrap();
    let short = format!("{}-{}", project.name.to_uppercase(), issue.short_id);
    let browser = Browser::new(&app);
    let r = browser
        .get(&format!("/organizations/snag/issues/{short}/"))
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "strangers sign in first"
    );
    browser.sign_in("admin@example.com").await;
    for address in [
        format!("/organizations/snag/issues/{short}/"),
        format!("/organizations/snag/issues/{}", issue.id),
    ] {
        let r = browser.get(&address).await;
        assert_eq!(r.status(), 303, "{address}");
        assert_eq!(
            r.headers()["location"],
            format!("/issues/{}", issue.id).as_str()
        );
    }
    let r = browser.get("/organizations/snag/issues/NOPE-9/").await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}
