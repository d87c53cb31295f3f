//! When a monitor expects its next check-in: a crontab or an interval, in the monitor's time
//! zone, as Sentry computes it.
//!
//! ```text
//! {"type": "crontab",  "value": "0 2 * * MON-FRI"}        next cron match after the check-in
//! {"type": "interval", "value": 30, "unit": "minute"}      the check-in + 30 minutes
//! ```
//!
//! Both are truncated to the minute. Crontabs are Sentry's dialect: five fields (names, ranges,
//! steps, `L`, `#`), the aliases `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@hourly`,
//! and Vixie cron's day rule as Sentry's cronsim applies it: day of month *and* day of week
//! when either field starts with `*`, else either. croner evaluates them, chrono-tz knows the
//! zones.

use chrono::{DateTime, Months, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::time::MINUTE_MS;

/// Why a schedule was refused (said to the client as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

impl ScheduleError {
    pub fn new(why: impl Into<String>) -> ScheduleError {
        ScheduleError(why.into())
    }
}

fn refuse(why: impl Into<String>) -> ScheduleError {
    ScheduleError::new(why)
}

/// The unit of an interval schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl IntervalUnit {
    pub fn parse(unit: &str) -> Result<IntervalUnit, ScheduleError> {
        Ok(match unit {
            "minute" => IntervalUnit::Minute,
            "hour" => IntervalUnit::Hour,
            "day" => IntervalUnit::Day,
            "week" => IntervalUnit::Week,
            "month" => IntervalUnit::Month,
            "year" => IntervalUnit::Year,
            other => {
                return Err(refuse(format!(
                    "interval unit {other:?} is not one of minute, hour, day, week, month, year"
                )));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IntervalUnit::Minute => "minute",
            IntervalUnit::Hour => "hour",
            IntervalUnit::Day => "day",
            IntervalUnit::Week => "week",
            IntervalUnit::Month => "month",
            IntervalUnit::Year => "year",
        }
    }
}

/// The longest interval accepted, in each unit (about 10 years).
fn max_count(unit: IntervalUnit) -> u32 {
    match unit {
        IntervalUnit::Minute => 5_256_000,
        IntervalUnit::Hour => 87_600,
        IntervalUnit::Day => 3_650,
        IntervalUnit::Week => 520,
        IntervalUnit::Month => 120,
        IntervalUnit::Year => 10,
    }
}

/// A monitor's schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// A crontab expression, as given (whitespace collapsed), and what it matches.
    Crontab { expression: String, cron: Box<Cron> },
    /// Every `count` units after the last check-in.
    Interval { count: u32, unit: IntervalUnit },
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Schedule) -> bool {
        self.stored() == other.stored()
    }
}

/// The aliases Sentry accepts, as the five fields they stand for.
const ALIASES: [(&str, &str); 6] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

impl Schedule {
    /// A crontab expression in Sentry's dialect.
    pub fn crontab(expression: &str) -> Result<Schedule, ScheduleError> {
        let expression = expression.split_whitespace().collect::<Vec<_>>().join(" ");
        let fields = match ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(&expression))
        {
            Some((_, fields)) => (*fields).to_owned(),
            None if expression.starts_with('@') => {
                return Err(refuse(format!(
                    "crontab alias {expression:?} is not one of @yearly, @annually, @monthly, @weekly, @daily, @hourly"
                )));
            }
            None => expression.clone(),
        };
        let parts: Vec<&str> = fields.split(' ').collect();
        if parts.len() != 5 {
            return Err(refuse(format!(
                "crontab {expression:?} has {} fields; a crontab has five: minute hour day-of-month month day-of-week",
                parts.len()
            )));
        }
        // cronsim's rule: AND when either day field starts with `*` (`*/2`), croner's only
        // when one is exactly `*` (then both rules agree).
        let dom_and_dow = parts[2].starts_with('*') || parts[4].starts_with('*');
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .dom_and_dow(dom_and_dow)
            .sloppy_ranges(true)
            .build()
            .parse(&fields)
            .map_err(|e| refuse(format!("crontab {expression:?} does not parse: {e}")))?;
        // A pattern that never matches (`0 0 30 2 *`) has no next run to wait for.
        let now = Utc::now();
        if cron.find_next_occurrence(&now, false).is_err() {
            return Err(refuse(format!(
                "crontab {expression:?} never matches a time"
            )));
        }
        Ok(Schedule::Crontab {
            expression,
            cron: Box::new(cron),
        })
    }

    /// Every `count` units.
    pub fn interval(count: u64, unit: IntervalUnit) -> Result<Schedule, ScheduleError> {
        let max = max_count(unit);
        match u32::try_from(count) {
            Ok(count) if (1..=max).contains(&count) => Ok(Schedule::Interval { count, unit }),
            _ => Err(refuse(format!(
                "interval {count} {} is out of range (1 to {max})",
                unit.as_str()
            ))),
        }
    }

    /// What the database keeps: (`crontab` | `interval`, the expression | `"<count> <unit>"`).
    pub fn stored(&self) -> (&'static str, String) {
        match self {
            Schedule::Crontab { expression, .. } => ("crontab", expression.clone()),
            Schedule::Interval { count, unit } => {
                ("interval", format!("{count} {}", unit.as_str()))
            }
        }
    }

    /// The schedule the database keeps, back.
    pub fn from_stored(kind: &str, value: &str) -> Result<Schedule, ScheduleError> {
        match kind {
            "crontab" => Schedule::crontab(value),
            "interval" => {
                let (count, unit) = value
                    .split_once(' ')
                    .ok_or_else(|| refuse(format!("interval {value:?} has no unit")))?;
                let count = count
                    .parse::<u64>()
                    .map_err(|_| refuse(format!("interval {value:?} has no count")))?;
                Schedule::interval(count, IntervalUnit::parse(unit)?)
            }
            other => Err(refuse(format!(
                "schedule type {other:?} is not crontab or interval"
            ))),
        }
    }

    /// When the check-in after one at `after_ms` is expected (ms, on a minute), in `zone`.
    /// None when no such time exists (past the year 9999).
    pub fn next_after(&self, after_ms: i64, zone: Tz) -> Option<i64> {
        let after = zone.timestamp_millis_opt(after_ms).single()?;
        let next = match self {
            Schedule::Crontab { cron, .. } => cron.find_next_occurrence(&after, false).ok()?,
            Schedule::Interval { count, unit } => add_interval(after, *count, *unit)?,
        };
        let next_ms = next.with_timezone(&Utc).timestamp_millis();
        Some(next_ms - next_ms.rem_euclid(MINUTE_MS))
    }

    /// The schedule in words: "At 02:00 AM, Monday through Friday", "Every 30 minutes".
    pub fn describe(&self) -> String {
        match self {
            Schedule::Crontab { cron, .. } => cron.describe(),
            Schedule::Interval { count: 1, unit } => format!("Every {}", unit.as_str()),
            Schedule::Interval { count, unit } => format!("Every {count} {}s", unit.as_str()),
        }
    }
}

/// `at` + `count` units, in `at`'s zone (a day is a calendar day, across a DST change too).
fn add_interval(at: DateTime<Tz>, count: u32, unit: IntervalUnit) -> Option<DateTime<Tz>> {
    use chrono::Duration;
    let at = at.with_second(0)?.with_nanosecond(0)?;
    match unit {
        IntervalUnit::Minute => at.checked_add_signed(Duration::minutes(count.into())),
        IntervalUnit::Hour => at.checked_add_signed(Duration::hours(count.into())),
        IntervalUnit::Day | IntervalUnit::Week => {
            let days = if unit == IntervalUnit::Week {
                count.checked_mul(7)?
            } else {
                count
            };
            local_plus(at, |local| {
                local.checked_add_days(chrono::Days::new(days.into()))
            })
        }
        IntervalUnit::Month | IntervalUnit::Year => {
            let months = if unit == IntervalUnit::Year {
                count.checked_mul(12)?
            } else {
                count
            };
            local_plus(at, |local| local.checked_add_months(Months::new(months)))
        }
    }
}

/// A calendar step on the local clock; a local time a DST change skips moves on past the gap.
fn local_plus(
    at: DateTime<Tz>,
    step: impl Fn(chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime>,
) -> Option<DateTime<Tz>> {
    let zone = at.timezone();
    let local = step(at.naive_local())?;
    (0..=3).find_map(|hours| {
        zone.from_local_datetime(&(local + chrono::Duration::hours(hours)))
            .earliest()
    })
}

/// A time zone by its IANA name (`Europe/Vienna`, `UTC`).
pub fn zone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>().map_err(|_| {
        refuse(format!(
            "time zone {name:?} does not exist (an IANA name such as Europe/Vienna or UTC)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn next(schedule: &Schedule, after: &str, zone_name: &str) -> String {
        let next = schedule
            .next_after(ms(after), zone(zone_name).unwrap())
            .unwrap();
        DateTime::from_timestamp_millis(next)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    #[test]
    fn crontabs_match_the_next_minute_after_the_check_in() {
        let hourly = Schedule::crontab("0 * * * *").unwrap();
        assert_eq!(
            next(&hourly, "2026-12-04T10:00:00Z", "UTC"),
            "2026-12-04T11:00:00Z"
        );
        assert_eq!(
            next(&hourly, "2026-12-04T10:59:59Z", "UTC"),
            "2026-12-04T11:00:00Z"
        );
        let every_minute = Schedule::crontab("  *   * * *  * ").unwrap();
        assert_eq!(
            next(&every_minute, "2026-12-04T10:00:30Z", "UTC"),
            "2026-12-04T10:01:00Z"
        );
        let weekdays = Schedule::crontab("30 2 * * MON-FRI").unwrap();
        // 2026-12-04 is a Friday: the next run is on Monday.
        assert_eq!(
            next(&weekdays, "2026-12-04T03:00:00Z", "UTC"),
            "2026-12-07T02:30:00Z"
        );
    }

    #[test]
    fn crontabs_follow_the_monitors_time_zone_across_daylight_saving() {
        let daily = Schedule::crontab("@daily").unwrap();
        assert_eq!(
            next(&daily, "2026-12-04T10:00:00Z", "Europe/Vienna"),
            "2026-12-04T23:00:00Z"
        );
        assert_eq!(
            next(&daily, "2026-07-04T10:00:00Z", "Europe/Vienna"),
            "2026-07-04T22:00:00Z"
        );
        let nine = Schedule::crontab("0 9 * * *").unwrap();
        // 9:00 EST is 14:00Z; on the morning the clocks spring forward, 9:00 EDT is 13:00Z.
        assert_eq!(
            next(&nine, "2026-03-06T15:00:00Z", "America/New_York"),
            "2026-03-07T14:00:00Z"
        );
        assert_eq!(
            next(&nine, "2026-03-07T15:00:00Z", "America/New_York"),
            "2026-03-08T13:00:00Z"
        );
    }

    #[test]
    fn the_day_fields_combine_as_in_sentry() {
        // Either field starting with `*`: both must match (Friday 4th is not on an even day).
        let and = Schedule::crontab("0 0 */2 * FRI").unwrap();
        assert_eq!(
            next(&and, "2026-12-03T12:00:00Z", "UTC"),
            "2026-12-11T00:00:00Z"
        );
        // Neither: either matches (the 1st, or a Friday).
        let or = Schedule::crontab("0 0 1 * FRI").unwrap();
        assert_eq!(
            next(&or, "2026-12-03T12:00:00Z", "UTC"),
            "2026-12-04T00:00:00Z"
        );
        assert_eq!(
            next(&or, "2026-12-26T12:00:00Z", "UTC"),
            "2027-01-01T00:00:00Z"
        );
        let last_day = Schedule::crontab("0 12 L * *").unwrap();
        assert_eq!(
            next(&last_day, "2027-02-03T00:00:00Z", "UTC"),
            "2027-02-28T12:00:00Z"
        );
    }

    #[test]
    fn bad_crontabs_are_refused_with_the_reason() {
        for (bad, says) in [
            ("0 * * *", "has 4 fields"),
            ("0 0 * * * *", "has 6 fields"),
            ("@reboot", "is not one of"),
            ("61 * * * *", "does not parse"),
            ("0 0 30 2 *", "never matches"),
            ("", "has 1 fields"),
        ] {
            let error = Schedule::crontab(bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }

    #[test]
    fn intervals_count_from_the_check_in_on_the_local_calendar() {
        let half_hour = Schedule::interval(30, IntervalUnit::Minute).unwrap();
        assert_eq!(
            next(&half_hour, "2026-12-04T10:00:40Z", "UTC"),
            "2026-12-04T10:30:00Z"
        );
        let monthly = Schedule::interval(1, IntervalUnit::Month).unwrap();
        assert_eq!(
            next(&monthly, "2027-01-31T08:00:00Z", "UTC"),
            "2027-02-28T08:00:00Z"
        );
        // A day across the spring-forward night is 23 hours long.
        let daily = Schedule::interval(1, IntervalUnit::Day).unwrap();
        assert_eq!(
            next(&daily, "2026-03-28T12:00:00Z", "Europe/Vienna"),
            "2026-03-29T11:00:00Z"
        );
        assert!(Schedule::interval(0, IntervalUnit::Hour).is_err());
        assert!(Schedule::interval(11, IntervalUnit::Year).is_err());
        assert!(IntervalUnit::parse("second").is_err());
    }

    #[test]
    fn schedules_round_trip_through_the_database_and_read_as_words() {
        for schedule in [
            Schedule::crontab("0 2 * * MON-FRI").unwrap(),
            Schedule::interval(5, IntervalUnit::Minute).unwrap(),
        ] {
            let (kind, value) = schedule.stored();
            assert_eq!(Schedule::from_stored(kind, &value).unwrap(), schedule);
        }
        assert_eq!(
            Schedule::interval(5, IntervalUnit::Minute)
                .unwrap()
                .describe(),
            "Every 5 minutes"
        );
        assert_eq!(
            Schedule::interval(1, IntervalUnit::Day).unwrap().describe(),
            "Every day"
        );
        assert!(
            !Schedule::crontab("0 2 * * *")
                .unwrap()
                .describe()
                .is_empty()
        );
        assert!(zone("Mars/Olympus").is_err());
        assert!(zone("Europe/Vienna").is_ok());
    }
}
