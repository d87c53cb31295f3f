//! Grouping of any event that normalizes: hashes, a title and a culprit, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::grouping::{ProjectRules, group_with};
use snag::pipeline::{Received, parse_event};

fuzz_target!(|data: &[u8]| {
    let received = Received {
        project_id: 1,
        received_ms: 1_795_312_456_001,
        client_ip: None,
    };
    if let Ok(event) = parse_event(data, None, &received) {
        let grouping = group_with(&event, &ProjectRules::default());
        assert!(!grouping.hashes.is_empty());
    }
});
