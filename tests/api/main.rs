//! The one integration test binary: real servers on port 0, real SQLite files, real SDKs.

mod alerts;
mod bad_input;
mod browser;
mod cli;
mod crons;
mod discover;
mod durability;
mod grouping;
mod helpers;
mod hostile;
mod ingest;
mod logs;
mod mcp;
mod monitors_api;
mod new_cli;
mod postgres;
mod postgres_nodes;
pub mod python_sdk;
mod quotas;
mod replay;
mod rest;
mod retention;
mod security;
mod upgrade;
mod web;
mod webhooks;
