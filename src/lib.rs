//! Snag: a self-hosted error tracker that speaks Sentry's protocol.
//!
//! The modules follow the data flow: [`ingest`] → [`normalize`] → [`grouping`] → [`store`] → [`web`],
//! tied together by [`pipeline`]; [`app`] wires the HTTP server.

pub mod alerts;
pub mod api;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod error;
pub mod grouping;
pub mod ingest;
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
