//! The tenancy controller: each `Agency` becomes a namespace `agency-<code>` with a
//! ResourceQuota, a LimitRange, NetworkPolicies and RoleBindings for its directory groups.
//!
//! The logic lives in pure steps — [`validate`], [`build`], [`removal`], [`status`] —
//! unit-tested without a cluster; [`controller`] and [`observe`] are the thin IO around
//! them, tested against a real API server by the workspace's integration tests.

pub mod build;
pub mod config;
pub mod controller;
pub mod error;
pub mod observe;
pub mod removal;
pub mod status;
pub mod validate;

#[cfg(test)]
mod test_support;

pub use config::TenancyConfig;
pub use controller::{Context, FINALIZER, run};
