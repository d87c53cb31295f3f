//! A `log` envelope item as the SDKs send it, checked as Relay checks it.
//!
//! ```text
//! {"type":"log","item_count":2,"content_type":"application/vnd.sentry.items.log+json"}
//! {"version":2,"items":[
//!   {"timestamp":1795312455.848,"level":"error","body":"order 1001 failed",
//!    "trace_id":"7a70753b38ec4ac388036934b395cd84","span_id":"a1b2c3d4e5f6a7b8","severity_number":17,
//!    "attributes":{"sentry.message.template":{"value":"order %s failed","type":"string"},
//!                  "sentry.message.parameter.0":{"value":1001,"type":"integer"}, …}}, …]}
//! ```
//!
//! The container must say how many lines it holds (`item_count`, when given) and be of the logs
//! content type; a malformed container refuses the item. A line without `timestamp`,
//! `trace_id`, `level` or `body` is dropped alone, as is an attribute whose value is not of its
//! declared type (`string`, `integer`, `double`, `boolean`, `array` of scalars). Levels are
//! OpenTelemetry's short names (`warn`, not `warning`); a line without `severity_number` (Python
//! sends none) takes its level's.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The content type of a log container.
pub const CONTENT_TYPE: &str = "application/vnd.sentry.items.log+json";
/// The longest body kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Attributes kept per line; more are dropped (and counted).
pub const MAX_ATTRIBUTES: usize = 128;
/// The longest attribute key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// The longest string attribute value kept, in bytes.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// Why a log item was refused (said to the client as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LogError(pub String);

/// A line's level, as OpenTelemetry names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// A level as SDKs and queries name it (`warning` is taken for `warn`).
    pub fn parse(name: &str) -> Option<Level> {
        Some(match name.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            "fatal" => Level::Fatal,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// The lowest OpenTelemetry severity number of the level (trace 1, debug 5, info 9,
    /// warn 13, error 17, fatal 21).
    pub fn severity_number(self) -> u8 {
        1 + 4 * self as u8
    }

    /// The level of an OpenTelemetry severity number (1–24).
    pub fn of_severity(number: u8) -> Option<Level> {
        Level::ALL
            .get(usize::from(number.checked_sub(1)? / 4))
            .copied()
    }
}

/// An attribute's value, of the type it declared (stored as the bare JSON value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    String(String),
    Integer(i64),
    Double(f64),
    Boolean(bool),
    /// Scalars of one type.
    Array(Vec<AttrValue>),
}

/// One log line, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Microseconds since the Unix epoch.
    pub timestamp_us: i64,
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: Option<String>,
    pub level: Level,
    /// 1–24.
    pub severity_number: u8,
    pub body: String,
    /// In the order sent.
    pub attributes: Vec<(String, AttrValue)>,
}

/// The lines of a log item, and what was dropped of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogItem {
    pub lines: Vec<LogLine>,
    /// Lines dropped (a required field missing or malformed).
    pub dropped_lines: usize,
    /// Attributes dropped (a value not of its type, too many, a key too long).
    pub dropped_attributes: usize,
}

#[derive(Deserialize)]
struct Container {
    items: Vec<Value>,
}

/// How far a line's time may be ahead of its arrival (clock skew), as Relay allows.
pub const MAX_FUTURE_US: i64 = 60 * 1_000_000;
/// How far back a line's time may be.
pub const MAX_PAST_US: i64 = 30 * 24 * 3600 * 1_000_000;

/// Lines stamped too far ahead of their arrival or too long before it take their arrival
/// time, as Relay does: a line from 2099 would otherwise head every page for ever, and a block
/// spanning decades would be read by every search.
pub fn clamp_timestamps(lines: &mut [LogLine], received_ms: i64) {
    let received_us = received_ms.saturating_mul(1000);
    for line in lines {
        if line.timestamp_us > received_us + MAX_FUTURE_US
            || line.timestamp_us < received_us - MAX_PAST_US
        {
            line.timestamp_us = received_us;
        }
    }
}

/// Parses a log item: its header's `item_count` and `content_type`, and its payload.
pub fn parse(
    item_count: Option<u64>,
    content_type: Option<&str>,
    payload: &[u8],
) -> Result<LogItem, LogError> {
    if let Some(ty) = content_type
        && !ty.eq_ignore_ascii_case(CONTENT_TYPE)
    {
        return Err(LogError(format!(
            "a log item's content_type must be {CONTENT_TYPE}, not {ty:?}"
        )));
    }
    let container: Container = serde_json::from_slice(payload).map_err(|e| {
        LogError(format!(
            "log item is not a {{\"items\": [...]}} object: {e}"
        ))
    })?;
    if let Some(count) = item_count
        && count != container.items.len() as u64
    {
        return Err(LogError(format!(
            "the log item says item_count {count} but holds {} lines",
            container.items.len()
        )));
    }
    let mut item = LogItem::default();
    for raw in &container.items {
        match line(raw, &mut item.dropped_attributes) {
            Some(line) => item.lines.push(line),
            None => item.dropped_lines += 1,
        }
    }
    Ok(item)
}

/// One line, or None when a required field is missing or malformed.
fn line(raw: &Value, dropped_attributes: &mut usize) -> Option<LogLine> {
    let timestamp = raw
        .get("timestamp")?
        .as_f64()
        .filter(|t| t.is_finite() && *t > 0.0)?;
    let trace_id = hex_id(raw.get("trace_id")?.as_str()?, 32)?;
    let level = Level::parse(raw.get("level")?.as_str()?)?;
    let body = raw.get("body")?.as_str()?;
    let span_id = raw
        .get("span_id")
        .and_then(Value::as_str)
        .and_then(|s| hex_id(s, 16));
    let severity_number = raw
        .get("severity_number")
        .and_then(Value::as_u64)
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| Level::of_severity(*n).is_some())
        .unwrap_or_else(|| level.severity_number());
    let mut attributes = Vec::new();
    if let Some(map) = raw.get("attributes").and_then(Value::as_object) {
        for (key, typed) in map {
            match attribute(key, typed) {
                Some(value) if attributes.len() < MAX_ATTRIBUTES => {
                    attributes.push((key.clone(), value))
                }
                _ => *dropped_attributes += 1,
            }
        }
    }
    Some(LogLine {
        timestamp_us: (timestamp * 1e6).round() as i64,
        trace_id,
        span_id,
        level,
        severity_number,
        body: cut(body, MAX_BODY_BYTES).to_owned(),
        attributes,
    })
}

/// `{"value": …, "type": …}`, the value of its declared type (an integer that does not fit
/// an i64, a string typed integer: None, as Relay drops them).
fn attribute(key: &str, typed: &Value) -> Option<AttrValue> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return None;
    }
    let value = typed.get("value")?;
    let ty = typed.get("type")?.as_str()?;
    if ty == "array" {
        let values: Vec<AttrValue> = value
            .as_array()?
            .iter()
            .map(scalar)
            .collect::<Option<_>>()?;
        let same = values
            .windows(2)
            .all(|w| std::mem::discriminant(&w[0]) == std::mem::discriminant(&w[1]));
        return same.then_some(AttrValue::Array(values));
    }
    let value = scalar(value)?;
    match (ty, value) {
        ("string", v @ AttrValue::String(_))
        | ("integer", v @ AttrValue::Integer(_))
        | ("boolean", v @ AttrValue::Boolean(_)) => Some(v),
        ("double", AttrValue::Integer(n)) => Some(AttrValue::Double(n as f64)),
        ("double", v @ AttrValue::Double(_)) => Some(v),
        _ => None,
    }
}

fn scalar(value: &Value) -> Option<AttrValue> {
    Some(match value {
        Value::String(s) => AttrValue::String(cut(s, MAX_VALUE_BYTES).to_owned()),
        Value::Bool(b) => AttrValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AttrValue::Integer(i),
            None if n.is_u64() => return None,
            None => AttrValue::Double(n.as_f64()?),
        },
        _ => return None,
    })
}

/// `len` hex digits, lowercase (hyphens of a UUID-shaped trace id dropped); the all-zero id
/// is none.
fn hex_id(id: &str, len: usize) -> Option<String> {
    let id: String = id.chars().filter(|c| *c != '-').collect();
    (id.len() == len && id.bytes().all(|b| b.is_ascii_hexdigit()) && id.bytes().any(|b| b != b'0'))
        .then(|| id.to_ascii_lowercase())
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The first `log` item of a captured request, parsed.
    fn captured(path: &str) -> LogItem {
        let file = format!("{}/tests/fixtures/sdk/{path}", env!("CARGO_MANIFEST_DIR"));
        let capture: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let item = capture["envelope"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["headers"]["type"] == "log")
            .unwrap();
        let headers = &item["headers"];
        let payload = serde_json::to_vec(&item["payload_json"]).unwrap();
        parse(
            headers["item_count"].as_u64(),
            headers["content_type"].as_str(),
            &payload,
        )
        .unwrap()
    }

    /// Lines kept, lines dropped, attributes dropped.
    fn counts(item: &LogItem) -> (usize, usize, usize) {
        (
            item.lines.len(),
            item.dropped_lines,
            item.dropped_attributes,
        )
    }

    #[test]
    fn the_node_sdks_lines_keep_their_fields_and_typed_attributes() {
        let item = captured("node/04-envelope-log-enable_logs.json");
        assert_eq!(counts(&item), (2, 0, 0));
        let failed = &item.lines[1];
        assert_eq!(failed.body, "order 1001 failed");
        assert_eq!((failed.level, failed.severity_number), (Level::Error, 17));
        assert_eq!(failed.trace_id, "7a70753b38ec4ac388036934b395cd84");
        assert_eq!(failed.span_id, None);
        assert_eq!(failed.timestamp_us, 1_795_312_455_848_807);
        let attribute = |key: &str| {
            failed
                .attributes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            attribute("sentry.message.template"),
            Some(AttrValue::String("order %s failed".into()))
        );
        assert_eq!(
            attribute("sentry.message.parameter.0"),
            Some(AttrValue::Integer(1001))
        );
    }

    #[test]
    fn the_python_sdks_lines_parse_whole_up_to_a_burst_of_150() {
        let item = captured("python-logs/02-envelope-log-sentry_logger.json");
        assert_eq!(counts(&item), (2, 0, 0));
        let failed = &item.lines[1];
        assert_eq!(failed.body, "payment pay_7 failed: card declined");
        // Python sends no severity_number: the level's own.
        assert_eq!((failed.level, failed.severity_number), (Level::Error, 17));
        assert!(failed.attributes.contains(&(
            "sentry.message.parameter.reason".to_owned(),
            AttrValue::String("card declined".into())
        )));
        let burst = captured("python-logs/06-envelope-log-burst.json");
        assert_eq!(counts(&burst), (150, 0, 0));
        let levels: Vec<Level> = captured("python-logs/01-envelope-log-logging_levels.json")
            .lines
            .iter()
            .map(|l| l.level)
            .collect();
        assert_eq!(levels, [Level::Info, Level::Warn]);
    }

    #[test]
    fn a_bad_line_or_attribute_goes_alone_a_bad_container_refuses_the_item() {
        let payload = json!({"items": [
            {"timestamp": 1.5, "trace_id": "ab".repeat(16), "level": "warning", "body": "kept",
             "span_id": "A1B2C3D4E5F6A7B8",
             "attributes": {"n": {"value": 1, "type": "double"}, "s": {"value": 5, "type": "string"},
                            "big": {"value": u64::MAX, "type": "integer"},
                            "tags": {"value": ["a", "b"], "type": "array"},
                            "mixed": {"value": ["a", 1], "type": "array"},
                            "": {"value": "x", "type": "string"}}},
            {"timestamp": 1.5, "trace_id": "ab".repeat(16), "level": "info"},
            {"timestamp": 1.5, "trace_id": "nope", "level": "info", "body": "x"},
            {"timestamp": 1.5, "trace_id": "0".repeat(32), "level": "info", "body": "x"},
            {"timestamp": "1.5", "trace_id": "ab".repeat(16), "level": "info", "body": "x"},
            {"timestamp": 1.5, "trace_id": "ab".repeat(16), "level": "loud", "body": "x"}
        ]})
        .to_string();
        let item = parse(Some(6), Some(CONTENT_TYPE), payload.as_bytes()).unwrap();
        assert_eq!(counts(&item), (1, 5, 4));
        let kept = &item.lines[0];
        assert_eq!((kept.level, kept.severity_number), (Level::Warn, 13));
        assert_eq!(kept.span_id.as_deref(), Some("a1b2c3d4e5f6a7b8"));
        assert_eq!(
            kept.attributes,
            [
                ("n".to_owned(), AttrValue::Double(1.0)),
                (
                    "tags".to_owned(),
                    AttrValue::Array(vec![
                        AttrValue::String("a".into()),
                        AttrValue::String("b".into())
                    ])
                ),
            ]
        );
        for (count, ty, payload, says) in [
            (
                Some(2),
                Some(CONTENT_TYPE),
                payload.as_str(),
                "item_count 2 but holds 6",
            ),
            (
                None,
                Some("application/json"),
                payload.as_str(),
                "content_type must be",
            ),
            (None, None, "[]", "is not a"),
            (None, None, "{\"items\": 3}", "is not a"),
        ] {
            let error = parse(count, ty, payload.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn lines_from_far_ahead_or_long_ago_take_their_arrival_time() {
        let received_ms = 1_796_360_983_000;
        let at = |us: i64| LogLine {
            timestamp_us: us,
            trace_id: "49aed8c636be4695a77c5b93beee44fd".into(),
            span_id: None,
            level: Level::Info,
            severity_number: 9,
            body: String::new(),
            attributes: Vec::new(),
        };
        let now_us = received_ms * 1000;
        let mut lines = vec![
            at(now_us - 5_000_000),
            at(now_us + 30_000_000),
            at(now_us + 3_600_000_000),
            at(1_000_000),
        ];
        clamp_timestamps(&mut lines, received_ms);
        let times: Vec<i64> = lines.iter().map(|l| l.timestamp_us).collect();
        assert_eq!(
            times,
            [now_us - 5_000_000, now_us + 30_000_000, now_us, now_us]
        );
    }

    #[test]
    fn levels_and_severities_map_as_in_opentelemetry() {
        for level in Level::ALL {
            assert_eq!(Level::of_severity(level.severity_number()), Some(level));
            assert_eq!(Level::parse(level.as_str()), Some(level));
        }
        assert_eq!(Level::of_severity(24), Some(Level::Fatal));
        assert_eq!(Level::of_severity(0), None);
        assert_eq!(Level::of_severity(25), None);
        assert_eq!(cut("héllo", 2), "h");
        let long = "é".repeat(MAX_BODY_BYTES);
        let payload = json!({"items": [{"timestamp": 2.0, "trace_id": "cd".repeat(16), "level": "fatal", "body": long}]});
        let item = parse(None, None, payload.to_string().as_bytes()).unwrap();
        assert_eq!(item.lines[0].body.len(), MAX_BODY_BYTES);
    }
}
