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

mod evaluate;
pub mod message;
mod send;
pub mod webhook;

pub use evaluate::Evaluator;
pub use send::Sender;

use crate::store::alerts::AlertSettings;
use crate::time;
use webhook::AllowList;

/// Longest cooldown (a month), whatever the settings say.
pub const MAX_COOLDOWN_MINUTES: i64 = 43_200;

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
    s.frequency_minutes = s.frequency_minutes.map(|m| m.min(time::MINUTES_PER_DAY));
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
