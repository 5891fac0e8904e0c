//! The HostPool controller: checks every host, reports its capacity and what is left.

use std::{sync::Arc, time::Duration};

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::{Api, ResourceExt, runtime::controller::Action};
use makonis_api::compute::{HostCapacity, HostPool, HostPoolStatus, HostStatus};
use makonis_operator_kit::{conditions::DesiredCondition, error::error_chain};

use super::{Context, PROBE_INTERVAL, machine_placement::allocations, status};
use crate::{error::Error, hypervisor::HostFacts};

/// How long one host may take to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Checks the pool's hosts and writes what was found.
pub async fn reconcile(pool: Arc<HostPool>, ctx: Arc<Context>) -> Result<Action, Error> {
    let allocated = allocations(&ctx, &pool.name_any(), "");
    let mut hosts = Vec::with_capacity(pool.spec.hosts.len());
    for host in &pool.spec.hosts {
        let probe = ctx.hosts.call(&pool, &host.name, |hypervisor| hypervisor.facts());
        let facts = match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(Ok(facts)) => Ok(facts),
            Ok(Err(error)) => Err(error_chain(&error)),
            Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        };
        let held = allocated.get(&host.name).cloned().unwrap_or_default();
        hosts.push(host_status(host, facts, held.vcpus, held.memory_bytes, &pool.spec.overcommit));
    }
    let machines = ctx.views.machines().iter().filter(|m| m.spec.host_pool == pool.name_any()).count();
    let reachable = hosts.iter().filter(|h| h.reachable).count() as i64;
    ctx.compute_metrics.set_hosts(&pool.name_any(), reachable, hosts.len() as i64 - reachable);
    let desired = pool_status(&pool, hosts, machines);
    let api: Api<HostPool> = Api::all(ctx.client.clone());
    status::write(&ctx, &api, &*pool, pool.status.as_ref(), &desired).await?;
    Ok(Action::requeue(PROBE_INTERVAL.min(ctx.resync)))
}

/// One host's status from what libvirt answered.
fn host_status(
    host: &makonis_api::compute::HostSpec,
    facts: Result<HostFacts, String>,
    vcpus: i64,
    memory_bytes: i64,
    overcommit: &makonis_api::compute::Overcommit,
) -> HostStatus {
    let allocated = HostCapacity { vcpus: vcpus as i32, memory_bytes };
    let now = Some(Time(Timestamp::now()));
    match facts {
        Ok(facts) => {
            let capacity = host
                .capacity
                .clone()
                .unwrap_or(HostCapacity { vcpus: facts.cpus as i32, memory_bytes: facts.memory_bytes as i64 });
            let free = HostCapacity {
                vcpus: (i64::from(capacity.vcpus) * i64::from(overcommit.cpu_percent) / 100 - vcpus).max(0) as i32,
                memory_bytes: (capacity.memory_bytes * i64::from(overcommit.memory_percent) / 100 - memory_bytes)
                    .max(0),
            };
            HostStatus {
                name: host.name.clone(),
                reachable: true,
                message: format!("{} on {}, libvirt {}", facts.hypervisor, facts.hostname, facts.libvirt_version),
                libvirt_version: facts.libvirt_version,
                maintenance: host.maintenance,
                capacity,
                allocated,
                free,
                last_checked: now,
            }
        }
        Err(message) => HostStatus {
            name: host.name.clone(),
            reachable: false,
            message,
            maintenance: host.maintenance,
            capacity: host.capacity.clone().unwrap_or_default(),
            allocated,
            last_checked: now,
            ..HostStatus::default()
        },
    }
}

/// The pool's status: counts and the `Ready` condition. Check times are kept from the
/// previous status when nothing else changed, so a healthy pool is not rewritten every
/// check.
fn pool_status(pool: &HostPool, mut hosts: Vec<HostStatus>, machines: usize) -> HostPoolStatus {
    let previous = pool.status.clone().unwrap_or_default();
    for host in &mut hosts {
        if let Some(old) = previous.hosts.iter().find(|o| o.name == host.name) {
            let mut same = host.clone();
            same.last_checked = old.last_checked.clone();
            if &same == old {
                host.last_checked = old.last_checked.clone();
            }
        }
    }
    let unreachable: Vec<String> =
        hosts.iter().filter(|h| !h.reachable).map(|h| format!("{} ({})", h.name, h.message)).collect();
    let ready = if unreachable.is_empty() {
        DesiredCondition::truthy("Ready", "HostsReachable", format!("All {} hosts answer.", hosts.len()))
    } else {
        DesiredCondition::falsy(
            "Ready",
            "HostUnreachable",
            format!(
                "{} of {} hosts do not answer: {}. Their machines are left where they are; check libvirtd on those hosts.",
                unreachable.len(),
                hosts.len(),
                unreachable.join("; ")
            ),
        )
    };
    let generation = pool.metadata.generation;
    HostPoolStatus {
        conditions: status::conditions(&previous.conditions, vec![ready], generation),
        observed_generation: generation,
        host_count: hosts.len() as i32,
        reachable_count: hosts.iter().filter(|h| h.reachable).count() as i32,
        virtual_machines: machines as i32,
        hosts,
    }
}
