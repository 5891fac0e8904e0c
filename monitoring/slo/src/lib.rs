//! The SLO engine of Mākonis (`makonis slo`): runs every `Probe`, confirms failures
//! before they open an outage in the SLA ledger, keeps each `ServiceLevelObjective`'s
//! status, opens incidents when burn-rate alerts fire, exports Prometheus metrics and,
//! where the Prometheus Operator is installed, `PrometheusRule`s.
//!
//! The arithmetic lives in `makonis-slo-core`; this crate is its IO.

pub mod caches;
pub mod config;
pub mod context;
pub mod engine;
pub mod evaluate;
pub mod ledger;
pub mod metrics;
pub mod openslo;
pub mod probe;
pub mod prometheus;
pub mod prometheus_rules;
pub mod runner;
pub mod spec;
pub mod targets;
pub mod undecodable;
pub mod webhook;
pub mod world;
