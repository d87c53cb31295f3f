//! Browser security reports, turned into Sentry events as Relay turns them. Pure functions.
//!
//! Browsers post these to `/api/{project_id}/security/?sentry_key=<key>` (no SDK involved):
//!
//! ```text
//! Content-Type: application/csp-report          {"csp-report": {"document-uri": "https://shop.example/",
//!                                                  "effective-directive": "script-src-elem",
//!                                                  "violated-directive": "script-src-elem",
//!                                                  "blocked-uri": "https://evil.example/x.js", …}}
//! Content-Type: application/reports+json        [{"type": "csp-violation", "age": 0, "url": "…",
//!                                                  "body": {"documentURL": "…", "blockedURL": "inline",
//!                                                           "effectiveDirective": "script-src-elem", …}}, …]
//! Content-Type: application/json                {"date-time": "…", "hostname": "shop.example",
//!                                                  "port": 443, "known-pins": […], …}        (HPKP)
//! Content-Type: application/expect-ct-report+json {"expect-ct-report": {"hostname": "…", "scts": […], …}}
//! Content-Type: application/expect-staple-report  {"expect-staple-report": {"hostname": "…", …}}
//! ```
//! Each report becomes one event: `type` (`csp`, `hpkp`, `expectct`, `expectstaple`), the
//! interface of the same name, `logentry` (the title, e.g. `Blocked 'script' from
//! 'evil.example'`), `culprit`, `tags`, `request` (the document's URL, the browser's
//! `User-Agent`), `logger: "csp"` and the client's IP, plus `release`/`environment` from the
//! query string. A Reporting API list may hold other kinds of reports: they are skipped.

mod certs;
mod csp;

pub use csp::{is_local, normalize_uri};

use serde_json::{Map, Value, json};

/// The kinds of reports, by the interface (and event type) they become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Csp,
    Hpkp,
    ExpectCt,
    ExpectStaple,
}

impl Kind {
    /// The event's `type`, which is also the key of its interface.
    pub fn event_type(self) -> &'static str {
        match self {
            Kind::Csp => "csp",
            Kind::Hpkp => "hpkp",
            Kind::ExpectCt => "expectct",
            Kind::ExpectStaple => "expectstaple",
        }
    }

    /// The kind a stored event's `type` names.
    pub fn from_event_type(ty: &str) -> Option<Kind> {
        [Kind::Csp, Kind::Hpkp, Kind::ExpectCt, Kind::ExpectStaple]
            .into_iter()
            .find(|k| k.event_type() == ty)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    #[error("invalid JSON data")]
    Json(String),
    #[error("invalid security report type")]
    UnknownType,
    #[error("unsupported security report type")]
    Unsupported,
    #[error("invalid security report")]
    Invalid(String),
}

impl ReportError {
    fn invalid(why: impl Into<String>) -> ReportError {
        ReportError::Invalid(why.into())
    }

    /// What exactly was wrong, if there is more to say.
    pub fn cause(&self) -> Option<&str> {
        match self {
            ReportError::Json(c) | ReportError::Invalid(c) => Some(c),
            _ => None,
        }
    }
}

/// What the request adds to every report it carries.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `?sentry_release=`
    pub release: Option<String>,
    /// `?sentry_environment=`
    pub environment: Option<String>,
    /// The `Origin` header (else the `Referer`'s origin), as Relay's request meta.
    pub origin: Option<String>,
    /// The request's `User-Agent` and client hints (`sec-ch-ua*`), in the order sent.
    pub user_agent: Vec<(String, String)>,
}

/// Whether a `Content-Type` (without its parameters) is one browsers send reports with.
pub fn is_report_content_type(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        mime.as_str(),
        "application/json"
            | "application/csp-report"
            | "application/reports+json"
            | "application/expect-ct-report"
            | "application/expect-ct-report+json"
            | "application/expect-staple-report"
    )
}

/// The reports of one body: a single report object, or the Reporting API's list of them.
pub fn reports(body: &[u8]) -> Result<Vec<Map<String, Value>>, ReportError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ReportError::Json(e.to_string()))?;
    match value {
        Value::Object(report) => Ok(vec![report]),
        Value::Array(list) => list
            .into_iter()
            .map(|r| match r {
                Value::Object(report) => Ok(report),
                _ => Err(ReportError::invalid(
                    "a report in the list is not an object",
                )),
            })
            .collect(),
        _ => Err(ReportError::invalid(
            "the body is not a JSON object or list",
        )),
    }
}

/// Which kind of report this is, by its keys (in Relay's order); `Unsupported` for a Reporting
/// API report of another type (`deprecation`, `intervention`, …).
pub fn kind(report: &Map<String, Value>) -> Result<Kind, ReportError> {
    if report.contains_key("csp-report") {
        return Ok(Kind::Csp);
    }
    match report.get("type").and_then(Value::as_str) {
        Some("csp-violation") => return Ok(Kind::Csp),
        Some(_) => return Err(ReportError::Unsupported),
        None => {}
    }
    if report.contains_key("known-pins") {
        Ok(Kind::Hpkp)
    } else if report.contains_key("expect-staple-report") {
        Ok(Kind::ExpectStaple)
    } else if report.contains_key("expect-ct-report") {
        Ok(Kind::ExpectCt)
    } else {
        Err(ReportError::UnknownType)
    }
}

/// One report as a Sentry event (JSON, before normalization).
pub fn to_event(
    report: &Map<String, Value>,
    kind: Kind,
    ctx: &Context,
) -> Result<Map<String, Value>, ReportError> {
    let parts = match kind {
        Kind::Csp => {
            let inner = report
                .get("csp-report")
                .or_else(|| report.get("body"))
                .and_then(Value::as_object)
                .ok_or_else(|| ReportError::invalid("no report body"))?;
            csp::event_parts(inner)?
        }
        Kind::Hpkp => certs::hpkp(report)?,
        Kind::ExpectCt => certs::expect_ct(inner(report, "expect-ct-report")?)?,
        Kind::ExpectStaple => certs::expect_staple(inner(report, "expect-staple-report")?)?,
    };
    Ok(assemble(kind, parts, ctx))
}

fn inner<'a>(
    report: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Map<String, Value>, ReportError> {
    report
        .get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| ReportError::invalid(format!("{key} is not an object")))
}

/// What each kind of report says about itself.
struct Parts {
    message: String,
    /// `None`: the event has none (Sentry then takes the request's URL).
    culprit: Option<String>,
    tags: Vec<(&'static str, String)>,
    url: Option<String>,
    referrer: Option<String>,
    interface: Map<String, Value>,
}

fn assemble(kind: Kind, parts: Parts, ctx: &Context) -> Map<String, Value> {
    let mut headers: Vec<Value> = Vec::new();
    if let Some(referrer) = parts.referrer.filter(|r| !r.is_empty()) {
        headers.push(json!(["Referer", referrer]));
    }
    if let Some(origin) = &ctx.origin {
        headers.push(json!(["Origin", origin]));
    }
    for (name, value) in &ctx.user_agent {
        headers.push(json!([name, value]));
    }
    let mut request = Map::new();
    if let Some(url) = parts.url {
        request.insert("url".into(), json!(url));
    }
    if !headers.is_empty() {
        request.insert("headers".into(), Value::Array(headers));
    }
    let mut event = Map::new();
    event.insert("type".into(), json!(kind.event_type()));
    event.insert("logger".into(), json!("csp"));
    event.insert("logentry".into(), json!({ "formatted": parts.message }));
    if let Some(culprit) = parts.culprit {
        event.insert("culprit".into(), json!(culprit));
    }
    let tags: Vec<Value> = parts.tags.iter().map(|(k, v)| json!([k, v])).collect();
    event.insert("tags".into(), Value::Array(tags));
    if !request.is_empty() {
        event.insert("request".into(), Value::Object(request));
    }
    event.insert("user".into(), json!({ "ip_address": "{{auto}}" }));
    if let Some(release) = &ctx.release {
        event.insert("release".into(), json!(release));
    }
    if let Some(environment) = &ctx.environment {
        event.insert("environment".into(), json!(environment));
    }
    event.insert(kind.event_type().into(), Value::Object(parts.interface));
    event
}

/// The first of `keys` present in `map` (reports spell fields kebab-case, camelCase or
/// snake_case, depending on the browser and the API).
fn field<'a>(map: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| map.get(*k))
        .filter(|v| !v.is_null())
}

fn string_field(map: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, ReportError> {
    match field(map, keys) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ReportError::invalid(format!(
            "{}: expected a string, got {other}",
            keys[0]
        ))),
    }
}

/// A non-negative integer, sent as a number or as its text.
fn count_field(map: &Map<String, Value>, keys: &[&str]) -> Result<Option<u64>, ReportError> {
    let bad = |v: &Value| ReportError::invalid(format!("{}: expected a count, got {v}", keys[0]));
    match field(map, keys) {
        None => Ok(None),
        Some(v @ Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| bad(v)),
        Some(v @ Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(v)),
        Some(v) => Err(bad(v)),
    }
}

#[cfg(test)]
mod tests;
