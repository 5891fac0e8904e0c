//! Sigma detection in Mākonis, free of IO.
//!
//! - [`fields`]: the field contract: the fields and logsource attributes an event offers
//!   rules (syslog, Windows, Kubernetes audit).
//! - [`input`]: log files cut into records with their line numbers.
//! - [`mapping`]: the declarative, versioned logsource mapping (Sigma categories and
//!   services, field aliases).
//! - [`rules`]: Sigma detection and correlation rules read, checked and compiled; what
//!   cannot be evaluated is refused with its line.
//! - [`enrich`]: fields the platform adds to every event (working time by the Latvian
//!   calendar).
//! - [`correlate`]: correlation on event time, with a watermark and bounded state.
//! - [`detect`]: one event through every rule, as the engine and replay both do it.
//! - [`import`]: a folder of Sigma files cut into the units `DetectionRule`s hold.
//! - [`replay`]: rules over files, one JSON line per alert.

pub mod correlate;
pub mod detect;
pub mod enrich;
pub mod fields;
pub mod import;
pub mod input;
pub mod mapping;
pub mod replay;
pub mod rules;
