//! Structured logs, as Sentry's SDKs send them (`enable_logs=True`, `Sentry.logger`): the lines
//! that led up to an error, kept beside it (issue 23, docs/logs-research.md).
//!
//! ```text
//! envelope item {"type":"log","item_count":N,"content_type":"application/vnd.sentry.items.log+json"}
//!   → item::parse (checked as Relay checks it) → LogLine { timestamp, trace_id, level, body, attributes }
//! ```
//! So far only the wire format is here: ingest still counts log items without keeping them.

pub mod item;
