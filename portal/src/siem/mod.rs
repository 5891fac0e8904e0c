//! Shipping the audit trail to the SIEM (Regulation No. 442: security logs are kept apart
//! from the system that wrote them).
//!
//! [`ship::run`] posts the trail's chained rows, in order and in batches, as ECS records
//! ([`ecs`]) to the SIEM's HTTPS intake with the portal's platform-CA client certificate
//! (DNS name `portal`, issued for the platform namespace, claimed there by a LogSource
//! with `platform: portal`). The SIEM answers only once a batch is durable, and only then
//! does the portal move its mark ([`crate::store::audit_shipping`]); a batch that fails is
//! sent again, and one sent twice (two replicas, a lost answer) is stored once by the
//! SIEM. The trail in the portal's database stays complete either way: shipping never
//! holds up an action.
//!
//! [`incidents::run`] reads the SIEM's high and critical alerts and opens a security
//! incident for each ([`crate::store::security_incidents`]).

pub mod client;
pub mod ecs;
pub mod incidents;
pub mod ship;

use std::{path::PathBuf, time::Duration};

/// Where and how the trail is shipped.
#[derive(Debug, Clone)]
pub struct SiemSink {
    /// The SIEM's intake, `https://HOST:PORT/v1/events`.
    pub url: url::Url,
    /// The portal's client certificate (PEM).
    pub certificate: PathBuf,
    /// Its key (PEM).
    pub key: PathBuf,
    /// The CA that issued the SIEM's server certificate (PEM).
    pub server_ca: PathBuf,
    /// How often to look for rows to ship.
    pub every: Duration,
}
