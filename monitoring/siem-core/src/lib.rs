//! Security monitoring (SIEM) of Mākonis, free of IO and of Kubernetes.
//!
//! Everything a log record goes through between the socket and the store is a pure function
//! here, so that each step is tested on its own and fuzzed, and the IO crate
//! (`makonis-siem`) only moves bytes:
//!
//! - [`framing`]: a TCP or TLS syslog stream cut into messages (RFC 6587 octet counting
//!   or newline framing), with oversized and truncated frames reported, never fatal.
//! - [`syslog`]: RFC 5424 and RFC 3164 messages (with the variants real senders write),
//!   the missing year and zone of RFC 3164 taken from the source's clock.
//! - [`dedup`]: repeats of a message a RELP sender resent, recognised by a bounded window.
//! - [`event`]: the one event schema, with Elastic Common Schema field names, and which of
//!   Cabinet Regulation No. 442's five mandatory fields an event carries.
//! - [`normalise`]: syslog messages and JSON records (Samba AD's audit, Windows Security
//!   events, Kubernetes audit events, events already in ECS) into [`event::Event`]s.
//! - [`chain`]: the hash chain over stored events, Ed25519-signed checkpoints and the
//!   check that names the first altered, removed or inserted event.
//! - [`alerts`]: alerts as people work them (acknowledge, assign, close with a verdict,
//!   reopen, comment) and the portal's questions about them.
//! - [`block`]: how the store keeps events: blocks of consecutive places, column by
//!   column, compressed, with the terms a search looks them up by.
//! - [`claims`]: which LogSource an event belongs to, by where it came from (an address,
//!   or a client certificate within the namespace it was issued for).
//! - [`metric_names`]: the names of the SIEM's metrics, for the SIEM and the dashboards.
//! - [`relp`]: RELP frames and answers, so that rsyslog delivers without loss.
//! - [`retention`]: which day partitions may be removed, by category and legal holds.
//! - [`search`]: searches of the store and the monthly report: their limits, the order
//!   of results and the cursor of the next page.
//! - [`silence`]: when LogSources sent nothing for longer than their silence allows.

pub mod alerts;
pub mod block;
pub mod chain;
pub mod claims;
pub mod dedup;
pub mod event;
pub mod framing;
pub mod metric_names;
pub mod normalise;
pub mod relp;
pub mod retention;
pub mod search;
pub mod silence;
pub mod syslog;
