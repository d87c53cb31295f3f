//! The API's lists of monitors and of a monitor's runs, filtered and paged.

use super::*;

/// The monitors an API list asks for; an empty list filters nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorSearch {
    pub projects: Vec<ProjectId>,
    /// Monitors with a state in one of these environments.
    pub environments: Vec<String>,
    /// Text in the monitor's name or slug (any case).
    pub text: Option<String>,
}

/// The runs an API list asks for: of these environments (all when empty), added in
/// `start_ms..end_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInSearch {
    pub environments: Vec<String>,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Store {
    /// A page of the monitors `search` names, those in error in one of its environments first
    /// (unless disabled), then by name; and how many there are.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn search_monitors(
        &self,
        search: &MonitorSearch,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Monitor>, i64), StoreError> {
        let dialect = self.pool.dialect();
        let mut qb = sql::Builder::new(format!("SELECT {MONITOR_COLUMNS} FROM monitors m"));
        push_monitor_search(&mut qb, search, dialect);
        qb.push(
            " ORDER BY CASE WHEN m.status <> 'disabled' AND EXISTS (SELECT 1 FROM
                 monitor_environments e WHERE e.monitor_id = m.id AND e.status = 'error'",
        );
        if !search.environments.is_empty() {
            qb.push(" AND e.environment IN ")
                .push_list(&search.environments);
        }
        qb.push(") THEN 0 ELSE 1 END, LOWER(m.name), m.slug LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows: Vec<MonitorRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        let mut count = sql::Builder::new("SELECT COUNT(*) FROM monitors m");
        push_monitor_search(&mut count, search, dialect);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        let monitors = rows
            .into_iter()
            .map(Monitor::try_from)
            .collect::<Result<_, _>>()?;
        Ok((monitors, total))
    }

    /// A page of a monitor's runs that `search` names, newest first, with their environments.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn search_check_ins(
        &self,
        monitor_id: i64,
        search: &CheckInSearch,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<(String, StoredCheckIn)>, StoreError> {
        let mut qb = sql::Builder::new(
            "SELECT e.environment, c.id, c.guid, c.monitor_environment_id, c.status, c.date_added,
                    c.date_updated, c.expected_time, c.timeout_at, c.duration, c.release, c.trace_id
             FROM check_ins c JOIN monitor_environments e ON e.id = c.monitor_environment_id
             WHERE e.monitor_id = ",
        );
        qb.push_bind(monitor_id)
            .push(" AND c.date_added >= ")
            .push_bind(search.start_ms)
            .push(" AND c.date_added < ")
            .push_bind(search.end_ms);
        if !search.environments.is_empty() {
            qb.push(" AND e.environment IN ")
                .push_list(&search.environments);
        }
        qb.push(" ORDER BY c.date_added DESC, c.id DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows: Vec<EnvCheckIn> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.environment, r.check_in))
            .collect())
    }

    /// Gives a monitor another slug, which must be free ([`StoreError::Conflict`]). Its issue
    /// stays its own: occurrences are grouped by the monitor's guid.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn rename_monitor(&self, monitor_id: i64, slug: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_exclusive(MONITORS_LOCK).await?;
        if let Some(other) = monitor_by(&mut tx, "slug = $1", slug).await?
            && other.id != monitor_id
        {
            return Err(StoreError::Conflict(format!(
                "a monitor {slug:?} exists already"
            )));
        }
        sql::query("UPDATE monitors SET slug = $1 WHERE id = $2")
            .bind(slug)
            .bind(monitor_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// `search`'s conditions on monitors `m`.
fn push_monitor_search(qb: &mut sql::Builder, search: &MonitorSearch, dialect: sql::Dialect) {
    qb.push(" WHERE 1 = 1");
    if !search.projects.is_empty() {
        qb.push(" AND m.project_id IN ").push_list(&search.projects);
    }
    if !search.environments.is_empty() {
        qb.push(
            " AND EXISTS (SELECT 1 FROM monitor_environments e
                 WHERE e.monitor_id = m.id AND e.environment IN ",
        )
        .push_list(&search.environments)
        .push(")");
    }
    if let Some(text) = &search.text {
        let pattern = sql::like_pattern(text);
        qb.push(" AND (m.name")
            .push(dialect.ilike())
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR m.slug")
            .push(dialect.ilike())
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
}
