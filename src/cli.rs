//! The command line: `snag serve | project create|list | bench`.

use clap::{Parser, Subcommand};

use crate::app::{Application, dsn};
use crate::bench::BenchArgs;
use crate::config::Config;
use crate::store::{Store, projects::NewProject};

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
    /// Load-test a running Snag with realistic gzip envelopes and report events/s and latency.
    Bench(BenchArgs),
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
}

/// `snag serve`.
pub async fn serve(config: Config) -> anyhow::Result<()> {
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
                    id,
                    public_key,
                })
                .await?;
            println!("Created project '{}' (id {}).", project.name, project.id);
            println!("{}", dsn(&base_url, &key.public_key, project.id));
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
