//! The periodic judgement of monitors (a [`Worker`]): runs that did not happen become `missed`,
//! runs in progress for too long `timeout`, and the issue events their failures owe are
//! written, also those a crash left behind. It runs on the node that holds the periodic lease,
//! so a run is judged once however many nodes there are, and after a restart what came due
//! while Snag was down is judged at its first round.

use crate::store::Store;
use crate::store::writer::Writer;
use crate::workers::{Next, WorkError, Worker};

pub struct Detector {
    store: Store,
    writer: Writer,
}

impl Detector {
    pub fn new(store: Store, writer: Writer) -> Detector {
        Detector { store, writer }
    }
}

impl Worker for Detector {
    const NAME: &'static str = "crons";

    async fn round(&mut self, now_ms: i64) -> Result<Next, WorkError> {
        let changes = self.store.judge_monitors(now_ms).await?;
        let written = super::record::write_owed(&self.store, &self.writer, None).await?;
        if !changes.is_empty() || written > 0 {
            tracing::debug!(judged = changes.len(), written, "monitors judged");
        }
        Ok(Next::Usual)
    }
}
