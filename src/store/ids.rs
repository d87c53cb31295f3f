//! Typed ids for projects and issues: the same INTEGER in the database and the same number in
//! JSON, paths and forms, but a project id and an issue id can no longer be swapped.

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            sqlx::Type,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number as stored.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }
    };
}

int_id!(
    /// A project's row id (`projects.id`).
    ProjectId
);
int_id!(
    /// An issue's row id (`issues.id`); not the per-project short id.
    IssueId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(sqlx::FromRow)]
    struct Row {
        project_id: ProjectId,
        issue_id: Option<IssueId>,
    }

    #[tokio::test]
    async fn ids_bind_and_decode_as_integers() {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let back: ProjectId = sqlx::query_scalar("SELECT $1")
            .bind(ProjectId(7))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(back, ProjectId(7));
        let kind: String = sqlx::query_scalar("SELECT typeof($1)")
            .bind(IssueId(3))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(kind, "integer");
        let row: Row = sqlx::query_as("SELECT $1 AS project_id, $2 AS issue_id")
            .bind(ProjectId(12))
            .bind(IssueId(-5))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(row.project_id, ProjectId(12));
        assert_eq!(row.issue_id, Some(IssueId(-5)));
        let row: Row = sqlx::query_as("SELECT 1 AS project_id, NULL AS issue_id")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!((row.project_id, row.issue_id), (ProjectId(1), None));
    }

    #[test]
    fn ids_are_bare_numbers_in_text_and_json() {
        assert_eq!(ProjectId(42).to_string(), "42");
        assert_eq!("42".parse::<IssueId>(), Ok(IssueId(42)));
        assert!("x".parse::<IssueId>().is_err());
        assert_eq!(serde_json::to_string(&IssueId(9)).unwrap(), "9");
        assert_eq!(
            serde_json::from_str::<ProjectId>("9").unwrap(),
            ProjectId(9)
        );
        assert_eq!(ProjectId(5).get(), 5);
    }
}
