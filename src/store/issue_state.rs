//! What an issue is, as stored and as Sentry's API spells it: its status and substatus, and
//! the level of its latest event.
//!
//! ```text
//! status      substatus                   how it gets there
//! unresolved  new | ongoing | regressed   first seen | a person reopened it | seen again after resolved
//!             | escalating                ignored until it spikes, and it spiked
//! resolved    (empty)                     a person resolved it
//! ignored     archived_forever            a person ignored it
//!             | archived_until_escalating a person ignored it until it spikes
//!             | archived_until_condition_met  a person ignored it for a while (`ignored_until`)
//! ```

use std::fmt;

/// An issue's status column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")] // TEXT on PostgreSQL too
#[serde(rename_all = "snake_case")]
pub enum Status {
    Unresolved,
    Resolved,
    Ignored,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unresolved => "unresolved",
            Status::Resolved => "resolved",
            Status::Ignored => "ignored",
        }
    }

    /// `unresolved`, `resolved` or `ignored`.
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Unresolved, Status::Resolved, Status::Ignored]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// An issue's substatus column (empty while resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Substatus {
    New,
    Ongoing,
    Regressed,
    Escalating,
    ArchivedForever,
    ArchivedUntilEscalating,
    ArchivedUntilConditionMet,
    /// A resolved issue has none.
    #[sqlx(rename = "")]
    #[serde(rename = "")]
    None,
}

impl Substatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Substatus::New => "new",
            Substatus::Ongoing => "ongoing",
            Substatus::Regressed => "regressed",
            Substatus::Escalating => "escalating",
            Substatus::ArchivedForever => "archived_forever",
            Substatus::ArchivedUntilEscalating => "archived_until_escalating",
            Substatus::ArchivedUntilConditionMet => "archived_until_condition_met",
            Substatus::None => "",
        }
    }
}

/// Sentry's event levels (what normalization makes of every level an SDK sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Fatal,
    Error,
    Warning,
    Info,
    Debug,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Fatal => "fatal",
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Substatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn states_read_back_from_their_columns_as_sentry_spells_them() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let row: (Status, Substatus, Level) =
            sqlx::query_as("SELECT 'ignored', 'archived_until_escalating', 'warning'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(
            row,
            (
                Status::Ignored,
                Substatus::ArchivedUntilEscalating,
                Level::Warning
            )
        );
        let resolved: (Substatus,) = sqlx::query_as("SELECT ''").fetch_one(&pool).await.unwrap();
        assert_eq!(resolved.0, Substatus::None);
        assert_eq!(
            serde_json::to_string(&(Status::Unresolved, Substatus::None, Level::Fatal)).unwrap(),
            r#"["unresolved","","fatal"]"#
        );
        assert_eq!(Status::parse("resolved"), Some(Status::Resolved));
        assert_eq!(Status::parse("Resolved"), None);
        let unknown = sqlx::query_as::<_, (Level,)>("SELECT 'loud'")
            .fetch_one(&pool)
            .await;
        assert!(unknown.is_err());
    }
}
