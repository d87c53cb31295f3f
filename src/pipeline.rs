//! From a parsed envelope to committed rows, top-down as in DESIGN.md §1:
//!
//! ```text
//! envelope items ─┬─ event      → parse JSON → normalize → group → EventRow ─┐
//!                 ├─ attachment → AttachmentRow ─────────────────────────────┤→ WriteJob → writer
//!                 ├─ user_report / feedback → UserReportRow ─────────────────┘   (200 after COMMIT)
//!                 ├─ check_in   → crons::CheckIn (recorded by crons::record, also before the 200)
//!                 ├─ log        → logs::item::parse → logs::block::encode → NewBlock ─→ WriteJob
//!                 └─ everything else → counted, not stored
//! ```
//! [`prepare`] is pure CPU work done in the request handler; [`commit`] waits for the writer.

use std::sync::Arc;

use serde_json::Value;

use crate::config::Limits;
use crate::crons::check_in::CheckIn;
use crate::grouping::{self, ProjectRules};
use crate::ingest::error::IngestError;
use crate::normalize::{self, NormalizedEvent};
use crate::protocol::{Envelope, EventId, Item, ItemType};
use crate::store::ProjectId;
use crate::store::compression::{self, Dictionary};
use crate::store::rows::{AttachmentRow, EncodedEvent, EventRow, UserReportRow, WriteJob};
use crate::store::writer::{SubmitError, Writer};

/// Attachments (and user reports) stored from one envelope; Relay caps attachments too.
const MAX_STORED_ITEMS: usize = 100;
/// The largest check-in item, as Relay's `max_check_in_size`.
const MAX_CHECK_IN_SIZE: usize = 100 * 1024;
/// Sessions and client reports per envelope, as Relay counts them (they are counted, not kept).
const MAX_COUNTED_ITEMS: usize = 100;
/// The largest log item, as Relay's `max_container_size`.
pub const MAX_LOG_ITEM_SIZE: usize = 12 * 1024 * 1024;
/// The largest log line on average over its item, as Relay's `max_log_size`.
const MAX_LOG_LINE_SIZE: usize = 2 * 1024 * 1024;

/// How a project's events are grouped and stored.
#[derive(Debug, Clone, Default)]
pub struct ProjectSetup {
    pub rules: Arc<ProjectRules>,
    /// The project's zstd dictionary, once it has one (see [`crate::store::compression`]).
    pub dictionary: Option<Arc<Dictionary>>,
}

/// Facts about the request an envelope came in.
#[derive(Debug, Clone)]
pub struct Received {
    pub project_id: ProjectId,
    pub received_ms: i64,
    pub client_ip: Option<String>,
}

/// An envelope ready for the writer.
#[derive(Debug)]
pub struct Prepared {
    /// The id to answer with: the envelope's, else its event's.
    pub event_id: Option<EventId>,
    pub job: WriteJob,
    /// Cron check-ins, in envelope order.
    pub check_ins: Vec<CheckIn>,
    /// Items accepted, by type (for metrics).
    pub counts: Vec<&'static str>,
    /// Data categories of the items Snag does not keep (SDKs are told to stop sending them).
    pub not_kept: Vec<&'static str>,
    /// What the envelope's log item held and lost.
    pub logs: LogTally,
}

/// The lines of an envelope's log item: kept per level, dropped as malformed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogTally {
    /// Lines kept, by [`crate::logs::item::Level`] index.
    pub kept: [u64; 6],
    /// Their size as Relay bills it.
    pub bytes: u64,
    pub dropped_lines: u64,
}

impl LogTally {
    pub fn lines(&self) -> u64 {
        self.kept.iter().sum()
    }
}

/// Turns an envelope into rows. Fails (4xx) on the first item that is malformed or too large.
#[tracing::instrument(level = "debug", skip_all, fields(project_id = received.project_id.get()))]
pub fn prepare(
    envelope: &Envelope,
    received: &Received,
    project: &ProjectSetup,
    limits: &Limits,
) -> Result<Prepared, IngestError> {
    let header_event_id = envelope.header_str("event_id").and_then(EventId::parse);
    let mut job = WriteJob::default();
    // Rows are made once the event id is known: an attachment may come before its event.
    let mut attachments = Vec::new();
    let mut counts = Vec::with_capacity(envelope.items.len());
    let mut not_kept = Vec::new();
    let mut check_ins = Vec::new();
    let mut logs = LogTally::default();
    for item in &envelope.items {
        match &item.ty {
            ItemType::Event if job.event.is_none() => {
                if item.payload.len() > limits.max_event_size {
                    return Err(IngestError::TooLarge("event"));
                }
                let event = parse_event(item.payload, header_event_id, received)?;
                // Serialized here, in parallel, not in the single writer.
                job.event = Some(EncodedEvent::new(event_row(
                    &event,
                    received.project_id,
                    project,
                )));
            }
            ItemType::Attachment => {
                if item.payload.len() > limits.max_attachment_size {
                    return Err(IngestError::TooLarge("attachment"));
                }
                attachments.push(item);
            }
            ItemType::UserReport => job
                .user_reports
                .push(user_report_row(item.payload, received)?),
            ItemType::Feedback => job.user_reports.push(feedback_row(item.payload, received)?),
            ItemType::CheckIn => {
                if item.payload.len() > MAX_CHECK_IN_SIZE {
                    return Err(IngestError::TooLarge("check_in"));
                }
                let check_in = CheckIn::from_json(item.payload, None)
                    .map_err(|e| IngestError::BadRequest(e.to_string()))?;
                check_ins.push(check_in);
            }
            ItemType::Log => {
                if !job.log_blocks.is_empty() || logs.dropped_lines > 0 {
                    return Err(IngestError::BadRequest(
                        "an envelope may hold one log item".into(),
                    ));
                }
                job.log_blocks = log_blocks(item, received, &mut logs)?;
            }
            // A second event in one envelope is ignored, as by Relay; not a kind to hold back.
            ItemType::Event => {}
            other => not_kept.extend(other.data_category()),
        }
        counts.push(item.ty.metric_name());
    }
    if attachments.len() > MAX_STORED_ITEMS || job.user_reports.len() > MAX_STORED_ITEMS {
        return Err(IngestError::TooLarge("attachment"));
    }
    if check_ins.len() > MAX_STORED_ITEMS {
        return Err(IngestError::TooLarge("check_in"));
    }
    for kind in ["session", "sessions", "client_report"] {
        if counts.iter().filter(|c| **c == kind).count() > MAX_COUNTED_ITEMS {
            return Err(IngestError::TooLarge(kind));
        }
    }
    // Attachments belong to the envelope's event (also when sent before it).
    let event_id = header_event_id.or_else(|| job.event.as_ref().map(|e| e.event_id));
    if !attachments.is_empty() {
        let Some(event_id) = event_id else {
            return Err(IngestError::BadRequest(
                "attachment without an event_id".into(),
            ));
        };
        job.attachments = attachments
            .into_iter()
            .map(|item| attachment_row(item, event_id, received))
            .collect();
    }
    Ok(Prepared {
        event_id,
        job,
        check_ins,
        counts,
        not_kept,
        logs,
    })
}

/// A log item's lines as blocks ([`crate::logs::block::encode_all`]), counted
/// into `tally`. A malformed container is refused; a malformed line is dropped alone.
fn log_blocks(
    item: &Item<'_>,
    received: &Received,
    tally: &mut LogTally,
) -> Result<Vec<crate::logs::block::NewBlock>, IngestError> {
    use crate::logs::{block, item as log_item};
    let item_count = item.headers.get("item_count").and_then(Value::as_u64);
    if item.payload.len() > MAX_LOG_ITEM_SIZE
        || item.payload.len() / item_count.unwrap_or(1).max(1) as usize > MAX_LOG_LINE_SIZE
    {
        return Err(IngestError::TooLarge("log"));
    }
    let mut parsed = log_item::parse(item_count, item.header_str("content_type"), item.payload)
        .map_err(|e| IngestError::BadRequest(e.to_string()))?;
    log_item::clamp_timestamps(&mut parsed.lines, received.received_ms);
    tally.dropped_lines += parsed.dropped_lines as u64;
    for line in &parsed.lines {
        tally.kept[line.level as usize] += 1;
        tally.bytes += block::billed_size(line);
    }
    Ok(block::encode_all(
        received.project_id,
        &parsed.lines,
        received.received_ms,
    ))
}

/// Queues the rows and waits for their COMMIT.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn commit(writer: &Writer, job: WriteJob) -> Result<(), IngestError> {
    if job.is_empty() {
        return Ok(());
    }
    writer.submit(job).await.map_err(|e| match e {
        SubmitError::QueueFull => IngestError::Overloaded,
        SubmitError::Closed => IngestError::ShuttingDown,
        e @ SubmitError::Failed(_) => IngestError::internal("writing the rows", e),
    })
}

/// JSON → normalized event.
pub fn parse_event(
    payload: &[u8],
    envelope_event_id: Option<EventId>,
    received: &Received,
) -> Result<NormalizedEvent, IngestError> {
    let raw = crate::protocol::event_json::parse(payload)
        .map_err(|e| IngestError::InvalidJson(e.to_string()))?;
    let ctx = normalize::Context {
        envelope_event_id,
        received_ms: received.received_ms,
        client_ip: received.client_ip.clone(),
    };
    normalize::normalize(raw, &ctx).map_err(|e| IngestError::InvalidJson(e.to_string()))
}

/// Groups a normalized event and packs it into its row.
pub fn event_row(
    event: &NormalizedEvent,
    project_id: ProjectId,
    project: &ProjectSetup,
) -> EventRow {
    let grouping = grouping::group_with(event, &project.rules);
    let json = crate::protocol::event_json::to_vec(&event.json);
    let data = compression::compress(&json, project.dictionary.as_deref());
    EventRow {
        project_id,
        event_id: event.event_id,
        hashes: grouping.hashes,
        title: grouping.title,
        culprit: grouping.culprit,
        issue_type: grouping.issue_type.to_owned(),
        level: event.level.clone(),
        platform: event.platform.clone(),
        release: event.release.clone(),
        environment: event.environment.clone(),
        user_key: event.user_key.clone(),
        trace_id: trace_id(event),
        timestamp: event.timestamp_ms,
        received: event.received_ms,
        tags: normalize::indexed_tags(&event.json),
        metadata: grouping.metadata.to_string(),
        data,
    }
}

/// The event's trace id (`contexts.trace.trace_id`), when it is one.
fn trace_id(event: &NormalizedEvent) -> Option<String> {
    let id = event
        .json
        .get("contexts")?
        .get("trace")?
        .get("trace_id")?
        .as_str()?;
    uuid::Uuid::try_parse(id)
        .ok()
        .map(|id| id.simple().to_string())
}

fn attachment_row(item: &Item<'_>, event_id: EventId, received: &Received) -> AttachmentRow {
    AttachmentRow {
        project_id: received.project_id,
        event_id,
        filename: item
            .header_str("filename")
            .unwrap_or("attachment")
            .chars()
            .take(200)
            .collect(),
        content_type: item
            .header_str("content_type")
            .map(|c| c.chars().take(100).collect()),
        attachment_type: item
            .header_str("attachment_type")
            .unwrap_or("event.attachment")
            .chars()
            .take(64)
            .collect(),
        data: item.payload.to_vec(),
        received: received.received_ms,
    }
}

/// Legacy `{"event_id", "name", "email", "comments"}`.
fn user_report_row(payload: &[u8], received: &Received) -> Result<UserReportRow, IngestError> {
    let report: Value =
        serde_json::from_slice(payload).map_err(|e| IngestError::InvalidJson(e.to_string()))?;
    let text = |k: &str| {
        report
            .get(k)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(4096).collect::<String>())
    };
    Ok(UserReportRow {
        project_id: received.project_id,
        event_id: report
            .get("event_id")
            .and_then(Value::as_str)
            .and_then(EventId::parse),
        name: text("name"),
        email: text("email"),
        comments: text("comments")
            .ok_or_else(|| IngestError::BadRequest("user_report without comments".into()))?,
        received: received.received_ms,
    })
}

/// Event-shaped feedback: `contexts.feedback{message, contact_email, name, associated_event_id}`.
fn feedback_row(payload: &[u8], received: &Received) -> Result<UserReportRow, IngestError> {
    let event: Value =
        serde_json::from_slice(payload).map_err(|e| IngestError::InvalidJson(e.to_string()))?;
    let feedback = event.get("contexts").and_then(|c| c.get("feedback"));
    let text = |k: &str| {
        feedback
            .and_then(|f| f.get(k))
            .and_then(Value::as_str)
            .map(|s| s.chars().take(4096).collect::<String>())
    };
    Ok(UserReportRow {
        project_id: received.project_id,
        event_id: feedback
            .and_then(|f| f.get("associated_event_id"))
            .and_then(Value::as_str)
            .and_then(EventId::parse),
        name: text("name"),
        email: text("contact_email"),
        comments: text("message")
            .ok_or_else(|| IngestError::BadRequest("feedback without a message".into()))?,
        received: received.received_ms,
    })
}
