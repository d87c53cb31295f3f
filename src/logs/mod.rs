//! Structured logs, as Sentry's SDKs send them (`enable_logs=True`, `Sentry.logger`): the lines
//! that led up to an error, kept beside it (issue 23, docs/logs-research.md; why blocks:
//! docs/adr/0003-log-lines-are-stored-as-blocks.md).
//!
//! ```text
//! envelope item {"type":"log","item_count":N,"content_type":"application/vnd.sentry.items.log+json"}
//!   → item::parse (checked as Relay checks it) → LogLine { timestamp, trace_id, level, body, attributes }
//!   → block::encode (one compressed block per item, with its index words) → WriteJob → writer
//! Logs page, API: query::parse → store::logs (blocks by time, level and words) → block::decode
//!   → query::matches, newest first
//! ```

pub mod block;
pub mod item;
pub mod query;
pub mod search;
