//! What several targets share: the request an event is taken to come in.

use snag::normalize::NormalizedEvent;
use snag::pipeline::{Received, parse_event};

/// `payload` parsed and normalized as if received now on project 1, or `None` (a 4xx).
pub fn event(payload: &[u8]) -> Option<NormalizedEvent> {
    let received = Received {
        project_id: snag::store::ProjectId(1),
        received_ms: 1_795_312_456_001,
        client_ip: Some("192.0.2.1".into()),
    };
    parse_event(payload, None, &received).ok()
}
