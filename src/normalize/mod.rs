//! Normalization: any shape an SDK sends in, one canonical event out. Pure functions.
//!
//! After [`normalize`], the stored JSON always has:
//! ```json
//! {"event_id": "<32 hex>", "timestamp": 1795312455.775, "received": 1795312456.001,
//!  "level": "error", "platform": "python",
//!  "logentry": {"formatted": "Failed for bob", "message": "Failed for %s", "params": ["bob"]},
//!  "exception": {"values": [{"type": "…", "value": "…", "stacktrace": {"frames": […]}}]},
//!  "breadcrumbs": {"values": […]}, "tags": [["key", "value"], …], "user": {…}, …}
//! ```
//! and keeps every other field it was sent, unchanged, except that a native or C# frame's
//! `function` is trimmed to the bare name as Sentry stores it, the symbol kept in `raw_function`
//! (`function_names.rs`). Malformed optional fields are dropped, never a reason to reject the
//! event.

mod function_names;
mod indexed_tags;
mod message;
mod shapes;
mod time;
pub mod trim;

use serde_json::{Map, Value};

use crate::protocol::EventId;
use crate::protocol::event::{Exception, Mechanism, Stacktrace, Thread, objects};

pub use indexed_tags::indexed_tags;
use time::parse_level;
pub use time::parse_timestamp;

/// What the ingest knows about an event besides its payload.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The envelope header's `event_id` (takes precedence over the payload's).
    pub envelope_event_id: Option<EventId>,
    /// Receive time, unix ms.
    pub received_ms: i64,
    /// The client's address, for `{{auto}}` user IPs.
    pub client_ip: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("the event is not a JSON object")]
    NotAnObject,
}

/// A normalized event: the canonical JSON plus the fields the pipeline reads.
#[derive(Debug, Clone)]
pub struct NormalizedEvent {
    pub event_id: EventId,
    pub timestamp_ms: i64,
    pub received_ms: i64,
    pub level: String,
    pub platform: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub transaction: Option<String>,
    pub logger: Option<String>,
    /// The client's own culprit, if it sent one.
    pub culprit: Option<String>,
    /// `logentry.formatted` (else `logentry.message`).
    pub message: Option<String>,
    /// `logentry.message` when it is a template that differs from the formatted text.
    pub message_template: Option<String>,
    pub fingerprint: Option<Vec<String>>,
    pub checksum: Option<String>,
    pub request_url: Option<String>,
    /// `id:…`, `email:…`, `username:…` or `ip:…` (Sentry's `user` tag), the distinct-user key.
    pub user_key: Option<String>,
    /// Tags as sent (stringified, trimmed, bounded), in order.
    pub tags: Vec<(String, String)>,
    pub json: Map<String, Value>,
}

impl NormalizedEvent {
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.json.get(name).and_then(Value::as_str)
    }

    /// Oldest cause first; the exception actually raised is last. Borrowed views of the JSON.
    pub fn exceptions(&self) -> Vec<Exception<'_>> {
        objects(self.json.get("exception").and_then(|e| e.get("values")))
            .map(Exception::read)
            .collect()
    }

    /// The mechanism of the exception actually raised (the last one), if any.
    pub fn main_mechanism(&self) -> Option<Mechanism<'_>> {
        objects(self.json.get("exception").and_then(|e| e.get("values")))
            .last()
            .and_then(|e| Mechanism::read(e.get("mechanism")))
    }

    /// Top-level stacktrace, or the crashed/current/first thread's when there is none.
    pub fn stacktrace(&self) -> Option<Stacktrace<'_>> {
        Stacktrace::read(self.json.get("stacktrace")).or_else(|| thread_stacktrace(&self.json))
    }
}

/// A release name Sentry accepts: not blank, `.`, `..` or `latest`, no slash, backslash, tab
/// or line break (the length is the caller's).
pub fn is_valid_release(version: &str) -> bool {
    !(version.trim().is_empty()
        || matches!(version, "." | "..")
        || version.eq_ignore_ascii_case("latest")
        || version.contains(['/', '\\', '\t', '\n', '\r', '\x0c']))
}

/// Normalizes one event payload.
pub fn normalize(raw: Value, ctx: &Context) -> Result<NormalizedEvent, NormalizeError> {
    let Value::Object(mut json) = raw else {
        return Err(NormalizeError::NotAnObject);
    };

    let event_id = ctx
        .envelope_event_id
        .or_else(|| {
            json.get("event_id")
                .and_then(Value::as_str)
                .and_then(EventId::parse)
        })
        .unwrap_or_else(EventId::random);
    json.insert("event_id".into(), Value::String(event_id.to_string()));

    let timestamp_ms = time::event_time(json.get("timestamp"), ctx.received_ms);
    json.insert("timestamp".into(), ms_to_seconds(timestamp_ms));
    json.insert("received".into(), ms_to_seconds(ctx.received_ms));

    let level = json
        .get("level")
        .and_then(parse_level)
        .unwrap_or("error")
        .to_owned();
    json.insert("level".into(), Value::String(level.clone()));

    let platform =
        shapes::bounded_string(json.get("platform"), 64).unwrap_or_else(|| "other".into());
    json.insert("platform".into(), Value::String(platform.clone()));

    for (field, max) in [
        ("release", 200),
        ("environment", 64),
        ("dist", 64),
        ("transaction", 200),
        ("server_name", 200),
        ("logger", 64),
        ("culprit", 200),
    ] {
        match shapes::bounded_string(json.get(field), max) {
            Some(s) => json.insert(field.into(), Value::String(s)),
            None => json.remove(field),
        };
    }

    // Relay drops a release Sentry could not name in a URL.
    if json
        .get("release")
        .and_then(Value::as_str)
        .is_some_and(|r| !is_valid_release(r))
    {
        json.remove("release");
    }

    message::normalize_logentry(&mut json);
    shapes::normalize_exceptions(&mut json, &platform);
    shapes::normalize_values_container(
        &mut json,
        "breadcrumbs",
        &["sentry.interfaces.Breadcrumbs"],
    );
    for crumb in json
        .get_mut("breadcrumbs")
        .and_then(|b| b.get_mut("values"))
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
    {
        trim::field(crumb, "message", trim::MESSAGE);
    }
    shapes::normalize_values_container(&mut json, "threads", &["sentry.interfaces.Threads"]);
    shapes::normalize_top_stacktrace(&mut json, &platform);
    shapes::rename_legacy_interface(&mut json, "sentry.interfaces.Template", "template");
    shapes::normalize_user(&mut json, ctx.client_ip.as_deref());
    let tags = shapes::normalize_tags(&mut json);
    let fingerprint = shapes::normalize_fingerprint(&mut json);

    let logentry = json.get("logentry");
    let formatted = logentry
        .and_then(|l| l.get("formatted"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let template = logentry
        .and_then(|l| l.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let user_key = shapes::user_key(json.get("user"));

    let get = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(NormalizedEvent {
        event_id,
        timestamp_ms,
        received_ms: ctx.received_ms,
        level,
        platform,
        release: get("release"),
        environment: get("environment"),
        transaction: get("transaction"),
        logger: get("logger"),
        culprit: get("culprit"),
        message: formatted.clone().or_else(|| template.clone()),
        message_template: template.filter(|t| formatted.as_deref() != Some(t.as_str())),
        fingerprint,
        checksum: get("checksum"),
        request_url: json
            .get("request")
            .and_then(|r| r.get("url"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        user_key,
        tags,
        json,
    })
}

fn ms_to_seconds(ms: i64) -> Value {
    serde_json::Number::from_f64(ms as f64 / 1000.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// The stack of the crashed thread, else the current one, else the first with a stack.
fn thread_stacktrace(json: &Map<String, Value>) -> Option<Stacktrace<'_>> {
    let threads: Vec<Thread> = objects(json.get("threads").and_then(|t| t.get("values")))
        .map(Thread::read)
        .collect();
    let with_stack = |t: &&Thread| t.stacktrace.as_ref().is_some_and(|s| !s.frames.is_empty());
    threads
        .iter()
        .filter(with_stack)
        .find(|t| t.crashed == Some(true))
        .or_else(|| {
            threads
                .iter()
                .filter(with_stack)
                .find(|t| t.current == Some(true))
        })
        .or_else(|| threads.iter().find(with_stack))
        .and_then(|t| t.stacktrace.clone())
}

#[cfg(test)]
pub(crate) mod tests;
