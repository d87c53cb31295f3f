//! Alerts, off the ingest path (DESIGN.md §5, ALERTS.md): every couple of seconds the
//! evaluator reads what the writer committed and records alerts; the mailer sends them.
//!
//! ```text
//! issues created since the last look ──────────▶ new
//! issues regressed since the last look ────────▶ regression      ┐
//! issues with events in the last 5 minutes ────▶ spike / escalating / frequency (rates::Episode)
//!                                                                 ▼
//!        alert_log (written first, one row per issue and episode) ──▶ sender: SMTP and
//!                                                                       webhooks, retried
//! ```
//! Ignored issues do not alert; one ignored "until it escalates" comes back when it spikes.

pub mod message;
pub mod webhook;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use futures_util::StreamExt;

use crate::app::AppState;
use crate::rates::{self, Episode, SpikeThresholds, Window};
use crate::store::alerts::{AlertIssue, AlertSettings, NewAlert};
use crate::store::{StoreError, now_ms};
use message::Reason;
use webhook::{AllowList, Poster};

/// How often the evaluator looks and the mailer sends.
const EVALUATE_EVERY: Duration = Duration::from_secs(2);
const SEND_EVERY: Duration = Duration::from_secs(1);
/// How often alerts are evaluated while nothing is written.
const IDLE_EVALUATE_EVERY: Duration = Duration::from_secs(60);
/// Attempts before an alert is given up (about a day of retries).
const MAX_ATTEMPTS: i64 = 30;
/// Longest cooldown (a month), whatever the settings say.
pub const MAX_COOLDOWN_MINUTES: i64 = 43_200;
/// A sender claims an alert for this long before sending it, so that a failure to record the
/// result cannot make the next round send it again at once.
const CLAIM_MS: i64 = 10 * 60_000;
/// First retry after this; each next waits twice as long, at most an hour.
const FIRST_RETRY_MS: i64 = 2_000;
/// Deliveries of one channel in flight at once: a slow destination holds up only its own.
const CONCURRENT_DELIVERIES: usize = 16;

/// Settings as a person (web form or API) gave them, checked and put in bounds: recipients must
/// be addresses, a webhook an http(s) URL, a frequency rule both of its numbers; cooldown and
/// window are capped.
pub fn checked_settings(mut s: AlertSettings) -> Result<AlertSettings, String> {
    let recipients: Vec<&str> = s
        .recipients
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    if let Some(bad) = recipients
        .iter()
        .find(|r| !r.contains('@') || r.contains(' '))
    {
        return Err(format!("{bad:?} is not an email address"));
    }
    s.recipients = (!recipients.is_empty()).then(|| recipients.join(", "));
    let webhook = s.webhook_url.as_deref().map(str::trim).unwrap_or("");
    if !webhook.is_empty() && crate::format::safe_link(webhook).is_none() {
        return Err(format!(
            "the webhook must be an http(s) URL (got {webhook:?})"
        ));
    }
    s.webhook_url = (!webhook.is_empty()).then(|| webhook.to_owned());
    if s.frequency_count.is_some() != s.frequency_minutes.is_some() {
        return Err("give both the number of events and the minutes, or neither".into());
    }
    s.frequency_minutes = s.frequency_minutes.map(|m| m.min(24 * 60));
    s.cooldown_minutes = s.cooldown_minutes.min(MAX_COOLDOWN_MINUTES);
    Ok(s)
}

/// [`checked_settings`], with the webhook's destination resolved and checked as well (see
/// [`webhook`]): what the web form and the API save.
pub async fn settings_to_save(
    s: AlertSettings,
    allow: &AllowList,
) -> Result<AlertSettings, String> {
    let s = checked_settings(s)?;
    if let Some(url) = &s.webhook_url {
        webhook::check_destination(url, allow)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// Starts the evaluator and the senders (mail, webhooks: each on its own, so that a slow
/// destination of one never holds up the other); they run until the server stops.
pub fn start(
    state: actix_web::web::Data<AppState>,
    base_url: String,
) -> Vec<tokio::task::JoinHandle<()>> {
    let transport = match state.config.mail.smtp_url.as_deref().map(transport) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            tracing::error!(error = %e, "SNAG_SMTP_URL is not usable: alerts are recorded, not mailed");
            None
        }
        None => {
            tracing::info!(
                "alert emails are off (set SNAG_SMTP_URL): alerts are recorded and shown"
            );
            None
        }
    };
    let mail_on = transport.is_some();
    let evaluator = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(EVALUATE_EVERY);
            // (writer activity, when) of the last evaluation: alerts come from events, so
            // without writes evaluating again waits for a minute to pass.
            let mut last: Option<(u64, std::time::Instant)> = None;
            loop {
                every.tick().await;
                let activity = state.writer_stats.activity();
                if last.is_some_and(|(seen, at)| {
                    seen == activity && at.elapsed() < IDLE_EVALUATE_EVERY
                }) {
                    continue;
                }
                last = Some((activity, std::time::Instant::now()));
                if let Err(e) = evaluate(&state, &base_url, mail_on, now_ms()).await {
                    tracing::warn!(error = %e, "alert evaluation failed");
                }
            }
        })
    };
    let mut tasks = vec![evaluator];
    if let Some(transport) = transport {
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            let channel = Channel::Email(&transport);
            let mut every = tokio::time::interval(SEND_EVERY);
            loop {
                every.tick().await;
                if let Err(e) = send_due(&state, "email", &channel, now_ms()).await {
                    tracing::warn!(error = %e, "sending alert emails failed");
                }
            }
        }));
    }
    match Poster::new(AllowList::new(&state.config.mail.webhook_allow_hosts)) {
        Ok(poster) => tasks.push(tokio::spawn(async move {
            let channel = Channel::Webhook(&poster);
            let mut every = tokio::time::interval(SEND_EVERY);
            loop {
                every.tick().await;
                if let Err(e) = send_due(&state, "webhook", &channel, now_ms()).await {
                    tracing::warn!(error = %e, "sending alert webhooks failed");
                }
            }
        })),
        Err(e) => tracing::error!(error = %e, "no HTTP client: alert webhooks are off"),
    }
    tasks
}

/// Where a due alert goes.
enum Channel<'a> {
    Email(&'a AsyncSmtpTransport<Tokio1Executor>),
    Webhook(&'a Poster),
}

/// lettre's transport from `smtp://`, `smtps://` URLs (`?tls=starttls` is lettre's `required`).
fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let url = url.replace("tls=starttls", "tls=required");
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map_err(|e| e.to_string())?
        .timeout(Some(Duration::from_secs(15)))
        .build())
}

/// One look at what changed since the last: records the alerts that are due.
pub async fn evaluate(
    state: &AppState,
    base_url: &str,
    mail_on: bool,
    now: i64,
) -> Result<(), StoreError> {
    let store = &state.store;
    let recorder = Recorder {
        state,
        base_url,
        mail_on,
        now,
    };
    // New issues (on the first run, those already there are history, not news).
    let cursor = match store.alert_cursor("new_issues").await? {
        Some(c) => c,
        None => store.max_issue_id().await?,
    };
    let mut last = cursor;
    for issue in store.issues_after(cursor, 500).await? {
        last = issue.id;
        let settings = store.alert_settings(issue.project_id).await?;
        if settings.on_new && issue.status != "ignored" {
            let key = format!("new:{}", issue.id);
            recorder.record(&issue, &settings, Reason::New, key).await?;
        }
    }
    store.set_alert_cursor("new_issues", last).await?;

    // Regressions: the writer stamps `regressed_at` when a resolved issue is seen again.
    let since = store.alert_cursor("regressions").await?.unwrap_or(now);
    let mut newest = since;
    for issue in store.regressed_since(since).await? {
        let at = issue.regressed_at.unwrap_or(now);
        newest = newest.max(at);
        let settings = store.alert_settings(issue.project_id).await?;
        if settings.on_regression {
            let key = format!("regression:{}:{at}", issue.id);
            recorder
                .record(&issue, &settings, Reason::Regression, key)
                .await?;
        }
    }
    store.set_alert_cursor("regressions", newest).await?;

    // Rates: issues with recent events, and those waiting to re-arm.
    let now_minute = now.div_euclid(60_000);
    let mut settings_of: std::collections::HashMap<i64, AlertSettings> = Default::default();
    for issue_id in store
        .rate_candidates(now_minute - rates::WINDOW_MINUTES + 1)
        .await?
    {
        let Some(issue) = store.alert_issue(issue_id).await? else {
            continue;
        };
        let settings = match settings_of.get(&issue.project_id) {
            Some(s) => s.clone(),
            None => {
                let s = store.alert_settings(issue.project_id).await?;
                settings_of.insert(issue.project_id, s.clone());
                s
            }
        };
        let minutes = store
            .issue_minutes_since(issue.id, now_minute - 25 * 60)
            .await?;
        let cooldown = settings.cooldown_minutes.clamp(1, MAX_COOLDOWN_MINUTES) * 60_000;
        let until_escalating =
            issue.status == "ignored" && issue.substatus == "archived_until_escalating";

        let window = Window::at(&minutes, now_minute, issue.first_seen.div_euclid(60_000));
        let thresholds = SpikeThresholds {
            min_count: settings.spike_min_count,
            ratio: settings.spike_ratio,
            z: settings.spike_z,
        };
        let spiking = rates::is_spike(window, thresholds);
        let previous = store.alert_episode(issue.id, "spike").await?;
        let (fire, episode) = previous.step(spiking, now, cooldown);
        if fire && until_escalating {
            store.escalate_issue(issue.id).await?;
            let reason = Reason::Escalating {
                count: window.current,
                usual: window.baseline,
            };
            let key = format!("escalating:{}:{now_minute}", issue.id);
            recorder.record(&issue, &settings, reason, key).await?;
        } else if fire && settings.on_spike && issue.status != "ignored" {
            let reason = Reason::Spike {
                count: window.current,
                usual: window.baseline,
            };
            let key = format!("spike:{}:{now_minute}", issue.id);
            recorder.record(&issue, &settings, reason, key).await?;
        }
        // Kept after the alert is recorded (a failed recording is tried again next round), and
        // only when it changed: a quiet issue costs no write.
        if episode != previous {
            store.set_alert_episode(issue.id, "spike", episode).await?;
        }

        if let (Some(count), Some(span)) = (settings.frequency_count, settings.frequency_minutes) {
            let over = rates::more_than(&minutes, now_minute, count, span.clamp(1, 24 * 60));
            let previous: Episode = store.alert_episode(issue.id, "frequency").await?;
            let (fire, episode) = previous.step(over, now, cooldown);
            if fire && issue.status != "ignored" {
                let reason = Reason::Frequency {
                    count,
                    minutes: span,
                };
                let key = format!("frequency:{}:{now_minute}", issue.id);
                recorder.record(&issue, &settings, reason, key).await?;
            }
            if episode != previous {
                store
                    .set_alert_episode(issue.id, "frequency", episode)
                    .await?;
            }
        }
    }
    Ok(())
}

/// What recording an alert needs besides the alert itself.
struct Recorder<'a> {
    state: &'a AppState,
    base_url: &'a str,
    mail_on: bool,
    now: i64,
}

impl Recorder<'_> {
    /// Writes the alert (and its webhook delivery) to `alert_log`, once per `dedupe_key`.
    async fn record(
        &self,
        issue: &AlertIssue,
        settings: &AlertSettings,
        reason: Reason,
        dedupe_key: String,
    ) -> Result<(), StoreError> {
        let Recorder {
            state,
            base_url,
            mail_on,
            now,
        } = *self;
        let recipients = match &settings.recipients {
            Some(list) if !list.trim().is_empty() => list
                .split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
            _ => state.store.user_emails().await?,
        };
        let link = format!("{}/issues/{}", base_url.trim_end_matches('/'), issue.id);
        let (subject, body_text, body_html) = message::compose(issue, &reason, &link);
        let alert = NewAlert {
            project_id: issue.project_id,
            issue_id: Some(issue.id),
            rule: reason.rule(),
            dedupe_key,
            reason: reason.describe(),
            recipients,
            subject,
            body_text,
            body_html,
        };
        let status = if mail_on && !alert.recipients.is_empty() {
            "pending"
        } else {
            "mail_off"
        };
        let recorded = state
            .store
            .record_alert(&alert, status, now, settings.max_emails_per_hour)
            .await?;
        // Also after a duplicate: a webhook row missing after an earlier failure is made now
        // (its own key keeps it single).
        if let Some(url) = settings.webhook_url.as_deref().filter(|u| !u.is_empty()) {
            let payload = message::webhook_payload(issue, &reason, &link);
            state
                .store
                .record_webhook(&alert, url, &payload, now, settings.max_emails_per_hour)
                .await?;
        }
        tracing::info!(issue = issue.id, rule = alert.rule, ?recorded, "alert");
        Ok(())
    }
}

/// Sends the alerts of `channel` that are due; a failure is retried with backoff (the row
/// keeps count).
async fn send_due(
    state: &AppState,
    channel_name: &str,
    channel: &Channel<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let from: Mailbox = state
        .config
        .mail
        .mail_from
        .parse()
        .unwrap_or_else(|_| "snag@localhost".parse().expect("a mailbox"));
    let due = state.store.due_alerts(channel_name, now, 64).await?;
    for alert in &due {
        state.store.claim_alert(alert.id, now + CLAIM_MS).await?;
    }
    let results: Vec<Result<(), StoreError>> = futures_util::stream::iter(due)
        .map(|alert| deliver(state, channel_name, channel, &from, alert))
        .buffer_unordered(CONCURRENT_DELIVERIES)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Sends one claimed alert and records how it went.
async fn deliver(
    state: &AppState,
    channel_name: &str,
    channel: &Channel<'_>,
    from: &Mailbox,
    alert: crate::store::alerts::AlertRecord,
) -> Result<(), StoreError> {
    let result = match channel {
        Channel::Email(transport) => match build(&alert, from) {
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
            state.store.alert_sent(alert.id, now_ms()).await?;
            state.metrics.alert_delivery("sent");
        }
        Err(e) => {
            let attempts = alert.attempts + 1;
            let retry_at = (attempts < MAX_ATTEMPTS).then(|| {
                let backoff = (FIRST_RETRY_MS << (attempts - 1).min(20)).min(3_600_000);
                now_ms() + backoff
            });
            tracing::warn!(alert = alert.id, channel = channel_name, attempts, error = %e, "alert not delivered");
            state
                .store
                .alert_attempt_failed(alert.id, &e, retry_at)
                .await?;
            state.metrics.alert_delivery(if retry_at.is_some() {
                "retry"
            } else {
                "failed"
            });
        }
    }
    Ok(())
}

fn build(alert: &crate::store::alerts::AlertRecord, from: &Mailbox) -> Result<Message, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_bounded() {
        let s = |f: fn(&mut AlertSettings)| {
            let mut s = AlertSettings::default();
            f(&mut s);
            checked_settings(s)
        };
        let ok = s(|s| {
            s.recipients = Some(" a@b.io ,, c@d.io ".into());
            s.webhook_url = Some(" https://chat.example.com/h ".into());
            s.frequency_count = Some(5);
            s.frequency_minutes = Some(100_000);
            s.cooldown_minutes = i64::MAX;
        })
        .unwrap();
        assert_eq!(ok.recipients.as_deref(), Some("a@b.io, c@d.io"));
        assert_eq!(
            ok.webhook_url.as_deref(),
            Some("https://chat.example.com/h")
        );
        assert_eq!(ok.frequency_minutes, Some(24 * 60));
        assert_eq!(ok.cooldown_minutes, MAX_COOLDOWN_MINUTES);
        assert_eq!(
            s(|s| s.recipients = Some("   ".into())).unwrap().recipients,
            None
        );
        assert!(s(|s| s.recipients = Some("not an address".into())).is_err());
        assert!(s(|s| s.webhook_url = Some("javascript:alert(1)".into())).is_err());
        assert!(s(|s| s.frequency_count = Some(5)).is_err());
    }
}
