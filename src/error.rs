//! What the errors of every boundary (ingest, API, web UI) share: a server-side [`Failure`]
//! that keeps its cause, and the cause chain for logs. Each boundary's own enum and its
//! mapping to HTTP live with it (`ingest::error`, `api`, `web`); a 5xx body never shows the
//! cause.

use std::error::Error;
use std::fmt::Write;

/// A failure of the server's own: what it was doing, and why (kept as the source, so the log
/// shows the whole chain).
#[derive(Debug, thiserror::Error)]
#[error("{doing}")]
pub struct Failure {
    doing: &'static str,
    #[source]
    cause: Option<Box<dyn Error + Send + Sync>>,
}

impl Failure {
    /// A failure while `doing` something, caused by `cause`.
    pub fn new(doing: &'static str, cause: impl Into<Box<dyn Error + Send + Sync>>) -> Failure {
        Failure {
            doing,
            cause: Some(cause.into()),
        }
    }

    /// A failure with nothing more to say than what went wrong.
    pub fn bare(doing: &'static str) -> Failure {
        Failure { doing, cause: None }
    }
}

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
