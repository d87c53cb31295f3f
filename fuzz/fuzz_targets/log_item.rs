//! A log item's payload on any bytes: lines or a 400's reason, never a panic; the lines kept
//! pack into blocks that read back whole, and each block gives back the words it was indexed
//! by.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::logs::{block, item};
use snag::store::ProjectId;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = item::parse(None, Some(item::CONTENT_TYPE), data) else {
        return;
    };
    let blocks = block::encode_all(ProjectId(1), &parsed.lines, 1_796_360_983_000);
    let mut read = 0;
    for (n, b) in blocks.iter().enumerate() {
        let lines = block::decode(n as i64, ProjectId(1), &b.data).expect("a block reads back");
        assert_eq!(lines.len(), b.lines as usize);
        read += lines.len();
        assert_eq!(
            block::words_of(n as i64, &b.data).expect("its words"),
            b.words
        );
    }
    assert_eq!(read, parsed.lines.len());
});
