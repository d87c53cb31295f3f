//! Logging: `SNAG_LOG` (or `RUST_LOG`) filters, default `info`; logs go to stderr.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("SNAG_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}
