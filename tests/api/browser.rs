//! The web UI in real headless Chromium (Debian's `chromium` + `chromedriver`, installed by the
//! test script): sign in, read the list and an issue made from real SDK captures, resolve it.
//! Screenshots of each page land in `target/tmp/screenshots/` to be looked at.

use std::path::PathBuf;
use std::time::Duration;

use snag::store::ProjectId;

use serde_json::{Value, json};

use crate::grouping::captured_events;
use crate::helpers::{event_envelope, post_envelope, spawn_app};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// W3C WebDriver's key for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session, spoken to over WebDriver's HTTP protocol.
struct Chromium {
    driver: tokio::process::Child,
    http: reqwest::Client,
    session: String,
    _profile: tempfile::TempDir,
}

impl Chromium {
    async fn start() -> Chromium {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: run ./scripts/test, which installs Debian's chromium and chromium-driver"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        // No network but loopback: background fetches would only fail.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let created = post(
            &http,
            &format!("{base}/session"),
            json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}),
        )
        .await;
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        Chromium {
            driver,
            http,
            session: format!("{base}/session/{session}"),
            _profile: profile,
        }
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let value = post(&self.http, &format!("{}{path}", self.session), body).await;
        assert!(
            value["value"]["error"].is_null(),
            "webdriver {path}: {value}"
        );
        value["value"].clone()
    }

    async fn get(&self, path: &str) -> Value {
        let text = self
            .http
            .get(format!("{}{path}", self.session))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.command("/url", json!({ "url": url })).await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .command("/element", json!({"using": "css selector", "value": css}))
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap().to_owned()
    }

    /// Waits (up to 5 s) for a navigation the last action started to arrive where expected.
    async fn wait_for_url(&self, expected: impl Fn(&str) -> bool) -> String {
        let mut url = String::new();
        for _ in 0..50 {
            url = self.url().await;
            if expected(&url) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the browser stayed at {url}");
    }

    /// The text of the first element matching `css` once it satisfies `expected` (up to 5 s:
    /// the page may still be on its way, its old elements going stale).
    async fn wait_for_text(&self, css: &str, expected: impl Fn(&str) -> bool) -> String {
        let mut last = Value::Null;
        for _ in 0..50 {
            let found = post(
                &self.http,
                &format!("{}/element", self.session),
                json!({"using": "css selector", "value": css}),
            )
            .await;
            if let Some(element) = found["value"][ELEMENT].as_str() {
                last = self.get(&format!("/element/{element}/text")).await;
                if let Some(text) = last.as_str().filter(|t| expected(t)) {
                    return text.to_owned();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed the expected text; last: {last}");
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for_text(css, |_| true).await
    }

    /// Makes the page see `prefers-color-scheme: dark` (Chromium's DevTools protocol).
    async fn prefer_dark(&self) {
        self.command(
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setEmulatedMedia",
                   "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}}),
        )
        .await;
    }

    async fn resize(&self, width: u32, height: u32) {
        self.command("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Saves a screenshot of the window as `name.png`; returns its path.
    async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &bytes).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        path
    }

    async fn quit(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.driver.kill().await;
    }
}

async fn post(http: &reqwest::Client, url: &str, body: Value) -> Value {
    let text = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("webdriver {url}: {e}"))
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("webdriver {url}: {e}: {text}"))
}

#[tokio::test]
async fn a_person_signs_in_reads_an_issue_and_resolves_it_in_chromium() {
    let app = spawn_app().await;
    app.store
        .create_user("dev@example.com", "correct horse battery", true)
        .await
        .unwrap();
    app.project("shop", ProjectId(1), "publickey").await;
    for group in ["python", "node", "browser"] {
        for (name, event) in captured_events(group) {
            let r = post_envelope(&app, 1, "publickey", &event_envelope(&event)).await;
            assert_eq!(r.status, 200, "{name}");
        }
    }
    let base = format!("http://127.0.0.1:{}", app.port);
    let chromium = Chromium::start().await;

    // Any page asks to sign in first, then comes back.
    chromium.open(&format!("{base}/issues?project=1")).await;
    assert!(chromium.url().await.contains("/login?next="));
    sign_in_at(&chromium, "dev@example.com", |u| {
        u.ends_with("/issues?project=1")
    })
    .await;
    let count = chromium.text(".bulk .count").await;
    assert!(
        count.contains(" of "),
        "the list counts its issues: {count}"
    );
    chromium.screenshot("issue-list").await;

    // The Python chained exception's issue, found by searching.
    chromium
        .type_into("input[name=query]", " DatabaseError")
        .await;
    chromium.click(".filters button[type=submit]").await;
    chromium.wait_for_url(|u| u.contains("DatabaseError")).await;
    chromium
        .wait_for_text(".bulk .count", |c| c.starts_with("1–"))
        .await;
    chromium.click(".issue-list a.title").await;
    chromium.wait_for_url(|u| u.contains("/issues/")).await;
    let title = chromium.text("h1").await;
    assert!(
        title.contains("DatabaseError: could not load user 1234"),
        "{title}"
    );
    // Tall enough for the exceptions and their frames.
    chromium.resize(1280, 2400).await;
    chromium.screenshot("issue-page").await;
    chromium.prefer_dark().await;
    chromium.screenshot("issue-page-dark").await;

    // The first action of an unresolved issue resolves it.
    chromium.click(".actions button").await;
    chromium
        .wait_for_text(".actions .badge", |s| s.starts_with("resolved"))
        .await;

    chromium.resize(390, 844).await;
    chromium
        .open(&format!("{base}/issues?project=1&query=is%3Aall"))
        .await;
    chromium.screenshot("issue-list-phone").await;
    chromium.quit().await;
    app.stop().await;
}

/// Serves, on 127.0.0.1, pages whose own inline script breaks their policy
/// `script-src 'self'; report-uri <Snag's security endpoint>`; `/<name>.html` for any name.
fn serve_csp_pages(report_uri: String) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // The headers, up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/");
            let (status, body) = if path.ends_with(".html") {
                let body = format!(
                    "<!doctype html><title>{path}</title><p>{path}</p>\
                     <script>document.title = 'ran {path}';</script>"
                );
                ("200 OK", body)
            } else {
                ("404 Not Found", String::new())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\n\
                 Content-Security-Policy: script-src 'self'; report-uri {report_uri}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

/// Polls until the project's issues satisfy `done`, for up to 20 s.
async fn wait_for_issues(
    app: &crate::helpers::TestApp,
    done: impl Fn(&[snag::store::StoredIssue]) -> bool,
) -> Vec<snag::store::StoredIssue> {
    for _ in 0..200 {
        let issues = app.store.list_issues(ProjectId(1)).await.unwrap();
        if done(&issues) {
            return issues;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "issues never arrived: {:#?}",
        app.store.list_issues(ProjectId(1)).await.unwrap()
    );
}

#[tokio::test]
async fn chromium_reports_csp_violations_that_group_into_one_issue() {
    let app = spawn_app().await;
    app.project("shop", ProjectId(1), "publickey").await;
    let report_uri = format!(
        "http://127.0.0.1:{}/api/1/security/?sentry_key=publickey&sentry_environment=e2e",
        app.port
    );
    let pages = serve_csp_pages(report_uri);
    let browser = Chromium::start().await;

    browser
        .open(&format!("http://127.0.0.1:{pages}/first.html"))
        .await;
    let issues = wait_for_issues(&app, |issues| issues.len() == 1).await;
    let issue = &issues[0];
    assert_eq!(issue.title, "Blocked 'script' from 'inline:'");
    assert_eq!(issue.culprit, "script-src-elem");
    assert_eq!(issue.issue_type, "csp");
    assert_eq!(
        issue.primary_hash,
        snag::grouping::hash_values(["script-src-elem", "inline:"])
    );
    let tags: Vec<(String, String)> = app
        .store
        .issue_tags(issue.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    for expected in [
        ("effective-directive", "script-src-elem"),
        ("blocked-uri", "inline"),
        ("environment", "e2e"),
    ] {
        assert!(
            tags.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "no tag {expected:?} in {tags:?}"
        );
    }
    let events = app.store.list_issue_events(issue.id, 10).await.unwrap();
    let event = app
        .store
        .get_event(ProjectId(1), &events[0].event_id)
        .await
        .unwrap()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        event["request"]["url"],
        format!("http://127.0.0.1:{pages}/first.html")
    );
    assert!(
        event["request"]["headers"]
            .to_string()
            .contains("HeadlessChrome"),
        "{event}"
    );
    assert_eq!(event["csp"]["blocked_uri"], "inline");

    // Another page, another inline script: the same directive and "host", the same issue.
    browser
        .open(&format!("http://127.0.0.1:{pages}/second.html"))
        .await;
    let issues = wait_for_issues(&app, |issues| {
        issues.len() == 1 && issues[0].times_seen == 2
    })
    .await;
    assert_eq!(issues[0].id, issue.id);
    browser.quit().await;
    app.stop().await;
}

/// Two days of an hourly job's runs, as if they had happened: mostly ok, two errors, and a
/// run that never came (judged missed an hour later).
async fn seed_two_days_of_runs(app: &crate::helpers::TestApp, now: i64) {
    use snag::crons::check_in::CheckIn;
    const HOUR: i64 = 3_600_000;
    let config = json!({"schedule": {"type": "interval", "value": 1, "unit": "hour"},
        "max_runtime": 20});
    for h in (1..=48).rev() {
        let at = now - h * HOUR;
        if h == 30 {
            // No run: the periodic judgement finds it missed past its margin.
            app.store.judge_monitors(at + 10 * 60_000).await.unwrap();
            continue;
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let status = if h == 7 || h == 8 { "error" } else { "ok" };
        let started = CheckIn::from_json(
            json!({"check_in_id": id, "monitor_slug": "hourly-sync", "status": "in_progress",
                   "monitor_config": config})
            .to_string()
            .as_bytes(),
            None,
        )
        .unwrap();
        app.store
            .record_check_in(ProjectId(5), &started, at)
            .await
            .unwrap();
        let seconds = 40 + (h * 37) % 90;
        let ended = CheckIn::from_json(
            json!({"check_in_id": id, "monitor_slug": "hourly-sync", "status": status,
                   "duration": seconds as f64, "release": "jobs@2.1"})
            .to_string()
            .as_bytes(),
            None,
        )
        .unwrap();
        app.store
            .record_check_in(ProjectId(5), &ended, at + seconds * 1000)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_admin_reads_creates_and_mutes_cron_monitors_in_chromium() {
    let app = spawn_app().await;
    app.store
        .create_user("ops@example.com", "correct horse battery", true)
        .await
        .unwrap();
    app.project("jobs", ProjectId(5), "jobkey").await;
    let now = snag::store::now_ms();
    seed_two_days_of_runs(&app, now).await;
    // A job that never checked in since it was set up (no timeline yet).
    let r = crate::helpers::send_raw(
        app.port,
        "POST",
        "/api/5/cron/nightly-export/jobkey/",
        &[("Content-Type".into(), "application/json".into())],
        json!({"status": "in_progress", "monitor_config": {"schedule":
            {"type": "crontab", "value": "0 3 * * *"}, "timezone": "Europe/Vienna"}})
        .to_string()
        .as_bytes(),
        false,
    )
    .await;
    assert_eq!(r.status, 202);

    let base = format!("http://127.0.0.1:{}", app.port);
    let chromium = Chromium::start().await;
    chromium.open(&format!("{base}/crons")).await;
    sign_in_at(&chromium, "ops@example.com", |u| u.ends_with("/crons")).await;

    // The list: each monitor's schedule in words, its state and a day of marks.
    let table = chromium.text("table.monitors").await;
    assert!(
        table.contains("hourly-sync") && table.contains("Every hour (UTC)"),
        "{table}"
    );
    assert!(
        table.contains("nightly-export") && table.contains("(Europe/Vienna)"),
        "{table}"
    );
    assert!(table.contains("ok"), "{table}");
    let marks = chromium
        .command(
            "/elements",
            json!({"using": "css selector", "value": "tr:first-child svg.marks rect"}),
        )
        .await;
    assert_eq!(
        marks.as_array().map(Vec::len),
        Some(24),
        "a mark per hour of the day"
    );
    chromium.screenshot("crons").await;
    chromium.click(".spans a[href*='span=7d']").await;
    chromium.wait_for_url(|u| u.contains("span=7d")).await;
    chromium.screenshot("crons-7d").await;

    // The monitor's page: its runs with durations, errors and the missed run.
    chromium.open(&format!("{base}/crons/hourly-sync")).await;
    let runs = chromium.text("table.check-ins").await;
    assert!(
        runs.contains("missed") && runs.contains("error") && runs.contains("jobs@2.1"),
        "{runs}"
    );
    chromium.resize(1280, 1800).await;
    chromium.screenshot("cron-monitor").await;
    chromium.prefer_dark().await;
    chromium.screenshot("cron-monitor-dark").await;
    chromium.click(".monitor-actions button").await; // Mute
    chromium.wait_for_text("h1", |t| t.contains("muted")).await;
    assert!(
        app.store
            .monitor("hourly-sync")
            .await
            .unwrap()
            .unwrap()
            .is_muted
    );
    chromium
        .click(".monitor-actions form[action$='/disable'] button")
        .await;
    chromium
        .wait_for_text("h1", |t| t.contains("disabled"))
        .await;
    let sync = app.store.monitor("hourly-sync").await.unwrap().unwrap();
    assert!(sync.disabled);
    // Deleting asks first; dismissed, nothing happens; accepted, the monitor is gone.
    chromium.open(&format!("{base}/crons/nightly-export")).await;
    chromium
        .click(".monitor-actions form[action$='/delete'] button")
        .await;
    chromium.command("/alert/dismiss", json!({})).await;
    assert!(app.store.monitor("nightly-export").await.unwrap().is_some());
    chromium
        .click(".monitor-actions form[action$='/delete'] button")
        .await;
    chromium.command("/alert/accept", json!({})).await;
    chromium.wait_for_url(|u| u.ends_with("/crons")).await;
    assert!(app.store.monitor("nightly-export").await.unwrap().is_none());

    // A new monitor from the form; a crontab that does not parse is refused with its reason.
    chromium.resize(1280, 900).await;
    chromium.open(&format!("{base}/crons")).await;
    chromium.click("details.new-monitor summary").await;
    chromium
        .type_into("input[name=slug]", "Weekly Report")
        .await;
    chromium.type_into("input[name=schedule]", "0 9 * *").await;
    chromium
        .click("details.new-monitor button[type=submit]")
        .await;
    let error = chromium.wait_for_text("p.alert", |_| true).await;
    assert!(error.contains("has 4 fields"), "{error}");
    chromium.type_into("input[name=schedule]", " MON").await;
    chromium
        .type_into("input[name=timezone]", "Europe/Vienna")
        .await;
    chromium
        .click("details.new-monitor button[type=submit]")
        .await;
    chromium
        .wait_for_url(|u| u.ends_with("/crons/weekly-report"))
        .await;
    let header = chromium.text("main").await;
    assert!(
        header.contains("Europe/Vienna") && header.contains("weekly-report"),
        "{header}"
    );
    chromium.screenshot("cron-new-monitor").await;
    chromium.quit().await;
    app.stop().await;
}

/// The text of the log lines at `url`.
async fn lines_at(chromium: &Chromium, url: &str) -> String {
    chromium.open(url).await;
    chromium.text("#log-lines").await
}

/// Signs in on the login page the browser was sent to, and waits to be back at `back_at`.
async fn sign_in_at(chromium: &Chromium, email: &str, back_at: impl Fn(&str) -> bool) {
    chromium.type_into("input[name=email]", email).await;
    chromium
        .type_into("input[name=password]", "correct horse battery")
        .await;
    chromium.click("button[type=submit]").await;
    chromium.wait_for_url(back_at).await;
}

#[tokio::test]
async fn a_developer_searches_filters_expands_and_follows_log_lines_in_chromium() {
    use crate::logs::{log_item_envelope, log_line};
    let app = spawn_app().await;
    app.store
        .create_user("dev@example.com", "correct horse battery", true)
        .await
        .unwrap();
    app.project("shop", ProjectId(1), "publickey").await;
    let checkout = "5c9a1c24191a40d486d2cf547bb59096";
    let other = "0123456789abcdef0123456789abcdef";
    let lines = [
        log_line(
            9_000,
            checkout,
            "info",
            "cart 7 opened by alice",
            &[
                ("logger.name", "shop.cart"),
                ("sentry.environment", "production"),
            ],
        ),
        log_line(
            8_000,
            checkout,
            "warn",
            "payment slow: 1234 ms",
            &[
                ("logger.name", "shop.payments"),
                ("sentry.environment", "production"),
            ],
        ),
        log_line(
            7_000,
            checkout,
            "error",
            "payment for order 42 declined: card_declined",
            &[
                ("logger.name", "shop.payments"),
                ("sentry.environment", "production"),
                ("user.id", "alice"),
            ],
        ),
        log_line(
            6_000,
            other,
            "info",
            "receipt for order 41 sent",
            &[
                ("logger.name", "shop.mail"),
                ("sentry.environment", "staging"),
            ],
        ),
        log_line(
            5_000,
            other,
            "warn",
            "<img src=x onerror=alert(1)> odd input",
            &[("<b>key</b>", "<script>alert(2)</script>")],
        ),
    ];
    let r = post_envelope(&app, 1, "publickey", &log_item_envelope(&lines)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // The error of the checkout's trace.
    let event = json!({"message": "checkout failed", "level": "error",
                       "contexts": {"trace": {"trace_id": checkout, "span_id": "a5e7f50d2529e13c"}}});
    let r = post_envelope(&app, 1, "publickey", &event_envelope(&event)).await;
    assert_eq!(r.status, 200);

    let base = format!("http://127.0.0.1:{}", app.port);
    let chromium = Chromium::start().await;
    chromium.resize(1280, 900).await;
    chromium.open(&format!("{base}/logs")).await;
    sign_in_at(&chromium, "dev@example.com", |u| u.ends_with("/logs")).await;

    // Newest first; the hostile line is text, not markup.
    let list = chromium.text("#log-lines").await;
    let order: Vec<usize> = [
        "odd input",
        "receipt for order 41",
        "declined",
        "payment slow",
        "cart 7",
    ]
    .iter()
    .map(|t| list.find(t).unwrap_or_else(|| panic!("{t} in {list}")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "newest first: {list}"
    );
    assert!(
        list.contains("<img src=x onerror=alert(1)> odd input"),
        "{list}"
    );
    let images = chromium
        .command("/elements", json!({"using": "css selector", "value": "#log-lines img, #log-lines b, #log-lines script"}))
        .await;
    assert_eq!(
        images.as_array().map(Vec::len),
        Some(0),
        "no markup from log lines"
    );
    chromium.screenshot("logs").await;

    // A word and a level.
    chromium.type_into("input[name=query]", "order").await;
    chromium
        .click("select[name=level] option[value=warn]")
        .await;
    chromium.click(".log-filters button[type=submit]").await;
    chromium.wait_for_url(|u| u.contains("query=order")).await;
    let found = chromium.text("#log-lines").await;
    assert!(
        found.contains("declined") && !found.contains("receipt for order 41"),
        "{found}"
    );
    // An attribute, and an environment.
    let found = lines_at(&chromium, &format!("{base}/logs?query=user.id:alice")).await;
    assert!(
        found.contains("declined") && !found.contains("payment slow"),
        "{found}"
    );
    let found = lines_at(&chromium, &format!("{base}/logs?environment=staging")).await;
    assert!(
        found.contains("receipt for order 41") && !found.contains("cart 7"),
        "{found}"
    );

    // A line opens to its attributes and its trace's links.
    chromium.open(&format!("{base}/logs?query=declined")).await;
    chromium.click("details.log-line summary").await;
    let detail = chromium
        .text("details.log-line[open] .log-attributes")
        .await;
    assert!(
        detail.contains("logger.name")
            && detail.contains("shop.payments")
            && detail.contains(checkout),
        "{detail}"
    );
    chromium.screenshot("logs-expanded").await;
    chromium.prefer_dark().await;
    chromium.screenshot("logs-dark").await;
    chromium
        .click("details.log-line[open] .log-links a[href^='/logs']")
        .await;
    chromium.wait_for_url(|u| u.contains(checkout)).await;
    let traced = chromium.text("#log-lines").await;
    assert!(
        traced.contains("cart 7") && traced.contains("payment slow") && !traced.contains("receipt"),
        "{traced}"
    );
    chromium.click("details.log-line summary").await;
    chromium
        .click("details.log-line[open] .log-links a[href^='/issues']")
        .await;
    chromium.wait_for_url(|u| u.contains("/issues?")).await;
    let issues = chromium.text("main").await;
    assert!(issues.contains("checkout failed"), "{issues}");

    // The issue page shows the trace's lines beside the event.
    chromium.click("a.title").await;
    chromium.wait_for_url(|u| u.contains("/issues/")).await;
    let beside = chromium.text("#trace-logs").await;
    assert!(
        beside.contains("Logs of this trace") && beside.contains("payment slow"),
        "{beside}"
    );
    chromium.resize(1280, 1600).await;
    chromium.screenshot("issue-trace-logs").await;

    // Live: a line that arrives while the page is open appears on top without a reload.
    chromium.open(&format!("{base}/logs")).await;
    let late = [log_line(0, other, "error", "a line that came later", &[])];
    let r = post_envelope(&app, 1, "publickey", &log_item_envelope(&late)).await;
    assert_eq!(r.status, 200);
    let mut list = String::new();
    for _ in 0..100 {
        list = chromium.text("#log-lines").await;
        if list.contains("a line that came later") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(list.contains("a line that came later"), "{list}");
    assert!(
        list.find("a line that came later") < list.find("odd input"),
        "on top: {list}"
    );
    chromium.quit().await;
    app.stop().await;
}
