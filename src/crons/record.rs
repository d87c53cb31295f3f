//! Check-ins into the store, and the issue events their failures owe into the writer.

use super::check_in::CheckIn;
use super::occurrence;
use crate::ingest::error::IngestError;
use crate::metrics::Metrics;
use crate::pipeline;
use crate::store::monitors::{IncidentChange, Recorded};
use crate::store::rows::{EncodedEvent, WriteJob};
use crate::store::writer::Writer;
use crate::store::{ProjectId, Store, StoreError};

/// Records one check-in of `project` received at `now_ms`, then writes the issue event its
/// failure owes; returns only once both are committed. A check-in the store refuses (an
/// unknown monitor, a bad config of a new one) is a 400 with the reason.
pub async fn record(
    store: &Store,
    writer: &Writer,
    metrics: &Metrics,
    project: ProjectId,
    check_in: &CheckIn,
    now_ms: i64,
) -> Result<Recorded, IngestError> {
    let recorded = match store.record_check_in(project, check_in, now_ms).await {
        Ok(recorded) => recorded,
        Err(StoreError::Invalid(why)) => return Err(IngestError::BadRequest(why)),
        Err(e) => return Err(IngestError::internal("recording a check-in", e)),
    };
    if let Recorded::Stored(_) = recorded {
        metrics.check_in(check_in.status.as_str());
    }
    if let Recorded::Stored(IncidentChange::Failure { environment_id }) = recorded {
        write_owed(store, writer, Some(environment_id)).await?;
    }
    Ok(recorded)
}

/// Writes the issue events owed by failures (of one environment, or of all), crossing each
/// off once committed; returns how many were written.
pub async fn write_owed(
    store: &Store,
    writer: &Writer,
    environment: Option<i64>,
) -> Result<usize, IngestError> {
    let owed = store
        .owed_occurrences(environment)
        .await
        .map_err(|e| IngestError::internal("reading the owed monitor events", e))?;
    for occurrence in &owed {
        let row = occurrence::event_row(occurrence)?;
        let event_id = row.event_id.to_string();
        let job = WriteJob {
            event: Some(EncodedEvent::new(row)),
            ..WriteJob::default()
        };
        pipeline::commit(writer, job).await?;
        store
            .occurrence_written(occurrence, &event_id)
            .await
            .map_err(|e| IngestError::internal("crossing off a monitor event", e))?;
    }
    Ok(owed.len())
}
