//! The log search language on any text: a query within the limits or a 400's reason, never a
//! panic; a query tests a line and names its index words without one either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::logs::block::{LineId, StoredLine};
use snag::logs::item::{AttrValue, Level};
use snag::logs::query::parse;
use snag::store::ProjectId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = parse(text) else {
        return;
    };
    let line = StoredLine {
        id: LineId {
            block: 1,
            index: 0,
            ms: 1_796_360_983_000,
        },
        project_id: ProjectId(1),
        timestamp_ns: 1_796_360_983_000_000_000,
        level: Level::Warn,
        severity_number: 13,
        trace_id: "49aed8c636be4695a77c5b93beee44fd".into(),
        span_id: None,
        body: "payment 42 slow: card_declined".into(),
        attributes: vec![
            (
                "logger.name".into(),
                AttrValue::String("shop.orders".into()),
            ),
            ("sentry.message.parameter.0".into(), AttrValue::Integer(42)),
        ],
    };
    let _ = query.matches(&line);
    for group in query.index_words() {
        assert!(!group.is_empty());
        // Words go into FTS5's and PostgreSQL's query text between quotes.
        assert!(group.iter().all(|w| {
            !w.text.is_empty()
                && !w
                    .text
                    .chars()
                    .any(|c| c.is_whitespace() || "'\"\\".contains(c))
        }));
    }
});
