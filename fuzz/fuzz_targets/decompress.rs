//! Decompression on any bytes, the first byte choosing the `Content-Encoding`: bounded output,
//! never a panic, and every byte given back to the budget afterwards.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snag::ingest::body::{self, Encoding};
use snag::ingest::budget::{Budget, ChargedBuf};

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let encoding = match choice % 6 {
        0 => None,
        1 => Some(Encoding::Identity),
        2 => Some(Encoding::Gzip),
        3 => Some(Encoding::Deflate),
        4 => Some(Encoding::Brotli),
        _ => Some(Encoding::Zstd),
    };
    let budget = Budget::new(64 << 20);
    {
        let input = ChargedBuf::from_vec(&budget, rest.to_vec()).unwrap();
        if let Ok(out) = body::decode(encoding, input, LIMIT, "envelope", &budget) {
            assert!(out.len() <= LIMIT);
        }
        let input = ChargedBuf::from_vec(&budget, rest.to_vec()).unwrap();
        let _ = body::legacy_store_body(input, LIMIT, &budget);
    }
    assert_eq!(budget.in_use(), 0);
});
