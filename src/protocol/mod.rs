//! Sentry's wire formats, as pure data: envelopes and the event payload.
//!
//! No I/O here. Every shape variant real SDKs send is accepted: see `../shared/protocol/PROTOCOL.md`.

pub mod envelope;
pub mod event;
pub mod event_json;
pub mod rate_limits;

pub use envelope::{Envelope, EnvelopeError, Item, ItemType};

/// Parses an event id: 32 hex digits, with or without hyphens; the nil UUID counts as none.
/// Returns the canonical form (32 lowercase hex).
pub fn parse_event_id(raw: &str) -> Option<String> {
    let id = uuid::Uuid::try_parse(raw.trim()).ok()?;
    (!id.is_nil()).then(|| id.simple().to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_event_id;

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
