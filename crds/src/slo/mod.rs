//! API group `slo.makonis.lv`: what the platform measures of each service, against
//! which target and calendar.
//!
//! A [`Probe`] checks a service's address (HTTP(S) or a TCP connect) on an interval; a
//! [`ServiceLevelObjective`] holds a target over a window and support calendar and reads
//! its availability from a probe (or from a Prometheus ratio). The catalog controller
//! creates one of each for every `ServiceInstance` from its plan's SLA.

mod objective;
mod probe;

pub use objective::{
    Indicator, PrometheusRatio, ServiceLevelObjective, ServiceLevelObjectiveSpec, ServiceLevelObjectiveStatus,
    SloState, SloWindow,
};
pub use probe::{HttpProbe, Probe, ProbeSpec, ProbeState, ProbeStatus, TcpProbe};

/// The API group.
pub const GROUP: &str = "slo.makonis.lv";

/// Pattern of a probe's interval or timeout: a number and `s`, `m` or `h`, e.g. `30s`.
pub const PROBE_DURATION_PATTERN: &str = r"^[0-9]{1,5}(s|m|h)$";
