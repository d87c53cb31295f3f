//! Releases and their deploys. A release is made by sentry-cli (`releases new`) or by the
//! first event that names it (the batch writer upserts it with its first and last event);
//! an issue resolved in a release is seen again only when an event of a later release comes:
//! later by semantic version when both versions are one (`release_order.rs`), else created
//! later (`date_created`).
//!
//! ```text
//! releases          version (unique), date_created, date_released (finalized), first/last event,
//!                   ref, url, status (open | archived)
//! release_projects  which projects a release belongs to
//! deploys           release, environment, name, url, started, finished
//! ```

use sqlx::FromRow;

use super::sql::{self, Builder};
use super::{ProjectId, Store, StoreError, now_ms};

/// Longest version kept (Sentry's limit).
pub const MAX_VERSION_CHARS: usize = 200;

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Release {
    pub id: i64,
    pub version: String,
    pub date_created: i64,
    pub date_released: Option<i64>,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    #[sqlx(rename = "ref")]
    pub reference: Option<String>,
    pub url: Option<String>,
    pub status: String,
    /// Issues first seen in this release.
    pub new_issues: i64,
    pub deploys: i64,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Deploy {
    pub id: i64,
    pub environment: String,
    pub name: Option<String>,
    pub url: Option<String>,
    pub date_started: Option<i64>,
    pub date_finished: i64,
}

/// What a new or changed release says (`None`: left as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseChange {
    pub date_released: Option<i64>,
    pub reference: Option<String>,
    pub url: Option<String>,
    pub status: Option<String>,
}

const RELEASE_COLUMNS: &str = "r.id, r.version, r.date_created, r.date_released, r.first_event,
    r.last_event, r.ref, r.url, r.status,
    (SELECT COUNT(*) FROM issues i WHERE i.first_release = r.version) AS new_issues,
    (SELECT COUNT(*) FROM deploys d WHERE d.release_id = r.id) AS deploys";

/// A version Sentry accepts: 1 to 200 characters, no line breaks, tabs or slashes, not `.`,
/// `..` or `latest`.
pub fn check_version(version: &str) -> Result<(), StoreError> {
    let bad = version.is_empty()
        || version.chars().count() > MAX_VERSION_CHARS
        || version
            .chars()
            .any(|c| matches!(c, '\n' | '\r' | '\t' | '\x0c' | '\x0b' | '/' | '\\'))
        || matches!(version, "." | ".." | " " | "latest")
        || version.trim() != version;
    if bad {
        Err(StoreError::Invalid(format!(
            "invalid release version {version:?}: 1 to {MAX_VERSION_CHARS} characters, no surrounding spaces, line breaks, tabs or slashes, not \".\", \"..\" or \"latest\""
        )))
    } else {
        Ok(())
    }
}

impl Store {
    /// Makes the release (or finds it) and adds it to `projects`; true when it was new.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_release(
        &self,
        version: &str,
        projects: &[ProjectId],
        change: &ReleaseChange,
    ) -> Result<(Release, bool), StoreError> {
        check_version(version)?;
        let mut tx = self.pool.begin().await?;
        let created = sql::query(
            "INSERT INTO releases (version, date_created) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(version)
        .bind(now_ms())
        .execute(&mut tx)
        .await?
        .rows_affected()
            == 1;
        for project in projects {
            sql::query(
                "INSERT INTO release_projects (release_id, project_id)
                 SELECT id, $1 FROM releases WHERE version = $2 ON CONFLICT DO NOTHING",
            )
            .bind(project)
            .bind(version)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        self.change_release(version, change).await?;
        let release = self.release(version).await?.ok_or_else(|| {
            StoreError::Conflict(format!("release {version:?} was deleted meanwhile"))
        })?;
        Ok((release, created))
    }

    /// Applies `change` to the release; false when there is no such release.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change_release(
        &self,
        version: &str,
        change: &ReleaseChange,
    ) -> Result<bool, StoreError> {
        if let Some(status) = &change.status
            && !matches!(status.as_str(), "open" | "archived")
        {
            return Err(StoreError::Invalid(format!(
                "invalid release status {status:?}: open or archived"
            )));
        }
        Ok(sql::query(
            "UPDATE releases SET date_released = COALESCE($1, date_released),
                ref = COALESCE($2, ref), url = COALESCE($3, url), status = COALESCE($4, status)
             WHERE version = $5",
        )
        .bind(change.date_released)
        .bind(&change.reference)
        .bind(&change.url)
        .bind(&change.status)
        .bind(version)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release(&self, version: &str) -> Result<Option<Release>, StoreError> {
        let sql = format!("SELECT {RELEASE_COLUMNS} FROM releases r WHERE r.version = $1");
        Ok(sql::query_as(sqlx::AssertSqlSafe(sql))
            .bind(version)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Releases, newest first: of `project` (else of every project), whose version holds
    /// `query`, archived ones only when asked.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_releases(
        &self,
        project: Option<ProjectId>,
        query: Option<&str>,
        archived: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Release>, StoreError> {
        let mut qb = Builder::new(format!("SELECT {RELEASE_COLUMNS} FROM releases r WHERE "));
        qb.push("r.status = ")
            .push_bind(if archived { "archived" } else { "open" });
        if let Some(project) = project {
            qb.push(" AND r.id IN (SELECT release_id FROM release_projects WHERE project_id = ")
                .push_bind(project)
                .push(")");
        }
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            qb.push(" AND instr(r.version, ")
                .push_bind(query.to_owned())
                .push(") > 0");
        }
        qb.push(" ORDER BY r.date_created DESC, r.id DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        Ok(qb.build_query_as().fetch_all(&self.pool).await?)
    }

    /// The projects of a release: (id, slug).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_projects(
        &self,
        release_id: i64,
    ) -> Result<Vec<(ProjectId, String)>, StoreError> {
        Ok(sql::query_as(
            "SELECT p.id, p.name FROM release_projects rp JOIN projects p ON p.id = rp.project_id
             WHERE rp.release_id = $1 ORDER BY p.id",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The newest release of a project (what "resolved in the next release" waits to be
    /// followed by).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn newest_release(&self, project: ProjectId) -> Result<Option<String>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT r.version FROM releases r JOIN release_projects rp ON rp.release_id = r.id
             WHERE rp.project_id = $1 ORDER BY r.date_created DESC, r.id DESC LIMIT 1",
        )
        .bind(project)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes a release and its deploys; false when there was none.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_release(&self, version: &str) -> Result<bool, StoreError> {
        Ok(sql::query("DELETE FROM releases WHERE version = $1")
            .bind(version)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_deploy(&self, release_id: i64, deploy: &Deploy) -> Result<Deploy, StoreError> {
        if deploy.environment.trim().is_empty() || deploy.environment.chars().count() > 64 {
            return Err(StoreError::Invalid(
                "a deploy needs an environment of 1 to 64 characters".into(),
            ));
        }
        Ok(sql::query_as(
            "INSERT INTO deploys (release_id, environment, name, url, date_started, date_finished)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, environment, name, url, date_started, date_finished",
        )
        .bind(release_id)
        .bind(deploy.environment.trim())
        .bind(&deploy.name)
        .bind(&deploy.url)
        .bind(deploy.date_started)
        .bind(deploy.date_finished)
        .fetch_one(&self.pool)
        .await?)
    }

    /// A release's deploys, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn deploys(&self, release_id: i64) -> Result<Vec<Deploy>, StoreError> {
        Ok(sql::query_as(
            "SELECT id, environment, name, url, date_started, date_finished FROM deploys
             WHERE release_id = $1 ORDER BY date_finished DESC, id DESC",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
