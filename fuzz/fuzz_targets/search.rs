//! The issue search syntax on any text: a filter within the limits, or a 400's reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::issue_search::{MAX_TERMS, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = parse(query) {
        assert!(filter.text.len() + filter.tags.len() <= MAX_TERMS);
    }
});
