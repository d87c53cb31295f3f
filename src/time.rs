//! Time as Snag keeps it: every table holds milliseconds since the Unix epoch (UTC) in an
//! `i64`; rates count events per minute bucket (`ms / 60,000`) and per hour bucket. The
//! conversions live here so that no other module divides by 60,000.

use std::time::Duration;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
pub const MINUTES_PER_HOUR: i64 = 60;
pub const MINUTES_PER_DAY: i64 = 24 * MINUTES_PER_HOUR;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The minute bucket a time falls in (times before 1970 round down too).
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(MINUTE_MS)
}

/// The hour bucket a time falls in.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// Where minute bucket `minute` starts.
pub fn minute_start(minute: i64) -> i64 {
    minute.saturating_mul(MINUTE_MS)
}

/// A duration in milliseconds, saturating (a configured "forever" stays far in the future).
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_down_on_both_sides_of_the_epoch() {
        assert_eq!(minute_of(59_999), 0);
        assert_eq!(minute_of(60_000), 1);
        assert_eq!(minute_of(-1), -1);
        assert_eq!(hour_of(HOUR_MS * 5 + 1), 5);
        assert_eq!(minute_start(minute_of(123_456)), 120_000);
        assert_eq!(duration_ms(Duration::MAX), i64::MAX);
        assert_eq!(duration_ms(Duration::from_secs(2)), 2_000);
    }
}
