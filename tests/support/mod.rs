//! Shared harness of the integration tests: the real local control plane, the operator
//! as a child process under its own ServiceAccount, the API server's audit log.
//!
//! The tests need a running control plane: `./test.sh` starts one (see
//! `tests/cluster/README.md`) and passes `MAKONIS_TEST_KUBECONFIG` and
//! `MAKONIS_TEST_AUDIT_LOG`.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod access;
pub mod agencies;
pub mod alertmanager;
pub mod audit;
pub mod catalog;
pub mod cluster;
pub mod cluster_portal;
pub mod compute;
pub mod directory;
pub mod dkim;
pub mod events;
pub mod flapping;
pub mod identity;
pub mod mail;
pub mod operator;
pub mod portal_process;
pub mod prometheus;
pub mod proxy;
pub mod qemu;
pub mod siem;
pub mod slo;
pub mod tenancy;
pub mod web;
pub mod webhook;

use std::{future::Future, time::Duration};

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout` with
/// `what` and the last observation.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = match check().await {
            Ok(value) => return value,
            Err(observation) => observation,
        };
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last observed: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The usual patience for the controller to converge.
pub const CONVERGE: Duration = Duration::from_secs(60);
