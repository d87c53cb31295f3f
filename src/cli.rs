//! The command line: `snag serve | project create|list|rules | user create | token create |
//! cleanup | backup | check | grouping | bench`.

use clap::{Parser, Subcommand};

use crate::app::{Application, dsn};
use crate::bench::BenchArgs;
use crate::config::Config;
use crate::store::{ProjectId, Store, projects::NewProject};

#[derive(Parser, Debug)]
#[command(
    name = "snag",
    version,
    about = "Self-hosted error tracker that speaks Sentry's protocol"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (creates the database and a `default` project on first start).
    Serve,
    /// Create and list projects and their DSNs.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Create web UI accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Create REST API tokens (for sentry-cli and other tools).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load-test a running Snag with realistic gzip envelopes and report events/s and latency.
    Bench(BenchArgs),
    /// Show how an event groups: its variants, hashes, contributing values, title and culprit.
    Grouping(GroupingArgs),
    /// Apply retention now (--retention-days, --max-events-per-issue, --max-storage) and hand
    /// free space back to the file system. A running server does this itself.
    Cleanup,
    /// Write a consistent copy of the database to FILE while the server keeps serving.
    Backup {
        /// The copy to write (must not exist yet).
        file: std::path::PathBuf,
    },
    /// Check the database: SQLite's integrity check, and whether issue counters agree with
    /// the rows they count. Prints each difference; fails when there is one.
    Check,
    /// Copy a SQLite installation into an empty PostgreSQL database, every table with its ids
    /// (DSNs, issue numbers and tokens keep working). Stop the server on the SQLite file first.
    Migrate {
        /// The SQLite database to copy: `sqlite://PATH`.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database to copy into (it must exist and hold no projects):
        /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
        #[arg(long)]
        to: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct GroupingArgs {
    /// An event as an SDK sends it (JSON, or an envelope holding one), or `-` for standard input.
    pub file: std::path::PathBuf,
    /// Project stack-trace rules in Sentry's syntax (e.g. `stack.function:runApp -app -group`).
    #[arg(long)]
    pub stacktrace_rules: Option<std::path::PathBuf>,
    /// Project fingerprint rules in Sentry's syntax (e.g. `error.type:DatabaseError -> database-error`).
    #[arg(long)]
    pub fingerprint_rules: Option<std::path::PathBuf>,
    /// Instead of explaining, parse + normalize + group the event on one thread for this long
    /// (e.g. `5s`) and print events/s.
    #[arg(long, value_parser = humantime_secs)]
    pub bench: Option<std::time::Duration>,
}

fn humantime_secs(text: &str) -> Result<std::time::Duration, String> {
    let number = text.strip_suffix('s').unwrap_or(text);
    number
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("{text:?} is not a duration like 5s"))
}

#[derive(Subcommand, Debug)]
pub enum ProjectCommand {
    /// Create a project; prints its DSN as the last line.
    Create {
        /// Project name (slug): lowercase letters, digits, '-' or '_'.
        name: String,
        /// Keep a project id from another Sentry server (so existing DSNs keep working).
        #[arg(long)]
        id: Option<i64>,
        /// Keep a public key from another Sentry server (so existing DSNs keep working).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// List every project with its DSNs.
    List,
    /// Set a project's grouping rules (Sentry's syntax), applied to events received from then on.
    Rules {
        /// Project name.
        name: String,
        /// Stack-trace rules file (e.g. `stack.function:runApp -app -group`); an empty file clears them.
        #[arg(long)]
        stacktrace_rules: Option<std::path::PathBuf>,
        /// Fingerprint rules file (e.g. `error.type:DatabaseError -> database-error`); an empty file clears them.
        #[arg(long)]
        fingerprint_rules: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input (its first line).
    Create {
        #[arg(long)]
        email: String,
        /// May manage projects and users.
        #[arg(long)]
        admin: bool,
    },
    /// Set an account's password, read from standard input (its first line); every session
    /// of the account is signed out.
    Password {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token for `/api/0/`; prints it (it is not shown again) as the last line.
    Create {
        #[arg(long)]
        name: String,
        /// A scope the token gets (repeatable): org:read, project:read, project:write,
        /// project:admin, event:read, event:write, event:admin. Default: all of them.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The user (email) the token acts for: `/api/0/auth/` answers with them and
        /// `assigned:me` means them. Default: the first administrator.
        #[arg(long)]
        user: Option<String>,
    },
}

/// `snag token create`.
pub async fn token(config: Config, command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Create { name, scopes, user } = command;
    let store = Store::open(&config).await?;
    let created =
        async {
            let user =
                match &user {
                    Some(email) => Some(store.find_user(email).await?.ok_or_else(|| {
                        anyhow::anyhow!("no user {email:?}: see snag user --help")
                    })?),
                    None => store.first_admin().await?,
                };
            anyhow::Ok(
                store
                    .create_token(&name, &scopes, user.map(|u| u.id))
                    .await?,
            )
        }
        .await;
    store.close().await;
    let (token, record) = created?;
    println!(
        "Created token '{}' with scopes {}.",
        record.name, record.scopes
    );
    println!("{token}");
    Ok(())
}

/// `snag cleanup`: one retention pass through a writer of its own.
pub async fn cleanup(config: Config) -> anyhow::Result<()> {
    use crate::retention::{Policy, Retention};
    use crate::store::{WriterRole, writer::WriterStats};
    let store = Store::open(&config).await?;
    let (writer, task) = store.start_writer(
        WriterRole::Chores,
        16,
        1,
        std::sync::Arc::new(WriterStats::default()),
    )?;
    let before = store.file_size().await?;
    let retention = Retention::new(store.clone(), writer, Policy::new(&config.retention), None);
    let swept = retention.run_once(crate::store::now_ms()).await;
    // The writer stops when its last sender (inside `retention`) is gone.
    drop(retention);
    task.stop().await;
    let after = store.file_size().await?;
    store.close().await;
    let swept = swept?;
    println!(
        "Deleted {} event(s), {} attachment(s), {} issue(s), {} user report(s), {} cron check-in(s), \
         {} block(s) of log lines; the database went from {} to {}.",
        swept.events,
        swept.attachments,
        swept.issues,
        swept.user_reports,
        swept.check_ins,
        swept.log_blocks,
        bytesize::ByteSize::b(before.bytes()),
        bytesize::ByteSize::b(after.bytes()),
    );
    Ok(())
}

/// `snag backup FILE`.
pub async fn backup(config: Config, file: std::path::PathBuf) -> anyhow::Result<()> {
    let store = Store::open(&config).await?;
    let done = store.backup(&file).await;
    store.close().await;
    done?;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "Wrote {} ({}). To restore: stop Snag, put it in place of the database file (removing \
         that file's -wal and -shm companions), start Snag.",
        file.display(),
        bytesize::ByteSize::b(size)
    );
    Ok(())
}

/// `snag migrate`: folds what a server left pending on the SQLite file, copies it all into
/// PostgreSQL, and says what it copied.
pub async fn migrate(config: Config, from: String, to: String) -> anyhow::Result<()> {
    use crate::store::{WriterRole, sql::Dialect, writer::WriterStats};
    let path = from
        .strip_prefix("sqlite://")
        .or_else(|| from.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .ok_or_else(|| anyhow::anyhow!("--from must be a SQLite database: sqlite://PATH"))?;
    if !std::path::Path::new(path).is_file() {
        anyhow::bail!("--from: there is no SQLite database at {path}");
    }
    let source = Store::open(&Config {
        database_url: from.clone(),
        ..config.clone()
    })
    .await?;
    // The server's writer folds the counter rows an earlier server left pending, at start.
    let (writer, task) = source.start_writer(
        WriterRole::Server,
        1,
        1,
        std::sync::Arc::new(WriterStats::default()),
    )?;
    drop(writer);
    task.stop().await;
    let target = Store::open(&Config {
        database_url: to,
        ..config
    })
    .await?;
    if target.dialect() != Dialect::Postgres {
        anyhow::bail!("--to must be a PostgreSQL database: postgres://USER:PASSWORD@HOST/DATABASE");
    }
    let copied = source.copy_into(&target).await;
    source.close().await;
    target.close().await;
    let copied = copied?;
    for table in &copied {
        println!("{:<24} {:>10} rows", table.table, table.rows);
    }
    let rows: u64 = copied.iter().map(|t| t.rows).sum();
    println!(
        "Copied {rows} rows of {} tables from {path}. Start Snag with this --database-url: \
         DSNs, issue numbers and API tokens are the same there.",
        copied.len()
    );
    Ok(())
}

/// `snag check`: prints what disagrees; fails when anything does.
pub async fn check(config: Config) -> anyhow::Result<()> {
    let store = Store::open(&config).await?;
    let findings = store.check().await;
    store.close().await;
    let findings = findings?;
    for finding in &findings {
        println!("{finding}");
    }
    if findings.is_empty() {
        println!("The database is intact and every counter agrees with its rows.");
        Ok(())
    } else {
        anyhow::bail!("{} difference(s) found", findings.len())
    }
}

/// `snag user create` and `snag user password`.
pub async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let (email, verb) = match &command {
        UserCommand::Create { email, .. } => (email.clone(), "create"),
        UserCommand::Password { email } => (email.clone(), "password"),
    };
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .map_err(|e| anyhow::anyhow!("cannot read the password from standard input: {e}"))?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!(
            "give the password on standard input, e.g. `echo \"$PASSWORD\" | snag user {verb} --email {email}`"
        );
    }
    let store = Store::open(&config).await?;
    let done =
        match command {
            UserCommand::Create { admin, .. } => store
                .create_user(&email, password, admin)
                .await
                .map(|user| {
                    let role = if user.is_admin { "admin" } else { "user" };
                    format!("Created {role} {}.", user.email)
                }),
            UserCommand::Password { .. } => match store.find_user(&email).await {
                Ok(Some(user)) => store.set_password(user.id, password).await.map(|ended| {
                    format!(
                        "Set the password of {}; {ended} session(s) signed out.",
                        user.email
                    )
                }),
                Ok(None) => Err(crate::store::StoreError::Invalid(format!(
                    "no account with email {email}"
                ))),
                Err(e) => Err(e),
            },
        };
    store.close().await;
    println!("{}", done?);
    Ok(())
}

/// `snag serve`.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Each client connection is a file: take all the system allows (often 1024 by default).
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if (n as usize) < config.limits.max_connections + 256 => tracing::warn!(
            "open files are limited to {n}: fewer than --max-connections {}",
            config.limits.max_connections
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-files limit"),
    }
    let app = Application::build(config.clone()).await?;
    let bound = std::net::SocketAddr::new(
        config
            .bind
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip())
            .unwrap_or([127, 0, 0, 1].into()),
        app.port(),
    );
    let base_url = config.public_base_url(Some(bound));
    let store = app.store();
    if let Some((project, key)) = store.ensure_default_project().await? {
        println!("Created project '{}'.", project.name);
        println!("DSN: {}", dsn(&base_url, &key.public_key, project.id));
    } else {
        for (project, keys) in store.list_projects().await?.iter().take(5) {
            for key in keys.iter().filter(|k| k.active) {
                println!(
                    "Project '{}' DSN: {}",
                    project.name,
                    dsn(&base_url, &key.public_key, project.id)
                );
            }
        }
    }
    println!(
        "Snag is listening on {base_url} (database {}).",
        config.database_url
    );
    println!(
        "Point a Sentry SDK at a DSN above; `snag project create NAME` makes another project."
    );
    app.run_until_stopped().await
}

/// `snag grouping FILE`: prints one JSON object explaining the event's grouping.
pub fn grouping(args: GroupingArgs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let read = |path: &std::path::Path| -> anyhow::Result<String> {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("cannot read standard input")?;
            Ok(text)
        } else {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        }
    };
    let text = read(&args.file)?;
    let payload = event_payload(text.as_bytes()).with_context(|| {
        format!(
            "{} is neither an event nor an envelope with one",
            args.file.display()
        )
    })?;
    let optional = |path: &Option<std::path::PathBuf>| -> anyhow::Result<String> {
        path.as_deref()
            .map(read)
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let rules = crate::grouping::ProjectRules::parse(
        &optional(&args.stacktrace_rules)?,
        &optional(&args.fingerprint_rules)?,
    )
    .map_err(anyhow::Error::msg)?;
    let ctx = crate::normalize::Context {
        envelope_event_id: None,
        received_ms: crate::store::now_ms(),
        client_ip: None,
    };
    let parse = |payload: &[u8]| -> anyhow::Result<crate::normalize::NormalizedEvent> {
        let json = crate::protocol::event_json::parse(payload).context("the event is not JSON")?;
        crate::normalize::normalize(json, &ctx).map_err(|e| anyhow::anyhow!("not an event: {e}"))
    };
    let event = parse(payload)?;
    if let Some(duration) = args.bench {
        // Each stage on its own (half the time each), then what an event costs in all.
        let rate = |work: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<f64> {
            let started = std::time::Instant::now();
            let mut count = 0u64;
            while started.elapsed() < duration / 2 {
                for _ in 0..100 {
                    work()?;
                }
                count += 100;
            }
            Ok(count as f64 / started.elapsed().as_secs_f64())
        };
        let parsing = rate(&mut || {
            let json = crate::protocol::event_json::parse(payload)?;
            drop(std::hint::black_box(json));
            Ok(())
        })?;
        let normalizing = rate(&mut || parse(payload).map(|e| drop(std::hint::black_box(e))))?;
        let grouping = rate(&mut || {
            std::hint::black_box(crate::grouping::group_with(&event, &rules));
            Ok(())
        })?;
        // Per-event seconds of each stage; normalizing is measured with its parse and the
        // parse alone is subtracted.
        let (parse_s, group_s) = (1.0 / parsing, 1.0 / grouping);
        let normalize_s = (1.0 / normalizing - parse_s).max(0.0);
        println!(
            "{} bytes, one thread: parse {:.1} µs, normalize {:.1} µs, group {:.1} µs; \
             normalize + group {:.0} events/s, with the parse {:.0} events/s",
            payload.len(),
            parse_s * 1e6,
            normalize_s * 1e6,
            group_s * 1e6,
            1.0 / (normalize_s + group_s),
            1.0 / (parse_s + normalize_s + group_s)
        );
        return Ok(());
    }
    let explained = crate::grouping::explain(&event, &rules);
    println!("{}", serde_json::to_string_pretty(&explained)?);
    Ok(())
}

/// The event JSON of `text`: the text itself, or the first event item of an envelope.
fn event_payload(text: &[u8]) -> Option<&[u8]> {
    if serde_json::from_slice::<serde_json::Value>(text).is_ok_and(|v| v.is_object()) {
        return Some(text);
    }
    let envelope =
        crate::protocol::envelope::parse(text, crate::config::Limits::default().max_envelope_items)
            .ok()?;
    envelope
        .items
        .iter()
        .find(|i| i.ty == crate::protocol::ItemType::Event)
        .map(|i| i.payload)
}

/// `snag project …`.
pub async fn project(config: Config, command: ProjectCommand) -> anyhow::Result<()> {
    let store = Store::open(&config).await?;
    let base_url = config.public_base_url(None);
    match command {
        ProjectCommand::Create {
            name,
            id,
            public_key,
        } => {
            let (project, key) = store
                .create_project(&NewProject {
                    name,
                    id: id.map(ProjectId),
                    public_key,
                })
                .await?;
            println!("Created project '{}' (id {}).", project.name, project.id);
            println!("{}", dsn(&base_url, &key.public_key, project.id));
        }
        ProjectCommand::Rules {
            name,
            stacktrace_rules,
            fingerprint_rules,
        } => {
            let read = |path: Option<std::path::PathBuf>| -> anyhow::Result<Option<String>> {
                path.map(|p| {
                    std::fs::read_to_string(&p)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
                })
                .transpose()
            };
            let (stacktrace, fingerprints) = (read(stacktrace_rules)?, read(fingerprint_rules)?);
            if stacktrace.is_none() && fingerprints.is_none() {
                anyhow::bail!("give --stacktrace-rules FILE, --fingerprint-rules FILE or both");
            }
            crate::grouping::ProjectRules::parse(
                stacktrace.as_deref().unwrap_or(""),
                fingerprints.as_deref().unwrap_or(""),
            )
            .map_err(anyhow::Error::msg)?;
            if !store
                .set_grouping_rules(&name, stacktrace.as_deref(), fingerprints.as_deref())
                .await?
            {
                anyhow::bail!("no project named '{name}'");
            }
            println!("Updated the grouping rules of project '{name}'.");
        }
        ProjectCommand::List => {
            let projects = store.list_projects().await?;
            if projects.is_empty() {
                println!(
                    "No projects yet: `snag serve` creates 'default', `snag project create NAME` another."
                );
            }
            for (project, keys) in projects {
                for key in keys {
                    let state = if key.active { "" } else { " (disabled)" };
                    println!(
                        "{:<6} {:<24} {}{state}",
                        project.id,
                        project.name,
                        dsn(&base_url, &key.public_key, project.id)
                    );
                }
            }
        }
    }
    store.close().await;
    Ok(())
}
