//! Timestamps and levels in every form SDKs send them.
//!
//! Timestamps: `"2026-11-22T01:53:37.577053Z"`, `"2026-11-22T01:58:06"` (UTC), offsets,
//! 9 fractional digits, `1795312455.775`, `1795312455`, or numeric strings.
//! Levels: `"error"`, `"warn"`, `"critical"`, `"log"`, or Python logging integers (`40`).

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

/// Events dated further in the past than this get their receive time instead (as Relay).
const MAX_AGE_MS: i64 = 30 * crate::time::DAY_MS;
/// Events dated further in the future than this get their receive time instead.
const MAX_FUTURE_MS: i64 = crate::time::MINUTE_MS;

/// The event time in unix ms: the payload's timestamp when sane, else the receive time.
pub fn event_time(timestamp: Option<&Value>, received_ms: i64) -> i64 {
    timestamp
        .and_then(parse_timestamp)
        .filter(|&t| t >= received_ms - MAX_AGE_MS && t <= received_ms + MAX_FUTURE_MS)
        .unwrap_or(received_ms)
}

/// Parses a timestamp into unix ms.
pub fn parse_timestamp(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => seconds_to_ms(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(secs) = s.parse::<f64>() {
                return seconds_to_ms(secs);
            }
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.timestamp_millis());
            }
            // ISO 8601 without a zone is UTC.
            [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M:%S",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .map(|t| t.and_utc().timestamp_millis())
        }
        _ => None,
    }
}

fn seconds_to_ms(secs: f64) -> Option<i64> {
    // Year 1970..=9999; anything else is garbage.
    (secs.is_finite() && (0.0..253_402_300_800.0).contains(&secs))
        .then(|| (secs * 1000.0).round() as i64)
}

/// Parses a level into one of `fatal, error, warning, info, debug`.
pub fn parse_level(value: &Value) -> Option<&'static str> {
    match value {
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "fatal" | "critical" => Some("fatal"),
            "error" | "err" => Some("error"),
            "warning" | "warn" => Some("warning"),
            "info" | "log" => Some("info"),
            "debug" | "trace" => Some("debug"),
            other => other.parse::<i64>().ok().and_then(level_from_number),
        },
        Value::Number(n) => n.as_i64().and_then(level_from_number),
        _ => None,
    }
}

/// Python logging levels: 10 debug, 20 info, 30 warning, 40 error, 50 fatal.
fn level_from_number(n: i64) -> Option<&'static str> {
    match n {
        50.. => Some("fatal"),
        40..=49 => Some("error"),
        30..=39 => Some("warning"),
        20..=29 => Some("info"),
        0..=19 => Some("debug"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamp_forms() {
        let ms = 1_795_312_417_577;
        assert_eq!(
            parse_timestamp(&json!("2026-11-22T01:53:37.577053Z")),
            Some(ms)
        );
        assert_eq!(
            parse_timestamp(&json!("2026-11-22T01:53:37.577053147Z")),
            Some(ms)
        );
        assert_eq!(parse_timestamp(&json!("2026-11-22T01:53:37.577")), Some(ms));
        assert_eq!(
            parse_timestamp(&json!("2026-11-22T02:53:37.577+01:00")),
            Some(ms)
        );
        assert_eq!(
            parse_timestamp(&json!("2026-11-22T01:53:37")),
            Some(ms - 577)
        );
        assert_eq!(parse_timestamp(&json!(1_795_312_417.577)), Some(ms));
        assert_eq!(parse_timestamp(&json!(1_795_312_417)), Some(ms - 577));
        assert_eq!(parse_timestamp(&json!("1795312417.577")), Some(ms));
        assert_eq!(parse_timestamp(&json!("yesterday")), None);
        assert_eq!(parse_timestamp(&json!(-5)), None);
        assert_eq!(parse_timestamp(&json!(1e300)), None);
        assert_eq!(parse_timestamp(&json!(null)), None);
    }

    #[test]
    fn insane_times_become_the_receive_time() {
        let now = 1_795_312_417_577;
        assert_eq!(
            event_time(Some(&json!(1_795_312_400)), now),
            1_795_312_400_000
        );
        assert_eq!(event_time(Some(&json!(1_000_000_000)), now), now);
        assert_eq!(event_time(Some(&json!(1_895_312_400)), now), now);
        assert_eq!(event_time(None, now), now);
    }

    #[test]
    fn level_forms() {
        assert_eq!(parse_level(&json!("error")), Some("error"));
        assert_eq!(parse_level(&json!("WARN")), Some("warning"));
        assert_eq!(parse_level(&json!("critical")), Some("fatal"));
        assert_eq!(parse_level(&json!("log")), Some("info"));
        assert_eq!(parse_level(&json!(40)), Some("error"));
        assert_eq!(parse_level(&json!(10)), Some("debug"));
        assert_eq!(parse_level(&json!("50")), Some("fatal"));
        assert_eq!(parse_level(&json!("loud")), None);
        assert_eq!(parse_level(&json!(-1)), None);
    }
}
