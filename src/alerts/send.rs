//! The senders: every second each channel (email over SMTP, webhooks) delivers the alerts due
//! on it, up to 16 at a time, and records how it went; a failure is retried with a doubling
//! backoff. Each channel runs on its own, so a slow destination never holds up the other.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::webhook::{AllowList, Poster};
use crate::config;
use crate::metrics::Metrics;
use crate::store::alerts::AlertRecord;
use crate::store::{Store, StoreError, now_ms};
use crate::time;
use crate::workers::{Next, WorkError, Worker};

/// Attempts before an alert is given up (about a day of retries).
const MAX_ATTEMPTS: i64 = 30;
/// A sender claims an alert for this long before sending it, so that a failure to record the
/// result cannot make the next round send it again at once.
const CLAIM_MS: i64 = 10 * time::MINUTE_MS;
/// First retry after this; each next waits twice as long, at most an hour.
const FIRST_RETRY_MS: i64 = 2_000;
/// Deliveries of one channel in flight at once: a slow destination holds up only its own.
const CONCURRENT_DELIVERIES: usize = 16;

/// Where due alerts go.
enum Channel {
    Email {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Webhook(Poster),
}

impl Channel {
    /// The channel's name in `alert_log`.
    fn name(&self) -> &'static str {
        match self {
            Channel::Email { .. } => "email",
            Channel::Webhook(_) => "webhook",
        }
    }
}

/// One channel's sender.
pub struct Sender {
    store: Store,
    metrics: Arc<Metrics>,
    channel: Channel,
}

impl Sender {
    /// The email sender when `SNAG_SMTP_URL` is set and usable (alerts are recorded and shown
    /// either way).
    pub fn email(mail: &config::Mail, store: &Store, metrics: &Arc<Metrics>) -> Option<Sender> {
        let transport = match mail.smtp_url.as_ref().map(|url| transport(url.expose())) {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                tracing::error!(error = %e, "SNAG_SMTP_URL is not usable: alerts are recorded, not mailed");
                return None;
            }
            None => {
                tracing::info!(
                    "alert emails are off (set SNAG_SMTP_URL): alerts are recorded and shown"
                );
                return None;
            }
        };
        let from = match mail.mail_from.parse() {
            Ok(from) => from,
            Err(e) => {
                tracing::warn!(error = %e, from = mail.mail_from, "SNAG_MAIL_FROM is not a mailbox: alert emails come from snag@localhost");
                Mailbox::new(None, lettre::Address::new("snag", "localhost").ok()?)
            }
        };
        Some(Sender {
            store: store.clone(),
            metrics: metrics.clone(),
            channel: Channel::Email { transport, from },
        })
    }

    /// The webhook sender (destinations checked at each connection, `--webhook-allow-hosts`).
    pub fn webhook(mail: &config::Mail, store: &Store, metrics: &Arc<Metrics>) -> Option<Sender> {
        match Poster::new(AllowList::new(&mail.webhook_allow_hosts)) {
            Ok(poster) => Some(Sender {
                store: store.clone(),
                metrics: metrics.clone(),
                channel: Channel::Webhook(poster),
            }),
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client: alert webhooks are off");
                None
            }
        }
    }

    /// Delivers what is due on this channel as if the time were `now_ms`.
    pub async fn run_once(&self, now_ms: i64) -> Result<(), StoreError> {
        send_due(self, now_ms).await
    }
}

impl Worker for Sender {
    const NAME: &'static str = "alert sender";

    async fn round(&mut self, now_ms: i64) -> Result<Next, WorkError> {
        self.run_once(now_ms).await?;
        Ok(Next::Usual)
    }
}

/// lettre's transport from `smtp://`, `smtps://` URLs (`?tls=starttls` is lettre's `required`).
fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let url = url.replace("tls=starttls", "tls=required");
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map_err(|e| e.to_string())?
        .timeout(Some(Duration::from_secs(15)))
        .build())
}

/// Sends the alerts of `channel` that are due; a failure is retried with backoff (the row
/// keeps count).
async fn send_due(sender: &Sender, now: i64) -> Result<(), StoreError> {
    let channel_name = sender.channel.name();
    let due = sender.store.due_alerts(channel_name, now, 64).await?;
    for alert in &due {
        sender.store.claim_alert(alert.id, now + CLAIM_MS).await?;
    }
    let results: Vec<Result<(), StoreError>> = futures_util::stream::iter(due)
        .map(|alert| deliver(sender, alert))
        .buffer_unordered(CONCURRENT_DELIVERIES)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Sends one claimed alert and records how it went.
async fn deliver(sender: &Sender, alert: AlertRecord) -> Result<(), StoreError> {
    let result = match &sender.channel {
        Channel::Email { transport, from } => match build(&alert, from) {
            Ok(email) => transport
                .send(email)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        },
        Channel::Webhook(poster) => poster.post(&alert.recipients, &alert.body_text).await,
    };
    match result {
        Ok(()) => {
            sender.store.alert_sent(alert.id, now_ms()).await?;
            sender.metrics.alert_delivery("sent");
        }
        Err(e) => {
            let attempts = alert.attempts + 1;
            let retry_at = (attempts < MAX_ATTEMPTS).then(|| {
                let backoff = (FIRST_RETRY_MS << (attempts - 1).min(20)).min(time::HOUR_MS);
                now_ms() + backoff
            });
            tracing::warn!(alert = alert.id, channel = sender.channel.name(), attempts, error = %e, "alert not delivered");
            sender
                .store
                .alert_attempt_failed(alert.id, &e, retry_at)
                .await?;
            sender.metrics.alert_delivery(if retry_at.is_some() {
                "retry"
            } else {
                "failed"
            });
        }
    }
    Ok(())
}

fn build(alert: &AlertRecord, from: &Mailbox) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(alert.subject.clone());
    let mut any = false;
    for to in alert
        .recipients
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        match to.parse::<Mailbox>() {
            Ok(mailbox) => {
                builder = builder.to(mailbox);
                any = true;
            }
            Err(e) => tracing::warn!(recipient = to, error = %e, "not an email address"),
        }
    }
    if !any {
        return Err("no valid recipient".into());
    }
    let body = if alert.body_html.is_empty() {
        MultiPart::alternative_plain_html(
            alert.body_text.clone(),
            format!("<pre>{}</pre>", alert.body_text.replace('<', "&lt;")),
        )
    } else {
        MultiPart::alternative_plain_html(alert.body_text.clone(), alert.body_html.clone())
    };
    builder.multipart(body).map_err(|e| e.to_string())
}
