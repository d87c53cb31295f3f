//! Fingerprint rules of any text: parsed or refused, and when parsed, applied to an event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::grouping::{ProjectRules, group_with};

#[path = "common.rs"]
mod common;

const EVENT: &str = r#"{"platform":"python","logger":"app.db","level":"warning",
  "message":"Timeout after 30s for user 42","tags":{"server":"web-1"},
  "exception":{"values":[{"type":"DatabaseError","value":"connection refused",
  "stacktrace":{"frames":[{"function":"query","module":"app.db","filename":"app/db.py"}]}}]}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = ProjectRules::parse("", text) {
        let event = common::event(EVENT.as_bytes()).expect("the fixed event normalizes");
        let _ = group_with(&event, &rules);
    }
});
