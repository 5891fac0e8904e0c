//! Security monitoring (SIEM) of Mākonis: the IO around `makonis-siem-core`.
//!
//! - [`store`]: the event store, kept apart from the systems it watches: one SQLite file
//!   per event day and category, each a hash chain, closed by signed checkpoints that are
//!   also written to a file outside the store; its verification and retention.
//!
//! The intake (syslog over UDP, TCP, TLS and RELP; HTTPS JSON), the LogSource controller
//! and search come next; see `docs/architecture.md#security-monitoring`.

pub mod store;
