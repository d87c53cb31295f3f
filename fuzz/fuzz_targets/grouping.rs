//! Grouping of any event that normalizes: hashes, a title and a culprit, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::grouping::{ProjectRules, group_with};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Some(event) = common::event(data) {
        let grouping = group_with(&event, &ProjectRules::default());
        assert!(!grouping.hashes.is_empty());
    }
});
