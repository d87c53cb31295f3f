//! Ingest rejections in the log, where an operator sees them (`info`; overload and quota
//! limits at `warn`) without a flood: one line per reason at most every ten seconds, saying
//! how many were refused since the last line. A server error is logged every time, with its
//! cause chain (see `crate::error::chain`).
//!
//! ```text
//! INFO ingest rejected reason="unknown_key" refused=231 error=unknown public key project=Some(3)
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::IngestError;
use crate::store::ProjectId;

/// Least time between two lines of one reason.
const EVERY: Duration = Duration::from_secs(10);

/// Per reason: when its last line was written, and how many were refused since.
#[derive(Debug, Default)]
pub struct RejectionLog {
    reasons: Mutex<HashMap<&'static str, (Option<Instant>, u64)>>,
}

impl RejectionLog {
    /// Notes one rejection; logs it unless its reason was logged less than ten seconds ago.
    pub fn note(&self, error: &IngestError, project: Option<ProjectId>) {
        // Logged as the bare number, `Some(3)`.
        let project = project.map(ProjectId::get);
        if matches!(error, IngestError::Internal(_)) {
            tracing::error!(
                error = crate::error::chain(error),
                ?project,
                "ingest failed"
            );
            return;
        }
        let reason = error.reason();
        let Some(refused) = self.due(reason, Instant::now()) else {
            return;
        };
        match error {
            IngestError::Overloaded | IngestError::RateLimited(_) | IngestError::ShuttingDown => {
                tracing::warn!(reason, refused, error = %error, ?project, "ingest rejected")
            }
            _ => tracing::info!(reason, refused, error = %error, ?project, "ingest rejected"),
        }
    }

    /// How many of `reason` were refused since its last line, when a line is due now.
    fn due(&self, reason: &'static str, now: Instant) -> Option<u64> {
        let mut reasons = self.reasons.lock().unwrap_or_else(PoisonError::into_inner);
        // Reasons are a fixed set of labels: the map stays small.
        let (last, refused) = reasons.entry(reason).or_insert((None, 0));
        *refused += 1;
        if last.is_some_and(|at| now.duration_since(at) < EVERY) {
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(refused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_reason_every_ten_seconds_with_the_count_since() {
        let log = RejectionLog::default();
        let start = Instant::now();
        assert_eq!(log.due("unknown_key", start), Some(1));
        assert_eq!(log.due("unknown_key", start + Duration::from_secs(1)), None);
        assert_eq!(
            log.due("too_large", start + Duration::from_secs(1)),
            Some(1)
        );
        assert_eq!(log.due("unknown_key", start + Duration::from_secs(2)), None);
        assert_eq!(log.due("unknown_key", start + EVERY), Some(3));
    }
}
