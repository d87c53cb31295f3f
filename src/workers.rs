//! Background workers: every job that runs beside the HTTP server, started in one place
//! ([`start`]) and stopped with it. Each is a type with its own `run_once` that a test can
//! drive; [`spawn`] is the loop around it that only paces it and logs its failures.
//!
//! | worker | paced by (`Config`) | does |
//! |---|---|---|
//! | `store::upkeep::Checkpoints` | `workers.checkpoint_interval` (250 ms; at once while the WAL nears its start-over) | copies the WAL into the database file, only after the writer wrote |
//! | `store::upkeep::RollUps` | `workers.roll_up_interval` (60 s) | minute counts older than two days become hours; expired web sessions end; issues ignored for a while come back; outcomes past 90 days go |
//! | `retention::Retention` | `retention.retention_interval` (10 min), and when the disk watch wakes it | deletes what is past its age, cap or the storage budget |
//! | `retention::dictionaries::Trainer` | `workers.dictionary_interval` (2 s) | trains each project's zstd dictionary, rewrites older events with it |
//! | `retention::disk::DiskWatch` | `workers.disk_check_interval` (2 s) | reads free disk space; wakes retention when it or the budget runs short |
//! | `alerts::Evaluator` | `workers.alert_evaluate_interval` (2 s; 60 s without writes) | records the alerts that are due |
//! | `alerts::Sender` (email, webhooks) | `workers.alert_send_interval` (1 s) | delivers them, each channel on its own |
//! | `crons::detect::Detector` | `workers.cron_interval` (10 s) | marks runs missed or timed out, writes the issue events monitor failures owe |
//! | `ingest::outcomes::OutcomeFlush` | `workers.outcome_flush_interval` (5 s) | adds ingest's outcome counts (accepted, rate limited, invalid) to the database |
//!
//! Workers get the handles they use (the store, the writer, metrics), never the HTTP
//! framework's types.
//!
//! Several nodes may share one database (PostgreSQL): the jobs that act on the shared data
//! (roll-ups, retention, dictionaries, cron judgement, alert evaluation and delivery) then run on one node at a
//! time, the one that holds the `periodic` lease ([`Leased`], `store::leases`); a node that
//! dies stops renewing it, and another takes over within [`LEASE_TERM`]. Checkpoints, the disk
//! watch and outcome counts are each node's own.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::alerts::{Evaluator, Sender};
use crate::config::Config;
use crate::crons::detect::Detector;
use crate::ingest::outcomes::OutcomeFlush;
use crate::metrics::Metrics;
use crate::retention::disk::{DiskGuard, DiskWatch};
use crate::retention::{Retention, dictionaries::Trainer};
use crate::store::Store;
use crate::store::upkeep::{Checkpoints, RollUps};
use crate::store::writer::{Writer, WriterStats};

/// Why a round failed, for the log.
pub type WorkError = Box<dyn std::error::Error + Send + Sync>;

/// When a worker's next round runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// After the worker's interval.
    Usual,
    /// Sooner (or later) than that.
    After(Duration),
}

/// A background job, one round at a time.
pub trait Worker: Send + 'static {
    /// What the log calls it.
    const NAME: &'static str;

    /// One round as if the time were `now_ms`.
    fn round(&mut self, now_ms: i64) -> impl Future<Output = Result<Next, WorkError>> + Send;
}

/// How long a node holds the `periodic` lease without renewing it: its rounds renew it every
/// few seconds while it lives.
pub const LEASE_TERM: Duration = Duration::from_secs(30);

/// The lease of the jobs that one node at a time runs.
pub const PERIODIC_LEASE: &str = "periodic";

/// This node's claim on the `periodic` lease.
#[derive(Clone, Debug)]
pub struct Lease {
    store: Store,
    /// This node's id: random, per start.
    node: Arc<str>,
    /// Whether this node held the lease at its last ask.
    held: Arc<std::sync::atomic::AtomicBool>,
}

impl Lease {
    pub fn new(store: Store) -> Lease {
        Lease {
            store,
            node: uuid::Uuid::new_v4().simple().to_string().into(),
            held: Default::default(),
        }
    }

    /// Whether other nodes may share the database (PostgreSQL).
    fn shared(&self) -> bool {
        self.store.dialect() == crate::store::sql::Dialect::Postgres
    }

    /// `worker`, run only while this node holds the lease.
    pub fn over<W: Worker>(&self, worker: W) -> Leased<W> {
        Leased {
            worker,
            lease: self.clone(),
        }
    }

    /// Whether this node holds the lease now (taking or renewing it). A SQLite database has
    /// one server, which always holds it: asking would be a write beside the batch writer,
    /// waiting for its lock (seconds under load).
    pub async fn hold(&self, now_ms: i64) -> Result<bool, crate::store::StoreError> {
        if !self.shared() {
            return Ok(true);
        }
        use std::sync::atomic::Ordering::SeqCst;
        let until = now_ms + LEASE_TERM.as_millis() as i64;
        let holds = self
            .store
            .hold_lease(PERIODIC_LEASE, &self.node, now_ms, until)
            .await?;
        if !holds {
            self.held.store(false, SeqCst);
        } else if !self.held.load(SeqCst) {
            // Taken over: alerts the last holder claimed are due now, not when its claims end.
            let reclaimed = self.store.reclaim_alerts(now_ms).await?;
            self.held.store(true, SeqCst);
            tracing::info!(reclaimed, "this node runs the periodic jobs now");
        }
        Ok(holds)
    }
}

/// A worker whose rounds run only on the node that holds the `periodic` lease.
pub struct Leased<W> {
    worker: W,
    lease: Lease,
}

impl<W: Worker> Worker for Leased<W> {
    const NAME: &'static str = W::NAME;

    async fn round(&mut self, now_ms: i64) -> Result<Next, WorkError> {
        if !self.lease.hold(now_ms).await? {
            return Ok(Next::Usual);
        }
        self.worker.round(now_ms).await
    }
}

/// Runs `worker` at once, then every `every` (or when `wake` is notified) until aborted.
pub fn spawn<W: Worker>(
    mut worker: W,
    every: Duration,
    wake: Option<Arc<Notify>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let pause = match worker.round(crate::store::now_ms()).await {
                Ok(Next::Usual) => every,
                Ok(Next::After(pause)) => pause,
                Err(e) => {
                    tracing::warn!(worker = W::NAME, error = %e, "background work failed; it runs again later");
                    every
                }
            };
            match &wake {
                Some(wake) => tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = wake.notified() => {}
                },
                None => tokio::time::sleep(pause).await,
            }
        }
    })
}

/// What the workers are built from.
pub struct Handles {
    pub store: Store,
    pub writer: Writer,
    pub stats: Arc<WriterStats>,
    pub metrics: Arc<Metrics>,
    pub disk: Arc<DiskGuard>,
    pub retention: Retention,
    /// The public URL alert messages link to.
    pub base_url: String,
    pub outcomes: Arc<crate::ingest::outcomes::Outcomes>,
}

/// The running workers; [`Workers::stop`] ends them all.
pub struct Workers {
    tasks: Vec<JoinHandle<()>>,
    lease: Lease,
}

/// Starts every background worker with the intervals in `config`.
pub fn start(config: &Config, handles: Handles) -> Workers {
    let Handles {
        store,
        writer,
        stats,
        metrics,
        disk,
        retention,
        base_url,
        outcomes,
    } = handles;
    let every = &config.workers;
    let lease = Lease::new(store.clone());
    let wake_retention = Arc::new(Notify::new());
    let mut tasks = vec![
        spawn(
            lease.over(RollUps::new(store.clone(), &config.web)),
            every.roll_up_interval,
            None,
        ),
        spawn(
            lease.over(retention.clone()),
            config.retention.retention_interval,
            Some(wake_retention.clone()),
        ),
        spawn(
            lease.over(Detector::new(
                store.clone(),
                writer.clone(),
                metrics.clone(),
            )),
            every.cron_interval,
            None,
        ),
        spawn(
            lease.over(Trainer::new(store.clone(), writer, stats.clone())),
            every.dictionary_interval,
            None,
        ),
        spawn(
            DiskWatch::new(
                disk,
                store.clone(),
                retention.policy().max_storage,
                wake_retention,
            ),
            every.disk_check_interval,
            None,
        ),
        spawn(
            OutcomeFlush::new(outcomes, store.clone()),
            every.outcome_flush_interval,
            None,
        ),
    ];
    let email = Sender::email(&config.mail, &store, &metrics);
    let webhook = Sender::webhook(&config.mail, &store, &metrics);
    let evaluator = Evaluator::new(
        store.clone(),
        stats.clone(),
        base_url,
        email.is_some(),
        every.alert_idle_evaluate_interval,
    );
    tasks.push(spawn(
        lease.over(evaluator),
        every.alert_evaluate_interval,
        None,
    ));
    for sender in [email, webhook].into_iter().flatten() {
        tasks.push(spawn(lease.over(sender), every.alert_send_interval, None));
    }
    // PostgreSQL has no WAL file of Snag's to copy back.
    if store.dialect() == crate::store::sql::Dialect::Sqlite {
        tasks.push(spawn(
            Checkpoints::new(store.clone(), stats.clone()),
            every.checkpoint_interval,
            None,
        ));
    }
    Workers { tasks, lease }
}

impl Workers {
    /// Ends every worker (a round in progress is dropped where it waits; what a worker sent
    /// to the writer is still written).
    pub async fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
        // Another node may take the periodic jobs over at once.
        if !self.lease.shared() {
            return;
        }
        let Lease { store, node, .. } = self.lease;
        if let Err(e) = store.release_lease(PERIODIC_LEASE, &node).await {
            tracing::warn!(error = %e, "the periodic lease was not given up; it expires by itself");
        }
    }
}
