//! The event view of an issue page: one stored event, shaped for reading.
//!
//! [`event_view`] is a pure function from a normalized event to a plain view model of
//! pre-formatted strings, so the template (`templates/event.html`, included by the issue page
//! with the model bound to `ev`) only loops and prints:
//!
//! ```text
//! {"exception": {"values": [{"type": "KeyError", …}, {"type": "ValueError", …}]},
//!  "breadcrumbs": {"values": [{"timestamp": 1795312455.1, "message": "hi"}]}, …}
//!   → EventView { exceptions: [ValueError, caused by KeyError], breadcrumbs: ["01:54:15.100 hi"], … }
//! ```
//!
//! Event data is written by strangers: every field may be missing or of another type (then it
//! is left out), and every value reaches the page through askama's HTML escaping. Only
//! `http(s)` URLs ever become links ([`crate::format::safe_link`]).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::format::safe_link;

/// Longest value shown inline (variables, headers, data); the raw JSON has everything.
const MAX_VALUE: usize = 500;
/// Longest request body shown.
const MAX_BODY: usize = 2000;
/// Breadcrumbs shown: the most recent ones.
const MAX_BREADCRUMBS: usize = 100;

/// An attachment of the event, with a download URL built by the caller.
#[derive(Debug, Clone)]
pub struct AttachmentLink {
    pub filename: String,
    pub attachment_type: String,
    pub size: i64,
    pub url: String,
}

/// User feedback attached to the event.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub name: Option<String>,
    pub email: Option<String>,
    pub comments: String,
}

/// Everything the event partial shows, ready to print.
#[derive(Debug, Clone, Default)]
pub struct EventView {
    /// Event ID, time, level, platform, release, environment, server, transaction.
    pub summary: Vec<KeyValue>,
    /// `logentry.formatted`, else `logentry.message`.
    pub message: Option<String>,
    /// The exception actually raised first, then each cause.
    pub exceptions: Vec<ExceptionView>,
    /// The event's own (or a thread's) stack, shown only when there are no exceptions.
    pub stacktrace: Option<StackView>,
    /// Oldest first, the last [`MAX_BREADCRUMBS`] only.
    pub breadcrumbs: Vec<BreadcrumbView>,
    /// How many older breadcrumbs were left out.
    pub breadcrumbs_omitted: usize,
    pub request: Option<RequestView>,
    /// A browser security report's fields (CSP, HPKP, Expect-CT, Expect-Staple).
    pub security: Option<ContextView>,
    pub user: Vec<KeyValue>,
    pub contexts: Vec<ContextView>,
    pub tags: Vec<KeyValue>,
    /// `extra`: values as compact JSON.
    pub extra: Vec<KeyValue>,
    /// "name version".
    pub sdk: Option<String>,
    pub attachments: Vec<AttachmentView>,
    pub feedback: Vec<Feedback>,
    /// The whole event, pretty-printed.
    pub raw_json: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default)]
pub struct ExceptionView {
    /// Shown as "Caused by": every exception but the raised one.
    pub caused_by: bool,
    pub ty: String,
    pub value: String,
    pub module: Option<String>,
    /// Mechanism type, e.g. `generic`.
    pub mechanism: Option<String>,
    /// "yes" / "no", when the SDK said.
    pub handled: Option<String>,
    pub unhandled: bool,
    pub stack: Option<StackView>,
}

/// Frames newest (crashing) first, in groups: runs of system frames fold into one group.
#[derive(Debug, Clone, Default)]
pub struct StackView {
    pub groups: Vec<FrameGroup>,
}

#[derive(Debug, Clone, Default)]
pub struct FrameGroup {
    /// A run of non-in-app frames, rendered collapsed under `label`.
    pub system: bool,
    /// "N system frames".
    pub label: String,
    pub frames: Vec<FrameView>,
}

#[derive(Debug, Clone, Default)]
pub struct FrameView {
    /// `filename`, else `module`, else `abs_path`.
    pub location: String,
    pub function: Option<String>,
    /// "lineno:colno" or "lineno".
    pub line: Option<String>,
    pub in_app: bool,
    /// Expanded by default: the crashing frame.
    pub open: bool,
    /// Whether there is source context or variables to expand.
    pub has_details: bool,
    pub context: Vec<SourceLine>,
    pub vars: Vec<KeyValue>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceLine {
    /// Empty when the frame has no usable `lineno`.
    pub number: String,
    pub code: String,
    /// The frame's own line (`context_line`).
    pub current: bool,
}

#[derive(Debug, Clone, Default)]
pub struct BreadcrumbView {
    /// UTC `HH:MM:SS.mmm`, empty when unknown.
    pub time: String,
    /// `category`, else `type`.
    pub category: String,
    pub level: String,
    /// `ev-level-…` for one of the known levels, whatever the event says.
    pub level_class: &'static str,
    pub message: String,
    /// `data` as compact JSON, empty when none.
    pub data: String,
}

#[derive(Debug, Clone, Default)]
pub struct RequestView {
    pub method: String,
    pub url: String,
    /// `url` when it is safe to link to (see [`safe_link`]).
    pub url_link: Option<String>,
    pub query: String,
    pub headers: Vec<KeyValue>,
    pub data: String,
}

#[derive(Debug, Clone, Default)]
pub struct ContextView {
    pub name: String,
    pub rows: Vec<KeyValue>,
}

#[derive(Debug, Clone)]
pub struct AttachmentView {
    pub filename: String,
    pub attachment_type: String,
    /// Human readable, e.g. "1.2 KB".
    pub size: String,
    pub url: String,
}

/// Builds the view of one stored event.
pub fn event_view(
    event: &Value,
    attachments: Vec<AttachmentLink>,
    feedback: Vec<Feedback>,
) -> EventView {
    let exceptions: Vec<ExceptionView> = values(event.get("exception"))
        .rev()
        .enumerate()
        .map(|(i, e)| exception(e, i > 0))
        .collect();
    let stacktrace = if exceptions.is_empty() {
        stack(event.get("stacktrace")).or_else(|| stack(thread_stack(event)))
    } else {
        None
    };
    let (breadcrumbs, breadcrumbs_omitted) = breadcrumbs(event);
    EventView {
        summary: summary(event),
        message: message(event),
        exceptions,
        stacktrace,
        breadcrumbs,
        breadcrumbs_omitted,
        request: request(event.get("request")),
        security: security_report(event),
        user: pairs(event.get("user")),
        contexts: contexts(event.get("contexts")),
        tags: pairs(event.get("tags")),
        extra: pairs(event.get("extra")),
        sdk: sdk(event.get("sdk")),
        attachments: attachments
            .into_iter()
            .map(|a| AttachmentView {
                size: human_size(a.size),
                filename: a.filename,
                attachment_type: a.attachment_type,
                url: a.url,
            })
            .collect(),
        feedback,
        raw_json: serde_json::to_string_pretty(event).unwrap_or_default(),
    }
}

/// The report a security event carries, its fields labelled (`other` fields after them).
fn security_report(event: &Value) -> Option<ContextView> {
    const CSP: [(&str, &str); 12] = [
        ("blocked_uri", "Blocked URI"),
        ("effective_directive", "Effective directive"),
        ("violated_directive", "Violated directive"),
        ("document_uri", "Document URI"),
        ("source_file", "Source file"),
        ("line_number", "Line"),
        ("column_number", "Column"),
        ("script_sample", "Script sample"),
        ("original_policy", "Policy"),
        ("disposition", "Disposition"),
        ("referrer", "Referrer"),
        ("status_code", "Status code"),
    ];
    const CERTS: [(&str, &str); 14] = [
        ("hostname", "Hostname"),
        ("port", "Port"),
        ("scheme", "Scheme"),
        ("date_time", "Time"),
        ("effective_expiration_date", "Expires"),
        ("include_subdomains", "Include subdomains"),
        ("noted_hostname", "Noted hostname"),
        ("known_pins", "Known pins"),
        ("response_status", "Response status"),
        ("cert_status", "Certificate status"),
        ("failure_mode", "Failure mode"),
        ("test_report", "Test report"),
        ("scts", "SCTs"),
        ("served_certificate_chain", "Served chain"),
    ];
    let kinds = [
        ("csp", "CSP report", &CSP[..]),
        ("hpkp", "HPKP report", &CERTS[..]),
        ("expectct", "Expect-CT report", &CERTS[..]),
        ("expectstaple", "Expect-Staple report", &CERTS[..]),
    ];
    let (key, name, labels) = kinds
        .into_iter()
        .find(|(key, _, _)| event.get(*key).is_some_and(Value::is_object))?;
    let report = event.get(key)?.as_object()?;
    let mut rows: Vec<KeyValue> = labels
        .iter()
        .filter_map(|(field, label)| {
            let value = report.get(*field).filter(|v| !v.is_null())?;
            Some(KeyValue {
                key: (*label).to_owned(),
                value: text(value, MAX_VALUE),
            })
        })
        .collect();
    rows.extend(
        report
            .iter()
            .filter(|(k, v)| !v.is_null() && !labels.iter().any(|(field, _)| field == k))
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: text(v, MAX_VALUE),
            }),
    );
    Some(ContextView {
        name: name.to_owned(),
        rows,
    })
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The objects of `{"values": [..]}` (or of a bare list, as raw SDK payloads send them).
fn values(v: Option<&Value>) -> impl DoubleEndedIterator<Item = &Value> {
    let list = match v {
        Some(Value::Array(list)) => Some(list),
        Some(v) => v.get("values").and_then(Value::as_array),
        None => None,
    };
    list.into_iter().flatten().filter(|v| v.is_object())
}

/// A value as text: strings as they are, anything else as compact JSON; cut at `max` chars.
fn text(v: &Value, max: usize) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}

/// Key/value rows of an object or of a `[[key, value], …]` list; nulls and malformed
/// entries left out.
fn pairs(v: Option<&Value>) -> Vec<KeyValue> {
    let row = |k: &str, v: &Value| {
        (!v.is_null()).then(|| KeyValue {
            key: k.to_owned(),
            value: text(v, MAX_VALUE),
        })
    };
    match v {
        Some(Value::Object(map)) => map.iter().filter_map(|(k, v)| row(k, v)).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|p| match p.as_array().map(Vec::as_slice) {
                Some([Value::String(k), v]) => row(k, v),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Unix seconds (number) or RFC 3339 text.
fn datetime(v: Option<&Value>) -> Option<DateTime<Utc>> {
    match v? {
        Value::Number(n) => {
            let secs = n.as_f64().filter(|s| s.is_finite())?;
            DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    }
}

fn summary(event: &Value) -> Vec<KeyValue> {
    let time =
        datetime(event.get("timestamp")).map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string());
    let field = |key| str_of(event, key).map(str::to_owned);
    [
        ("Event ID", field("event_id")),
        ("Time", time),
        ("Level", field("level")),
        ("Platform", field("platform")),
        ("Release", field("release")),
        ("Environment", field("environment")),
        ("Server", field("server_name")),
        ("Transaction", field("transaction")),
    ]
    .into_iter()
    .filter_map(|(key, value)| {
        value.map(|value| KeyValue {
            key: key.to_owned(),
            value,
        })
    })
    .collect()
}

fn message(event: &Value) -> Option<String> {
    let logentry = event.get("logentry");
    [
        logentry.and_then(|l| str_of(l, "formatted")),
        logentry.and_then(|l| str_of(l, "message")),
    ]
    .into_iter()
    .flatten()
    .chain(str_of(event, "message"))
    .find(|m| !m.trim().is_empty())
    .map(str::to_owned)
}

fn exception(e: &Value, caused_by: bool) -> ExceptionView {
    let mechanism = e.get("mechanism");
    let handled = mechanism
        .and_then(|m| m.get("handled"))
        .and_then(Value::as_bool);
    ExceptionView {
        caused_by,
        ty: str_of(e, "type").unwrap_or("Error").to_owned(),
        value: str_of(e, "value").unwrap_or_default().to_owned(),
        module: str_of(e, "module").map(str::to_owned),
        mechanism: mechanism.and_then(|m| str_of(m, "type")).map(str::to_owned),
        handled: handled.map(|h| if h { "yes" } else { "no" }.to_owned()),
        unhandled: handled == Some(false),
        stack: stack(e.get("stacktrace")),
    }
}

/// The stack of the crashed thread, else the current one, else the first with frames.
fn thread_stack(event: &Value) -> Option<&Value> {
    let with_frames: Vec<&Value> = values(event.get("threads"))
        .filter(|t| frames(t.get("stacktrace")).next().is_some())
        .collect();
    let flagged = |flag| {
        with_frames
            .iter()
            .find(|t| t.get(flag).and_then(Value::as_bool) == Some(true))
    };
    flagged("crashed")
        .or_else(|| flagged("current"))
        .or(with_frames.first())
        .and_then(|t| t.get("stacktrace"))
}

fn frames(stacktrace: Option<&Value>) -> impl DoubleEndedIterator<Item = &Value> {
    stacktrace
        .and_then(|s| s.get("frames"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.is_object())
}

/// Frames newest first (the JSON lists the crashing one last), grouped for folding.
fn stack(stacktrace: Option<&Value>) -> Option<StackView> {
    let mut shown: Vec<FrameView> = frames(stacktrace).rev().map(frame).collect();
    if shown.is_empty() {
        return None;
    }
    let crashing = shown.iter().position(|f| f.in_app).unwrap_or(0);
    shown[crashing].open = true;
    // Without any in-app frame there is nothing to focus on: show every frame as is.
    let fold = shown.iter().any(|f| f.in_app);
    let mut groups: Vec<FrameGroup> = Vec::new();
    for f in shown {
        let system = fold && !f.in_app;
        match groups.last_mut() {
            Some(g) if g.system == system => g.frames.push(f),
            _ => groups.push(FrameGroup {
                system,
                label: String::new(),
                frames: vec![f],
            }),
        }
    }
    for g in groups.iter_mut().filter(|g| g.system) {
        let n = g.frames.len();
        g.label = format!("{n} system frame{}", if n == 1 { "" } else { "s" });
    }
    Some(StackView { groups })
}

fn frame(f: &Value) -> FrameView {
    let lineno = f.get("lineno").and_then(Value::as_i64);
    let colno = f.get("colno").and_then(Value::as_i64);
    let context = source_context(f, lineno);
    let vars = pairs(f.get("vars").filter(|v| v.is_object()));
    FrameView {
        location: ["filename", "module", "abs_path"]
            .into_iter()
            .find_map(|k| str_of(f, k).filter(|s| !s.is_empty()))
            .unwrap_or("?")
            .to_owned(),
        function: str_of(f, "function").map(str::to_owned),
        line: lineno.map(|l| match colno {
            Some(c) => format!("{l}:{c}"),
            None => l.to_string(),
        }),
        in_app: f.get("in_app").and_then(Value::as_bool) == Some(true),
        open: false,
        has_details: !context.is_empty() || !vars.is_empty(),
        context,
        vars,
    }
}

/// `pre_context`, `context_line`, `post_context`, numbered around `lineno`.
fn source_context(f: &Value, lineno: Option<i64>) -> Vec<SourceLine> {
    let lines = |key| -> Vec<String> {
        f.get(key)
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .map(|s| s.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (pre, post) = (lines("pre_context"), lines("post_context"));
    let Some(current) = str_of(f, "context_line") else {
        return Vec::new();
    };
    let first = lineno.map(|l| l.saturating_sub(pre.len() as i64));
    let number = |i: usize| match first {
        Some(first) if first.saturating_add(i as i64) >= 1 => {
            first.saturating_add(i as i64).to_string()
        }
        _ => String::new(),
    };
    let at = pre.len();
    pre.into_iter()
        .chain(std::iter::once(current.to_owned()))
        .chain(post)
        .enumerate()
        .map(|(i, code)| SourceLine {
            number: number(i),
            code,
            current: i == at,
        })
        .collect()
}

fn breadcrumbs(event: &Value) -> (Vec<BreadcrumbView>, usize) {
    let all: Vec<&Value> = values(event.get("breadcrumbs")).collect();
    let skip = all.len().saturating_sub(MAX_BREADCRUMBS);
    let shown = all[skip..]
        .iter()
        .map(|b| {
            let level = str_of(b, "level").unwrap_or("info");
            BreadcrumbView {
                time: datetime(b.get("timestamp"))
                    .map(|t| t.format("%H:%M:%S%.3f").to_string())
                    .unwrap_or_default(),
                category: str_of(b, "category")
                    .or_else(|| str_of(b, "type"))
                    .unwrap_or_default()
                    .to_owned(),
                level: level.to_owned(),
                level_class: level_class(level),
                message: b
                    .get("message")
                    .map(|m| text(m, MAX_VALUE))
                    .unwrap_or_default(),
                data: b
                    .get("data")
                    .filter(|d| !d.is_null() && d.as_object().is_none_or(|o| !o.is_empty()))
                    .map(|d| text(d, MAX_VALUE))
                    .unwrap_or_default(),
            }
        })
        .collect();
    (shown, skip)
}

/// A CSS class from a fixed list: event text never becomes markup, not even a class name.
fn level_class(level: &str) -> &'static str {
    match level.to_ascii_lowercase().as_str() {
        "fatal" | "critical" => "ev-level-fatal",
        "error" => "ev-level-error",
        "warning" | "warn" => "ev-level-warning",
        "debug" => "ev-level-debug",
        _ => "ev-level-info",
    }
}

fn request(r: Option<&Value>) -> Option<RequestView> {
    let r = r.filter(|r| r.is_object())?;
    let url = str_of(r, "url").unwrap_or_default().to_owned();
    let query = match r.get("query_string") {
        Some(Value::String(q)) => q.clone(),
        q => pairs(q)
            .into_iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect::<Vec<_>>()
            .join("&"),
    };
    let view = RequestView {
        method: str_of(r, "method").unwrap_or_default().to_owned(),
        url_link: safe_link(&url),
        url,
        query,
        headers: pairs(r.get("headers")),
        data: r
            .get("data")
            .filter(|d| !d.is_null())
            .map(|d| text(d, MAX_BODY))
            .unwrap_or_default(),
    };
    let empty = view.method.is_empty()
        && view.url.is_empty()
        && view.query.is_empty()
        && view.headers.is_empty()
        && view.data.is_empty();
    (!empty).then_some(view)
}

/// One table per context: the well-known ones first, then the rest alphabetically.
fn contexts(v: Option<&Value>) -> Vec<ContextView> {
    const FIRST: [&str; 4] = ["runtime", "os", "browser", "device"];
    let Some(map) = v.and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut names: Vec<&String> = map.keys().collect();
    names.sort_by_key(|n| (FIRST.iter().position(|f| f == n).unwrap_or(FIRST.len()), *n));
    names
        .into_iter()
        .filter_map(|name| {
            // `type` repeats the context's kind; Sentry hides it too.
            let rows: Vec<KeyValue> = pairs(map.get(name).filter(|c| c.is_object()))
                .into_iter()
                .filter(|kv| kv.key != "type")
                .collect();
            (!rows.is_empty()).then(|| ContextView {
                name: name.clone(),
                rows,
            })
        })
        .collect()
}

fn sdk(v: Option<&Value>) -> Option<String> {
    let v = v?;
    let name = str_of(v, "name")?;
    Some(match str_of(v, "version") {
        Some(version) => format!("{name} {version}"),
        None => name.to_owned(),
    })
}

fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{} B", bytes.max(0));
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::Template;
    use serde_json::json;

    /// The partial rendered alone, `ev` bound as the issue page binds it.
    #[derive(Template)]
    #[template(path = "event.html")]
    struct EventPartial<'a> {
        ev: &'a EventView,
    }

    /// The partial included the way the issue page includes it.
    #[derive(Template)]
    #[template(
        source = r#"<main>{% if let Some(ev) = event %}{% include "event.html" %}{% endif %}</main>"#,
        ext = "html"
    )]
    struct IssuePage {
        event: Option<EventView>,
    }

    fn render(ev: &EventView) -> String {
        EventPartial { ev }.render().expect("the partial renders")
    }

    /// The normalized event item of a captured SDK request.
    fn fixture(path: &str) -> Value {
        let file = std::fs::read_to_string(format!(
            "{}/tests/fixtures/sdk/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture exists");
        let capture: Value = serde_json::from_str(&file).expect("fixture is JSON");
        let envelope = capture["body_text_if_utf8_after_decompression"]
            .as_str()
            .expect("envelope text");
        let lines: Vec<&str> = envelope.lines().collect();
        let item = lines
            .iter()
            .position(|l| serde_json::from_str::<Value>(l).is_ok_and(|h| h["type"] == "event"))
            .expect("an event item");
        let raw: Value = serde_json::from_str(lines[item + 1]).expect("event payload");
        let ctx = crate::normalize::Context {
            received_ms: 1_795_312_500_000,
            ..Default::default()
        };
        Value::Object(
            crate::normalize::normalize(raw, &ctx)
                .expect("normalizes")
                .json,
        )
    }

    fn all_frames(s: &StackView) -> Vec<&FrameView> {
        s.groups.iter().flat_map(|g| &g.frames).collect()
    }

    #[test]
    fn python_chained_exception() {
        let ev = event_view(
            &fixture("python/01-envelope-event-chained_exception.json"),
            vec![],
            vec![],
        );
        let types: Vec<&str> = ev.exceptions.iter().map(|e| e.ty.as_str()).collect();
        assert_eq!(types, ["DatabaseError", "ConnectionError"]);
        assert!(!ev.exceptions[0].caused_by && ev.exceptions[1].caused_by);
        assert_eq!(ev.exceptions[0].mechanism.as_deref(), Some("generic"));
        assert_eq!(ev.exceptions[0].handled.as_deref(), Some("yes"));

        let raised = all_frames(ev.exceptions[0].stack.as_ref().unwrap());
        let functions: Vec<_> = raised
            .iter()
            .map(|f| f.function.as_deref().unwrap())
            .collect();
        assert_eq!(functions, ["mid_level", "top_level", "<module>"]);
        assert!(raised.iter().all(|f| f.in_app));
        assert!(raised[0].open && !raised[1].open);
        assert_eq!(raised[0].location, "python_driver.py");
        assert_eq!(raised[0].line.as_deref(), Some("42"));

        // 5 lines before line 42, the line itself, 5 after.
        let numbers: Vec<&str> = raised[0]
            .context
            .iter()
            .map(|l| l.number.as_str())
            .collect();
        assert_eq!(
            numbers,
            [
                "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47"
            ]
        );
        let current: Vec<_> = raised[0].context.iter().filter(|l| l.current).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0].number, "42");
        assert!(current[0].code.contains("raise DatabaseError"));
        assert_eq!(
            raised[0].vars,
            [KeyValue {
                key: "user_id".into(),
                value: "1234".into()
            }]
        );

        let cause = all_frames(ev.exceptions[1].stack.as_ref().unwrap());
        assert_eq!(cause[0].function.as_deref(), Some("low_level"));
        let local_dict = cause[0]
            .vars
            .iter()
            .find(|kv| kv.key == "local_dict")
            .unwrap();
        assert_eq!(local_dict.value, r#"{"a":"1","nested":{"b":["1","2"]}}"#);

        assert_eq!(ev.contexts[0].name, "runtime");
        let names: Vec<&str> = ev.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["runtime", "character", "trace"]);
        assert_eq!(ev.sdk.as_deref(), Some("sentry.python 2.75.0"));
        assert!(ev.tags.contains(&KeyValue {
            key: "case".into(),
            value: "chained_exception".into()
        }));
        assert!(
            ev.user
                .iter()
                .any(|kv| kv.key == "email" && kv.value == "jane@example.com")
        );
        assert_eq!(ev.breadcrumbs.len(), 2);
        assert_eq!(ev.breadcrumbs[0].time, "01:53:37.576");
        assert_eq!(ev.breadcrumbs[0].category, "auth");
        assert_eq!(
            ev.breadcrumbs[1].data,
            r#"{"method":"GET","status_code":200,"url":"http://example.invalid/x"}"#
        );

        let html = render(&ev);
        let raised_at = html.find("DatabaseError").unwrap();
        assert!(raised_at < html.find("ConnectionError").unwrap());
        assert!(html.contains("Caused by"));
        assert!(html.contains("<summary>Raw JSON</summary>"));
        assert!(html.contains(r#"class="ev-src-line ev-current""#));
    }

    #[test]
    fn node_cause_chain_folds_system_frames() {
        let ev = event_view(
            &fixture("node/06-envelope-event-capture_exception_cause_chain.json"),
            vec![],
            vec![],
        );
        let types: Vec<&str> = ev.exceptions.iter().map(|e| e.ty.as_str()).collect();
        assert_eq!(types, ["Error", "SyntaxError"]);

        // Newest first: the JSON's last frame (loadConfig) is the crashing one.
        let stack = ev.exceptions[0].stack.as_ref().unwrap();
        let frames = all_frames(stack);
        assert_eq!(frames[0].function.as_deref(), Some("loadConfig"));
        assert_eq!(frames[0].line.as_deref(), Some("28:11"));
        assert!(frames[0].open && frames[0].in_app);
        let shape: Vec<(bool, usize)> = stack
            .groups
            .iter()
            .map(|g| (g.system, g.frames.len()))
            .collect();
        assert_eq!(shape, [(false, 3), (true, 4), (false, 2), (true, 1)]);
        assert_eq!(stack.groups[1].label, "4 system frames");
        assert_eq!(stack.groups[3].label, "1 system frame");
        assert_eq!(frames.iter().filter(|f| f.open).count(), 1);

        // The cause's crashing frame is a system one (JSON.parse): the first in-app one opens.
        let cause = ev.exceptions[1].stack.as_ref().unwrap();
        assert!(cause.groups[0].system);
        let cause_frames = all_frames(cause);
        assert_eq!(cause_frames[0].function.as_deref(), Some("JSON.parse"));
        assert!(!cause_frames[0].open);
        assert!(cause_frames[1].open && cause_frames[1].function.as_deref() == Some("parseConfig"));

        let html = render(&ev);
        assert!(html.contains("4 system frames"));
        assert_eq!(html.matches(r#"<details class="ev-system">"#).count(), 4);
        // The included form (as the issue page uses it) renders the same partial.
        let page = IssuePage {
            event: Some(ev.clone()),
        }
        .render()
        .unwrap();
        assert!(page.contains("4 system frames") && page.starts_with("<main>"));
    }

    #[test]
    fn browser_and_request() {
        let ev = event_view(
            &fixture("browser/05-envelope-event-browser_unhandled_error.json"),
            vec![],
            vec![],
        );
        let e = &ev.exceptions[0];
        assert_eq!(e.ty, "TypeError");
        assert_eq!(e.handled.as_deref(), Some("no"));
        assert!(e.unhandled);
        let req = ev.request.as_ref().unwrap();
        assert!(
            req.url_link
                .as_deref()
                .unwrap()
                .starts_with("http://127.0.0.1:8995/index.html")
        );
        assert_eq!(req.headers[0].key, "User-Agent");
        assert_eq!(ev.breadcrumbs.len(), 3);
        assert_eq!(ev.breadcrumbs[0].category, "ui.click");

        let ev = event_view(
            &fixture("python/19-envelope-event-wsgi_unhandled_request_error.json"),
            vec![],
            vec![],
        );
        let req = ev.request.as_ref().unwrap();
        assert_eq!(
            (req.method.as_str(), req.query.as_str()),
            ("GET", "id=7&x=y")
        );
        let html = render(&ev);
        assert!(html.contains(r#"href="http://127.0.0.1/boom""#));
        assert!(html.contains("capture-test/1.0"));
    }

    #[test]
    fn message_with_thread_stack() {
        let event = json!({
            "logentry": {"message": "Failed for %s", "formatted": "Failed for bob"},
            "threads": {"values": [
                {"id": 1, "stacktrace": {"frames": [{"function": "idle"}]}},
                {"id": 2, "crashed": true, "stacktrace": {"frames": [
                    {"function": "main", "in_app": true}, {"function": "boom", "lineno": 2,
                     "pre_context": ["a", "b", "c"], "context_line": "d"}]}}
            ]},
            "tags": [["a", "1"], ["broken"]],
            "breadcrumbs": {"values": (0..150).map(|i| json!({"message": format!("m{i}"), "timestamp": i})).collect::<Vec<_>>()}
        });
        let ev = event_view(&event, vec![], vec![]);
        assert_eq!(ev.message.as_deref(), Some("Failed for bob"));
        let frames = all_frames(ev.stacktrace.as_ref().unwrap());
        assert_eq!(frames[0].function.as_deref(), Some("boom"));
        // lineno 2 with 3 lines before: the first one has no valid number.
        let numbers: Vec<&str> = frames[0]
            .context
            .iter()
            .map(|l| l.number.as_str())
            .collect();
        assert_eq!(numbers, ["", "", "1", "2"]);
        assert!(frames[1].open, "the in-app frame is the crashing one");
        assert_eq!(
            ev.tags,
            [KeyValue {
                key: "a".into(),
                value: "1".into()
            }]
        );
        assert_eq!((ev.breadcrumbs.len(), ev.breadcrumbs_omitted), (100, 50));
        assert_eq!(ev.breadcrumbs[0].message, "m50");
        assert_eq!(ev.breadcrumbs[0].time, "00:00:50.000");
        let html = render(&ev);
        assert!(html.contains("Failed for bob") && html.contains("50 earlier breadcrumbs"));
    }

    #[test]
    fn malformed_fields_are_left_out() {
        for event in [
            json!(null),
            json!([1, 2]),
            json!({"exception": "x", "breadcrumbs": 3, "request": [], "user": "u", "contexts": [1],
                   "tags": {"t": null}, "sdk": {"name": 5}, "timestamp": "yesterday",
                   "stacktrace": {"frames": [1, null, {"lineno": -5, "colno": "x", "vars": [1],
                                  "pre_context": "no", "context_line": 7}]}}),
            json!({"exception": {"values": [{"stacktrace": {"frames": {}}}, null]},
                   "breadcrumbs": [{"timestamp": 1e300, "level": {"x": 1}, "data": {}}]}),
        ] {
            let ev = event_view(&event, vec![], vec![]);
            render(&ev);
        }
        let ev = event_view(
            &json!({"exception": {"values": [{"stacktrace": {"frames": {}}}]}}),
            vec![],
            vec![],
        );
        assert_eq!(ev.exceptions[0].ty, "Error");
        assert!(ev.exceptions[0].stack.is_none());
    }

    #[test]
    fn attachments_and_feedback() {
        let ev = event_view(
            &json!({}),
            vec![AttachmentLink {
                filename: "log.txt".into(),
                attachment_type: "event.attachment".into(),
                size: 1229,
                url: "/attachments/1".into(),
            }],
            vec![Feedback {
                name: Some("Jane".into()),
                email: None,
                comments: "It broke <b>".into(),
            }],
        );
        assert_eq!(ev.attachments[0].size, "1.2 KB");
        let html = render(&ev);
        assert!(html.contains(r#"href="/attachments/1""#) && html.contains("log.txt"));
        assert!(html.contains("It broke &#60;b&#62;"));
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MB");
        assert_eq!(human_size(-1), "0 B");
    }

    #[test]
    fn hostile_event_is_escaped() {
        let img = "<img src=x onerror=alert(1)>";
        let event = json!({
            "exception": {"values": [{"type": "<b>T</b>", "value": "<script>alert(1)</script>",
                "stacktrace": {"frames": [{"function": img, "in_app": true, "context_line": img,
                                           "vars": {"x": img}}]}}]},
            "tags": [["t", img]],
            "breadcrumbs": {"values": [{"message": img, "category": img, "level": "\"><script>alert(1)</script>"}]},
            "user": {"email": "\"><svg onload=alert(1)>"},
            "request": {"url": "javascript:alert(1)", "headers": [["X-Evil", "<script>alert(1)</script>"]],
                        "data": {"k": img}},
            "contexts": {"os": {"name": img}},
            "sdk": {"name": img},
            "extra": {"e": img},
        });
        let ev = event_view(&event, vec![], vec![]);
        assert_eq!(ev.breadcrumbs[0].level_class, "ev-level-info");
        let html = render(&ev);
        for bad in [
            "<script>alert",
            "<img src=x",
            "<svg onload",
            "href=\"javascript:",
            "<b>T",
        ] {
            assert!(!html.contains(bad), "{bad} in output");
        }
        assert!(!html.to_ascii_lowercase().contains("javascript:alert(1)\""));
        // askama escapes `<`, `>`, `"` as numeric references.
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(html.contains("&#60;img src=x onerror=alert(1)&#62;"));
        assert!(html.contains("&#34;&#62;&#60;svg onload=alert(1)&#62;"));
        assert!(html.contains("javascript:alert(1)"), "shown as text");
        assert!(!html.contains("<script") && !html.contains("style="));
    }

    #[test]
    fn a_csp_report_shows_its_fields_escaped() {
        let event = json!({
            "type": "csp",
            "logentry": {"formatted": "Blocked 'script' from 'evil.example'"},
            "csp": {"effective_directive": "script-src-elem", "blocked_uri": "https://evil.example/<x>.js",
                    "document_uri": "https://shop.example/", "violated_directive": "script-src-elem",
                    "original_policy": "script-src 'self'", "source_file": "https://shop.example/app.js",
                    "line_number": 3, "future_field": "kept"}
        });
        let ev = event_view(&event, Vec::new(), Vec::new());
        let report = ev.security.as_ref().expect("a security section");
        assert_eq!(report.name, "CSP report");
        let rows: Vec<(&str, &str)> = report
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(rows[0], ("Blocked URI", "https://evil.example/<x>.js"));
        assert!(rows.contains(&("Document URI", "https://shop.example/")));
        assert!(rows.contains(&("Line", "3")));
        assert!(rows.contains(&("Policy", "script-src 'self'")));
        assert_eq!(rows.last(), Some(&("future_field", "kept")));
        let html = render(&ev);
        assert!(
            html.contains("<h3 class=\"ev-h\">CSP report</h3>"),
            "{html}"
        );
        assert!(
            html.contains("https://evil.example/&#60;x&#62;.js"),
            "{html}"
        );
        assert!(
            event_view(&json!({}), Vec::new(), Vec::new())
                .security
                .is_none()
        );
    }
}
