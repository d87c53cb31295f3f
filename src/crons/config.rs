//! A monitor's configuration, as check-ins upsert it and the API shows it.
//!
//! ```text
//! "monitor_config": {
//!   "schedule": {"type": "crontab", "value": "0 2 * * *"}        or
//!               {"type": "interval", "value": 2, "unit": "hour"}  ("2" too: Sentry's docs send it)
//!   "timezone": "Europe/Vienna",          default UTC
//!   "checkin_margin": 5,                  minutes late before a run is missed (default 1)
//!   "max_runtime": 30,                    minutes in progress before a run times out (default 30)
//!   "failure_issue_threshold": 1,         failures in a row that open an issue (default 1)
//!   "recovery_threshold": 1               good check-ins in a row that resolve it (default 1)
//! }
//! ```
//!
//! The API's own form (`"schedule_type": "interval", "schedule": [2, "hour"]` or
//! `"schedule": "0 2 * * *"`) is accepted too. A config replaces the one before it as a
//! whole: a key left out takes its default, as in Sentry.

use chrono_tz::Tz;
use serde_json::{Value, json};

use super::schedule::{IntervalUnit, Schedule, ScheduleError, zone};

/// Minutes a check-in may be late before its run counts as missed, by default.
pub const DEFAULT_MARGIN: u32 = 1;
/// Minutes a run may stay in progress before it times out, by default.
pub const DEFAULT_MAX_RUNTIME: u32 = 30;
/// The longest `max_runtime` and `checkin_margin`: 28 days, in minutes.
pub const MAX_MINUTES: u32 = 40_320;
/// The most failures (or recoveries) in a row a threshold may ask for.
pub const MAX_THRESHOLD: u32 = 720;

/// A monitor's configuration, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    pub schedule: Schedule,
    pub timezone: Tz,
    pub checkin_margin: u32,
    pub max_runtime: u32,
    pub failure_issue_threshold: u32,
    pub recovery_threshold: u32,
}

impl MonitorConfig {
    /// A config with Sentry's defaults around a schedule.
    pub fn with_schedule(schedule: Schedule) -> MonitorConfig {
        MonitorConfig {
            schedule,
            timezone: Tz::UTC,
            checkin_margin: DEFAULT_MARGIN,
            max_runtime: DEFAULT_MAX_RUNTIME,
            failure_issue_threshold: 1,
            recovery_threshold: 1,
        }
    }

    /// A `monitor_config` object of a check-in or of the API.
    pub fn parse(config: &Value) -> Result<MonitorConfig, ScheduleError> {
        let object = config
            .as_object()
            .ok_or_else(|| ScheduleError::new("monitor_config must be an object"))?;
        let schedule = schedule(object.get("schedule"), object.get("schedule_type"))?;
        let minutes = |key: &str, default: u32, min: u32, max: u32| match object.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                // Sentry takes a margin of 0 as its default.
                Some(0) if key == "checkin_margin" => Ok(DEFAULT_MARGIN),
                Some(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ScheduleError::new(format!(
                    "{key} must be a whole number from {min} to {max}, not {v}"
                ))),
            },
        };
        let timezone = match object.get("timezone") {
            None | Some(Value::Null) => Tz::UTC,
            Some(Value::String(name)) if name.trim().is_empty() => Tz::UTC,
            Some(Value::String(name)) => zone(name.trim())?,
            Some(other) => {
                return Err(ScheduleError::new(format!(
                    "timezone must be a string, not {other}"
                )));
            }
        };
        Ok(MonitorConfig {
            schedule,
            timezone,
            checkin_margin: minutes("checkin_margin", DEFAULT_MARGIN, 1, MAX_MINUTES)?,
            max_runtime: minutes("max_runtime", DEFAULT_MAX_RUNTIME, 1, MAX_MINUTES)?,
            failure_issue_threshold: minutes("failure_issue_threshold", 1, 1, MAX_THRESHOLD)?,
            recovery_threshold: minutes("recovery_threshold", 1, 1, MAX_THRESHOLD)?,
        })
    }

    /// The API's `config` object (Sentry's serializer).
    pub fn to_json(&self) -> Value {
        let schedule = match &self.schedule {
            Schedule::Crontab { expression, .. } => json!(expression),
            Schedule::Interval { count, unit } => json!([count, unit.as_str()]),
        };
        json!({
            "schedule_type": self.schedule.stored().0,
            "schedule": schedule,
            "checkin_margin": self.checkin_margin,
            "max_runtime": self.max_runtime,
            "timezone": self.timezone.name(),
            "failure_issue_threshold": self.failure_issue_threshold,
            "recovery_threshold": self.recovery_threshold,
            "alert_rule_id": null,
        })
    }
}

/// The schedule in either form: `{"type", "value", "unit"}`, or the API's `schedule_type` beside
/// a string or a `[count, unit]` pair.
fn schedule(
    schedule: Option<&Value>,
    schedule_type: Option<&Value>,
) -> Result<Schedule, ScheduleError> {
    let missing = || ScheduleError::new("monitor_config has no schedule");
    let schedule = schedule.ok_or_else(missing)?;
    let (kind, value, unit) = match (schedule, schedule_type.and_then(Value::as_str)) {
        (Value::Object(o), _) => (
            o.get("type").and_then(Value::as_str).unwrap_or(""),
            o.get("value").ok_or_else(missing)?,
            o.get("unit"),
        ),
        (Value::Array(pair), kind) if pair.len() == 2 => {
            (kind.unwrap_or("interval"), &pair[0], Some(&pair[1]))
        }
        (value @ Value::String(_), kind) => (kind.unwrap_or("crontab"), value, None),
        (other, _) => {
            return Err(ScheduleError::new(format!(
                "schedule must be an object with type and value, not {other}"
            )));
        }
    };
    match kind {
        "crontab" => match value {
            Value::String(expression) => Schedule::crontab(expression),
            other => Err(ScheduleError::new(format!(
                "a crontab schedule's value must be a string, not {other}"
            ))),
        },
        "interval" => {
            let count = match value {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                ScheduleError::new(format!(
                    "an interval's value must be a positive whole number, not {value}"
                ))
            })?;
            let unit = unit.and_then(Value::as_str).ok_or_else(|| {
                ScheduleError::new(
                    "an interval schedule needs a unit (minute, hour, day, week, month, year)",
                )
            })?;
            Schedule::interval(count, IntervalUnit::parse(unit)?)
        }
        other => Err(ScheduleError::new(format!(
            "schedule type {other:?} is not crontab or interval"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_of_a_config_parse_with_sentrys_defaults() {
        let sdk = MonitorConfig::parse(&json!({
            "schedule": {"type": "crontab", "value": "0 2 * * *"},
            "timezone": "Europe/Vienna", "checkin_margin": 5, "max_runtime": 10,
            "failure_issue_threshold": 2, "recovery_threshold": 3, "owner": "user:1"
        }))
        .unwrap();
        assert_eq!(sdk.schedule, Schedule::crontab("0 2 * * *").unwrap());
        assert_eq!(sdk.timezone, chrono_tz::Europe::Vienna);
        assert_eq!((sdk.checkin_margin, sdk.max_runtime), (5, 10));
        assert_eq!(
            (sdk.failure_issue_threshold, sdk.recovery_threshold),
            (2, 3)
        );

        let docs = MonitorConfig::parse(&json!({
            "schedule": {"type": "interval", "value": "2", "unit": "hour"}, "checkin_margin": 0
        }))
        .unwrap();
        assert_eq!(
            docs,
            MonitorConfig {
                checkin_margin: DEFAULT_MARGIN,
                ..MonitorConfig::with_schedule(Schedule::interval(2, IntervalUnit::Hour).unwrap())
            }
        );

        let api =
            MonitorConfig::parse(&json!({"schedule_type": "interval", "schedule": [2, "hour"]}))
                .unwrap();
        assert_eq!(
            api,
            MonitorConfig::with_schedule(Schedule::interval(2, IntervalUnit::Hour).unwrap())
        );
        assert_eq!(MonitorConfig::parse(&api.to_json()).unwrap(), api);
        let crontab =
            MonitorConfig::parse(&json!({"schedule_type": "crontab", "schedule": "@hourly"}))
                .unwrap();
        assert_eq!(MonitorConfig::parse(&crontab.to_json()).unwrap(), crontab);
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        for (config, says) in [
            (json!({}), "no schedule"),
            (json!([]), "must be an object"),
            (
                json!({"schedule": {"type": "crontab", "value": "nope"}}),
                "fields",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 5, "unit": "second"}}),
                "interval unit",
            ),
            (
                json!({"schedule": {"type": "interval", "value": -5, "unit": "day"}}),
                "positive whole number",
            ),
            (
                json!({"schedule": {"type": "interval", "value": 5}}),
                "needs a unit",
            ),
            (
                json!({"schedule": {"type": "weekly", "value": 5}}),
                "not crontab or interval",
            ),
            (
                json!({"schedule": "@daily", "timezone": "Mars/Olympus"}),
                "does not exist",
            ),
            (
                json!({"schedule": "@daily", "max_runtime": 50_000}),
                "max_runtime must be",
            ),
            (
                json!({"schedule": "@daily", "failure_issue_threshold": 0}),
                "failure_issue_threshold must be",
            ),
            (
                json!({"schedule": "@daily", "recovery_threshold": "2"}),
                "recovery_threshold must be",
            ),
        ] {
            let error = MonitorConfig::parse(&config).unwrap_err().to_string();
            assert!(error.contains(says), "{config}: {error}");
        }
    }
}
