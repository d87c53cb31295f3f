//! The disk guard: ingest stops before the database's file system fills up.
//!
//! Every two seconds ([`DiskWatch`]) the guard reads the free space of the file system that holds the database
//! (`statvfs`). Below `--min-free-disk`, ingest answers 429 with `Retry-After` and
//! `X-Sentry-Rate-Limits: 60::organization:insufficient_disk` (SDKs keep their events and back
//! off), every page shows a banner, `/healthz` says so, and retention runs at once. Ingest
//! resumes by itself when space comes back. The guard also wakes retention when the database
//! passes `--max-storage`, so the budget holds between retention's regular runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use tokio::sync::Notify;

use crate::protocol::rate_limits::{RateLimit, Scope};
use crate::store::{Store, StoreError};

/// Seconds SDKs are asked to wait while the disk is short.
const RETRY_AFTER_SECS: u64 = 60;

#[derive(Debug)]
pub struct DiskGuard {
    /// The folder of the database file; none for an in-memory database.
    folder: Option<PathBuf>,
    min_free: AtomicU64,
    free: AtomicU64,
    low: AtomicBool,
}

impl DiskGuard {
    pub fn new(database_file: Option<&Path>, min_free: u64) -> DiskGuard {
        let folder = database_file.map(|f| match f.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        });
        let guard = DiskGuard {
            folder,
            min_free: AtomicU64::new(min_free),
            free: AtomicU64::new(u64::MAX),
            low: AtomicBool::new(false),
        };
        guard.check();
        guard
    }

    /// Reads the free space now; returns whether it is short.
    pub fn check(&self) -> bool {
        let Some(folder) = &self.folder else {
            return false;
        };
        match free_bytes(folder) {
            Ok(free) => {
                self.free.store(free, Relaxed);
                let min_free = self.min_free.load(Relaxed);
                let low = free < min_free;
                let was = self.low.swap(low, Relaxed);
                if low && !was {
                    tracing::warn!(
                        free,
                        min_free,
                        "free disk space is below --min-free-disk: ingest answers 429 until it comes back"
                    );
                } else if was && !low {
                    tracing::info!(free, "free disk space is back: ingest resumes");
                }
                low
            }
            Err(e) => {
                tracing::warn!(error = %e, folder = %folder.display(), "cannot read free disk space");
                self.low.load(Relaxed)
            }
        }
    }

    /// Changes `--min-free-disk` while serving; the next check (within two seconds) applies it.
    pub fn set_min_free(&self, bytes: u64) {
        self.min_free.store(bytes, Relaxed);
    }

    pub fn is_low(&self) -> bool {
        self.low.load(Relaxed)
    }

    /// Free bytes at the last check (none for an in-memory database).
    pub fn free_bytes(&self) -> Option<u64> {
        self.folder.as_ref().map(|_| self.free.load(Relaxed))
    }

    /// Why ingest is refused, in words for the banner and `/healthz`; none while space is fine.
    pub fn problem(&self) -> Option<String> {
        self.is_low().then(|| {
            format!(
                "Free disk space is low: {} left on the database's disk, below the {} Snag keeps \
                 free (--min-free-disk). New events are refused (SDKs retry later) until space \
                 comes back.",
                bytesize::ByteSize::b(self.free.load(Relaxed)),
                bytesize::ByteSize::b(self.min_free.load(Relaxed)),
            )
        })
    }

    /// The answer ingest gives while space is short.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.is_low().then(|| RateLimit {
            retry_after_secs: RETRY_AFTER_SECS,
            categories: Vec::new(),
            scope: Scope::Organization,
            reason: "insufficient_disk",
        })
    }
}

fn free_bytes(folder: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(folder)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Reads free space now and then (`--disk-check-interval`, every two seconds); wakes retention
/// when space runs short, and when the database passes `--max-storage`.
pub struct DiskWatch {
    guard: Arc<DiskGuard>,
    store: Store,
    max_storage: Option<u64>,
    retention: Arc<Notify>,
}

impl DiskWatch {
    pub fn new(
        guard: Arc<DiskGuard>,
        store: Store,
        max_storage: Option<u64>,
        retention: Arc<Notify>,
    ) -> DiskWatch {
        DiskWatch {
            guard,
            store,
            max_storage,
            retention,
        }
    }

    /// One look; true when it woke retention.
    pub async fn run_once(&self) -> Result<bool, StoreError> {
        let was_low = self.guard.is_low();
        let newly_low = self.guard.check() && !was_low;
        let over_budget = match self.max_storage {
            Some(budget) => self.store.file_size().await?.bytes() > budget,
            None => false,
        };
        if newly_low || over_budget {
            self.retention.notify_one();
        }
        Ok(newly_low || over_budget)
    }
}

impl crate::workers::Worker for DiskWatch {
    const NAME: &'static str = "disk watch";

    async fn round(
        &mut self,
        _now_ms: i64,
    ) -> Result<crate::workers::Next, crate::workers::WorkError> {
        self.run_once().await?;
        Ok(crate::workers::Next::Usual)
    }
}
