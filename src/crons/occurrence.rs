//! The event a monitor's failure adds to its issue, as Sentry's crons issue occurrence reads:
//!
//! ```text
//! title    Monitor failure: nightly-invoices
//! culprit  A missed check-in was detected        (or "2 missed and 1 error check-ins detected")
//! level    error, type monitor_check_in_failure, environment of the monitor
//! tags     monitor.id, monitor.slug, monitor.incident
//! contexts monitor {id, slug, name, config, status, type}, trace of the failing run
//! fingerprint ["monitor-failure", <monitor guid>, <environment>]: one issue per monitor and
//!             environment, so a failure after a recovery is a regression of it
//! ```
//!
//! The event id is derived from the failing run's, so an occurrence written twice (after a
//! crash between its write and its crossing off) is stored once.

use md5::{Digest, Md5};
use serde_json::json;

use super::incident::failure_reason;
use crate::ingest::error::IngestError;
use crate::pipeline::{self, ProjectSetup, Received};
use crate::store::monitors::Occurrence;
use crate::store::rows::EventRow;

/// Sentry's group type of a monitor's failures.
pub const ISSUE_TYPE: &str = "monitor_check_in_failure";

/// The event id of a failing run's occurrence.
pub fn event_id(check_in_guid: &str) -> String {
    hex::encode(Md5::digest(format!("monitor-occurrence:{check_in_guid}")))
}

/// The occurrence's event row, ready for the writer.
pub fn event_row(occurrence: &Occurrence) -> Result<EventRow, IngestError> {
    let Occurrence {
        monitor,
        environment,
        check_in,
        failures,
        last_ok,
    } = occurrence;
    let reason = failure_reason(failures);
    let at_ms = check_in.date_added;
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let mut contexts = json!({
        "monitor": {
            "id": monitor.guid,
            "slug": monitor.slug,
            "name": monitor.name,
            "config": monitor.config.to_json(),
            "status": if monitor.disabled { "disabled" } else { "active" },
            "type": "cron_job",
        },
    });
    if let Some(trace_id) = &check_in.trace_id {
        contexts["trace"] = json!({"trace_id": trace_id, "span_id": &event_id(trace_id)[..16]});
    }
    let title = format!("Monitor failure: {}", monitor.name);
    let event = json!({
        "event_id": event_id(&check_in.guid),
        "timestamp": at_ms as f64 / 1000.0,
        "level": "error",
        "platform": "other",
        "logger": "snag.crons",
        "message": title,
        "environment": environment.environment,
        "release": check_in.release,
        "fingerprint": ["monitor-failure", monitor.guid, environment.environment],
        "tags": {
            "monitor.id": monitor.guid,
            "monitor.slug": monitor.slug,
            "monitor.incident": environment.incident_started.map(|t| t.to_string()),
        },
        "contexts": contexts,
        "extra": {
            "Failure reason": reason,
            "Environment": environment.environment,
            "Last successful check-in": last_ok.and_then(iso).unwrap_or_else(|| "Never".into()),
        },
    });
    let received = Received {
        project_id: monitor.project_id,
        received_ms: at_ms,
        client_ip: None,
    };
    let payload =
        serde_json::to_vec(&event).map_err(|e| IngestError::InvalidJson(e.to_string()))?;
    let normalized = pipeline::parse_event(&payload, None, &received)?;
    let mut row = pipeline::event_row(&normalized, monitor.project_id, &ProjectSetup::default());
    row.title = title;
    row.culprit = reason;
    row.issue_type = ISSUE_TYPE.to_owned();
    Ok(row)
}
