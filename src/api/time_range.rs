//! The time range a request asks for, as Sentry's API reads it.
//!
//! ```text
//! ?statsPeriod=14d                     the last 14 days (s, m, h, d, w; a bare number is seconds)
//! ?start=2026-11-01T00:00:00&end=2026-11-02T00:00:00    ISO 8601, UTC when no zone is given
//! ```
//! Both forms at once, half a `start`/`end` pair, a period that does not parse, or a start
//! after its end are the client's error: answered 400, never ignored.

use super::ApiError;
use crate::format::field as get;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

/// Unix ms, `start` inclusive and `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The range `query` names through `period_key` (`statsPeriod`) or `start`/`end`; `None` when
/// it names none.
pub fn from_query(
    query: &[(String, String)],
    period_key: &str,
    now_ms: i64,
) -> Result<Option<TimeRange>, ApiError> {
    let period = get(query, period_key).filter(|p| !p.is_empty());
    let start = get(query, "start").filter(|s| !s.is_empty());
    let end = get(query, "end").filter(|s| !s.is_empty());
    let range = match (period, start, end) {
        (None, None, None) => return Ok(None),
        (Some(period), None, None) => TimeRange {
            start_ms: now_ms.saturating_sub(period_ms(period)?),
            end_ms: now_ms.saturating_add(1),
        },
        (None, Some(start), Some(end)) => TimeRange {
            start_ms: instant(start, "start")?,
            end_ms: instant(end, "end")?,
        },
        (Some(_), _, _) => {
            return Err(ApiError::BadRequest(format!(
                "give either {period_key} or start and end, not both"
            )));
        }
        (None, _, _) => {
            return Err(ApiError::BadRequest(
                "start and end must be given together".into(),
            ));
        }
    };
    if range.start_ms > range.end_ms {
        return Err(ApiError::BadRequest("start must be before end".into()));
    }
    Ok(Some(range))
}

/// `90d`, `24h`, `30m`, `2w`, `45s`, `3600`.
pub fn period_ms(period: &str) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::BadRequest(format!(
            "invalid period {period:?}: a number and one of s, m, h, d, w (14d)"
        ))
    };
    let digits = period.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit_ms = match &period[digits.len()..] {
        "" | "s" => 1000,
        "m" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        _ => return Err(invalid()),
    };
    let n: i64 = digits.parse().map_err(|_| invalid())?;
    n.checked_mul(unit_ms)
        .filter(|ms| *ms > 0)
        .ok_or_else(invalid)
}

fn instant(text: &str, name: &str) -> Result<i64, ApiError> {
    crate::normalize::parse_timestamp(&serde_json::Value::String(text.to_owned())).ok_or_else(
        || {
            ApiError::BadRequest(format!(
                "invalid {name} {text:?}: an ISO 8601 date and time (2026-11-01T00:00:00Z)"
            ))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::q;
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn periods_and_instants() {
        let range = |pairs: &[(&str, &str)]| from_query(&q(pairs), "statsPeriod", NOW).unwrap();
        assert_eq!(range(&[]), None);
        assert_eq!(
            range(&[("statsPeriod", "14d")]),
            Some(TimeRange {
                start_ms: NOW - 14 * DAY_MS,
                end_ms: NOW + 1
            })
        );
        for (period, ms) in [
            ("90m", 90 * MINUTE_MS),
            ("24h", DAY_MS),
            ("2w", 14 * DAY_MS),
            ("3600", HOUR_MS),
        ] {
            assert_eq!(
                range(&[("statsPeriod", period)]).unwrap().start_ms,
                NOW - ms
            );
        }
        assert_eq!(
            range(&[
                ("start", "2026-11-01T00:00:00"),
                ("end", "2026-11-02T00:00:00Z")
            ]),
            Some(TimeRange {
                start_ms: 1_793_491_200_000,
                end_ms: 1_793_577_600_000
            })
        );
    }

    #[test]
    fn what_cannot_be_honoured_is_refused() {
        for pairs in [
            vec![("statsPeriod", "auto")],
            vec![("statsPeriod", "14x")],
            vec![("statsPeriod", "0d")],
            vec![("statsPeriod", "99999999999999w")],
            vec![("start", "2026-11-01T00:00:00")],
            vec![("start", "yesterday"), ("end", "2026-11-02T00:00:00")],
            vec![
                ("start", "2026-11-03T00:00:00"),
                ("end", "2026-11-02T00:00:00"),
            ],
            vec![
                ("statsPeriod", "1d"),
                ("start", "2026-11-01T00:00:00"),
                ("end", "2026-11-02T00:00:00"),
            ],
        ] {
            assert!(
                matches!(
                    from_query(&q(&pairs), "statsPeriod", NOW),
                    Err(ApiError::BadRequest(_))
                ),
                "{pairs:?}"
            );
        }
    }
}
