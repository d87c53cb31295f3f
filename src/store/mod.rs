//! Storage: the only module that speaks SQL.
//!
//! SQLite in WAL mode. Ingest writes go through one batch writer ([`writer`]) that owns its own
//! connection and commits many envelopes per transaction (group commit); everything else
//! (projects, keys, reads) goes through a small pool. Migrations are embedded and run at open.

pub mod activity;
pub mod alerts;
pub mod batch;
pub mod check;
pub mod compression;
pub mod discover;
pub mod events;
pub mod ids;
pub mod issue_state;
pub mod issues;
pub mod leases;
pub mod logs;
pub mod migrate;
pub mod monitors;
pub mod outcomes;
mod pending_tags;
pub mod projects;
pub mod quotas;
pub mod release_order;
pub mod releases;
pub mod retention;
pub mod rows;
pub mod sessions;
pub mod sql;
pub mod tokens;
pub mod upkeep;
pub mod users;
pub mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};

use sql::Pool;

use crate::config::{Config, SqliteSynchronous as SyncSetting};

pub use events::{StoredEvent, StoredIssue};
pub use ids::{IssueId, ProjectId};
pub use projects::{Project, ProjectKey};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// From the batch writer's connection (see [`writer`]).
    #[error("database error")]
    Writer(#[from] rusqlite::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database folder {0}")]
    Folder(String, #[source] std::io::Error),
    #[error("cannot start the writer's thread")]
    WriterThread(#[source] std::io::Error),
    #[error(
        "unsupported database URL {0:?}: Snag supports sqlite://PATH and postgres://USER:PASSWORD@HOST/DATABASE"
    )]
    UnsupportedUrl(String),
    /// The PostgreSQL server cannot be reached or refuses the credentials.
    #[error("cannot connect to PostgreSQL at {0}")]
    Connect(String, #[source] sqlx::Error),
    /// An operation that exists for one database only (a SQLite file backup on PostgreSQL).
    #[error("{0}")]
    Unsupported(String),
    /// A unique name or key is already taken.
    #[error("{0}")]
    Conflict(String),
    /// Input that the store refuses (bad name, bad key).
    #[error("{0}")]
    Invalid(String),
    /// Stored data that cannot be read back (a blob that does not decompress or parse): the
    /// server's fault, never the client's.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Password hashing did not finish (its thread died, or the server is stopping).
    #[error("password hashing failed")]
    Hashing(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A retention chore needed the pending counters folded first, and the fold failed.
    #[error("the pending counters could not be folded")]
    FoldFailed,
}

impl StoreError {
    /// Whether the client caused it (what it sent is refused or taken): a 4xx with this
    /// text. Everything else is the server's fault: a 5xx with an opaque body, the cause
    /// logged.
    pub fn is_client_error(&self) -> bool {
        matches!(self, StoreError::Invalid(_) | StoreError::Conflict(_))
    }
}

/// What a writer started by [`Store::start_writer`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterRole {
    /// The server's: batch writes and chores.
    Server,
    /// Retention's chores only (`snag cleanup` beside a running server).
    Chores,
}

/// Handle to the database: a pool for reads and small writes.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// The SQLite file's settings, for the writer's own connection; none on PostgreSQL.
    sqlite: Option<SqliteFile>,
    /// zstd dictionaries of the projects (see [`compression`]).
    dictionaries: std::sync::Arc<compression::Dictionaries>,
}

#[derive(Clone, Debug)]
struct SqliteFile {
    options: SqliteConnectOptions,
    synchronous: SyncSetting,
}

impl Store {
    /// Opens (creating when missing) the database and brings its schema up to date.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open(config: &Config) -> Result<Store, StoreError> {
        let url = &config.database_url;
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Store::open_postgres(url).await;
        }
        let options = connect_options(url, config.sqlite_synchronous)?;
        // Readers get a smaller page cache than the writer: four of them would otherwise hold
        // 64 MB after a few large pages.
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(4)
            .connect_with(options.clone().pragma("cache_size", "-4000"))
            .await?;
        hand_back_space(&pool).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let store = Store {
            pool: Pool::Sqlite(pool),
            sqlite: Some(SqliteFile {
                options,
                synchronous: config.sqlite_synchronous,
            }),
            dictionaries: Default::default(),
        };
        store.load_current_dictionaries().await?;
        Ok(store)
    }

    /// Connects to a PostgreSQL database (which must exist) and brings its schema up to date;
    /// nodes starting together wait for each other's migration (sqlx holds an advisory lock).
    async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .min_connections(1)
            .max_connections(POSTGRES_CONNECTIONS)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| StoreError::Connect(server_of(url), e))?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let store = Store {
            pool: Pool::Postgres(pool),
            sqlite: None,
            dictionaries: Default::default(),
        };
        store.load_current_dictionaries().await?;
        Ok(store)
    }

    /// The SQLite pool, for tests that look at SQLite's own tables.
    #[cfg(test)]
    pub(crate) fn sqlite_pool(&self) -> &SqlitePool {
        match &self.pool {
            Pool::Sqlite(pool) => pool,
            Pool::Postgres(_) => panic!("a SQLite test opened a PostgreSQL store"),
        }
    }

    /// Which database this is, for the few queries that differ ([`sql::Dialect`]).
    pub fn dialect(&self) -> sql::Dialect {
        self.pool.dialect()
    }

    /// The SQLite file's settings, or a clear refusal on PostgreSQL.
    fn sqlite_file(&self, what: &str) -> Result<&SqliteFile, StoreError> {
        self.sqlite.as_ref().ok_or_else(|| {
            StoreError::Unsupported(format!(
                "{what} is for SQLite databases; on PostgreSQL use the server's own tools"
            ))
        })
    }

    /// Starts the store's writer (see [`writer`]) on a connection of its own: the server's,
    /// which writes batches and folds first what an earlier run left (killed before its
    /// fold), or one that only runs retention's chores (`snag cleanup`), which leaves pending
    /// rows to the server that owns them.
    pub fn start_writer(
        &self,
        role: WriterRole,
        queue_size: usize,
        max_batch: usize,
        stats: std::sync::Arc<writer::WriterStats>,
    ) -> Result<(writer::Writer, writer::WriterTask), StoreError> {
        if let Pool::Postgres(pool) = &self.pool {
            let options = (*pool.connect_options()).clone();
            return writer::Writer::start_postgres(options, queue_size, max_batch, stats);
        }
        let conn = match role {
            WriterRole::Server => self.writer_connection()?,
            WriterRole::Chores => self.chore_connection()?,
        };
        writer::Writer::start(conn, queue_size, max_batch, stats).map_err(StoreError::WriterThread)
    }

    /// The batch writer's own synchronous connection, set up as the pool's connections are,
    /// with the batch write installed and the pending rows of an earlier run folded.
    fn writer_connection(&self) -> Result<rusqlite::Connection, StoreError> {
        let mut conn = self.chore_connection()?;
        batch::install(&conn)?;
        let mut pending_tags = pending_tags::PendingTags::load(&conn)?;
        batch::fold(&mut conn, Some(&mut pending_tags))?;
        Ok(conn)
    }

    /// A connection set up as the writer's, for a writer that only runs retention's chores.
    fn chore_connection(&self) -> Result<rusqlite::Connection, StoreError> {
        let file = self.sqlite_file("the batch writer's connection")?;
        let filename = file.options.get_filename();
        let conn = if is_memory(filename) {
            // sqlx names a shared in-memory database `file:sqlx-in-memory-N`: join it.
            use rusqlite::OpenFlags as F;
            let shared = F::SQLITE_OPEN_MEMORY | F::SQLITE_OPEN_SHARED_CACHE | F::SQLITE_OPEN_URI;
            rusqlite::Connection::open_with_flags(filename, F::default() | shared)?
        } else {
            rusqlite::Connection::open(filename)?
        };
        let synchronous = match file.synchronous {
            SyncSetting::Normal => "NORMAL",
            SyncSetting::Full => "FULL",
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let shared: String = PRAGMAS
            .iter()
            .map(|(name, value)| format!("PRAGMA {name} = {value};"))
            .collect();
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};
             PRAGMA foreign_keys = ON; {shared}"
        ))?;
        Ok(conn)
    }

    /// The database file; none for an in-memory database.
    pub fn file_path(&self) -> Option<std::path::PathBuf> {
        let filename = self.sqlite.as_ref()?.options.get_filename();
        (!is_memory(filename)).then(|| filename.to_path_buf())
    }

    /// True while the database answers a trivial query.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ping(&self) -> bool {
        sql::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Copies committed WAL frames into the database file beside the writer (PASSIVE: never
    /// blocks it), so that COMMITs rarely pay for checkpoints; returns how many frames the WAL
    /// holds. When the WAL reaches [`WAL_FRAMES`] the writer's own checkpoint finds almost
    /// everything copied, and the WAL starts over. The server calls this every 250 ms, and
    /// back to back when the WAL is about to start over (see [`Store::wal_starts_over_soon`]).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn checkpoint(&self) -> Result<i64, StoreError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Ok(0);
        };
        let (_busy, frames, _copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(pool)
                .await?;
        Ok(frames)
    }

    /// Whether a WAL of `frames` frames is close to its start-over. The writer's checkpoint
    /// then fsyncs what was written since the last checkpoint beside it, while every sender
    /// waits (40–160 ms measured at 10,000 events/s when that was up to 250 ms of writes):
    /// checkpointing back to back until then keeps that short.
    pub fn wal_starts_over_soon(frames: i64) -> bool {
        frames >= WAL_FRAMES / 8 * 7
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `host:port/database` of a PostgreSQL URL, for messages: never its user or password.
fn server_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}{}",
            u.host_str().unwrap_or("localhost"),
            u.port().unwrap_or(5432),
            u.path()
        ),
        Err(_) => "an unreadable URL".to_owned(),
    }
}

fn connect_options(url: &str, sync: SyncSetting) -> Result<SqliteConnectOptions, StoreError> {
    if !url.starts_with("sqlite:") {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    }
    let options = SqliteConnectOptions::from_str(url)?;
    let filename = options.get_filename().to_owned();
    if let Some(folder) = filename.parent().filter(|p| !p.as_os_str().is_empty())
        && !is_memory(&filename)
    {
        std::fs::create_dir_all(folder)
            .map_err(|e| StoreError::Folder(folder.display().to_string(), e))?;
    }
    let options = options
        .create_if_missing(true)
        .auto_vacuum(SqliteAutoVacuum::Incremental)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match sync {
            SyncSetting::Normal => SqliteSynchronous::Normal,
            SyncSetting::Full => SqliteSynchronous::Full,
        })
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    Ok(PRAGMAS.iter().fold(options, |options, (name, value)| {
        options.pragma(*name, *value)
    }))
}

/// Makes sure the file can give space back (`auto_vacuum = INCREMENTAL`, see
/// [`retention`]): new databases are created so; a database from before is converted once,
/// by a VACUUM that rewrites it whole.
async fn hand_back_space(pool: &SqlitePool) -> Result<(), StoreError> {
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
        .fetch_one(pool)
        .await?;
    if mode == 2 {
        return Ok(());
    }
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(pool)
        .await?;
    tracing::warn!(
        pages,
        "converting the database once so that retention can shrink its file (VACUUM); \
         this takes a while for a large database, and needs as much free disk as it holds"
    );
    let started = std::time::Instant::now();
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
        .execute(&mut *conn)
        .await?;
    // Snag serves without it (retention still deletes; the file only stops shrinking), so a
    // conversion that fails (a disk too full for the copy) is tried again at the next start.
    match sqlx::query("VACUUM").execute(&mut *conn).await {
        Ok(_) => tracing::warn!(
            seconds = started.elapsed().as_secs_f64(),
            "database converted"
        ),
        Err(e) => tracing::error!(
            error = %e,
            "could not convert the database (it needs as much free disk as it holds); \
             its file will not shrink until it is converted at a later start"
        ),
    }
    Ok(())
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of one node to PostgreSQL: the API's reads and small writes (the writer has
/// its own). A few per core keep the server's CPUs busy while queries wait on the network.
const POSTGRES_CONNECTIONS: u32 = 8;

/// How many frames (pages) the WAL grows to before it starts over (256 MiB).
const WAL_FRAMES: i64 = 65536;

/// Set on every connection, the pool's (see `connect_options`) and the writer's. Checkpoints
/// run beside the writer (see [`Store::checkpoint`]); at [`WAL_FRAMES`] the writer finishes
/// the little that is left and the WAL starts over. That little still costs the writer an
/// fsync, with every sender waiting: at 64 MiB this came every 0.6 s, and 256 MiB were 10%
/// more events/s at 64 senders. The size limit sits above the WAL's largest regular size, so
/// the file is not cut (and its blocks discarded) at every start-over, only after a burst.
///
/// The page cache is kept small (6 MB) for a reason inside SQLite: a B-tree page split swaps
/// page numbers through a spare number (262145 with 4 KiB pages), which in a database under
/// 1 GiB lies beyond its end, so the COMMIT after a split walks the cache's whole hash table
/// to drop it. With 16 MB that walk was 4–5% of the writer's time, with 4 MB under 2%. 6 MB
/// against 16 MB: faster in 8 of 11 alternating runs of one build, even over 3 runs of the
/// release builds, and 60 MB instead of 72 MB of server memory at 64 senders.
const PRAGMAS: [(&str, &str); 4] = [
    ("temp_store", "memory"),
    ("cache_size", "-6000"),
    ("wal_autocheckpoint", "65536"),
    ("journal_size_limit", "335544320"),
];

fn is_memory(path: &Path) -> bool {
    let s = path.to_string_lossy();
    s.contains(":memory:") || s.starts_with("file:sqlx-in-memory")
}

pub use crate::time::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wal_starts_over_at_its_frame_count_and_is_never_cut_below_that() {
        let pragma = |name| PRAGMAS.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(pragma("wal_autocheckpoint"), WAL_FRAMES.to_string());
        // A full WAL: its header, and per frame a 24-byte header and a 4 KiB page.
        let largest = 32 + WAL_FRAMES * (24 + 4096);
        assert!(pragma("journal_size_limit").parse::<i64>().unwrap() > largest);
        assert!(!Store::wal_starts_over_soon(WAL_FRAMES / 2));
        assert!(Store::wal_starts_over_soon(WAL_FRAMES - 100));
    }
}
