//! Cron monitors (see [`crate::crons`]): monitors, their state per environment, their runs
//! (check-ins) and the runs counted per hour for the timelines.
//!
//! ```text
//! monitors(slug "nightly-invoices", schedule_type "crontab", schedule "0 2 * * *", timezone, …)
//! monitor_environments(monitor, "production", status ok|error|active, next_checkin, next_checkin_latest,
//!                      incident_started, issue_id, owed_occurrence)
//! check_ins(guid, environment, status in_progress|ok|error|missed|timeout, date_added, timeout_at, duration, …)
//! monitor_hours(environment, hour, ok, error, missed, timeout, in_progress, duration_sum, …)
//! ```
//!
//! Each change runs in one transaction that holds the monitors' write lock
//! ([`sql::Pool::begin_exclusive`]): a check-in, the periodic judgement of missed and timed-out
//! runs, and the incident they open or end never interleave, on one node or several.
//! A failure that opens (or continues) an incident leaves an *owed occurrence*: the event of the
//! monitor's issue, written by the batch writer after the COMMIT and then crossed off, again
//! after a crash (its event id is derived from the run's, so writing it twice stores it once).

use serde_json::json;
use sqlx::FromRow;
use uuid::Uuid;

use super::activity;
use super::issues::IssueStatus;
use super::sql::{self, Tx};
use super::{IssueId, ProjectId, Store, StoreError};
use crate::crons::check_in::{CheckIn, CheckInStatus};
use crate::crons::config::MonitorConfig;
use crate::crons::incident::{self, EnvStatus, Transition};
use crate::crons::schedule::Schedule;
use crate::time::{HOUR_MS, MINUTE_MS};

/// The advisory lock of monitor writes on PostgreSQL ("monitors" in ASCII).
const MONITORS_LOCK: i64 = 0x6d6f_6e69_746f_7273;
/// Runs judged (missed or timed out) per round of the periodic job, at most.
const JUDGED_PER_ROUND: i64 = 500;
/// Slots a missed monitor's schedule is stepped through to get past now, at most (a minute
/// schedule after 69 days down).
const MAX_CATCH_UP: usize = 100_000;

/// A monitor, with its configuration checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    pub id: i64,
    /// 32 hex digits: the API's id.
    pub guid: String,
    pub project_id: ProjectId,
    pub slug: String,
    pub name: String,
    pub disabled: bool,
    pub is_muted: bool,
    pub config: MonitorConfig,
    pub created_at: i64,
}

#[derive(FromRow)]
struct MonitorRow {
    id: i64,
    guid: String,
    project_id: ProjectId,
    slug: String,
    name: String,
    status: String,
    is_muted: bool,
    schedule_type: String,
    schedule: String,
    timezone: String,
    checkin_margin: i64,
    max_runtime: i64,
    failure_issue_threshold: i64,
    recovery_threshold: i64,
    created_at: i64,
}

const MONITOR_COLUMNS: &str = "id, guid, project_id, slug, name, status, is_muted, schedule_type,
    schedule, timezone, checkin_margin, max_runtime, failure_issue_threshold, recovery_threshold,
    created_at";

impl TryFrom<MonitorRow> for Monitor {
    type Error = StoreError;

    fn try_from(row: MonitorRow) -> Result<Monitor, StoreError> {
        let corrupt =
            |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("monitor {}: {e}", row.slug));
        let minutes = |n: i64| u32::try_from(n).map_err(|e| corrupt(&e));
        let config = MonitorConfig {
            schedule: Schedule::from_stored(&row.schedule_type, &row.schedule)
                .map_err(|e| corrupt(&e))?,
            timezone: crate::crons::schedule::zone(&row.timezone).map_err(|e| corrupt(&e))?,
            checkin_margin: minutes(row.checkin_margin)?,
            max_runtime: minutes(row.max_runtime)?,
            failure_issue_threshold: minutes(row.failure_issue_threshold)?,
            recovery_threshold: minutes(row.recovery_threshold)?,
        };
        Ok(Monitor {
            id: row.id,
            guid: row.guid,
            project_id: row.project_id,
            slug: row.slug,
            name: row.name,
            disabled: row.status == "disabled",
            is_muted: row.is_muted,
            config,
            created_at: row.created_at,
        })
    }
}

/// A monitor's state in one environment.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MonitorEnvironment {
    pub id: i64,
    pub monitor_id: i64,
    pub environment: String,
    #[sqlx(try_from = "String")]
    pub status: EnvStatusColumn,
    pub created_at: i64,
    pub last_checkin: Option<i64>,
    pub next_checkin: Option<i64>,
    pub next_checkin_latest: Option<i64>,
    pub incident_started: Option<i64>,
    pub issue_id: Option<IssueId>,
    pub owed_occurrence: Option<i64>,
}

const ENVIRONMENT_COLUMNS: &str = "id, monitor_id, environment, status, created_at, last_checkin,
    next_checkin, next_checkin_latest, incident_started, issue_id, owed_occurrence";

/// [`EnvStatus`] as a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvStatusColumn(pub EnvStatus);

impl From<String> for EnvStatusColumn {
    fn from(s: String) -> Self {
        EnvStatusColumn(EnvStatus::parse(&s))
    }
}

/// A run of a monitor.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct StoredCheckIn {
    pub id: i64,
    /// 32 hex digits.
    pub guid: String,
    pub monitor_environment_id: i64,
    #[sqlx(try_from = "String")]
    pub status: StatusColumn,
    pub date_added: i64,
    pub date_updated: i64,
    pub expected_time: Option<i64>,
    pub timeout_at: Option<i64>,
    /// Milliseconds.
    pub duration: Option<i64>,
    pub release: Option<String>,
    pub trace_id: Option<String>,
}

const CHECK_IN_COLUMNS: &str = "id, guid, monitor_environment_id, status, date_added, date_updated,
    expected_time, timeout_at, duration, release, trace_id";

/// [`CheckInStatus`] as a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusColumn(pub CheckInStatus);

impl TryFrom<String> for StatusColumn {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, StoreError> {
        CheckInStatus::parse(&s)
            .map(StatusColumn)
            .ok_or_else(|| StoreError::Corrupt(format!("check-in status {s:?}")))
    }
}

/// What a check-in did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Stored; what it did to the monitor's incident.
    Stored(IncidentChange),
    /// Not stored, as Sentry does: the monitor is disabled, or the run had already ended.
    Dropped(&'static str),
}

/// What a run did to its monitor's incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChange {
    None,
    /// A failure that opened or continued an incident: its issue event is owed by this
    /// environment (see [`Store::owed_occurrences`]).
    Failure {
        environment_id: i64,
    },
    /// The incident ended; its issue (if written) was resolved.
    Recovered {
        issue_id: Option<IssueId>,
    },
}

/// A failure whose issue event is still to be written, with what the event says.
#[derive(Debug, Clone)]
pub struct Occurrence {
    pub monitor: Monitor,
    pub environment: MonitorEnvironment,
    pub check_in: StoredCheckIn,
    /// The failures of the incident's newest runs (newest first), for its reason.
    pub failures: Vec<CheckInStatus>,
    /// When the environment's last ok run was.
    pub last_ok: Option<i64>,
}

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

    /// A monitor by slug.
    pub async fn monitor(&self, slug: &str) -> Result<Option<Monitor>, StoreError> {
        monitor_by(&self.pool, "slug = $1", slug).await
    }

    /// A monitor's environments, by name.
    pub async fn monitor_environments(
        &self,
        monitor_id: i64,
    ) -> Result<Vec<MonitorEnvironment>, StoreError> {
        Ok(sql::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM monitor_environments
             WHERE monitor_id = $1 ORDER BY environment"
        )))
        .bind(monitor_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A monitor's runs, newest first.
    pub async fn check_ins(
        &self,
        monitor_id: i64,
        limit: i64,
    ) -> Result<Vec<(String, StoredCheckIn)>, StoreError> {
        let rows: Vec<EnvCheckIn> = sql::query_as(
            "SELECT e.environment, c.id, c.guid, c.monitor_environment_id, c.status, c.date_added,
                    c.date_updated, c.expected_time, c.timeout_at, c.duration, c.release, c.trace_id
             FROM check_ins c JOIN monitor_environments e ON e.id = c.monitor_environment_id
             WHERE e.monitor_id = $1 ORDER BY c.date_added DESC, c.id DESC LIMIT $2",
        )
        .bind(monitor_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.environment, r.check_in))
            .collect())
    }
}

#[derive(FromRow)]
struct EnvCheckIn {
    environment: String,
    #[sqlx(flatten)]
    check_in: StoredCheckIn,
}

fn margin_ms(monitor: &Monitor) -> i64 {
    i64::from(monitor.config.checkin_margin) * MINUTE_MS
}

async fn monitor_by<'a>(
    on: impl Into<sql::On<'a>>,
    condition: &str,
    value: impl Into<sql::Arg>,
) -> Result<Option<Monitor>, StoreError> {
    sql::query_as::<MonitorRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE {condition}"
    )))
    .bind(value)
    .fetch_optional(on)
    .await?
    .map(Monitor::try_from)
    .transpose()
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

async fn insert_monitor(
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

async fn write_config(
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

/// A monitor environment's runs in one hour, by status, and their durations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct HourTally {
    pub monitor_environment_id: i64,
    pub hour: i64,
    pub ok: i64,
    pub error: i64,
    pub missed: i64,
    pub timeout: i64,
    pub in_progress: i64,
    pub duration_sum: i64,
    pub duration_count: i64,
    pub duration_max: i64,
}

impl Store {
    /// A page of monitors (of one project, or all), those with an open incident first, then
    /// by slug; and how many there are.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_monitors(
        &self,
        project: Option<ProjectId>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Monitor>, i64), StoreError> {
        let rows: Vec<MonitorRow> = sql::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors m
             WHERE $1 IS NULL OR project_id = $1
             ORDER BY EXISTS (SELECT 1 FROM monitor_environments e
                              WHERE e.monitor_id = m.id AND e.status = 'error') DESC, slug
             LIMIT $2 OFFSET $3"
        )))
        .bind(project)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 =
            sql::query_scalar("SELECT COUNT(*) FROM monitors WHERE $1 IS NULL OR project_id = $1")
                .bind(project)
                .fetch_one(&self.pool)
                .await?;
        let monitors = rows
            .into_iter()
            .map(Monitor::try_from)
            .collect::<Result<_, _>>()?;
        Ok((monitors, total))
    }

    /// The environments of these monitors, by monitor and name.
    pub async fn environments_of(
        &self,
        monitor_ids: &[i64],
    ) -> Result<Vec<MonitorEnvironment>, StoreError> {
        if monitor_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = sql::Builder::new(format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM monitor_environments WHERE monitor_id IN "
        ));
        qb.push_list(monitor_ids);
        qb.push(" ORDER BY monitor_id, environment");
        Ok(qb.build_query_as().fetch_all(&self.pool).await?)
    }

    /// The tallies of these environments from hour `from_hour` on, added up per
    /// `bucket_hours` hours (each sum's `hour` is its bucket's first): a month of a thousand
    /// monitors is summed by the database, not shipped to the page hour by hour.
    pub async fn monitor_hours(
        &self,
        environment_ids: &[i64],
        from_hour: i64,
        bucket_hours: i64,
    ) -> Result<Vec<HourTally>, StoreError> {
        if environment_ids.is_empty() {
            return Ok(Vec::new());
        }
        let per = bucket_hours.max(1);
        let mut qb = sql::Builder::new("SELECT monitor_environment_id, ");
        qb.push_bind(from_hour)
            .push(" + (hour - ")
            .push_bind(from_hour)
            .push(") / ")
            .push_bind(per)
            .push(" * ")
            .push_bind(per)
            .push(
                " AS hour, CAST(SUM(ok) AS BIGINT) AS ok, CAST(SUM(error) AS BIGINT) AS error,
                 CAST(SUM(missed) AS BIGINT) AS missed, CAST(SUM(timeout) AS BIGINT) AS timeout,
                 CAST(SUM(in_progress) AS BIGINT) AS in_progress,
                 CAST(SUM(duration_sum) AS BIGINT) AS duration_sum,
                 CAST(SUM(duration_count) AS BIGINT) AS duration_count,
                 MAX(duration_max) AS duration_max
                 FROM monitor_hours WHERE hour >= ",
            )
            .push_bind(from_hour)
            .push(" AND monitor_environment_id IN ");
        qb.push_list(environment_ids);
        qb.push(" GROUP BY 1, 2");
        Ok(qb.build_query_as().fetch_all(&self.pool).await?)
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

impl Store {
    /// Monitor environments by state, for `/metrics`: `active` (no result yet), `ok`, `error`
    /// (an incident is open), `disabled` (its monitor is).
    pub async fn monitors_by_state(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sql::query_as(
            "SELECT m.status, e.status, COUNT(*) FROM monitor_environments e
             JOIN monitors m ON m.id = e.monitor_id GROUP BY m.status, e.status",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut states: Vec<(&'static str, i64)> = ["active", "ok", "error", "disabled"]
            .map(|s| (s, 0))
            .to_vec();
        for (monitor, env, n) in rows {
            let state = match (monitor.as_str(), EnvStatus::parse(&env)) {
                ("disabled", _) => "disabled",
                (_, status) => status.as_str(),
            };
            if let Some(slot) = states.iter_mut().find(|(s, _)| *s == state) {
                slot.1 += n;
            }
        }
        Ok(states)
    }
}
