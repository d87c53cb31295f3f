//! The periodic judgement of monitors (a [`Worker`]): runs that did not happen become `missed`,
//! runs in progress for too long `timeout`, and the issue events their failures owe are
//! written, also those a crash left behind. It runs on the node that holds the periodic lease,
//! so a run is judged once however many nodes there are, and after a restart what came due
//! while Snag was down is judged at its first round.

use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::writer::Writer;
use crate::workers::{Next, WorkError, Worker};

pub struct Detector {
    store: Store,
    writer: Writer,
    metrics: std::sync::Arc<Metrics>,
}

impl Detector {
    pub fn new(store: Store, writer: Writer, metrics: std::sync::Arc<Metrics>) -> Detector {
        Detector {
            store,
            writer,
            metrics,
        }
    }
}

impl Worker for Detector {
    const NAME: &'static str = "crons";

    async fn round(&mut self, now_ms: i64) -> Result<Next, WorkError> {
        let changes = self.store.judge_monitors(now_ms).await?;
        for (status, _) in &changes {
            self.metrics.check_in(status.as_str());
        }
        let written = super::record::write_owed(&self.store, &self.writer, None).await?;
        if !changes.is_empty() || written > 0 {
            tracing::debug!(judged = changes.len(), written, "monitors judged");
        }
        Ok(Next::Usual)
    }
}
