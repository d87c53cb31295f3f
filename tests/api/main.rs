//! The one integration test binary: real servers on port 0, real SQLite files, real SDKs.

mod bad_input;
mod browser;
mod cli;
mod durability;
mod grouping;
mod helpers;
mod ingest;
mod python_sdk;
mod replay;
mod web;
