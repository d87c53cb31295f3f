//! The evaluator: every couple of seconds after writes (a minute while nothing is written) it
//! reads what the writer committed and records the alerts that are due in `alert_log`, once
//! per issue and episode; the senders ([`super::send`]) deliver them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::MAX_COOLDOWN_MINUTES;
use super::message::{self, Reason};
use crate::rates::{self, Episode, SpikeThresholds, Window};
use crate::store::alerts::{AlertIssue, AlertSettings, Delivery, NewAlert};
use crate::store::issue_state::{Status, Substatus};
use crate::store::writer::WriterStats;
use crate::store::{IssueId, ProjectId, Store, StoreError};
use crate::time;
use crate::workers::{Next, WorkError, Worker};

/// The alert evaluator's state.
pub struct Evaluator {
    store: Store,
    stats: Arc<WriterStats>,
    /// The public URL alert messages link to.
    base_url: String,
    /// Whether an email sender runs (without one, alerts are recorded as `mail_off`).
    mail_on: bool,
    /// How often it evaluates while nothing is written.
    idle_every: Duration,
    /// (writer activity, when) of the last evaluation: alerts come from events, so without
    /// writes evaluating again waits for `idle_every`.
    last: Option<(u64, Instant)>,
}

impl Evaluator {
    pub fn new(
        store: Store,
        stats: Arc<WriterStats>,
        base_url: String,
        mail_on: bool,
        idle_every: Duration,
    ) -> Evaluator {
        Evaluator {
            store,
            stats,
            base_url,
            mail_on,
            idle_every,
            last: None,
        }
    }

    /// One evaluation as if the time were `now_ms`, whatever was written since the last.
    pub async fn run_once(&self, now_ms: i64) -> Result<(), StoreError> {
        evaluate(&self.store, &self.base_url, self.mail_on, now_ms).await
    }
}

impl Worker for Evaluator {
    const NAME: &'static str = "alert evaluator";

    async fn round(&mut self, now_ms: i64) -> Result<Next, WorkError> {
        let activity = self.stats.activity();
        let idle = self
            .last
            .is_some_and(|(seen, at)| seen == activity && at.elapsed() < self.idle_every);
        if !idle {
            self.last = Some((activity, Instant::now()));
            self.run_once(now_ms).await?;
        }
        Ok(Next::Usual)
    }
}

/// One look at what changed since the last: records the alerts that are due.
async fn evaluate(
    store: &Store,
    base_url: &str,
    mail_on: bool,
    now: i64,
) -> Result<(), StoreError> {
    let recorder = Recorder {
        store,
        base_url,
        mail_on,
        now,
    };
    // New issues (on the first run, those already there are history, not news).
    let cursor = match store.alert_cursor("new_issues").await? {
        Some(c) => IssueId(c),
        None => store.max_issue_id().await?,
    };
    let mut last = cursor;
    for issue in store.issues_after(cursor, 500).await? {
        last = issue.id;
        let settings = store.alert_settings(issue.project_id).await?;
        if settings.on_new && issue.status != Status::Ignored {
            let key = format!("new:{}", issue.id);
            recorder.record(&issue, &settings, Reason::New, key).await?;
        }
    }
    store.set_alert_cursor("new_issues", last.get()).await?;

    // Regressions: the writer stamps `regressed_at` when a resolved issue is seen again.
    let since = store.alert_cursor("regressions").await?.unwrap_or(now);
    let mut newest = since;
    for issue in store.regressed_since(since).await? {
        let at = issue.regressed_at.unwrap_or(now);
        newest = newest.max(at);
        store.record_regression(issue.id, at).await?;
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
    let now_minute = time::minute_of(now);
    let mut settings_of: std::collections::HashMap<ProjectId, AlertSettings> = Default::default();
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
            .issue_minutes_since(issue.id, now_minute - 25 * time::MINUTES_PER_HOUR)
            .await?;
        let cooldown = settings.cooldown_minutes.clamp(1, MAX_COOLDOWN_MINUTES) * time::MINUTE_MS;
        let until_escalating = issue.substatus == Substatus::ArchivedUntilEscalating;

        let window = Window::at(&minutes, now_minute, time::minute_of(issue.first_seen));
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
        } else if fire && settings.on_spike && issue.status != Status::Ignored {
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
            let over = rates::more_than(
                &minutes,
                now_minute,
                count,
                span.clamp(1, time::MINUTES_PER_DAY),
            );
            let previous: Episode = store.alert_episode(issue.id, "frequency").await?;
            let (fire, episode) = previous.step(over, now, cooldown);
            if fire && issue.status != Status::Ignored {
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
    store: &'a Store,
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
            store,
            base_url,
            mail_on,
            now,
        } = *self;
        let mut recipients: Vec<String> = match &settings.recipients {
            Some(list) if !list.trim().is_empty() => list
                .split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
            _ => store.user_emails().await?,
        };
        // Whoever the issue is assigned to hears when it comes back.
        if matches!(reason, Reason::Regression)
            && let Some(assignee) = &issue.assignee_email
            && !recipients.iter().any(|r| r.eq_ignore_ascii_case(assignee))
        {
            recipients.push(assignee.clone());
        }
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
            Delivery::Pending
        } else {
            Delivery::MailOff
        };
        let recorded = store
            .record_alert(&alert, status, now, settings.max_emails_per_hour)
            .await?;
        // Also after a duplicate: a webhook row missing after an earlier failure is made now
        // (its own key keeps it single).
        if let Some(url) = settings.webhook_url.as_deref().filter(|u| !u.is_empty()) {
            let payload = message::webhook_payload(issue, &reason, &link);
            store
                .record_webhook(&alert, url, &payload, now, settings.max_emails_per_hour)
                .await?;
        }
        tracing::info!(
            issue = issue.id.get(),
            rule = alert.rule,
            ?recorded,
            "alert"
        );
        Ok(())
    }
}
