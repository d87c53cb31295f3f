//! Counters for `/metrics` (Prometheus text format).
//!
//! ```text
//! snag_items_accepted_total{type="event"} 1042
//! snag_requests_rejected_total{reason="too_large"} 3
//! snag_writer_queue_depth 12
//! snag_check_ins_total{status="missed"} 2
//! snag_monitors{state="error"} 1
//! snag_log_lines_total{level="error"} 40
//! snag_project_log_lines_total{project="1",level="error"} 40     (metrics token holders)
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, PoisonError};

use crate::store::ProjectId;
use crate::store::writer::WriterStats;

#[derive(Debug, Default)]
pub struct Metrics {
    accepted: Mutex<BTreeMap<&'static str, u64>>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    rate_limited: Mutex<BTreeMap<&'static str, u64>>,
    alert_deliveries: Mutex<BTreeMap<&'static str, u64>>,
    /// Cron check-ins, by status: as clients sent them, and those Snag judged.
    check_ins: Mutex<BTreeMap<&'static str, u64>>,
    /// Events accepted per project id, and requests rejected per project id and reason.
    project_accepted: Mutex<BTreeMap<ProjectId, u64>>,
    project_rejected: Mutex<BTreeMap<(ProjectId, &'static str), u64>>,
    /// Log lines stored, by project id and level.
    log_lines: Mutex<BTreeMap<(ProjectId, &'static str), u64>>,
}

impl Metrics {
    pub fn accepted(&self, item_type: &'static str, n: u64) {
        *self
            .accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(item_type)
            .or_default() += n;
    }

    pub fn rejected(&self, reason: &'static str) {
        *self
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(reason)
            .or_default() += 1;
    }

    /// Items dropped by a quota (`key_quota`, `project_quota`, `attachment_quota`), whether
    /// the request was then refused or answered 200 with what was left.
    pub fn rate_limited(&self, reason: &'static str, items: u64) {
        *self
            .rate_limited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(reason)
            .or_default() += items;
    }

    pub fn project_accepted(&self, project_id: ProjectId) {
        *self
            .project_accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(project_id)
            .or_default() += 1;
    }

    pub fn project_rejected(&self, project_id: ProjectId, reason: &'static str) {
        *self
            .project_rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((project_id, reason))
            .or_default() += 1;
    }

    /// Log lines stored (committed) of a project at a level.
    pub fn log_lines(&self, project_id: ProjectId, level: &'static str, n: u64) {
        *self
            .log_lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((project_id, level))
            .or_default() += n;
    }

    /// An alert email attempt: `sent`, `retry` or `failed`.
    pub fn alert_delivery(&self, result: &'static str) {
        *self
            .alert_deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(result)
            .or_default() += 1;
    }

    /// A cron check-in with this status (sent, or judged missed or timed out).
    pub fn check_in(&self, status: &'static str) {
        *self
            .check_ins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(status)
            .or_default() += 1;
    }

    /// `per_minute`: (project id, events in the last full minute), read from the database;
    /// `None` leaves out every series per project.
    pub fn render(
        &self,
        writer: &WriterStats,
        ingest: &IngestGauges,
        per_minute: Option<&[(ProjectId, i64)]>,
    ) -> String {
        let mut out = String::new();
        out.push_str("# HELP snag_items_accepted_total Envelope items accepted, by item type.\n");
        out.push_str("# TYPE snag_items_accepted_total counter\n");
        for (ty, n) in self
            .accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "snag_items_accepted_total{{type=\"{ty}\"}} {n}");
        }
        out.push_str("# HELP snag_requests_rejected_total Ingest requests rejected, by reason.\n");
        out.push_str("# TYPE snag_requests_rejected_total counter\n");
        for (reason, n) in self
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "snag_requests_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP snag_items_rate_limited_total Envelope items dropped by a quota, by reason.\n",
        );
        out.push_str("# TYPE snag_items_rate_limited_total counter\n");
        for (reason, n) in self
            .rate_limited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "snag_items_rate_limited_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let gauges = [
            (
                "snag_writer_queue_depth",
                "gauge",
                "Envelopes waiting for the writer.",
                ingest.queue_depth as f64,
            ),
            (
                "snag_ingest_memory_bytes",
                "gauge",
                "Bytes held by ingest requests in flight (bodies, decompressed, rows to write).",
                ingest.budget_in_use as f64,
            ),
            (
                "snag_ingest_memory_limit_bytes",
                "gauge",
                "The most ingest requests may hold together; past it they answer 429.",
                ingest.budget_total as f64,
            ),
            (
                "snag_writer_batches_total",
                "counter",
                "Transactions committed by the writer.",
                writer.batches.load(Relaxed) as f64,
            ),
            (
                "snag_writer_jobs_total",
                "counter",
                "Envelopes written by the writer.",
                writer.jobs.load(Relaxed) as f64,
            ),
            (
                "snag_writer_failed_jobs_total",
                "counter",
                "Envelopes whose write failed.",
                writer.failed_jobs.load(Relaxed) as f64,
            ),
            (
                "snag_writer_commit_seconds_total",
                "counter",
                "Time spent writing batches.",
                writer.commit_micros.load(Relaxed) as f64 / 1e6,
            ),
            (
                "snag_writer_folds_total",
                "counter",
                "Folds of all pending issue counters and tag counts into the issues.",
                writer.folds.load(Relaxed) as f64,
            ),
            (
                "snag_writer_count_folds_total",
                "counter",
                "Folds of pending issue counters alone, when the queue is empty after a batch.",
                writer.count_folds.load(Relaxed) as f64,
            ),
            (
                "snag_database_bytes",
                "gauge",
                "Size of the database file.",
                ingest.database_bytes as f64,
            ),
            (
                "snag_database_free_bytes",
                "gauge",
                "Bytes of the database file in free pages (reused, or handed back by retention).",
                ingest.database_free_bytes as f64,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        if let Some(free) = ingest.disk_free_bytes {
            let name = "snag_disk_free_bytes";
            let _ = writeln!(
                out,
                "# HELP {name} Free space on the database's file system.\n# TYPE {name} gauge\n{name} {free}"
            );
        }
        if let Some(per_minute) = per_minute {
            self.render_projects(&mut out, per_minute);
        }
        out.push_str("# HELP snag_alert_emails_total Alert email attempts, by result.\n");
        out.push_str("# TYPE snag_alert_emails_total counter\n");
        for (result, n) in self
            .alert_deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "snag_alert_emails_total{{result=\"{result}\"}} {n}");
        }
        out.push_str("# HELP snag_check_ins_total Cron check-ins by status: sent by clients (in_progress, ok, error) or judged (missed, timeout).\n");
        out.push_str("# TYPE snag_check_ins_total counter\n");
        for (status, n) in self
            .check_ins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "snag_check_ins_total{{status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP snag_monitors Cron monitors by state, per environment (active: no result yet; error: an incident is open).\n");
        out.push_str("# TYPE snag_monitors gauge\n");
        for (state, n) in &ingest.monitors {
            let _ = writeln!(out, "snag_monitors{{state=\"{state}\"}} {n}");
        }
        out.push_str("# HELP snag_log_lines_total Log lines stored, by level.\n");
        out.push_str("# TYPE snag_log_lines_total counter\n");
        let mut by_level: BTreeMap<&'static str, u64> = BTreeMap::new();
        for ((_, level), n) in self
            .log_lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            *by_level.entry(level).or_default() += n;
        }
        for (level, n) in by_level {
            let _ = writeln!(out, "snag_log_lines_total{{level=\"{level}\"}} {n}");
        }
        out
    }

    /// The series per project, for those who hold the metrics token.
    fn render_projects(&self, out: &mut String, per_minute: &[(ProjectId, i64)]) {
        out.push_str("# HELP snag_project_events_accepted_total Events accepted, by project id.\n");
        out.push_str("# TYPE snag_project_events_accepted_total counter\n");
        for (project, n) in self
            .project_accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "snag_project_events_accepted_total{{project=\"{project}\"}} {n}"
            );
        }
        out.push_str("# HELP snag_project_requests_rejected_total Ingest requests rejected, by project id and reason.\n");
        out.push_str("# TYPE snag_project_requests_rejected_total counter\n");
        for ((project, reason), n) in self
            .project_rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "snag_project_requests_rejected_total{{project=\"{project}\",reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP snag_project_log_lines_total Log lines stored, by project id and level.\n",
        );
        out.push_str("# TYPE snag_project_log_lines_total counter\n");
        for ((project, level), n) in self
            .log_lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "snag_project_log_lines_total{{project=\"{project}\",level=\"{level}\"}} {n}"
            );
        }
        out.push_str("# HELP snag_project_events_per_minute Events received in the last full minute, by project id.\n");
        out.push_str("# TYPE snag_project_events_per_minute gauge\n");
        for (project, n) in per_minute {
            let _ = writeln!(
                out,
                "snag_project_events_per_minute{{project=\"{project}\"}} {n}"
            );
        }
    }
}

/// Ingest gauges read when `/metrics` is asked.
#[derive(Debug, Clone)]
pub struct IngestGauges {
    pub queue_depth: usize,
    pub budget_in_use: usize,
    pub budget_total: usize,
    /// The database file, and the part of it in free pages.
    pub database_bytes: u64,
    pub database_free_bytes: u64,
    /// Free space on the database's disk (none for an in-memory database).
    pub disk_free_bytes: Option<u64>,
    /// Cron monitor environments by state (`active`, `ok`, `error`, `disabled`), from the
    /// database.
    pub monitors: Vec<(&'static str, i64)>,
}
