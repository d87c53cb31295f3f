//! What happens to runs: a check-in records or updates one, the periodic judgement adds the
//! missed and timed-out ones, and each finished run may open or end its monitor's incident
//! and leave an owed occurrence (see the module above).

use super::admin::{insert_monitor, write_config};
use super::*;

impl Store {
    /// Records a check-in of `project` received at `now_ms`: upserts its monitor, records or
    /// updates its run, moves the next expected time and decides the incident. A bad config
    /// of a new monitor, an unknown slug without one, or a slug of another project is refused
    /// ([`StoreError::Invalid`]).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_check_in(
        &self,
        project: ProjectId,
        check_in: &CheckIn,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let mut tx = self.pool.begin_exclusive(MONITORS_LOCK).await?;
        let monitor = upsert_monitor(&mut tx, project, check_in, now_ms).await?;
        if monitor.disabled {
            tx.commit().await?;
            return Ok(Recorded::Dropped("the monitor is disabled"));
        }
        let env = environment(&mut tx, monitor.id, &check_in.environment, now_ms).await?;
        let guid = check_in.id.map(|id| id.simple().to_string());
        let existing = match (&guid, check_in.status) {
            (Some(guid), _) => {
                sql::query_as::<StoredCheckIn>(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHECK_IN_COLUMNS} FROM check_ins
                     WHERE monitor_environment_id = $1 AND guid = $2"
                )))
                .bind(env.id)
                .bind(guid)
                .fetch_optional(&mut tx)
                .await?
            }
            // No id: the newest run still in progress.
            (None, CheckInStatus::Ok | CheckInStatus::Error) => {
                sql::query_as::<StoredCheckIn>(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHECK_IN_COLUMNS} FROM check_ins
                     WHERE monitor_environment_id = $1 AND status = 'in_progress'
                     ORDER BY date_added DESC, id DESC LIMIT 1"
                )))
                .bind(env.id)
                .fetch_optional(&mut tx)
                .await?
            }
            (None, _) => None,
        };
        let timeout_at = |added: i64| {
            let limit = added + crate::crons::check_in::MAX_DURATION_MS;
            (now_ms - now_ms.rem_euclid(MINUTE_MS)
                + i64::from(monitor.config.max_runtime) * MINUTE_MS)
                .min(limit)
        };
        let run_id = match existing {
            Some(run) => match (run.status.0, check_in.status) {
                (CheckInStatus::InProgress, CheckInStatus::InProgress) => {
                    // A heartbeat: the run lives on.
                    sql::query(
                        "UPDATE check_ins SET timeout_at = $1, date_updated = $2 WHERE id = $3",
                    )
                    .bind(timeout_at(run.date_added))
                    .bind(now_ms)
                    .bind(run.id)
                    .execute(&mut tx)
                    .await?;
                    run.id
                }
                (CheckInStatus::InProgress, status) => {
                    let duration = check_in
                        .duration_ms
                        .unwrap_or((now_ms - run.date_added).max(0));
                    sql::query(
                        "UPDATE check_ins SET status = $1, duration = $2, timeout_at = NULL,
                             date_updated = $3, release = COALESCE($4, release),
                             trace_id = COALESCE(trace_id, $5)
                         WHERE id = $6",
                    )
                    .bind(status.as_str())
                    .bind(duration)
                    .bind(now_ms)
                    .bind(&check_in.release)
                    .bind(&check_in.trace_id)
                    .bind(run.id)
                    .execute(&mut tx)
                    .await?;
                    tally(
                        &mut tx,
                        env.id,
                        run.date_added,
                        Some(CheckInStatus::InProgress),
                        status,
                        Some(duration),
                    )
                    .await?;
                    run.id
                }
                (CheckInStatus::Timeout, CheckInStatus::Ok | CheckInStatus::Error)
                    if run.duration.is_none() =>
                {
                    // Sentry keeps the timeout, with the duration the run reported at last.
                    let duration = check_in
                        .duration_ms
                        .unwrap_or((now_ms - run.date_added).max(0));
                    sql::query(
                        "UPDATE check_ins SET duration = $1, date_updated = $2 WHERE id = $3",
                    )
                    .bind(duration)
                    .bind(now_ms)
                    .bind(run.id)
                    .execute(&mut tx)
                    .await?;
                    tally(
                        &mut tx,
                        env.id,
                        run.date_added,
                        Some(CheckInStatus::Timeout),
                        CheckInStatus::Timeout,
                        Some(duration),
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(Recorded::Stored(IncidentChange::None));
                }
                _ => {
                    tx.commit().await?;
                    return Ok(Recorded::Dropped("the run has already ended"));
                }
            },
            None => {
                let guid = guid.unwrap_or_else(|| Uuid::new_v4().simple().to_string());
                let timeout =
                    (check_in.status == CheckInStatus::InProgress).then(|| timeout_at(now_ms));
                let id: i64 = sql::query_scalar(
                    "INSERT INTO check_ins (guid, monitor_environment_id, status, date_added,
                         date_updated, expected_time, timeout_at, duration, release, trace_id)
                     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(guid)
                .bind(env.id)
                .bind(check_in.status.as_str())
                .bind(now_ms)
                .bind(env.next_checkin)
                .bind(timeout)
                .bind(check_in.duration_ms)
                .bind(&check_in.release)
                .bind(&check_in.trace_id)
                .fetch_one(&mut tx)
                .await?;
                tally(
                    &mut tx,
                    env.id,
                    now_ms,
                    None,
                    check_in.status,
                    check_in.duration_ms,
                )
                .await?;
                id
            }
        };
        // Every check-in moves the next expected time, counted from it.
        let next = monitor
            .config
            .schedule
            .next_after(now_ms, monitor.config.timezone);
        sql::query(
            "UPDATE monitor_environments SET last_checkin = $1, next_checkin = $2,
                 next_checkin_latest = $3 WHERE id = $4",
        )
        .bind(now_ms)
        .bind(next)
        .bind(next.map(|n| n + margin_ms(&monitor)))
        .bind(env.id)
        .execute(&mut tx)
        .await?;
        let change = if check_in.status == CheckInStatus::InProgress {
            IncidentChange::None
        } else {
            decide(&mut tx, &monitor, &env, run_id, check_in.status, now_ms).await?
        };
        tx.commit().await?;
        Ok(Recorded::Stored(change))
    }

    /// Marks the runs that did not happen: every environment past its latest expected
    /// check-in gets a `missed` run (one, however many were expected while Snag was down),
    /// every run in progress past its `max_runtime` becomes `timeout`; each then counts as a
    /// failure. Returns each run judged (`missed` or `timeout`) with what it did to its incident.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn judge_monitors(
        &self,
        now_ms: i64,
    ) -> Result<Vec<(CheckInStatus, IncidentChange)>, StoreError> {
        let mut changes = Vec::new();
        let due: Vec<i64> = sql::query_scalar(
            "SELECT e.id FROM monitor_environments e JOIN monitors m ON m.id = e.monitor_id
             WHERE e.next_checkin_latest <= $1 AND m.status = 'active'
             ORDER BY e.next_checkin_latest LIMIT $2",
        )
        .bind(now_ms)
        .bind(JUDGED_PER_ROUND)
        .fetch_all(&self.pool)
        .await?;
        for env_id in due {
            let mut tx = self.pool.begin_exclusive(MONITORS_LOCK).await?;
            if let Some(change) = judge_missed(&mut tx, env_id, now_ms).await? {
                changes.push((CheckInStatus::Missed, change));
            }
            tx.commit().await?;
        }
        let overdue: Vec<i64> = sql::query_scalar(
            "SELECT c.id FROM check_ins c
             JOIN monitor_environments e ON e.id = c.monitor_environment_id
             JOIN monitors m ON m.id = e.monitor_id
             WHERE c.timeout_at <= $1 AND m.status = 'active'
             ORDER BY c.timeout_at LIMIT $2",
        )
        .bind(now_ms)
        .bind(JUDGED_PER_ROUND)
        .fetch_all(&self.pool)
        .await?;
        for run_id in overdue {
            let mut tx = self.pool.begin_exclusive(MONITORS_LOCK).await?;
            if let Some(change) = judge_timeout(&mut tx, run_id, now_ms).await? {
                changes.push((CheckInStatus::Timeout, change));
            }
            tx.commit().await?;
        }
        Ok(changes)
    }

    /// The failures whose issue event is still to be written (of one environment, or all).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn owed_occurrences(
        &self,
        environment_id: Option<i64>,
    ) -> Result<Vec<Occurrence>, StoreError> {
        let envs: Vec<MonitorEnvironment> = sql::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM monitor_environments
             WHERE owed_occurrence IS NOT NULL AND ($1 IS NULL OR id = $1) ORDER BY id LIMIT 100"
        )))
        .bind(environment_id)
        .fetch_all(&self.pool)
        .await?;
        let mut occurrences = Vec::with_capacity(envs.len());
        for env in envs {
            let Some(run_id) = env.owed_occurrence else {
                continue;
            };
            let monitor = monitor_by(&self.pool, "id = $1", env.monitor_id).await?;
            let check_in = sql::query_as::<StoredCheckIn>(sqlx::AssertSqlSafe(format!(
                "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE id = $1"
            )))
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
            let (Some(monitor), Some(check_in)) = (monitor, check_in) else {
                continue;
            };
            let threshold = monitor.config.failure_issue_threshold.max(1);
            let failures = newest_finished(&self.pool, env.id, check_in.date_added, threshold)
                .await?
                .into_iter()
                .filter(|s| s.is_failure())
                .collect();
            let last_ok: Option<i64> = sql::query_scalar(
                "SELECT MAX(date_added) FROM check_ins
                 WHERE monitor_environment_id = $1 AND status = 'ok'",
            )
            .bind(env.id)
            .fetch_one(&self.pool)
            .await?;
            occurrences.push(Occurrence {
                monitor,
                environment: env,
                check_in,
                failures,
                last_ok,
            });
        }
        Ok(occurrences)
    }

    /// Crosses off an environment's owed event once the writer stored it as `event_id`, and
    /// remembers the issue it went to.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn occurrence_written(
        &self,
        occurrence: &Occurrence,
        event_id: &str,
    ) -> Result<(), StoreError> {
        sql::query(
            "UPDATE monitor_environments SET owed_occurrence = NULL,
                 issue_id = COALESCE((SELECT issue_id FROM events
                                      WHERE project_id = $1 AND event_id = $2), issue_id)
             WHERE id = $3 AND owed_occurrence = $4",
        )
        .bind(occurrence.monitor.project_id)
        .bind(event_id)
        .bind(occurrence.environment.id)
        .bind(occurrence.check_in.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// The check-in's monitor: created from its config if new, its config replaced if it sent
/// another.
async fn upsert_monitor(
    tx: &mut Tx,
    project: ProjectId,
    check_in: &CheckIn,
    now_ms: i64,
) -> Result<Monitor, StoreError> {
    let slug = &check_in.slug;
    match (
        monitor_by(&mut *tx, "slug = $1", slug.as_str()).await?,
        &check_in.config,
    ) {
        (Some(m), _) if m.project_id != project => Err(StoreError::Invalid(format!(
            "monitor {slug:?} belongs to another project"
        ))),
        (Some(mut m), Some(Ok(config))) if *config != m.config => {
            write_config(tx, m.id, config).await?;
            m.config = config.clone();
            Ok(m)
        }
        (Some(m), _) => Ok(m),
        (None, Some(Ok(config))) => insert_monitor(tx, project, slug, slug, config, now_ms).await,
        (None, Some(Err(e))) => Err(StoreError::Invalid(e.to_string())),
        (None, None) => Err(StoreError::Invalid(format!(
            "no monitor {slug:?}: send a monitor_config with its first check-in, or create it on the Crons page"
        ))),
    }
}

/// The monitor's state in `name`, made on its first check-in there.
async fn environment(
    tx: &mut Tx,
    monitor_id: i64,
    name: &str,
    now_ms: i64,
) -> Result<MonitorEnvironment, StoreError> {
    sql::query(
        "INSERT INTO monitor_environments (monitor_id, environment, created_at)
         VALUES ($1, $2, $3) ON CONFLICT (monitor_id, environment) DO NOTHING",
    )
    .bind(monitor_id)
    .bind(name)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    Ok(sql::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENVIRONMENT_COLUMNS} FROM monitor_environments
         WHERE monitor_id = $1 AND environment = $2"
    )))
    .bind(monitor_id)
    .bind(name)
    .fetch_one(tx)
    .await?)
}

/// Counts a run in its hour's timeline: as `to` (and no longer as `from`), with its duration.
async fn tally(
    tx: &mut Tx,
    env_id: i64,
    at_ms: i64,
    from: Option<CheckInStatus>,
    to: CheckInStatus,
    duration: Option<i64>,
) -> Result<(), StoreError> {
    let hour = at_ms.div_euclid(HOUR_MS);
    // Column names come from the closed set of statuses.
    let to_column = to.as_str();
    let from_delta = match from {
        Some(from) if from != to => format!(", {0} = monitor_hours.{0} - 1", from.as_str()),
        _ => String::new(),
    };
    let added = i64::from(from.is_none_or(|f| f != to));
    let duration_ms = duration.unwrap_or(0);
    sql::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO monitor_hours (monitor_environment_id, hour, {to_column}, duration_sum,
             duration_count, duration_max)
         VALUES ($1, $2, $3, $4, $5, $4)
         ON CONFLICT (monitor_environment_id, hour) DO UPDATE SET
             {to_column} = monitor_hours.{to_column} + excluded.{to_column}{from_delta},
             duration_sum = monitor_hours.duration_sum + excluded.duration_sum,
             duration_count = monitor_hours.duration_count + excluded.duration_count,
             duration_max = CASE WHEN excluded.duration_max > monitor_hours.duration_max
                                 THEN excluded.duration_max ELSE monitor_hours.duration_max END"
    )))
    .bind(env_id)
    .bind(hour)
    .bind(added)
    .bind(duration_ms)
    .bind(i64::from(duration.is_some()))
    .execute(tx)
    .await?;
    Ok(())
}

/// The statuses of the environment's newest `n` finished runs added at or before `until_ms`,
/// newest first.
async fn newest_finished<'a>(
    on: impl Into<sql::On<'a>>,
    env_id: i64,
    until_ms: i64,
    n: u32,
) -> Result<Vec<CheckInStatus>, StoreError> {
    let statuses: Vec<String> = sql::query_scalar(
        "SELECT status FROM check_ins
         WHERE monitor_environment_id = $1 AND date_added <= $2 AND status <> 'in_progress'
         ORDER BY date_added DESC, id DESC LIMIT $3",
    )
    .bind(env_id)
    .bind(until_ms)
    .bind(n)
    .fetch_all(on)
    .await?;
    Ok(statuses
        .iter()
        .filter_map(|s| CheckInStatus::parse(s))
        .collect())
}

/// Applies what a finished run does to the environment's incident (see [`incident`]).
async fn decide(
    tx: &mut Tx,
    monitor: &Monitor,
    env: &MonitorEnvironment,
    run_id: i64,
    status: CheckInStatus,
    run_added_ms: i64,
) -> Result<IncidentChange, StoreError> {
    let config = &monitor.config;
    let n = config
        .failure_issue_threshold
        .max(config.recovery_threshold);
    let newest = newest_finished(&mut *tx, env.id, run_added_ms, n).await?;
    let transition = incident::after_run(
        env.status.0,
        status,
        config.failure_issue_threshold,
        config.recovery_threshold,
        &newest,
    );
    // A muted monitor keeps its status but opens no issue.
    let owed = (!monitor.is_muted).then_some(run_id);
    let change = match transition {
        Transition::Becomes(status) => {
            sql::query("UPDATE monitor_environments SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(env.id)
                .execute(&mut *tx)
                .await?;
            IncidentChange::None
        }
        Transition::Open | Transition::Continue => {
            sql::query(
                "UPDATE monitor_environments SET status = 'error',
                     incident_started = COALESCE(incident_started, $1),
                     owed_occurrence = COALESCE($2, owed_occurrence)
                 WHERE id = $3",
            )
            .bind(run_added_ms)
            .bind(owed)
            .bind(env.id)
            .execute(&mut *tx)
            .await?;
            match owed {
                Some(_) => IncidentChange::Failure {
                    environment_id: env.id,
                },
                None => IncidentChange::None,
            }
        }
        Transition::Recover => {
            sql::query(
                "UPDATE monitor_environments SET status = 'ok', incident_started = NULL,
                     owed_occurrence = NULL WHERE id = $1",
            )
            .bind(env.id)
            .execute(&mut *tx)
            .await?;
            if let Some(issue_id) = env.issue_id {
                resolve_issue(tx, issue_id, monitor, &env.environment).await?;
            }
            IncidentChange::Recovered {
                issue_id: env.issue_id,
            }
        }
    };
    Ok(change)
}

/// Resolves the monitor's issue, saying in its activity that the monitor recovered.
async fn resolve_issue(
    tx: &mut Tx,
    issue_id: IssueId,
    monitor: &Monitor,
    environment: &str,
) -> Result<(), StoreError> {
    let (status, substatus) = IssueStatus::Resolved.columns();
    let changed: Vec<IssueId> = sql::query_scalar(
        "UPDATE issues SET status = $1, substatus = $2, ignored_until = NULL,
             resolved_in_release = NULL
         WHERE id = $3 AND status <> $1 RETURNING id",
    )
    .bind(status)
    .bind(substatus)
    .bind(issue_id)
    .fetch_all(&mut *tx)
    .await?;
    let data = json!({"monitor": monitor.slug, "environment": environment, "reason": "recovered"});
    activity::record(tx, &changed, ("set_resolved", data), None).await
}

/// The environment's missed run, if it is still past its latest expected check-in.
async fn judge_missed(
    tx: &mut Tx,
    env_id: i64,
    now_ms: i64,
) -> Result<Option<IncidentChange>, StoreError> {
    let env: Option<MonitorEnvironment> = sql::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENVIRONMENT_COLUMNS} FROM monitor_environments
         WHERE id = $1 AND next_checkin_latest <= $2"
    )))
    .bind(env_id)
    .bind(now_ms)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(env) = env else {
        return Ok(None);
    };
    let Some(monitor) = monitor_by(&mut *tx, "id = $1", env.monitor_id).await? else {
        return Ok(None);
    };
    let expected = env.next_checkin.unwrap_or(now_ms);
    let run_id: i64 = sql::query_scalar(
        "INSERT INTO check_ins (guid, monitor_environment_id, status, date_added, date_updated,
             expected_time)
         VALUES ($1, $2, 'missed', $3, $4, $3) RETURNING id",
    )
    .bind(Uuid::new_v4().simple().to_string())
    .bind(env.id)
    .bind(expected)
    .bind(now_ms)
    .fetch_one(&mut *tx)
    .await?;
    tally(tx, env.id, expected, None, CheckInStatus::Missed, None).await?;
    // The next slot still to come: one missed run stands for all that passed meanwhile.
    let (schedule, zone) = (&monitor.config.schedule, monitor.config.timezone);
    let margin = margin_ms(&monitor);
    let mut next = schedule.next_after(expected, zone);
    for _ in 0..MAX_CATCH_UP {
        match next {
            Some(n) if n + margin <= now_ms => next = schedule.next_after(n, zone),
            _ => break,
        }
    }
    if next.is_some_and(|n| n + margin <= now_ms) {
        next = schedule.next_after(now_ms, zone);
    }
    sql::query(
        "UPDATE monitor_environments SET next_checkin = $1, next_checkin_latest = $2 WHERE id = $3",
    )
    .bind(next)
    .bind(next.map(|n| n + margin))
    .bind(env.id)
    .execute(&mut *tx)
    .await?;
    let change = decide(tx, &monitor, &env, run_id, CheckInStatus::Missed, expected).await?;
    Ok(Some(change))
}

/// The run's timeout, if it is still in progress past its `max_runtime`.
async fn judge_timeout(
    tx: &mut Tx,
    run_id: i64,
    now_ms: i64,
) -> Result<Option<IncidentChange>, StoreError> {
    let run: Option<StoredCheckIn> = sql::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE check_ins SET status = 'timeout', timeout_at = NULL, date_updated = $1
         WHERE id = $2 AND status = 'in_progress' AND timeout_at <= $1
         RETURNING {CHECK_IN_COLUMNS}"
    )))
    .bind(now_ms)
    .bind(run_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(run) = run else {
        return Ok(None);
    };
    tally(
        tx,
        run.monitor_environment_id,
        run.date_added,
        Some(CheckInStatus::InProgress),
        CheckInStatus::Timeout,
        None,
    )
    .await?;
    let env: MonitorEnvironment = sql::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENVIRONMENT_COLUMNS} FROM monitor_environments WHERE id = $1"
    )))
    .bind(run.monitor_environment_id)
    .fetch_one(&mut *tx)
    .await?;
    let Some(monitor) = monitor_by(&mut *tx, "id = $1", env.monitor_id).await? else {
        return Ok(None);
    };
    // A later run that finished already told how the monitor is.
    let later: Option<i64> = sql::query_scalar(
        "SELECT id FROM check_ins WHERE monitor_environment_id = $1 AND date_added > $2
             AND status IN ('ok', 'error') LIMIT 1",
    )
    .bind(env.id)
    .bind(run.date_added)
    .fetch_optional(&mut *tx)
    .await?;
    if later.is_some() {
        return Ok(Some(IncidentChange::None));
    }
    let change = decide(
        tx,
        &monitor,
        &env,
        run.id,
        CheckInStatus::Timeout,
        run.date_added,
    )
    .await?;
    Ok(Some(change))
}
