//! Rate limits as Sentry's SDKs read them, on any ingest response (200 or 429):
//!
//! ```text
//! Retry-After: 60
//! X-Sentry-Rate-Limits: 60:error;default:key:key_quota, 3600:transaction;span:organization:disabled
//! <limit> = <retry_after_seconds>:<category;category;…>:<scope>[:<reason_code>]
//! ```
//! No categories means every category. SDKs send nothing of a limited category until its
//! seconds have passed (they drop it and count it in a client report).

use std::fmt;

/// What a limit applies to (SDKs ignore it; it tells a reader why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Organization,
    Project,
    Key,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Organization => "organization",
            Scope::Project => "project",
            Scope::Key => "key",
        }
    }
}

/// One limit of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub retry_after_secs: u64,
    /// Relay's data categories (`error`, `default`, `attachment`, `transaction`…); empty: all.
    pub categories: Vec<&'static str>,
    pub scope: Scope,
    pub reason: &'static str,
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.retry_after_secs,
            self.categories.join(";"),
            self.scope.as_str(),
            self.reason
        )
    }
}

/// The header value for several limits.
pub fn header_value(limits: &[RateLimit]) -> String {
    limits
        .iter()
        .map(RateLimit::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_written_as_relay_writes_them() {
        let key = RateLimit {
            retry_after_secs: 42,
            categories: vec!["error", "default"],
            scope: Scope::Key,
            reason: "key_quota",
        };
        let all = RateLimit {
            retry_after_secs: 60,
            categories: vec![],
            scope: Scope::Organization,
            reason: "disk_full",
        };
        assert_eq!(key.to_string(), "42:error;default:key:key_quota");
        assert_eq!(
            header_value(&[key, all]),
            "42:error;default:key:key_quota, 60::organization:disk_full"
        );
    }
}
