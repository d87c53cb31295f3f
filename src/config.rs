//! Runtime configuration: every setting is a flag and a `SNAG_*` environment variable.
//!
//! The same [`Config`] is shared by every subcommand, so `SNAG_DATABASE_URL` points
//! `snag project create` at the database of a running `snag serve`.

use std::time::Duration;

use clap::Args;

/// Settings that every subcommand shares.
#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Database URL. SQLite: `sqlite://PATH` (the file and its folder are created when missing);
    /// PostgreSQL: `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (the database must exist).
    #[arg(
        long,
        env = "SNAG_DATABASE_URL",
        default_value = "sqlite://snag-data/snag.db",
        global = true
    )]
    pub database_url: String,

    /// SQLite `synchronous` mode: `normal` survives a crash of Snag (WAL), `full` also a power loss.
    #[arg(
        long,
        env = "SNAG_SQLITE_SYNCHRONOUS",
        default_value = "normal",
        global = true
    )]
    pub sqlite_synchronous: SqliteSynchronous,

    /// Public URL of this server, used in DSNs and links. Default: `http://<bind>`.
    #[arg(long, env = "SNAG_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Address to listen on (serve) and to print in DSNs when no base URL is set.
    #[arg(
        long,
        env = "SNAG_BIND",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub bind: String,

    /// Slug of the one organization the REST API (`/api/0/`) shows (sentry-cli's `--org`).
    #[arg(long, env = "SNAG_ORG_SLUG", default_value = "snag", global = true)]
    pub org_slug: String,

    /// Bearer token `/metrics` asks for. Unset: `/metrics` answers anyone, with totals only;
    /// set: only requests with `Authorization: Bearer <token>`, and series per project too.
    #[arg(long, env = "SNAG_METRICS_TOKEN", global = true)]
    pub metrics_token: Option<crate::secret::Secret>,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub mail: Mail,

    #[command(flatten)]
    pub web: Web,

    #[command(flatten)]
    pub retention: Retention,

    #[command(flatten)]
    pub workers: Workers,
}

/// How often the background workers (`crate::workers`) look for work. The flags are hidden:
/// the defaults suit every deployment; tests shorten them.
#[derive(Args, Debug, Clone)]
pub struct Workers {
    /// WAL checkpoints after writes.
    #[arg(long, env = "SNAG_CHECKPOINT_INTERVAL", default_value = "250ms", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub checkpoint_interval: Duration,

    /// Minute counts rolled up into hours, expired sessions ended.
    #[arg(long, env = "SNAG_ROLL_UP_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub roll_up_interval: Duration,

    /// Compression dictionaries trained when due.
    #[arg(long, env = "SNAG_DICTIONARY_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub dictionary_interval: Duration,

    /// Free disk space and the storage budget checked.
    #[arg(long, env = "SNAG_DISK_CHECK_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub disk_check_interval: Duration,

    /// Alerts evaluated after writes.
    #[arg(long, env = "SNAG_ALERT_EVALUATE_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub alert_evaluate_interval: Duration,

    /// Alerts evaluated while nothing is written (rates fall as minutes pass).
    #[arg(long, env = "SNAG_ALERT_IDLE_EVALUATE_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub alert_idle_evaluate_interval: Duration,

    /// Due alert emails and webhooks sent.
    #[arg(long, env = "SNAG_ALERT_SEND_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub alert_send_interval: Duration,
    /// Ingest's outcome counts added to the database (what a crash can lose of them).
    #[arg(long, env = "SNAG_OUTCOME_FLUSH_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub outcome_flush_interval: Duration,

    /// Cron monitors judged: missed and timed-out runs found, their issue events written.
    #[arg(long, env = "SNAG_CRON_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration, global = true, hide = true)]
    pub cron_interval: Duration,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            checkpoint_interval: Duration::from_millis(250),
            roll_up_interval: Duration::from_secs(60),
            dictionary_interval: Duration::from_secs(2),
            disk_check_interval: Duration::from_secs(2),
            alert_evaluate_interval: Duration::from_secs(2),
            alert_idle_evaluate_interval: Duration::from_secs(60),
            alert_send_interval: Duration::from_secs(1),
            outcome_flush_interval: Duration::from_secs(5),
            cron_interval: Duration::from_secs(10),
        }
    }
}

/// What Snag keeps, and the disk it may take.
#[derive(Args, Debug, Clone)]
pub struct Retention {
    /// Days an event is kept after it was received; issues last seen longer ago are deleted
    /// with their stats and tags (0: keep forever).
    #[arg(long, env = "SNAG_RETENTION_DAYS", default_value_t = 90, global = true)]
    pub retention_days: u32,

    /// Events kept per issue: the newest, plus the issue's first (0: no limit). Counters keep
    /// counting every event received.
    #[arg(
        long,
        env = "SNAG_MAX_EVENTS_PER_ISSUE",
        default_value_t = 10_000,
        global = true
    )]
    pub max_events_per_issue: u64,

    /// Size the database file may reach (`20GB`, `500MiB`): past it the oldest events are
    /// deleted until it is under 90% of it, and the file shrinks. Unset: no budget.
    #[arg(long, env = "SNAG_MAX_STORAGE", global = true)]
    pub max_storage: Option<bytesize::ByteSize>,

    /// Days a log line is kept after it was received (0: keep forever).
    #[arg(
        long,
        env = "SNAG_LOG_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub log_retention_days: u32,

    /// The share of `--max-storage` log lines may take, in percent: past it the oldest lines
    /// are deleted first, so logs never push errors out.
    #[arg(long, env = "SNAG_LOG_STORAGE_SHARE", default_value_t = 25, value_parser = clap::value_parser!(u8).range(0..=100), global = true)]
    pub log_storage_share: u8,

    /// Free space to keep on the database's file system: below it ingest answers 429 (SDKs
    /// back off), every page says why, and retention runs at once.
    #[arg(
        long,
        env = "SNAG_MIN_FREE_DISK",
        default_value = "1GiB",
        global = true
    )]
    pub min_free_disk: bytesize::ByteSize,

    /// How often retention runs (it also runs at start, and at once when the disk runs low
    /// or the database passes `--max-storage`).
    #[arg(long, env = "SNAG_RETENTION_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration, global = true)]
    pub retention_interval: std::time::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            retention_days: 90,
            max_events_per_issue: 10_000,
            max_storage: None,
            log_retention_days: 30,
            log_storage_share: 25,
            min_free_disk: bytesize::ByteSize::gib(1),
            retention_interval: std::time::Duration::from_secs(600),
        }
    }
}

/// Sign-in and sessions of the web UI.
#[derive(Args, Debug, Clone)]
pub struct Web {
    /// How long a web session lasts at most after sign-in (`14d`, `12h`…).
    #[arg(long, env = "SNAG_SESSION_LIFETIME", default_value = "14d", value_parser = humantime::parse_duration, global = true)]
    pub session_lifetime: std::time::Duration,

    /// A web session unused for this long ends (`2d`, `8h`…).
    #[arg(long, env = "SNAG_SESSION_IDLE_TIMEOUT", default_value = "2d", value_parser = humantime::parse_duration, global = true)]
    pub session_idle_timeout: std::time::Duration,

    /// Reverse proxies whose `X-Forwarded-For` names the client (comma-separated addresses).
    /// Requests from any other address are taken to come from that address itself.
    #[arg(
        long,
        env = "SNAG_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Web {
    fn default() -> Self {
        Web {
            session_lifetime: std::time::Duration::from_secs(14 * 24 * 3600),
            session_idle_timeout: std::time::Duration::from_secs(2 * 24 * 3600),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Where alert emails go out.
#[derive(Args, Debug, Clone, Default)]
pub struct Mail {
    /// SMTP server for alert emails: `smtp://host:25` (plain), `smtp://host:587?tls=starttls`,
    /// `smtps://user:password@host:465` (TLS). Unset: alerts are recorded and shown, not mailed.
    #[arg(long, env = "SNAG_SMTP_URL", global = true)]
    pub smtp_url: Option<crate::secret::Secret>,

    /// Sender of alert emails.
    #[arg(
        long,
        env = "SNAG_MAIL_FROM",
        default_value = "Snag <snag@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Hosts alert webhooks may reach although they are (or resolve to) loopback, private or
    /// link-local addresses, e.g. a chat server on the office network (comma-separated names
    /// or addresses). Every other such destination is refused.
    #[arg(
        long,
        env = "SNAG_WEBHOOK_ALLOW_HOSTS",
        value_delimiter = ',',
        global = true
    )]
    pub webhook_allow_hosts: Vec<String>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSynchronous {
    Normal,
    Full,
}

/// Size and queue limits of the ingest path.
#[derive(Args, Debug, Clone)]
pub struct Limits {
    /// Largest event (or store body) in bytes, after decompression; larger answers 413.
    #[arg(
        long,
        env = "SNAG_MAX_EVENT_SIZE",
        default_value_t = 1024 * 1024,
        global = true
    )]
    pub max_event_size: usize,

    /// Largest envelope in bytes, before and after decompression; larger answers 413.
    #[arg(
        long,
        env = "SNAG_MAX_ENVELOPE_SIZE",
        default_value_t = 50 * 1024 * 1024,
        global = true
    )]
    pub max_envelope_size: usize,

    /// Largest single attachment in bytes; larger answers 413.
    #[arg(
        long,
        env = "SNAG_MAX_ATTACHMENT_SIZE",
        default_value_t = 20 * 1024 * 1024,
        global = true
    )]
    pub max_attachment_size: usize,

    /// Most items in one envelope; more answers 413 (the parse stops there).
    #[arg(
        long,
        env = "SNAG_MAX_ENVELOPE_ITEMS",
        default_value_t = 1000,
        global = true
    )]
    pub max_envelope_items: usize,

    /// Bytes that ingest requests in flight may hold together: bodies as read and decompressed,
    /// rows waiting for the writer. When spent, requests answer 429 with Retry-After.
    #[arg(
        long,
        env = "SNAG_INGEST_MEMORY",
        default_value_t = 256 * 1024 * 1024,
        global = true
    )]
    pub ingest_memory: usize,

    /// Threads that decompress, parse and group events (default: one per CPU core).
    #[arg(long, env = "SNAG_INGEST_THREADS", global = true)]
    pub ingest_threads: Option<usize>,

    /// Events waiting for the writer; past this the ingest answers 429 with Retry-After.
    #[arg(long, env = "SNAG_QUEUE_SIZE", default_value_t = 20_000, global = true)]
    pub queue_size: usize,

    /// Most envelopes committed in one transaction.
    #[arg(long, env = "SNAG_MAX_BATCH", default_value_t = 2_000, global = true)]
    pub max_batch: usize,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "SNAG_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Open client connections at most; past it new ones wait in the listen queue.
    #[arg(
        long,
        env = "SNAG_MAX_CONNECTIONS",
        default_value_t = 16_384,
        global = true
    )]
    pub max_connections: usize,

    /// Time a client has to send a request's headers once connected (slow clients are cut off).
    #[arg(long, env = "SNAG_HEADER_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub header_timeout: std::time::Duration,

    /// Time a client has to send a whole request body (413/408 past it).
    #[arg(long, env = "SNAG_BODY_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration, global = true)]
    pub body_timeout: std::time::Duration,

    /// How long an idle keep-alive connection stays open.
    #[arg(long, env = "SNAG_KEEP_ALIVE", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub keep_alive: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_size: 1024 * 1024,
            max_envelope_size: 50 * 1024 * 1024,
            max_attachment_size: 20 * 1024 * 1024,
            max_envelope_items: 1000,
            ingest_memory: 256 * 1024 * 1024,
            ingest_threads: None,
            max_connections: 16_384,
            header_timeout: std::time::Duration::from_secs(5),
            body_timeout: std::time::Duration::from_secs(60),
            keep_alive: std::time::Duration::from_secs(5),
            queue_size: 20_000,
            max_batch: 2_000,
            workers: None,
        }
    }
}

impl Config {
    /// A configuration for tests: the given database, port 0 on loopback.
    pub fn for_tests(database_url: &str) -> Self {
        Config {
            database_url: database_url.to_owned(),
            sqlite_synchronous: SqliteSynchronous::Normal,
            base_url: None,
            bind: "127.0.0.1:0".to_owned(),
            org_slug: "snag".to_owned(),
            metrics_token: None,
            limits: Limits {
                workers: Some(2),
                ..Limits::default()
            },
            mail: Mail {
                smtp_url: None,
                mail_from: "Snag <snag@localhost>".to_owned(),
                webhook_allow_hosts: Vec::new(),
            },
            web: Web::default(),
            // Tests run beside whatever else fills this machine's disk.
            retention: Retention {
                min_free_disk: bytesize::ByteSize::b(0),
                ..Retention::default()
            },
            workers: Workers::default(),
        }
    }

    /// The base URL DSNs are built from, without a trailing slash.
    pub fn public_base_url(&self, bound: Option<std::net::SocketAddr>) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!(
                "http://{}",
                bound.map(|a| a.to_string()).unwrap_or(self.bind.clone())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `serve` uses with no flag and no environment variable set.
    fn flag_defaults() -> Config {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            config: Config,
        }
        use clap::{CommandFactory, FromArgMatches};
        let command = Flags::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(["snag"])
            .expect("no flag is required");
        Flags::from_arg_matches(&matches).unwrap().config
    }

    #[test]
    fn the_defaults_in_code_are_the_flags_defaults() {
        let flags = flag_defaults();
        let debug = |v: &dyn std::fmt::Debug| format!("{v:?}");
        assert_eq!(debug(&flags.limits), debug(&Limits::default()));
        assert_eq!(debug(&flags.retention), debug(&Retention::default()));
        assert_eq!(debug(&flags.web), debug(&Web::default()));
        assert_eq!(debug(&flags.workers), debug(&Workers::default()));
    }
}
