//! Sentry envelopes: a JSON header line, then items, each a JSON header line and a payload.
//!
//! ```text
//! {"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://key@host/1"}\n
//! {"type":"attachment","length":10,"filename":"a.txt"}\n
//! helloworld\n
//! {"type":"event"}\n
//! {"message":"hello world","level":"error"}
//! ```
//!
//! An item with `length` has exactly that many payload bytes, followed by `\n` or the end. An item
//! without `length` runs to the next `\n` or the end. Whitespace between items and after the last
//! one is skipped (Relay skips the former; real SDKs never send the latter, so tolerate it).
//! The parser stops at the first item past `max_items`: a few kilobytes of compressed empty
//! items must not become millions of parsed ones.

use serde_json::{Map, Value};

/// The kind of an envelope item; unknown kinds are kept by name and skipped, never rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemType {
    Event,
    Transaction,
    Attachment,
    UserReport,
    Feedback,
    Session,
    Sessions,
    ClientReport,
    CheckIn,
    Log,
    Span,
    Profile,
    ProfileChunk,
    ReplayEvent,
    ReplayRecording,
    ReplayVideo,
    Statsd,
    MetricBuckets,
    TraceMetric,
    Security,
    Unknown(String),
}

impl ItemType {
    pub fn parse(name: &str) -> ItemType {
        match name {
            "event" => ItemType::Event,
            "transaction" => ItemType::Transaction,
            "attachment" => ItemType::Attachment,
            "user_report" => ItemType::UserReport,
            "feedback" => ItemType::Feedback,
            "session" => ItemType::Session,
            "sessions" => ItemType::Sessions,
            "client_report" => ItemType::ClientReport,
            "check_in" => ItemType::CheckIn,
            "log" => ItemType::Log,
            "span" => ItemType::Span,
            "profile" => ItemType::Profile,
            "profile_chunk" | "profile_chunk_ui" => ItemType::ProfileChunk,
            "replay_event" => ItemType::ReplayEvent,
            "replay_recording" => ItemType::ReplayRecording,
            "replay_video" => ItemType::ReplayVideo,
            "statsd" => ItemType::Statsd,
            "metric_buckets" => ItemType::MetricBuckets,
            "trace_metric" => ItemType::TraceMetric,
            "security" | "raw_security" => ItemType::Security,
            other => ItemType::Unknown(other.to_owned()),
        }
    }

    /// Relay's data category of the item, which rate limits name; none for client reports,
    /// user reports and unknown types.
    pub fn data_category(&self) -> Option<&'static str> {
        Some(match self {
            ItemType::Event => "error",
            ItemType::Transaction => "transaction",
            ItemType::Attachment => "attachment",
            ItemType::Feedback => "feedback",
            ItemType::Session | ItemType::Sessions => "session",
            ItemType::CheckIn => "monitor",
            ItemType::Log => "log_item",
            ItemType::Span => "span",
            ItemType::Profile => "profile",
            ItemType::ProfileChunk => "profile_chunk",
            ItemType::ReplayEvent | ItemType::ReplayRecording | ItemType::ReplayVideo => "replay",
            ItemType::Statsd | ItemType::MetricBuckets => "metric_bucket",
            ItemType::TraceMetric => "trace_metric",
            ItemType::Security => "security",
            ItemType::UserReport | ItemType::ClientReport | ItemType::Unknown(_) => return None,
        })
    }

    /// The name used in metrics and logs; unknown types collapse to `unknown` (bounded labels).
    pub fn metric_name(&self) -> &'static str {
        match self {
            ItemType::Event => "event",
            ItemType::Transaction => "transaction",
            ItemType::Attachment => "attachment",
            ItemType::UserReport => "user_report",
            ItemType::Feedback => "feedback",
            ItemType::Session => "session",
            ItemType::Sessions => "sessions",
            ItemType::ClientReport => "client_report",
            ItemType::CheckIn => "check_in",
            ItemType::Log => "log",
            ItemType::Span => "span",
            ItemType::Profile => "profile",
            ItemType::ProfileChunk => "profile_chunk",
            ItemType::ReplayEvent => "replay_event",
            ItemType::ReplayRecording => "replay_recording",
            ItemType::ReplayVideo => "replay_video",
            ItemType::Statsd => "statsd",
            ItemType::MetricBuckets => "metric_buckets",
            ItemType::TraceMetric => "trace_metric",
            ItemType::Security => "security",
            ItemType::Unknown(_) => "unknown",
        }
    }
}

#[derive(Debug)]
pub struct Item<'a> {
    pub ty: ItemType,
    pub headers: Map<String, Value>,
    pub payload: &'a [u8],
}

impl Item<'_> {
    /// A string header of the item (`filename`, `content_type`, `attachment_type`).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }
}

#[derive(Debug)]
pub struct Envelope<'a> {
    pub headers: Map<String, Value>,
    pub items: Vec<Item<'a>>,
}

impl Envelope<'_> {
    /// A string field of the envelope header (`event_id`, `dsn`).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("empty request body")]
    Empty,
    #[error("invalid envelope header: {0}")]
    Header(String),
    #[error("invalid item header: {0}")]
    ItemHeader(String),
    #[error("item payload is shorter than its length header")]
    UnexpectedEof,
    #[error("item payload is not followed by a newline")]
    MissingNewline,
    #[error("more than {0} items in one envelope")]
    TooManyItems(usize),
}

/// Parses an envelope of at most `max_items` items; payloads borrow from `body`.
pub fn parse(body: &[u8], max_items: usize) -> Result<Envelope<'_>, EnvelopeError> {
    if body.is_empty() {
        return Err(EnvelopeError::Empty);
    }
    let (line, mut rest) = split_line(body);
    let headers = json_object(line).map_err(EnvelopeError::Header)?;
    let mut items = Vec::new();
    loop {
        rest = skip_whitespace(rest);
        if rest.is_empty() {
            break;
        }
        if items.len() == max_items {
            return Err(EnvelopeError::TooManyItems(max_items));
        }
        let (line, after_header) = split_line(rest);
        let headers = json_object(line).map_err(EnvelopeError::ItemHeader)?;
        let ty = match headers.get("type") {
            Some(Value::String(t)) => ItemType::parse(t),
            _ => return Err(EnvelopeError::ItemHeader("missing item type".into())),
        };
        let (payload, after_payload) = match headers.get("length") {
            None | Some(Value::Null) => split_line(after_header),
            Some(length) => {
                let length = length
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| EnvelopeError::ItemHeader(format!("invalid length {length}")))?;
                if after_header.len() < length {
                    return Err(EnvelopeError::UnexpectedEof);
                }
                let (payload, after) = after_header.split_at(length);
                match after.first() {
                    None => (payload, after),
                    Some(b'\n') => (payload, &after[1..]),
                    Some(_) => return Err(EnvelopeError::MissingNewline),
                }
            }
        };
        items.push(Item {
            ty,
            headers,
            payload,
        });
        rest = after_payload;
    }
    Ok(Envelope { headers, items })
}

/// The bytes up to the first `\n` (excluded) and the bytes after it.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

fn skip_whitespace(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn json_object(line: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(body: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
        parse(body, 1000)
    }

    #[test]
    fn items_past_the_limit_stop_the_parse() {
        let body = b"{}\n".to_vec();
        let items = b"{\"type\":\"session\"}\n{}\n".repeat(4);
        let full = [body, items].concat();
        assert_eq!(parse(&full, 4).unwrap().items.len(), 4);
        assert_eq!(parse(&full, 3).unwrap_err(), EnvelopeError::TooManyItems(3));
    }

    fn types(body: &[u8]) -> Vec<String> {
        parse_all(body)
            .unwrap()
            .items
            .iter()
            .map(|i| i.ty.metric_name().to_owned())
            .collect()
    }

    #[test]
    fn items_with_and_without_length() {
        let body = b"{\"event_id\":\"abc\"}\n{\"type\":\"attachment\",\"length\":11}\nhello\nworld\n{\"type\":\"event\"}\n{\"message\":\"hi\"}";
        let env = parse_all(body).unwrap();
        assert_eq!(env.header_str("event_id"), Some("abc"));
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[0].payload, b"hello\nworld");
        assert_eq!(env.items[1].ty, ItemType::Event);
        assert_eq!(env.items[1].payload, b"{\"message\":\"hi\"}");
    }

    #[test]
    fn header_only_envelopes() {
        assert!(parse_all(b"{}").unwrap().items.is_empty());
        assert!(parse_all(b"{}\n").unwrap().items.is_empty());
        assert!(parse_all(b"{}\n\n  \n").unwrap().items.is_empty());
    }

    #[test]
    fn trailing_newline_optional_and_blank_lines_between_items() {
        assert_eq!(types(b"{}\n{\"type\":\"session\"}\n{}\n"), ["session"]);
        assert_eq!(
            types(b"{}\n{\"type\":\"session\"}\n{}\n\n{\"type\":\"log\"}\n{}"),
            ["session", "log"]
        );
    }

    #[test]
    fn zero_length_and_length_at_eof() {
        let env = parse_all(
            b"{}\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"event\",\"length\":2}\n{}",
        )
        .unwrap();
        assert_eq!(env.items[0].payload, b"");
        assert_eq!(env.items[1].payload, b"{}");
    }

    #[test]
    fn unknown_types_are_kept() {
        let env = parse_all(b"{}\n{\"type\":\"brand_new\"}\n{}").unwrap();
        assert_eq!(env.items[0].ty, ItemType::Unknown("brand_new".into()));
    }

    #[test]
    fn malformed_envelopes() {
        assert_eq!(parse_all(b"").unwrap_err(), EnvelopeError::Empty);
        assert!(matches!(
            parse_all(b"not json\n").unwrap_err(),
            EnvelopeError::Header(_)
        ));
        assert!(matches!(
            parse_all(b"[1]\n").unwrap_err(),
            EnvelopeError::Header(_)
        ));
        assert!(matches!(
            parse_all(b"{}\n{\"length\":2}\n{}").unwrap_err(),
            EnvelopeError::ItemHeader(_)
        ));
        assert!(matches!(
            parse_all(b"{}\n{\"type\":\"event\",\"length\":-1}\n{}").unwrap_err(),
            EnvelopeError::ItemHeader(_)
        ));
        assert_eq!(
            parse_all(b"{}\n{\"type\":\"event\",\"length\":10}\n{}").unwrap_err(),
            EnvelopeError::UnexpectedEof
        );
        assert_eq!(
            parse_all(b"{}\n{\"type\":\"event\",\"length\":1}\n{}").unwrap_err(),
            EnvelopeError::MissingNewline
        );
    }
}
