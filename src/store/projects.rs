//! Projects and their DSN keys.

use sqlx::FromRow;

use super::sql::{self, Dialect};
use super::{ProjectId, Store, StoreError, now_ms};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ProjectKey {
    pub project_id: ProjectId,
    pub public_key: String,
    pub secret_key: String,
    pub active: bool,
    /// Its rate limit (see [`ProjectKey::rate_limit`]).
    pub rate_limit_count: Option<i64>,
    pub rate_limit_window: Option<i64>,
}

/// What `create_project` may be told beyond the name (to keep a DSN when moving from Sentry).
#[derive(Debug, Default, Clone)]
pub struct NewProject {
    pub name: String,
    pub id: Option<ProjectId>,
    pub public_key: Option<String>,
}

/// A project's grouping rules as written: stack-trace rules and fingerprint rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupingRules {
    pub stacktrace: String,
    pub fingerprints: String,
}

impl Store {
    /// Creates a project with one active key. Names are slugs: `[a-z0-9][a-z0-9_-]*`, ≤ 50 chars.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_project(
        &self,
        new: &NewProject,
    ) -> Result<(Project, ProjectKey), StoreError> {
        validate_slug(&new.name)?;
        let public_key = match &new.public_key {
            Some(k) => {
                validate_public_key(k)?;
                k.clone()
            }
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        if let Some(id) = new.id
            && id.get() <= 0
        {
            return Err(StoreError::Invalid(format!(
                "project id must be positive, got {id}"
            )));
        }
        let secret_key = uuid::Uuid::new_v4().simple().to_string();
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let insert = match new.id {
            Some(id) => sql::query_as(
                "INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)
                 RETURNING id, name, created_at",
            )
            .bind(id),
            None => sql::query_as(
                "INSERT INTO projects (name, created_at) VALUES ($1, $2)
                 RETURNING id, name, created_at",
            ),
        };
        let project: Project = insert
            .bind(&new.name)
            .bind(now)
            .fetch_one(&mut tx)
            .await
            .map_err(|e| conflict(e, "a project with this name or id already exists"))?;
        if new.id.is_some() && tx.dialect() == Dialect::Postgres {
            // An id given by hand does not move PostgreSQL's sequence: the next project
            // without one would be given a taken id.
            sql::query(
                "SELECT setval(pg_get_serial_sequence('projects', 'id'),
                     (SELECT MAX(id) FROM projects))",
            )
            .execute(&mut tx)
            .await?;
        }
        sql::query(
            "INSERT INTO project_keys (project_id, public_key, secret_key, active, created_at) VALUES ($1, $2, $3, TRUE, $4)",
        )
        .bind(project.id)
        .bind(&public_key)
        .bind(&secret_key)
        .bind(now)
        .execute(&mut tx)
        .await
        .map_err(|e| conflict(e, "this public key is already in use"))?;
        tx.commit().await?;
        let key = ProjectKey {
            project_id: project.id,
            public_key,
            secret_key,
            active: true,
            rate_limit_count: None,
            rate_limit_window: None,
        };
        Ok((project, key))
    }

    /// Every project with its keys, in id order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_projects(&self) -> Result<Vec<(Project, Vec<ProjectKey>)>, StoreError> {
        let projects: Vec<Project> =
            sql::query_as("SELECT id, name, created_at FROM projects ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let keys: Vec<ProjectKey> = sql::query_as(
            "SELECT project_id, public_key, secret_key, active, rate_limit_count, rate_limit_window
             FROM project_keys ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(projects
            .into_iter()
            .map(|p| {
                let mine = keys
                    .iter()
                    .filter(|k| k.project_id == p.id)
                    .cloned()
                    .collect();
                (p, mine)
            })
            .collect())
    }

    /// The project whose slug is `slug_or_id`, or whose id it is in decimal (the lowest id when
    /// both match): `{project}` in an API path.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_project(&self, slug_or_id: &str) -> Result<Option<Project>, StoreError> {
        Ok(sql::query_as(
            "SELECT id, name, created_at FROM projects
             WHERE name = $1 OR CAST(id AS TEXT) = $1 ORDER BY id LIMIT 1",
        )
        .bind(slug_or_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The project whose slug is `slug` in any ASCII case: the project of a short id (`SHOP-12`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_project_nocase(&self, slug: &str) -> Result<Option<Project>, StoreError> {
        Ok(sql::query_as(
            "SELECT id, name, created_at FROM projects
             WHERE lower(name) = lower($1) ORDER BY id LIMIT 1",
        )
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_project(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        Ok(
            sql::query_as("SELECT id, name, created_at FROM projects WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// A project's keys, in id order (as [`Store::list_projects`] gives them).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn project_keys(&self, project_id: ProjectId) -> Result<Vec<ProjectKey>, StoreError> {
        Ok(sql::query_as(
            "SELECT project_id, public_key, secret_key, active, rate_limit_count, rate_limit_window
             FROM project_keys WHERE project_id = $1 ORDER BY id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The key with this public part, if any (active or not).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_key(&self, public_key: &str) -> Result<Option<ProjectKey>, StoreError> {
        Ok(sql::query_as(
            "SELECT project_id, public_key, secret_key, active, rate_limit_count, rate_limit_window
             FROM project_keys WHERE public_key = $1",
        )
        .bind(public_key)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A project's grouping rules, empty when unset.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn grouping_rules(&self, project_id: ProjectId) -> Result<GroupingRules, StoreError> {
        Ok(sql::query_as(
            "SELECT stacktrace_rules AS stacktrace, fingerprint_rules AS fingerprints
             FROM projects WHERE id = $1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?
        .unwrap_or_default())
    }

    /// Replaces a project's grouping rules (`None` keeps one as it is); false if no such
    /// project. The caller has checked that the texts parse.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_grouping_rules(
        &self,
        name: &str,
        stacktrace: Option<&str>,
        fingerprints: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE projects SET stacktrace_rules = COALESCE($1, stacktrace_rules),
                                 fingerprint_rules = COALESCE($2, fingerprint_rules)
             WHERE name = $3",
        )
        .bind(stacktrace)
        .bind(fingerprints)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_key_active(&self, public_key: &str, active: bool) -> Result<bool, StoreError> {
        let done = sql::query("UPDATE project_keys SET active = $1 WHERE public_key = $2")
            .bind(active)
            .bind(public_key)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Creates the project `default` when the database has no project at all.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ensure_default_project(
        &self,
    ) -> Result<Option<(Project, ProjectKey)>, StoreError> {
        let count: i64 = sql::query_scalar("SELECT COUNT(*) FROM projects")
            .fetch_one(&self.pool)
            .await?;
        if count > 0 {
            return Ok(None);
        }
        let new = NewProject {
            name: "default".into(),
            ..Default::default()
        };
        match self.create_project(&new).await {
            Ok(created) => Ok(Some(created)),
            // Another process (a second node, a CLI) created it first.
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn conflict(e: sqlx::Error, message: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() || db.is_check_violation() => {
            StoreError::Conflict(message.to_owned())
        }
        _ => StoreError::Database(e),
    }
}

fn validate_slug(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 50
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid project name {name:?}: use 1-50 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )))
    }
}

fn validate_public_key(key: &str) -> Result<(), StoreError> {
    if !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid public key {key:?}: use 1-64 ASCII letters or digits"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(validate_slug("default").is_ok());
        assert!(validate_slug("my-app_2").is_ok());
        assert!(validate_slug("").is_err());
        assert!(validate_slug("-x").is_err());
        assert!(validate_slug("My App").is_err());
        assert!(validate_slug(&"a".repeat(51)).is_err());
    }

    #[tokio::test]
    async fn one_project_by_slug_id_or_short_id_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&crate::config::Config::for_tests(&url))
            .await
            .unwrap();
        // A slug may be digits: `7` is project 3's slug and project 7's id; the lowest id wins,
        // as it did when the API searched the list.
        sqlx::query(
            "INSERT INTO projects (id, name, created_at) VALUES (3, '7', 0), (5, 'shop', 0),
                                                               (7, 'web', 0);
             INSERT INTO project_keys (project_id, public_key, secret_key, created_at)
                 VALUES (5, 'b', 's', 0), (7, 'c', 's', 0), (5, 'a', 's', 0);",
        )
        .execute(store.sqlite_pool())
        .await
        .unwrap();
        let id = |p: Option<Project>| p.map(|p| p.id.get());
        assert_eq!(id(store.find_project("shop").await.unwrap()), Some(5));
        assert_eq!(id(store.find_project("5").await.unwrap()), Some(5));
        assert_eq!(id(store.find_project("7").await.unwrap()), Some(3));
        assert_eq!(id(store.find_project("05").await.unwrap()), None);
        assert_eq!(id(store.find_project("SHOP").await.unwrap()), None);
        assert_eq!(
            id(store.find_project_nocase("SHOP").await.unwrap()),
            Some(5)
        );
        assert_eq!(id(store.find_project_nocase("5").await.unwrap()), None);
        assert_eq!(id(store.get_project(ProjectId(7)).await.unwrap()), Some(7));
        assert_eq!(id(store.get_project(ProjectId(4)).await.unwrap()), None);
        let keys = store.project_keys(ProjectId(5)).await.unwrap();
        let keys: Vec<&str> = keys.iter().map(|k| k.public_key.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        let listed = store.list_projects().await.unwrap();
        let listed: Vec<&str> = listed[1].1.iter().map(|k| k.public_key.as_str()).collect();
        assert_eq!(keys, listed);
    }

    #[test]
    fn public_keys() {
        assert!(validate_public_key("publickey").is_ok());
        assert!(validate_public_key("a b").is_err());
        assert!(validate_public_key("").is_err());
    }
}
