//! The tags Sentry indexes for an event: fields of the normalized event that Relay promotes to
//! tags, then the event's own tags (a field wins over a tag of the same name).
//!
//! ```text
//! {"level": "error", "environment": "production", "request": {"url": "https://x/a?b=1"},
//!  "tags": [["region", "eu"]], …}
//! → [("level", "error"), ("environment", "production"), ("url", "https://x/a"), ("region", "eu")]
//! ```
//! Counted per issue at ingest and answered as the event's `tags` by the API, so both read the
//! one list.

use serde_json::{Map, Value};

use super::shapes::user_key;
use crate::protocol::event::{Mechanism, objects};

/// Longest tag value indexed (Sentry's limit).
const MAX_VALUE_CHARS: usize = 200;

/// The indexed tags of a normalized event, in a stable order: derived fields first.
pub fn indexed_tags(json: &Map<String, Value>) -> Vec<(String, String)> {
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
    let context = |ctx: &str, field: &str| {
        json.get("contexts")
            .and_then(|c| c.get(ctx))
            .and_then(|c| c.get(field))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mechanism = objects(json.get("exception").and_then(|e| e.get("values")))
        .last()
        .and_then(|e| Mechanism::read(e.get("mechanism")));
    let url = json
        .get("request")
        .and_then(|r| r.get("url"))
        .and_then(Value::as_str)
        .map(|u| u.split(['?', '#']).next().unwrap_or(u).to_owned());
    let derived: [(&str, Option<String>); 13] = [
        ("level", text("level")),
        ("environment", text("environment")),
        ("release", text("release")),
        ("transaction", text("transaction")),
        ("server_name", text("server_name")),
        ("logger", text("logger")),
        ("user", user_key(json.get("user"))),
        ("url", url),
        (
            "handled",
            mechanism
                .as_ref()
                .and_then(|m| m.handled)
                .map(|h| if h { "yes" } else { "no" }.to_owned()),
        ),
        (
            "mechanism",
            mechanism.as_ref().and_then(|m| m.ty).map(str::to_owned),
        ),
        ("os.name", context("os", "name")),
        ("browser.name", context("browser", "name")),
        ("runtime.name", context("runtime", "name")),
    ];
    let mut tags: Vec<(String, String)> = derived
        .into_iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty() && v.chars().count() <= MAX_VALUE_CHARS)
                .map(|v| (k.to_owned(), v))
        })
        .collect();
    let own = json
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for pair in own.filter_map(Value::as_array) {
        let (Some(k), Some(v)) = (
            pair.first().and_then(Value::as_str),
            pair.get(1).and_then(Value::as_str),
        ) else {
            continue;
        };
        if !tags.iter().any(|(known, _)| known == k) {
            tags.push((k.to_owned(), v.to_owned()));
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tags_of(event: Value) -> Vec<(String, String)> {
        indexed_tags(event.as_object().expect("an object"))
    }

    #[test]
    fn fields_become_tags_before_the_events_own_and_win_over_them() {
        let tags = tags_of(json!({
            "level": "error", "environment": "production",
            "request": {"url": "https://shop.example/cart?id=1#top"},
            "user": {"id": 42},
            "exception": {"values": [{"type": "E", "mechanism": {"type": "django", "handled": false}}]},
            "contexts": {"browser": {"name": "Chrome"}},
            "tags": [["environment", "spoofed"], ["region", "eu"]],
        }));
        let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("level", "error"),
                ("environment", "production"),
                ("user", "id:42"),
                ("url", "https://shop.example/cart"),
                ("handled", "no"),
                ("mechanism", "django"),
                ("browser.name", "Chrome"),
                ("region", "eu"),
            ]
        );
    }

    #[test]
    fn empty_and_overlong_values_are_not_indexed() {
        let tags = tags_of(json!({"level": "info", "release": "", "logger": "x".repeat(201)}));
        assert_eq!(tags, [("level".to_owned(), "info".to_owned())]);
    }
}
