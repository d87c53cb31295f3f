//! The event parser and normalizer on any bytes: a normalized event or a 4xx error.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Some(event) = common::event(data) {
        assert_eq!(event.event_id.to_string().len(), 32);
        let _ = snag::protocol::event_json::to_vec(&event.json);
    }
});
