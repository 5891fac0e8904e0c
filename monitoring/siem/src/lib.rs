//! Security monitoring (SIEM) of Mākonis: the IO around `makonis-siem-core`.
//!
//! - [`intake`]: syslog over TCP, UDP, TLS and RELP, and JSON over HTTPS, into the store,
//!   claimed by LogSource, with backpressure and a quarantine for what cannot be stored
//!   as an event.
//! - [`run`]: `makonis siem run`: the intake and the store against the cluster's
//!   LogSources ([`sources`]) and RetentionPolicies ([`retention`]), with each
//!   LogSource's status ([`health`]).
//! - [`store`]: the event store, kept apart from the systems it watches: one SQLite file
//!   or one PostgreSQL table partition per event day and category, each a hash chain, closed by signed checkpoints that are
//!   also written to a file outside the store; its verification, retention and search.
//! - [`detection`]: detection rule objects compiled, judged at admission and given
//!   their status.
//! - [`own_events`]: the events the SIEM writes itself: a LogSource gone silent or
//!   sending again.
//! - [`portal_api`]: the portal's API beside the HTTPS intake: search, the monthly report
//!   and the alerts with their triage, for the portal's Security pages.

pub mod detection;
pub mod health;
pub mod intake;
pub mod own_events;
pub mod portal_api;
pub mod retention;
pub mod run;
pub mod sources;
pub mod store;

/// The field manager of the SIEM's writes to the API server: statuses, and its webhook's
/// certificate and registration.
pub const MANAGER: &str = "makonis-siem";
