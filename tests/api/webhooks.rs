//! Webhooks cannot be pointed inside, cannot be bounced inside by a redirect or a name that
//! resolves there, cannot hold up anyone else's alerts, keep to the hourly limit, and are
//! shown to administrators only, masked.

use snag::store::ProjectId;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::alerts::{SmtpSink, event, free_port, send};
use crate::helpers::{TestApp, spawn_app_with};

/// What a loopback receiver does with each request.
#[derive(Clone)]
enum Behaviour {
    /// `307` to this URL.
    Redirect(String),
    /// Reads the request, then says nothing for this long.
    Hang(Duration),
    Ok,
}

/// A loopback HTTP server counting the requests it gets.
struct Receiver {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let behaviour = behaviour.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let _ = socket.read(&mut buf).await;
                    let answer = match behaviour {
                        Behaviour::Redirect(to) => format!(
                            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        ),
                        Behaviour::Hang(long) => {
                            tokio::time::sleep(long).await;
                            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_owned()
                        }
                        Behaviour::Ok => {
                            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                                .to_owned()
                        }
                    };
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        Receiver { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Snag with webhooks allowed to reach 127.0.0.1 (where the test receivers are), and
/// project 3 `shop`.
async fn app(tune: impl FnOnce(&mut snag::Config)) -> TestApp {
    let app = spawn_app_with(|c| {
        crate::helpers::quick_alerts(c);
        c.mail.webhook_allow_hosts = vec!["127.0.0.1".into()];
        tune(c);
    })
    .await;
    app.project("shop", ProjectId(3), "shopkey").await;
    app
}

async fn set_webhook(app: &TestApp, project: ProjectId, url: &str, per_hour: i64) {
    let settings = snag::store::alerts::AlertSettings {
        webhook_url: Some(url.into()),
        max_emails_per_hour: per_hour,
        ..Default::default()
    };
    app.store
        .set_alert_settings(project, &settings)
        .await
        .unwrap();
}

/// (status, attempts, last error) of the project's webhook alerts, oldest first.
async fn webhook_rows(app: &TestApp, project: ProjectId) -> Vec<(String, i64, String)> {
    app.store
        .project_alerts(project)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.channel == "webhook")
        .map(|a| {
            (
                a.status.as_str().to_owned(),
                a.attempts,
                a.last_error.unwrap_or_default(),
            )
        })
        .rev()
        .collect()
}

/// Waits up to `secs` for `done`.
async fn until(secs: u64, mut done: impl AsyncFnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn api(app: &TestApp, method: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let path = "/api/0/projects/snag/shop/alert-settings/";
    let headers = vec![
        ("Authorization".to_owned(), format!("Bearer {token}")),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let r =
        crate::helpers::send_raw(app.port, method, path, &headers, body.as_bytes(), false).await;
    (r.status, r.json())
}

#[tokio::test]
async fn destinations_inside_are_refused_and_secrets_are_masked() {
    // No allow list here: nothing on loopback may be reached.
    let app = spawn_app_with(|_| {}).await;
    app.project("shop", ProjectId(3), "shopkey").await;
    let all: Vec<String> = snag::store::tokens::SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (admin, _) = app.store.create_token("admin", &all, None).await.unwrap();
    let writer_scopes = ["project:read".to_owned(), "project:write".to_owned()];
    let (writer, _) = app
        .store
        .create_token("w", &writer_scopes, None)
        .await
        .unwrap();
    for inside in [
        "http://127.0.0.1:9/hook",
        "http://[::1]:9/hook",
        "http://0x7f000001/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://[fd00::1]/hook",
        "http://localhost:9/hook",
    ] {
        let (status, body) = api(&app, "PUT", &admin, Some(json!({"webhookUrl": inside}))).await;
        assert_eq!(status, 400, "{inside}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("address"),
            "{inside}: {body}"
        );
    }
    // A public destination is taken; an admin sees it masked, others only that it is set.
    let url = "https://93.184.216.34/services/T00/B00/very-secret";
    let (status, body) = api(&app, "PUT", &admin, Some(json!({"webhookUrl": url}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["webhookUrl"], "https://93.184.216.34/services/…");
    let (status, body) = api(&app, "GET", &writer, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["webhookUrl"], Value::Null);
    assert_eq!(body["webhookConfigured"], true);
    assert!(!body.to_string().contains("very-secret"));
    // Only an admin token changes it.
    let (status, _) = api(&app, "PUT", &writer, Some(json!({"webhookUrl": null}))).await;
    assert_eq!(status, 403);
    let (status, _) = api(&app, "PUT", &writer, Some(json!({"onSpike": false}))).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.store
            .alert_settings(ProjectId(3))
            .await
            .unwrap()
            .webhook_url
            .as_deref(),
        Some(url)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_redirect_or_a_name_resolving_inside_is_never_followed() {
    let inside = Receiver::start(Behaviour::Ok).await;
    // An allowed receiver that redirects to a loopback name nobody allowed.
    let bouncer = Receiver::start(Behaviour::Redirect(format!(
        "http://localhost:{}/stolen",
        inside.port
    )))
    .await;
    let app = app(|_| {}).await;
    set_webhook(
        &app,
        ProjectId(3),
        &format!("http://127.0.0.1:{}/hook", bouncer.port),
        30,
    )
    .await;
    send(&app, &event("bounced", 0)).await;
    assert!(
        until(15, async || bouncer.hits() >= 1).await,
        "the webhook was not tried"
    );
    assert!(
        until(5, async || webhook_rows(&app, ProjectId(3))
            .await
            .first()
            .is_some_and(|r| r.1 >= 1))
        .await
    );
    let rows = webhook_rows(&app, ProjectId(3)).await;
    assert!(rows[0].2.contains("redirects are not followed"), "{rows:?}");
    assert_eq!(inside.hits(), 0, "the redirect was followed");

    // A name that resolves to loopback at connection time (set behind the check's back, as
    // a DNS answer that changed after the URL was saved).
    let app2 = app_with_project(ProjectId(4)).await;
    set_webhook(
        &app2,
        ProjectId(4),
        &format!("http://localhost:{}/hook", inside.port),
        30,
    )
    .await;
    send_to(&app2, 4, &event("renamed", 0)).await;
    assert!(
        until(15, async || webhook_rows(&app2, ProjectId(4))
            .await
            .first()
            .is_some_and(|r| r.1 >= 1))
        .await
    );
    let rows = webhook_rows(&app2, ProjectId(4)).await;
    assert!(rows[0].2.contains("loopback, private"), "{rows:?}");
    assert_eq!(inside.hits(), 0, "a name resolving to loopback was reached");
    app.stop().await;
    app2.stop().await;
}

async fn app_with_project(id: ProjectId) -> TestApp {
    let app = app(|_| {}).await;
    app.project("other", id, "otherkey").await;
    app
}

async fn send_to(app: &TestApp, project: i64, event: &Value) {
    let key = if project == 3 { "shopkey" } else { "otherkey" };
    let r =
        crate::helpers::post_envelope(app, project, key, &crate::helpers::event_envelope(event))
            .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_webhook_that_never_answers_does_not_hold_up_another_projects_email() {
    let slow = Receiver::start(Behaviour::Hang(Duration::from_secs(60))).await;
    let port = free_port();
    let smtp = SmtpSink::start(port).await;
    let app = app(|c| c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into())).await;
    app.project("other", ProjectId(4), "otherkey").await;
    app.store
        .create_user("oncall@example.com", "correct horse battery", true)
        .await
        .unwrap();
    // Project 3 posts to the webhook that hangs; project 4 only mails.
    set_webhook(
        &app,
        ProjectId(3),
        &format!("http://127.0.0.1:{}/hook", slow.port),
        30,
    )
    .await;
    send(&app, &event("stuck", 0)).await;
    assert!(until(10, async || slow.hits() >= 1).await);
    let sent = Instant::now();
    send_to(&app, 4, &event("mailed", 0)).await;
    assert!(
        until(10, async || smtp.messages().iter().any(|m| m["subject"]
            .as_str()
            .unwrap_or("")
            .contains("OTHER-1")))
        .await,
        "the other project's email did not arrive"
    );
    let took = sent.elapsed();
    // Both workers look every 100 ms here: the mail comes in a second or two, not after the
    // hanging webhook's 5 s timeout.
    assert!(took < Duration::from_secs(4), "{took:?}");
    // The hanging webhook was cut off at its timeout and will be tried again.
    assert!(
        until(10, async || webhook_rows(&app, ProjectId(3))
            .await
            .first()
            .is_some_and(|r| r.1 >= 1))
        .await
    );
    smtp.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn webhooks_keep_to_the_hourly_limit_and_the_rest_go_in_a_digest() {
    let receiver = Receiver::start(Behaviour::Ok).await;
    let app = app(|_| {}).await;
    set_webhook(
        &app,
        ProjectId(3),
        &format!("http://127.0.0.1:{}/hook", receiver.port),
        2,
    )
    .await;
    for n in 0..5 {
        send(&app, &event(&format!("step{n}"), 0)).await;
    }
    assert!(
        until(15, async || webhook_rows(&app, ProjectId(3)).await.len()
            >= 6)
        .await
    );
    assert!(until(10, async || receiver.hits() >= 2).await);
    // Due alerts go out every 100 ms: a second shows any extra post.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.hits(), 2, "only the hourly limit is posted");
    let log = app.store.project_alerts(ProjectId(3)).await.unwrap();
    let webhooks: Vec<(&str, &str)> = log
        .iter()
        .filter(|a| a.channel == "webhook")
        .map(|a| (a.rule.as_str(), a.status.as_str()))
        .collect();
    assert_eq!(
        webhooks.iter().filter(|(_, s)| *s == "capped").count(),
        3,
        "{webhooks:?}"
    );
    let digest = log
        .iter()
        .find(|a| a.rule == "digest" && a.channel == "webhook")
        .expect("a digest for the webhook");
    assert_eq!(digest.status.as_str(), "pending");
    let body: Value = serde_json::from_str(&digest.body_text).unwrap();
    assert_eq!(body["rule"], "digest");
    assert_eq!(body["alerts"].as_array().unwrap().len(), 3, "{body}");
    app.stop().await;
}
