use std::process::ExitCode;

use clap::Parser;
use snag::cli::{self, Cli, Command};

// Many small JSON allocations on several threads: mimalloc spends far less time in them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    snag::telemetry::init();
    let result = match cli.command {
        Command::Serve => actix_web::rt::System::new().block_on(cli::serve(cli.config)),
        Command::Project(command) => runtime().block_on(cli::project(cli.config, command)),
        Command::User(command) => runtime().block_on(cli::user(cli.config, command)),
        Command::Token(command) => runtime().block_on(cli::token(cli.config, command)),
        Command::Grouping(args) => cli::grouping(args),
        Command::Cleanup => runtime().block_on(cli::cleanup(cli.config)),
        Command::Backup { file } => runtime().block_on(cli::backup(cli.config, file)),
        Command::Check => runtime().block_on(cli::check(cli.config)),
        Command::Migrate { from, to } => runtime().block_on(cli::migrate(cli.config, from, to)),
        // One thread: the load generator shares the machine with the server it measures.
        Command::Bench(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(snag::bench::run(cli.config, args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
