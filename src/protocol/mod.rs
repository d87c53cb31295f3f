//! Sentry's wire formats, as pure data: envelopes and the event payload.
//!
//! No I/O here. Every shape variant real SDKs send is accepted: see `../shared/protocol/PROTOCOL.md`.

pub mod envelope;
pub mod event;
pub mod event_json;
pub mod rate_limits;
pub mod security_report;

pub use envelope::{Envelope, EnvelopeError, Item, ItemType};

/// An event's id: a non-nil UUID, written everywhere (tables, JSON, URLs) as 32 lowercase hex
/// digits, so its text never needs escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(uuid::Uuid);

impl EventId {
    /// 32 hex digits, with or without hyphens, any case; the nil UUID counts as none.
    pub fn parse(raw: &str) -> Option<EventId> {
        let id = uuid::Uuid::try_parse(raw.trim()).ok()?;
        (!id.is_nil()).then_some(EventId(id))
    }

    /// A new random id (for an event that came without one).
    pub fn random() -> EventId {
        EventId(uuid::Uuid::new_v4())
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.simple().fmt(f)
    }
}

impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        EventId::parse(&text).ok_or_else(|| serde::de::Error::custom("not an event id"))
    }
}

/// Parses an event id (see [`EventId::parse`]) into its canonical form, 32 lowercase hex.
pub fn parse_event_id(raw: &str) -> Option<String> {
    EventId::parse(raw).map(|id| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_event_id;

    #[test]
    fn event_ids_are_hex_by_construction() {
        let id = super::EventId::parse("EC654614-9C9D-4AD3-A1E0-F0B1C2D3E4F5").unwrap();
        assert_eq!(id.to_string(), "ec6546149c9d4ad3a1e0f0b1c2d3e4f5");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"ec6546149c9d4ad3a1e0f0b1c2d3e4f5\""
        );
        let back: super::EventId =
            serde_json::from_str("\"ec6546149c9d4ad3a1e0f0b1c2d3e4f5\"").unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<super::EventId>("\"x\\\"\"").is_err());
        assert_ne!(super::EventId::random(), super::EventId::random());
    }

    #[test]
    fn event_ids() {
        let id = "ec6546149c9d4ad3a1e0f0b1c2d3e4f5";
        assert_eq!(parse_event_id(id).as_deref(), Some(id));
        assert_eq!(
            parse_event_id("EC654614-9C9D-4AD3-A1E0-F0B1C2D3E4F5").as_deref(),
            Some(id)
        );
        assert_eq!(parse_event_id("00000000-0000-0000-0000-000000000000"), None);
        assert_eq!(parse_event_id("not-an-id"), None);
        assert_eq!(parse_event_id(""), None);
    }
}
