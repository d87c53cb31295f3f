//! The event parser and normalizer on any bytes: a normalized event or a 4xx error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::pipeline::{Received, parse_event};

fuzz_target!(|data: &[u8]| {
    let received = Received {
        project_id: 1,
        received_ms: 1_795_312_456_001,
        client_ip: Some("192.0.2.1".into()),
    };
    if let Ok(event) = parse_event(data, None, &received) {
        assert_eq!(event.event_id.len(), 32);
        let _ = snag::protocol::event_json::to_vec(&event.json);
    }
});
