//! Alert emails end to end, through a real SMTP server (aiosmtpd on a loopback port): a new
//! issue, a spike, a regression, and an SMTP server that is down at first.

use snag::store::{IssueId, ProjectId};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    TestApp, alerts_on_demand, event_envelope, post_envelope, quick_alerts, spawn_app_with,
};
use crate::python_sdk::python;

/// aiosmtpd writing every message it receives as JSON into a folder.
pub(crate) struct SmtpSink {
    child: tokio::process::Child,
    dir: tempfile::TempDir,
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    pub(crate) async fn start(port: u16) -> SmtpSink {
        use tokio::io::AsyncBufReadExt;
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/smtp_sink.py");
        let mut child = tokio::process::Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP sink (needs Python with aiosmtpd: ./scripts/test installs it)");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await;
        assert!(
            matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"),
            "the SMTP sink did not start (is aiosmtpd installed?): {ready:?}"
        );
        SmtpSink { child, dir }
    }

    pub(crate) fn messages(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits for the `n`-th message (up to 20 s), then checks that no other follows for a while.
    /// With [`alerts_on_demand`] nothing is recorded between the test's evaluations, and due
    /// alerts go out every 100 ms: a second shows any extra.
    pub(crate) async fn exactly(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            if self.messages().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let messages = self.messages();
        assert_eq!(messages.len(), n, "emails: {messages:#?}");
        messages
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

pub(crate) async fn app_mailing_to(port: u16) -> TestApp {
    let app = spawn_app_with(|c| {
        alerts_on_demand(c);
        c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
        c.metrics_token = Some("metrics-secret".into());
    })
    .await;
    app.store
        .create_user("oncall@example.com", "correct horse battery", true)
        .await
        .unwrap();
    app.project("shop", ProjectId(3), "shopkey").await;
    app
}

pub(crate) fn event(function: &str, seconds_ago: i64) -> Value {
    let now = snag::store::now_ms() / 1000;
    json!({
        "event_id": uuid::Uuid::new_v4().simple().to_string(),
        "timestamp": now - seconds_ago,
        "platform": "python",
        "exception": {"values": [{"type": "PaymentError", "value": format!("declined in {function}"),
            "stacktrace": {"frames": [{"module": "shop.pay", "filename": "shop/pay.py",
                                       "function": function, "lineno": 7, "in_app": true}]}}]}
    })
}

pub(crate) async fn send(app: &TestApp, event: &Value) {
    let r = post_envelope(app, 3, "shopkey", &event_envelope(event)).await;
    assert_eq!(r.status, 200);
}

pub(crate) async fn only_issue(app: &TestApp) -> IssueId {
    let issues = app.store.list_issues(ProjectId(3)).await.unwrap();
    assert_eq!(issues.len(), 1);
    issues[0].id
}

#[tokio::test]
async fn a_new_issue_sends_one_email_and_a_regression_another() {
    let port = free_port();
    let smtp = SmtpSink::start(port).await;
    let app = app_mailing_to(port).await;

    send(&app, &event("charge", 0)).await;
    app.evaluate_alerts().await;
    send(&app, &event("charge", 0)).await; // the same issue: no second email
    app.evaluate_alerts().await;
    let mail = smtp.exactly(1).await;
    let id = only_issue(&app).await;
    assert_eq!(mail[0]["to"], json!(["oncall@example.com"]));
    assert_eq!(
        mail[0]["subject"],
        "[Snag] shop SHOP-1 - PaymentError: declined in charge"
    );
    let text = mail[0]["text"].as_str().unwrap();
    assert!(text.contains("A new issue"), "{text}");
    assert!(
        text.contains(&format!("http://127.0.0.1:{}/issues/{id}", app.port)),
        "{text}"
    );
    assert!(
        text.contains("Top in-app frame: shop/pay.py in charge"),
        "{text}"
    );
    assert!(mail[0]["html"].as_str().unwrap().contains("<a href="));

    // Assigned and resolved, then seen again: one regression email, to the assignee too.
    let dev = app
        .store
        .create_user("dev@example.com", "correct horse battery", false)
        .await
        .unwrap();
    app.store
        .assign_issues(&[id], Some(&dev), Some(dev.id))
        .await
        .unwrap();
    app.store
        .set_issue_status(
            &[id],
            snag::store::issues::IssueStatus::Resolved,
            Some(dev.id),
        )
        .await
        .unwrap();
    send(&app, &event("charge", 0)).await;
    app.evaluate_alerts().await;
    send(&app, &event("charge", 0)).await;
    app.evaluate_alerts().await;
    let mail = smtp.exactly(2).await;
    assert!(
        mail[1]["text"].as_str().unwrap().contains("Regressed"),
        "{:?}",
        mail[1]
    );
    assert_eq!(
        mail[1]["to"],
        json!(["oncall@example.com", "dev@example.com"])
    );
    // The activity log says who did what, and that it came back (once).
    let activity: Vec<(String, Option<String>)> = app
        .store
        .issue_activity(id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.kind, a.user_email))
        .collect();
    let dev_email = Some("dev@example.com".to_owned());
    assert_eq!(
        activity,
        [
            ("set_regression".to_owned(), None),
            ("set_resolved".to_owned(), dev_email.clone()),
            ("assigned".to_owned(), dev_email),
        ]
    );
    let issue = app.store.get_issue(id).await.unwrap().unwrap();
    assert_eq!(
        (issue.status.as_str(), issue.substatus.as_str()),
        ("unresolved", "regressed")
    );

    // Every alert is in the log, sent once, and listed on the issue.
    let log = app.store.project_alerts(ProjectId(3)).await.unwrap();
    let rules: Vec<(&str, &str, i64)> = log
        .iter()
        .map(|a| (a.rule.as_str(), a.status.as_str(), a.attempts))
        .collect();
    assert_eq!(rules, [("new", "sent", 1), ("regression", "sent", 1)]);

    // /metrics counts them, and the project's events.
    let bearer = [(
        "Authorization".to_owned(),
        "Bearer metrics-secret".to_owned(),
    )];
    let metrics = crate::helpers::send_raw(app.port, "GET", "/metrics", &bearer, b"", false).await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("snag_alert_emails_total{result=\"sent\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("snag_project_events_accepted_total{project=\"3\"} 4"),
        "{text}"
    );
    smtp.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_spike_sends_one_email_with_its_numbers() {
    let port = free_port();
    let smtp = SmtpSink::start(port).await;
    let app = app_mailing_to(port).await;
    // An issue first seen two hours ago...
    send(&app, &event("refund", 2 * 3600)).await;
    app.evaluate_alerts().await;
    smtp.exactly(1).await;
    let id = only_issue(&app).await;
    // ...bursts: 24 more events now.
    for _ in 0..24 {
        send(&app, &event("refund", 0)).await;
    }
    app.evaluate_alerts().await;
    let mail = smtp.exactly(2).await;
    let text = mail[1]["text"].as_str().unwrap();
    assert!(
        text.contains("Spiking: 25 events in the last 5 minutes, 125 times the usual rate"),
        "{text}"
    );
    assert!(text.contains(&format!("/issues/{id}")));
    // Still spiking: no second email (cooldown, and not re-armed).
    send(&app, &event("refund", 0)).await;
    app.evaluate_alerts().await;
    smtp.exactly(2).await;
    smtp.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn an_smtp_server_down_at_first_gets_the_email_once_it_is_up() {
    let port = free_port();
    let app = app_mailing_to(port).await;
    send(&app, &event("ship", 0)).await;
    app.evaluate_alerts().await;
    // Nobody listens yet: the alert waits, its failed attempts counted.
    let mut attempts = 0;
    for _ in 0..100 {
        let log = app.store.project_alerts(ProjectId(3)).await.unwrap();
        attempts = log.first().map(|a| a.attempts).unwrap_or(0);
        if attempts >= 1 {
            assert_eq!(log[0].status.as_str(), "pending");
            assert!(log[0].last_error.is_some());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(attempts >= 1, "a failed attempt is recorded");
    let smtp = SmtpSink::start(port).await;
    let mail = smtp.exactly(1).await;
    assert!(
        mail[0]["subject"]
            .as_str()
            .unwrap()
            .contains("declined in ship")
    );
    let log = app.store.project_alerts(ProjectId(3)).await.unwrap();
    assert_eq!(log[0].status.as_str(), "sent");
    smtp.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn ignored_issues_stay_quiet_unless_ignored_until_they_spike() {
    use snag::store::issues::IssueStatus;
    let port = free_port();
    let smtp = SmtpSink::start(port).await;
    let app = app_mailing_to(port).await;
    // Two issues seen two hours ago (two emails: both new).
    send(&app, &event("quiet", 2 * 3600)).await;
    send(&app, &event("comeback", 2 * 3600)).await;
    app.evaluate_alerts().await;
    smtp.exactly(2).await;
    let issues = app.store.list_issues(ProjectId(3)).await.unwrap();
    let id_of = |f: &str| issues.iter().find(|i| i.title.ends_with(f)).unwrap().id;
    let (quiet, comeback) = (id_of("quiet"), id_of("comeback"));
    app.store
        .set_issue_status(&[quiet], IssueStatus::Ignored, None)
        .await
        .unwrap();
    app.store
        .set_issue_status(&[comeback], IssueStatus::IgnoredUntilEscalating, None)
        .await
        .unwrap();
    for _ in 0..20 {
        send(&app, &event("quiet", 0)).await;
        send(&app, &event("comeback", 0)).await;
    }
    app.evaluate_alerts().await;
    let mail = smtp.exactly(3).await;
    let text = mail[2]["text"].as_str().unwrap();
    assert!(text.contains("Escalating"), "{text}");
    assert!(mail[2]["subject"].as_str().unwrap().contains("comeback"));
    let back = app.store.get_issue(comeback).await.unwrap().unwrap();
    assert_eq!(
        (back.status.as_str(), back.substatus.as_str()),
        ("unresolved", "escalating")
    );
    let still = app.store.get_issue(quiet).await.unwrap().unwrap();
    assert_eq!(still.status.as_str(), "ignored");
    smtp.stop().await;
    app.stop().await;
}

/// A webhook receiver on loopback: answers 503 to the first POST, 200 to the next, and keeps
/// the bodies it accepted.
pub(crate) async fn webhook_receiver() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    tokio::spawn(async move {
        let mut requests = 0;
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then Content-Length bytes of body.
            let body = loop {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if data.len() >= end + 4 + length {
                        break Some(
                            String::from_utf8_lossy(&data[end + 4..end + 4 + length]).to_string(),
                        );
                    }
                }
            };
            requests += 1;
            let status = if requests == 1 {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            if requests > 1
                && let Some(body) = body
            {
                kept.lock().unwrap().push(body);
            }
            let _ = socket
                .write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await;
        }
    });
    (port, bodies)
}

#[tokio::test]
async fn alerts_are_posted_to_the_project_webhook_and_retried() {
    let (port, bodies) = webhook_receiver().await;
    // Mail is off here: the webhook works on its own. The receiver is on loopback, which
    // only an operator's allow list opens to webhooks.
    let app = spawn_app_with(|c| {
        quick_alerts(c);
        c.mail.webhook_allow_hosts = vec!["127.0.0.1".into()];
    })
    .await;
    app.project("shop", ProjectId(3), "shopkey").await;
    let settings = snag::store::alerts::AlertSettings {
        webhook_url: Some(format!("http://127.0.0.1:{port}/hooks/snag")),
        ..Default::default()
    };
    app.store
        .set_alert_settings(ProjectId(3), &settings)
        .await
        .unwrap();
    send(&app, &event("webhooked", 0)).await;
    for _ in 0..150 {
        if !bodies.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = bodies.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "delivered once, after one failure");
    let payload: Value = serde_json::from_str(&received[0]).unwrap();
    assert_eq!(payload["rule"], "new");
    assert_eq!(payload["issue"]["shortId"], "SHOP-1");
    assert!(
        payload["issue"]["permalink"]
            .as_str()
            .unwrap()
            .ends_with("/issues/1")
    );
    // The receiver keeps the body before it answers; the answer is then recorded.
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = app
            .store
            .project_alerts(ProjectId(3))
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.channel, a.status.as_str().to_owned(), a.attempts))
            .collect::<Vec<_>>();
        if rows.iter().any(|r| r.1 == "sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows: Vec<(&str, &str, i64)> = rows
        .iter()
        .map(|(c, s, n)| (c.as_str(), s.as_str(), *n))
        .collect();
    assert_eq!(rows, [("email", "mail_off", 0), ("webhook", "sent", 2)]);
    app.stop().await;
}
