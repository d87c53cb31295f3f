//! The envelope parser on any bytes: an envelope or an error, never a panic, never more items
//! than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = snag::protocol::envelope::parse(data, 1000) {
        assert!(envelope.items.len() <= 1000);
        for item in &envelope.items {
            let _ = item.ty.metric_name();
            let _ = item.header_str("filename");
        }
    }
});
