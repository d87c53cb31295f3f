//! Stack-trace rules (Sentry's enhancement syntax) of any text: parsed or refused, and when
//! parsed, applied to an event with long, odd frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::grouping::{ProjectRules, group_with};

#[path = "common.rs"]
mod common;

const EVENT: &str = r#"{"platform":"native","exception":{"values":[{"type":"E","value":"v",
  "stacktrace":{"frames":[
    {"function":"main","package":"/Applications/A.app/Contents/MacOS/a","filename":"a.c"},
    {"function":"std::__1::vector<int>::at","module":"core::panicking","abs_path":"C:\\src\\x.cpp"},
    {"function":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbb","package":"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"}
  ]}}]}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = ProjectRules::parse(text, "") {
        let event = common::event(EVENT.as_bytes()).expect("the fixed event normalizes");
        let _ = group_with(&event, &rules);
    }
});
