//! Monitors as people change them on the Crons page and through the API.

use super::*;

impl Store {
    /// Creates a monitor (on the Crons page, by the API); its slug must be free.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_monitor(
        &self,
        project: ProjectId,
        slug: &str,
        name: &str,
        config: &MonitorConfig,
        now_ms: i64,
    ) -> Result<Monitor, StoreError> {
        let mut tx = self.pool.begin_exclusive(MONITORS_LOCK).await?;
        if monitor_by(&mut tx, "slug = $1", slug).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "a monitor {slug:?} exists already"
            )));
        }
        let monitor = insert_monitor(&mut tx, project, slug, name, config, now_ms).await?;
        tx.commit().await?;
        Ok(monitor)
    }

    /// Replaces a monitor's name and config; each environment's next expected check-in is
    /// counted again from its last one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_monitor(
        &self,
        monitor: &Monitor,
        name: &str,
        config: &MonitorConfig,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_exclusive(MONITORS_LOCK).await?;
        write_config(&mut tx, monitor.id, config).await?;
        sql::query("UPDATE monitors SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(monitor.id)
            .execute(&mut tx)
            .await?;
        let updated = Monitor {
            name: name.to_owned(),
            config: config.clone(),
            ..monitor.clone()
        };
        reschedule(&mut tx, &updated, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Mutes a monitor (no issue, no alert) or unmutes it.
    pub async fn set_monitor_muted(&self, monitor_id: i64, muted: bool) -> Result<(), StoreError> {
        sql::query("UPDATE monitors SET is_muted = $1 WHERE id = $2")
            .bind(muted)
            .bind(monitor_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Disables a monitor (its check-ins are dropped, nothing is missed) or enables it again,
    /// expecting its next run from `now_ms` on.
    pub async fn set_monitor_disabled(
        &self,
        monitor: &Monitor,
        disabled: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_exclusive(MONITORS_LOCK).await?;
        sql::query("UPDATE monitors SET status = $1 WHERE id = $2")
            .bind(if disabled { "disabled" } else { "active" })
            .bind(monitor.id)
            .execute(&mut tx)
            .await?;
        if !disabled {
            reschedule(&mut tx, monitor, Some(now_ms)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a monitor with its environments and runs (its issues stay).
    pub async fn delete_monitor(&self, monitor_id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_exclusive(MONITORS_LOCK).await?;
        for sql in [
            "DELETE FROM monitor_hours WHERE monitor_environment_id IN
                 (SELECT id FROM monitor_environments WHERE monitor_id = $1)",
            "DELETE FROM check_ins WHERE monitor_environment_id IN
                 (SELECT id FROM monitor_environments WHERE monitor_id = $1)",
            "DELETE FROM monitor_environments WHERE monitor_id = $1",
            "DELETE FROM monitors WHERE id = $1",
        ] {
            sql::query(sql).bind(monitor_id).execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

pub(super) async fn insert_monitor(
    tx: &mut Tx,
    project: ProjectId,
    slug: &str,
    name: &str,
    config: &MonitorConfig,
    now_ms: i64,
) -> Result<Monitor, StoreError> {
    let guid = Uuid::new_v4().simple().to_string();
    let (kind, schedule) = config.schedule.stored();
    let id: i64 = sql::query_scalar(
        "INSERT INTO monitors (guid, project_id, slug, name, schedule_type, schedule,
             timezone, checkin_margin, max_runtime, failure_issue_threshold,
             recovery_threshold, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(&guid)
    .bind(project)
    .bind(slug)
    .bind(name)
    .bind(kind)
    .bind(schedule)
    .bind(config.timezone.name())
    .bind(config.checkin_margin)
    .bind(config.max_runtime)
    .bind(config.failure_issue_threshold)
    .bind(config.recovery_threshold)
    .bind(now_ms)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Monitor {
        id,
        guid,
        project_id: project,
        slug: slug.to_owned(),
        name: name.to_owned(),
        disabled: false,
        is_muted: false,
        config: config.clone(),
        created_at: now_ms,
    })
}

pub(super) async fn write_config(
    tx: &mut Tx,
    monitor_id: i64,
    config: &MonitorConfig,
) -> Result<(), StoreError> {
    let (kind, schedule) = config.schedule.stored();
    sql::query(
        "UPDATE monitors SET schedule_type = $1, schedule = $2, timezone = $3,
             checkin_margin = $4, max_runtime = $5, failure_issue_threshold = $6,
             recovery_threshold = $7
         WHERE id = $8",
    )
    .bind(kind)
    .bind(schedule)
    .bind(config.timezone.name())
    .bind(config.checkin_margin)
    .bind(config.max_runtime)
    .bind(config.failure_issue_threshold)
    .bind(config.recovery_threshold)
    .bind(monitor_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// Counts each environment's next expected check-in again: from `from_ms`, or from its last
/// check-in.
async fn reschedule(
    tx: &mut Tx,
    monitor: &Monitor,
    from_ms: Option<i64>,
) -> Result<(), StoreError> {
    let envs: Vec<MonitorEnvironment> = sql::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENVIRONMENT_COLUMNS} FROM monitor_environments WHERE monitor_id = $1"
    )))
    .bind(monitor.id)
    .fetch_all(&mut *tx)
    .await?;
    for env in envs {
        let Some(from) = from_ms.or(env.last_checkin) else {
            continue;
        };
        let next = monitor
            .config
            .schedule
            .next_after(from, monitor.config.timezone);
        sql::query(
            "UPDATE monitor_environments SET next_checkin = $1, next_checkin_latest = $2
             WHERE id = $3",
        )
        .bind(next)
        .bind(next.map(|n| n + margin_ms(monitor)))
        .bind(env.id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
