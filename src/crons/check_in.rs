//! A check-in as clients send it, checked.
//!
//! ```text
//! envelope item   {"type":"check_in"}
//!                 {"check_in_id":"b7e1…", "monitor_slug":"nightly-invoices", "status":"in_progress",
//!                  "environment":"production", "duration":null, "release":"shop@1.2",
//!                  "monitor_config":{…}, "contexts":{"trace":{"trace_id":"4c79…"}}}
//! HTTP check-in   GET|POST /api/{project_id}/cron/{slug}/{key}/?status=ok&check_in_id=…&environment=…&duration=1.5
//!                 or POST with Content-Type application/json and the object above (slug from the path)
//! ```
//!
//! `status` is `in_progress`, `ok` or `error` (`missed` and `timeout` are Snag's to say);
//! `duration` is in seconds; no `check_in_id` (or the nil UUID) means the newest run still in
//! progress. Keys Snag does not keep (`timestamp`, `sdk`, `platform`, other contexts) are
//! ignored, as Relay does; a slug is made a slug as Sentry does (`My Job` → `my-job`).

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::config::MonitorConfig;
use super::schedule::ScheduleError;

/// The longest slug, in characters.
pub const MAX_SLUG: usize = 50;
/// The longest environment name, in characters (Relay's limit).
pub const MAX_ENVIRONMENT: usize = 64;
/// The longest run a duration may report: 28 days, in milliseconds.
pub const MAX_DURATION_MS: i64 = 28 * 24 * 3_600_000;
/// The environment of a check-in that names none.
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// Why a check-in was refused (said to the client as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CheckInError(pub String);

impl From<ScheduleError> for CheckInError {
    fn from(e: ScheduleError) -> CheckInError {
        CheckInError(format!("monitor_config: {e}"))
    }
}

/// What became of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckInStatus {
    InProgress,
    Ok,
    Error,
    /// No check-in came within the margin (Snag's to say).
    Missed,
    /// In progress for longer than `max_runtime` (Snag's to say).
    Timeout,
}

impl CheckInStatus {
    pub const ALL: [CheckInStatus; 5] = [
        CheckInStatus::Ok,
        CheckInStatus::Error,
        CheckInStatus::Missed,
        CheckInStatus::Timeout,
        CheckInStatus::InProgress,
    ];

    /// A status a client may send.
    pub fn from_client(status: &str) -> Result<CheckInStatus, CheckInError> {
        match status {
            "in_progress" => Ok(CheckInStatus::InProgress),
            "ok" => Ok(CheckInStatus::Ok),
            "error" => Ok(CheckInStatus::Error),
            other => Err(CheckInError(format!(
                "status {other:?} is not one of in_progress, ok, error"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CheckInStatus::InProgress => "in_progress",
            CheckInStatus::Ok => "ok",
            CheckInStatus::Error => "error",
            CheckInStatus::Missed => "missed",
            CheckInStatus::Timeout => "timeout",
        }
    }

    pub fn parse(status: &str) -> Option<CheckInStatus> {
        CheckInStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == status)
    }

    /// A failure towards the monitor's issue.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            CheckInStatus::Error | CheckInStatus::Missed | CheckInStatus::Timeout
        )
    }
}

/// A check-in, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckIn {
    /// The run it reports on; None: the newest run still in progress (or a new one).
    pub id: Option<Uuid>,
    pub slug: String,
    pub status: CheckInStatus,
    pub environment: String,
    pub duration_ms: Option<i64>,
    pub release: Option<String>,
    /// 32 lowercase hex digits.
    pub trace_id: Option<String>,
    /// The config it upserts; a bad one still lets the check-in through to a monitor that
    /// exists (Sentry ignores it then), and refuses the check-in of a new monitor.
    pub config: Option<Result<MonitorConfig, CheckInError>>,
}

/// The JSON of a check-in, as it comes.
#[derive(Debug, Deserialize)]
struct Wire {
    #[serde(default)]
    check_in_id: Option<String>,
    #[serde(default)]
    monitor_slug: Option<String>,
    status: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    release: Option<String>,
    #[serde(default)]
    monitor_config: Option<Value>,
    #[serde(default)]
    contexts: Option<Value>,
}

/// An HTTP check-in's query string.
#[derive(Debug, Default, Deserialize)]
pub struct Query {
    pub status: Option<String>,
    pub check_in_id: Option<String>,
    pub environment: Option<String>,
    pub duration: Option<f64>,
}

impl CheckIn {
    /// The JSON of an envelope item or of an HTTP check-in's body (whose path names the slug).
    pub fn from_json(payload: &[u8], path_slug: Option<&str>) -> Result<CheckIn, CheckInError> {
        let wire: Wire = serde_json::from_slice(payload)
            .map_err(|e| CheckInError(format!("check-in is not valid JSON: {e}")))?;
        let slug = path_slug
            .or(wire.monitor_slug.as_deref())
            .ok_or_else(|| CheckInError("check-in without a monitor_slug".into()))?;
        let trace_id = wire
            .contexts
            .as_ref()
            .and_then(|c| c.pointer("/trace/trace_id"))
            .and_then(Value::as_str)
            .and_then(|t| Uuid::try_parse(t).ok())
            .map(|t| t.simple().to_string());
        Ok(CheckIn {
            id: check_in_id(wire.check_in_id.as_deref())?,
            slug: slug_of(slug)?,
            status: CheckInStatus::from_client(
                wire.status
                    .as_deref()
                    .ok_or_else(|| CheckInError("check-in without a status".into()))?,
            )?,
            environment: environment(wire.environment.as_deref())?,
            duration_ms: duration_ms(wire.duration)?,
            release: wire
                .release
                .filter(|r| !r.trim().is_empty())
                .map(|r| r.chars().take(200).collect()),
            trace_id,
            config: wire
                .monitor_config
                .filter(|c| !c.is_null())
                .map(|c| MonitorConfig::parse(&c).map_err(CheckInError::from)),
        })
    }

    /// An HTTP check-in by query string.
    pub fn from_query(slug: &str, query: &Query) -> Result<CheckIn, CheckInError> {
        let status = query.status.as_deref().ok_or_else(|| {
            CheckInError("check-in without ?status= (in_progress, ok or error)".into())
        })?;
        Ok(CheckIn {
            id: check_in_id(query.check_in_id.as_deref())?,
            slug: slug_of(slug)?,
            status: CheckInStatus::from_client(status)?,
            environment: environment(query.environment.as_deref())?,
            duration_ms: duration_ms(query.duration)?,
            release: None,
            trace_id: None,
            config: None,
        })
    }
}

fn check_in_id(id: Option<&str>) -> Result<Option<Uuid>, CheckInError> {
    match id.map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) => match Uuid::try_parse(id) {
            Ok(id) if id.is_nil() => Ok(None),
            Ok(id) => Ok(Some(id)),
            Err(_) => Err(CheckInError(format!("check_in_id {id:?} is not a UUID"))),
        },
    }
}

/// Sentry's slug of a name: lower case, runs of spaces and dashes one dash, only `a-z0-9_-`,
/// at most 50 characters, no dash at either end.
pub fn slug_of(name: &str) -> Result<String, CheckInError> {
    let mut slug = String::with_capacity(name.len().min(MAX_SLUG));
    for c in name.chars() {
        match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => slug.push(c),
            '-' | ' ' | '\t' if !slug.ends_with('-') => slug.push('-'),
            _ => {}
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(MAX_SLUG).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        return Err(CheckInError(format!(
            "monitor slug {:?} has no letters or digits",
            name.chars().take(80).collect::<String>()
        )));
    }
    Ok(slug)
}

fn environment(name: Option<&str>) -> Result<String, CheckInError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let Some(name) = name else {
        return Ok(DEFAULT_ENVIRONMENT.to_owned());
    };
    if name.chars().count() > MAX_ENVIRONMENT {
        return Err(CheckInError(format!(
            "environment is longer than {MAX_ENVIRONMENT} characters"
        )));
    }
    if name
        .chars()
        .any(|c| matches!(c, '/' | '\n' | '\r' | '\x0c') || c.is_control())
    {
        return Err(CheckInError(format!(
            "environment {name:?} holds a slash or a control character"
        )));
    }
    Ok(name.to_owned())
}

fn duration_ms(seconds: Option<f64>) -> Result<Option<i64>, CheckInError> {
    let Some(seconds) = seconds else {
        return Ok(None);
    };
    let ms = seconds * 1000.0;
    if !ms.is_finite() || ms < 0.0 || ms > MAX_DURATION_MS as f64 {
        return Err(CheckInError(format!(
            "duration {seconds} is out of range (0 to {} seconds)",
            MAX_DURATION_MS / 1000
        )));
    }
    Ok(Some(ms.round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sdk_check_in_keeps_what_snag_uses() {
        let check_in = CheckIn::from_json(
            br#"{"type":"check_in","check_in_id":"b7e1c2d34e5f40a1b2c3d4e5f6a7b8c9","monitor_slug":"Nightly Invoices",
                "status":"ok","duration":1.2345,"environment":"staging","release":"shop@1.2",
                "timestamp":1764800000.5,"platform":"python","sdk":{"name":"sentry.python"},
                "contexts":{"trace":{"trace_id":"4c79f60c11214eb38604f4ae0781bfb2","span_id":"a1b2"},"os":{}},
                "monitor_config":{"schedule":{"type":"crontab","value":"0 2 * * *"}}}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            check_in.id,
            Some(Uuid::parse_str("b7e1c2d34e5f40a1b2c3d4e5f6a7b8c9").unwrap())
        );
        assert_eq!(check_in.slug, "nightly-invoices");
        assert_eq!(check_in.status, CheckInStatus::Ok);
        assert_eq!(check_in.duration_ms, Some(1235));
        assert_eq!(check_in.environment, "staging");
        assert_eq!(check_in.release.as_deref(), Some("shop@1.2"));
        assert_eq!(
            check_in.trace_id.as_deref(),
            Some("4c79f60c11214eb38604f4ae0781bfb2")
        );
        assert!(matches!(check_in.config, Some(Ok(_))));
    }

    #[test]
    fn missing_ids_and_environments_take_sentrys_defaults() {
        let check_in = CheckIn::from_json(
            br#"{"check_in_id":"00000000-0000-0000-0000-000000000000","monitor_slug":"x","status":"in_progress","environment":""}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            (check_in.id, check_in.environment.as_str()),
            (None, "production")
        );
        // The path's slug wins over the body's.
        let check_in =
            CheckIn::from_json(br#"{"monitor_slug":"body","status":"ok"}"#, Some("path")).unwrap();
        assert_eq!(check_in.slug, "path");
        let query = Query {
            status: Some("error".into()),
            duration: Some(0.5),
            ..Query::default()
        };
        let check_in = CheckIn::from_query("backup", &query).unwrap();
        assert_eq!(
            (check_in.status, check_in.duration_ms),
            (CheckInStatus::Error, Some(500))
        );
    }

    #[test]
    fn slugs_are_made_as_sentry_makes_them() {
        assert_eq!(slug_of("  My  Job -- 2 ").unwrap(), "my-job-2");
        assert_eq!(slug_of("déjà_vu!").unwrap(), "dj_vu");
        assert_eq!(slug_of(&"a".repeat(80)).unwrap().len(), MAX_SLUG);
        assert_eq!(
            slug_of(&format!("{}-b", "a".repeat(49))).unwrap(),
            "a".repeat(49)
        );
        assert!(slug_of("--").is_err());
        assert!(slug_of("💥").is_err());
    }

    #[test]
    fn bad_check_ins_say_what_is_wrong() {
        for (payload, says) in [
            (
                &br#"{"monitor_slug":"x","status":"missed"}"#[..],
                "is not one of",
            ),
            (br#"{"monitor_slug":"x"}"#, "without a status"),
            (br#"{"status":"ok"}"#, "without a monitor_slug"),
            (
                br#"{"monitor_slug":"!!","status":"ok"}"#,
                "no letters or digits",
            ),
            (
                br#"{"monitor_slug":"x","status":"ok","check_in_id":"nope"}"#,
                "not a UUID",
            ),
            (
                br#"{"monitor_slug":"x","status":"ok","duration":-1}"#,
                "out of range",
            ),
            (
                br#"{"monitor_slug":"x","status":"ok","duration":1e12}"#,
                "out of range",
            ),
            (
                br#"{"monitor_slug":"x","status":"ok","environment":"a/b"}"#,
                "slash",
            ),
            (br#"[1]"#, "not valid JSON"),
        ] {
            let error = CheckIn::from_json(payload, None).unwrap_err().to_string();
            assert!(
                error.contains(says),
                "{}: {error}",
                String::from_utf8_lossy(payload)
            );
        }
        let long_environment = format!(
            r#"{{"monitor_slug":"x","status":"ok","environment":"{}"}}"#,
            "e".repeat(65)
        );
        assert!(CheckIn::from_json(long_environment.as_bytes(), None).is_err());
        // A bad config is kept as an error: it refuses only the check-in of a new monitor.
        let check_in = CheckIn::from_json(
            br#"{"monitor_slug":"x","status":"ok","monitor_config":{"schedule":{"type":"crontab","value":"0 0 31 2 *"}}}"#,
            None,
        )
        .unwrap();
        assert!(matches!(check_in.config, Some(Err(_))));
    }
}
