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
//!
//! | file | does |
//! |---|---|
//! | `runs.rs` | a check-in's run, the periodic judgement of missed and timed-out runs, the incidents they open or end, the owed occurrences |
//! | `admin.rs` | monitors as people change them: create, edit, mute, disable, delete |
//! | `search.rs` | the API's filtered, paged lists of monitors and runs |
//! | here | the types and the reads the pages use |

mod admin;
mod runs;
mod search;

pub use search::{CheckInSearch, MonitorSearch};

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
