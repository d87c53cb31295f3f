//! Snag: a self-hosted error tracker that speaks Sentry's protocol.
//!
//! The modules follow the data flow: [`ingest`] → [`normalize`] → [`grouping`] → [`store`],
//! tied together by [`pipeline`]; [`rates`] counts what comes in (key rate limits, project caps,
//! spikes) and [`alerts`] tells people about it, off the ingest path. People read the store
//! through [`web`] (the UI) and [`api`] (Sentry's REST API, `/api/0/`), which share
//! [`issue_search`] (the issue search language) and, with alerts, [`format`]; [`web`] is a leaf
//! only [`app`] mounts. [`retention`] decides what is kept; [`app`] wires the HTTP server.

pub mod alerts;
pub mod api;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod crons;
pub mod error;
pub mod format;
pub mod grouping;
pub mod ingest;
pub mod issue_search;
pub mod logs;
pub mod metrics;
pub mod normalize;
pub mod pipeline;
pub mod protocol;
pub mod rates;
pub mod retention;
pub mod secret;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod web;
pub mod workers;

pub use app::Application;
pub use config::Config;
