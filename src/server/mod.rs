//! Server-only parts every workflow and door reaches: the state, configuration, sessions and
//! authentication, staff codes, rate limits, caches, telemetry and PDFs.

pub mod auth;
pub mod cache;
pub mod config;
pub mod limits;
pub mod mfa;
pub mod notice;
pub mod pdf;
pub mod state;
pub mod telemetry;

pub use config::Config;
pub use state::*;
