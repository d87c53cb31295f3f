//! The fields of Sentry's errors dataset by name: the ones the store reads from its columns
//! or aggregates, and the ones read out of each stored event (its exception types, its user,
//! its tags).
//!
//! ```text
//! title, count(), last_seen()      → stored columns and aggregates
//! error.type, user.email, trace    → read from the event: ["ValueError"], "a@b.c", "4bf9…"
//! tags[browser.name], browser.name → the event's tag (any other plain name is a tag, as in Sentry)
//! ```

use serde_json::{Value, json};

use crate::store::discover::{Aggregate, Column, Field, Kind};

/// What a search can ask for (the names above); shown in the answers to bad fields.
pub const FIELDS: &str = "id, title, message, timestamp, project, project.id, issue, issue.id, level, release, environment, platform, user, user.display, culprit, event.type, error.type, error.value, error.mechanism, user.id, user.email, user.username, user.ip, trace, http.url, http.method, sdk.name, sdk.version, dist, tags[KEY] or any tag key; count(), count_unique(user), count_unique(issue), last_seen(), first_seen()";

/// A field read out of each stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventField {
    ErrorType,
    ErrorValue,
    ErrorMechanism,
    UserId,
    UserEmail,
    UserUsername,
    UserIp,
    Trace,
    HttpUrl,
    HttpMethod,
    SdkName,
    SdkVersion,
    Dist,
    /// One of the event's indexed tags.
    Tag(String),
}

/// A field as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Stored(Field),
    Event(EventField),
}

impl Asked {
    pub fn is_aggregate(&self) -> bool {
        matches!(self, Asked::Stored(Field::Aggregate(_)))
    }

    /// Sentry's name for the field's type in `meta.fields`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Asked::Stored(field) => match field.kind() {
                Kind::Text => "string",
                Kind::Integer => "integer",
                Kind::Date => "date",
            },
            Asked::Event(EventField::ErrorType | EventField::ErrorValue)
            | Asked::Event(EventField::ErrorMechanism) => "array",
            Asked::Event(_) => "string",
        }
    }

    pub fn is_date(&self) -> bool {
        matches!(self, Asked::Stored(f) if f.kind() == Kind::Date)
    }
}

/// The field a name asks for; `None` for a function Snag does not compute or a name no tag
/// can have.
pub fn field_of(name: &str) -> Option<Asked> {
    let column = |c| Some(Asked::Stored(Field::Column(c)));
    let aggregate = |a| Some(Asked::Stored(Field::Aggregate(a)));
    let event = |f| Some(Asked::Event(f));
    match name {
        "id" => column(Column::Id),
        "title" | "message" => column(Column::Title),
        "timestamp" => column(Column::Timestamp),
        "project" | "project.name" => column(Column::Project),
        "project.id" => column(Column::ProjectId),
        "issue" => column(Column::Issue),
        "issue.id" | "group_id" => column(Column::IssueId),
        "level" => column(Column::Level),
        "release" => column(Column::Release),
        "environment" => column(Column::Environment),
        "platform" => column(Column::Platform),
        "user" | "user.display" => column(Column::User),
        "culprit" => column(Column::Culprit),
        "event.type" => column(Column::EventType),
        "count()" => aggregate(Aggregate::Count),
        "count_unique(user)" => aggregate(Aggregate::CountUniqueUser),
        "count_unique(issue)" => aggregate(Aggregate::CountUniqueIssue),
        "last_seen()" | "max(timestamp)" => aggregate(Aggregate::LastSeen),
        "first_seen()" | "min(timestamp)" => aggregate(Aggregate::FirstSeen),
        "error.type" => event(EventField::ErrorType),
        "error.value" => event(EventField::ErrorValue),
        "error.mechanism" => event(EventField::ErrorMechanism),
        "user.id" => event(EventField::UserId),
        "user.email" => event(EventField::UserEmail),
        "user.username" => event(EventField::UserUsername),
        "user.ip" => event(EventField::UserIp),
        "trace" | "trace.id" => event(EventField::Trace),
        "http.url" => event(EventField::HttpUrl),
        "http.method" => event(EventField::HttpMethod),
        "sdk.name" => event(EventField::SdkName),
        "sdk.version" => event(EventField::SdkVersion),
        "dist" => event(EventField::Dist),
        _ => {
            let key = name
                .strip_prefix("tags[")
                .and_then(|k| k.strip_suffix(']'))
                .unwrap_or(name);
            is_tag_key(key).then(|| Asked::Event(EventField::Tag(key.to_owned())))
        }
    }
}

/// Sentry's tag keys: letters, digits, `_ . : -`, at most 200 characters.
fn is_tag_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
}

/// A stored event as fields are read from it: its indexed tags worked out once, when a tag is
/// first asked for.
pub struct EventView<'a> {
    event: &'a Value,
    tags: std::cell::OnceCell<Vec<(String, String)>>,
}

impl<'a> EventView<'a> {
    pub fn new(event: &'a Value) -> EventView<'a> {
        EventView {
            event,
            tags: std::cell::OnceCell::new(),
        }
    }

    fn tag(&self, key: &str) -> Option<&str> {
        let tags = self.tags.get_or_init(|| {
            self.event
                .as_object()
                .map(crate::normalize::indexed_tags)
                .unwrap_or_default()
        });
        tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The value of an event field in a normalized event: text, a list for the exception fields,
/// `null` when the event has none.
pub fn event_value(field: &EventField, view: &EventView<'_>) -> Value {
    let event = view.event;
    let text = |pointer: &str| match event.pointer(pointer) {
        Some(Value::String(s)) => json!(s),
        Some(Value::Number(n)) => json!(n.to_string()),
        _ => Value::Null,
    };
    let exceptions = |key: &str| {
        let values = event.pointer("/exception/values").and_then(Value::as_array);
        Value::Array(
            values
                .into_iter()
                .flatten()
                .filter_map(|e| match key {
                    "mechanism" => e.pointer("/mechanism/type"),
                    _ => e.get(key),
                })
                .filter(|v| v.is_string())
                .cloned()
                .collect(),
        )
    };
    match field {
        EventField::ErrorType => exceptions("type"),
        EventField::ErrorValue => exceptions("value"),
        EventField::ErrorMechanism => exceptions("mechanism"),
        EventField::UserId => text("/user/id"),
        EventField::UserEmail => text("/user/email"),
        EventField::UserUsername => text("/user/username"),
        EventField::UserIp => text("/user/ip_address"),
        EventField::Trace => text("/contexts/trace/trace_id"),
        EventField::HttpUrl => text("/request/url"),
        EventField::HttpMethod => text("/request/method"),
        EventField::SdkName => text("/sdk/name"),
        EventField::SdkVersion => text("/sdk/version"),
        EventField::Dist => text("/dist"),
        EventField::Tag(key) => view.tag(key).map_or(Value::Null, Value::from),
    }
}

/// Whether an event's value matches a search term's value: equal text, or for a list, one
/// equal item.
pub fn matches(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Array(items) => items.iter().any(|v| v.as_str() == Some(wanted)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({
            "exception": {"values": [
                {"type": "KeyError", "value": "'sku'"},
                {"type": "ValueError", "value": "bad order", "mechanism": {"type": "django"}},
            ]},
            "user": {"id": 42, "email": "ada@example.com"},
            "contexts": {"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}, "browser": {"name": "Chrome"}},
            "tags": [["region", "eu"]],
            "level": "error",
        })
    }

    #[test]
    fn event_fields_read_what_sentry_answers() {
        let e = event();
        let value = |name: &str| match field_of(name) {
            Some(Asked::Event(f)) => event_value(&f, &EventView::new(&e)),
            other => panic!("{name} is {other:?}"),
        };
        assert_eq!(value("error.type"), json!(["KeyError", "ValueError"]));
        assert_eq!(value("error.mechanism"), json!(["django"]));
        assert_eq!(value("user.id"), json!("42"));
        assert_eq!(value("user.email"), json!("ada@example.com"));
        assert_eq!(value("user.ip"), Value::Null);
        assert_eq!(value("trace"), json!("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(value("region"), json!("eu"));
        assert_eq!(value("tags[browser.name]"), json!("Chrome"));
        assert_eq!(value("os.name"), Value::Null);
    }

    #[test]
    fn unknown_functions_and_odd_names_are_no_field() {
        for name in [
            "p95(transaction.duration)",
            "count_unique(title)",
            "",
            "a b",
            "tags[]",
        ] {
            assert_eq!(field_of(name), None, "{name}");
        }
        assert!(matches(&json!(["KeyError", "ValueError"]), "ValueError"));
        assert!(!matches(&json!("eu"), "us"));
        assert!(!matches(&Value::Null, ""));
    }
}
