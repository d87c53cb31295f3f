//! What the errors of every boundary (ingest, API, web UI) share: the cause chain for logs.

use std::error::Error;
use std::fmt::Write;

/// `error: its source: that source's source…`, for a log line (a 5xx body never shows it).
pub fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chain_lists_every_cause() {
        let io = std::io::Error::other("disk on fire");
        let failed = crate::store::StoreError::Folder("snag-data".into(), io);
        assert_eq!(
            super::chain(&failed),
            "cannot create the database folder snag-data: disk on fire"
        );
    }
}
