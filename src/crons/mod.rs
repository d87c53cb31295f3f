//! Cron monitors, as Sentry's crons: scheduled jobs check in, Snag notices what did not happen.
//!
//! ```text
//! check-in (envelope item | HTTP /api/{project}/cron/{slug}/{key}/ | sentry-cli monitors run)
//!   → check_in::CheckIn (checked) → store: upsert the monitor from its monitor_config, record
//!     the run, move the next expected time (schedule), decide the incident (incident)
//!   → an incident's failure becomes an event of the monitor's own issue (occurrence), through
//!     the batch writer, so new-issue and regression alerts, mail and webhooks work as for errors
//! periodic job (detect::Detector): runs past their margin → missed, in progress past
//!   max_runtime → timeout, then the same incident rules
//! ```

pub mod check_in;
pub mod config;
pub mod detect;
pub mod incident;
pub mod occurrence;
pub mod record;
pub mod schedule;
pub mod timeline;
