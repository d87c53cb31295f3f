//! Fingerprint rules of any text: parsed or refused, and when parsed, applied to an event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::grouping::{ProjectRules, group_with};
use snag::pipeline::{Received, parse_event};

const EVENT: &str = r#"{"platform":"python","logger":"app.db","level":"warning",
  "message":"Timeout after 30s for user 42","tags":{"server":"web-1"},
  "exception":{"values":[{"type":"DatabaseError","value":"connection refused",
  "stacktrace":{"frames":[{"function":"query","module":"app.db","filename":"app/db.py"}]}}]}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = ProjectRules::parse("", text) {
        let received = Received {
            project_id: 1,
            received_ms: 1_795_312_456_001,
            client_ip: None,
        };
        let event = parse_event(EVENT.as_bytes(), None, &received).unwrap();
        let _ = group_with(&event, &rules);
    }
});
