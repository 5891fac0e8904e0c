//! The mail controller: one mail system for every agency, as code.
//!
//! The logic is pure — [`address`] (what may reach a configuration file), [`plan`] (which
//! domains, mailboxes and routes the objects make, and each object's verdict), [`render`]
//! (Postfix's and Dovecot's files), [`dns`] (the records an agency publishes), [`dkim`]
//! (its keys) and [`sharing`] (shared mailboxes' access lists) — and unit-tested;
//! [`controller`] is the IO: watch caches, the DKIM Secrets, writing the files, reloading
//! the servers, the access lists, the statuses. It runs next to Postfix and Dovecot (a
//! sidecar sharing their configuration volume) and is tested against them and
//! a real Samba AD domain controller.

pub mod address;
pub mod config;
pub mod controller;
pub mod dkim;
pub mod dns;
pub mod error;
pub mod migration;
pub mod plan;
pub mod render;
pub mod sharing;

pub use config::MailConfig;
pub use controller::{MailMetrics, run};
