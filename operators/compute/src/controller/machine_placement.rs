//! Placing a machine: the agency's quota, what the pool's hosts hold, and the choice of a
//! host, claimed until the machine's status shows it.
//!
//! What a placed machine holds is counted from its spec as well as from its status (the
//! larger of the two), so a status that claims less never frees room or quota.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube::ResourceExt;
use makonis_api::compute::{HostPool, VirtualMachine};

use super::{Claim, Context, Refusal};
use crate::{
    placement,
    quota::{self, Limits},
};

/// What the machines of one host hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    /// vCPUs held.
    pub vcpus: i64,
    /// Memory held, in bytes.
    pub memory_bytes: i64,
    /// Anti-affinity groups present.
    pub groups: BTreeSet<String>,
}

/// Memory in bytes of the machine's spec (0 if unreadable; the schema refuses that).
pub fn memory_bytes(machine: &VirtualMachine) -> i64 {
    quota::bytes(&machine.spec.memory.0).unwrap_or(0) as i64
}

/// The host a placed machine is on and what it holds there: vCPUs and memory, each the
/// larger of its spec and its recorded allocation.
fn held(machine: &VirtualMachine) -> Option<(&str, i64, i64)> {
    let status = machine.status.as_ref()?;
    let host = status.host.as_deref()?;
    let recorded = status.allocated.as_ref();
    let vcpus = i64::from(machine.spec.vcpus).max(recorded.map_or(0, |a| i64::from(a.vcpus)));
    let memory = memory_bytes(machine).max(recorded.map_or(0, |a| a.memory_bytes));
    Some((host, vcpus, memory))
}

/// What the machines of `pool` hold on each host, except the machine `except_uid`: from
/// their status, and from claims made at placement that the watch cache does not show yet.
pub fn allocations(ctx: &Context, pool: &str, except_uid: &str) -> BTreeMap<String, Allocation> {
    let claims = current_claims(ctx);
    let mut by_host: BTreeMap<String, Allocation> = BTreeMap::new();
    let mut add = |host: &str, vcpus: i64, memory: i64, group: Option<&String>| {
        let entry = by_host.entry(host.to_string()).or_default();
        entry.vcpus += vcpus;
        entry.memory_bytes += memory;
        entry.groups.extend(group.cloned());
    };
    for machine in ctx.views.machines() {
        let uid = machine.uid().unwrap_or_default();
        if machine.spec.host_pool != pool || uid == except_uid || claims.contains_key(&uid) {
            continue;
        }
        if let Some((host, vcpus, memory)) = held(&machine) {
            add(host, vcpus, memory, machine.spec.placement.anti_affinity_group.as_ref());
        }
    }
    for claim in claims.iter().filter(|(uid, c)| c.pool == pool && *uid != except_uid).map(|(_, c)| c) {
        add(&claim.host, claim.vcpus, claim.memory_bytes, claim.group.as_ref());
    }
    by_host
}

/// The claims the watch cache does not show yet. A claim is dropped once the cache
/// shows its machine with a host (from then on the cache counts it).
fn current_claims(ctx: &Context) -> HashMap<String, Claim> {
    let mut claims = ctx.claims.lock().expect("claims lock");
    let placed: BTreeSet<String> = ctx
        .views
        .machines()
        .iter()
        .filter(|m| m.status.as_ref().is_some_and(|s| s.host.is_some() && s.allocated.is_some()))
        .filter_map(|m| m.uid())
        .collect();
    claims.retain(|uid, _| !placed.contains(uid));
    claims.clone()
}

/// The reason of this process's claim for the machine, if it has one.
pub fn claimed_reason(ctx: &Context, machine: &VirtualMachine) -> Option<String> {
    let claims = ctx.claims.lock().expect("claims lock");
    claims.get(&machine.uid().unwrap_or_default()).map(|c| c.reason.clone())
}

/// The host this process claimed for the machine, if it did.
pub fn claimed_host(ctx: &Context, machine: &VirtualMachine) -> Option<String> {
    let claims = ctx.claims.lock().expect("claims lock");
    claims.get(&machine.uid().unwrap_or_default()).map(|c| c.host.clone())
}

/// Checks the quota and picks a host, claiming room on it. `required` is the host the
/// machine's volumes are on, if any are; `preferred` is the host recorded for it, kept
/// when it is still a valid choice (a record is never taken on trust: the host must have
/// room, be reachable and fit the machine's constraints like any other). Errors are a
/// condition reason and message.
pub async fn place(
    machine: &VirtualMachine,
    namespace: &str,
    pool: &HostPool,
    required: Option<&str>,
    preferred: Option<&str>,
    ctx: &Context,
) -> Result<placement::Placement, Refusal> {
    let _placing = ctx.placing.lock().await;
    let uid = machine.uid().unwrap_or_default();
    if let Some(claim) = ctx.claims.lock().expect("claims lock").get(&uid) {
        return Ok(placement::Placement { host: claim.host.clone(), reason: claim.reason.clone() });
    }
    let vcpus = i64::from(machine.spec.vcpus);
    let memory = memory_bytes(machine);
    if let Some(agency) = ctx.views.agency_of(namespace) {
        let limits = Limits::of(&agency.spec.quota).map_err(|m| ("QuotaInvalid", m))?;
        let (used_vcpus, used_memory) = namespace_holdings(ctx, namespace, &uid);
        quota::machine_fits(&limits, used_vcpus, used_memory, vcpus, memory)
            .map_err(|m| ("QuotaExceeded", format!("{m}; free quota or ask for a larger one")))?;
    }
    let allocated = allocations(ctx, &pool.name_any(), &uid);
    let status = pool.status.clone().unwrap_or_default();
    let empty = BTreeSet::new();
    let views_of = |only: Option<&str>| -> Vec<placement::HostView<'_>> {
        pool.spec
            .hosts
            .iter()
            .filter(|h| only.is_none_or(|r| r == h.name))
            .map(|h| {
                let seen = status.hosts.iter().find(|s| s.name == h.name);
                let held = allocated.get(&h.name);
                let capacity = seen.map(|s| s.capacity.clone()).unwrap_or_default();
                placement::HostView {
                    name: &h.name,
                    reachable: seen.is_some_and(|s| s.reachable),
                    maintenance: h.maintenance,
                    labels: &h.labels,
                    capacity: placement::Capacity {
                        vcpus: capacity.vcpus as u32,
                        memory_bytes: capacity.memory_bytes as u64,
                    },
                    allocated: placement::Capacity {
                        vcpus: held.map_or(0, |a| a.vcpus) as u32,
                        memory_bytes: held.map_or(0, |a| a.memory_bytes) as u64,
                    },
                    groups: held.map_or(&empty, |a| &a.groups),
                }
            })
            .collect()
    };
    let request = placement::Request {
        vcpus: vcpus as u32,
        memory_bytes: memory as u64,
        labels: &machine.spec.placement.labels,
        anti_affinity_group: machine.spec.placement.anti_affinity_group.as_deref(),
    };
    let overcommit = placement::Overcommit {
        cpu_permille: pool.spec.overcommit.cpu_percent as u32 * 10,
        memory_permille: pool.spec.overcommit.memory_percent as u32 * 10,
    };
    let kept = preferred
        .filter(|p| required.is_none_or(|r| r == *p))
        .and_then(|p| placement::place(&request, &views_of(Some(p)), overcommit).ok());
    let chosen = match kept {
        Some(chosen) => chosen,
        None => placement::place(&request, &views_of(required), overcommit).map_err(|no_room| {
            let mut message = no_room.message;
            if let Some(host) = required {
                message.push_str(&format!(" (only host {host} was considered: the machine's volumes are there)"));
            }
            ("NoHostWithRoom", message)
        })?,
    };
    ctx.claims.lock().expect("claims lock").insert(
        uid,
        Claim {
            pool: pool.name_any(),
            host: chosen.host.clone(),
            namespace: namespace.to_string(),
            vcpus,
            memory_bytes: memory,
            group: machine.spec.placement.anti_affinity_group.clone(),
            reason: chosen.reason.clone(),
        },
    );
    Ok(chosen)
}

/// What the namespace's other machines hold (placed, or claimed in this process).
fn namespace_holdings(ctx: &Context, namespace: &str, except_uid: &str) -> (i64, i64) {
    let claims = current_claims(ctx);
    let mut vcpus = 0;
    let mut memory = 0;
    for other in ctx.views.machines_in(namespace) {
        let uid = other.uid().unwrap_or_default();
        if uid == except_uid || claims.contains_key(&uid) {
            continue;
        }
        if let Some((_, held_vcpus, held_memory)) = held(&other) {
            vcpus += held_vcpus;
            memory += held_memory;
        }
    }
    for (uid, claim) in &claims {
        if uid != except_uid && claim.namespace == namespace {
            vcpus += claim.vcpus;
            memory += claim.memory_bytes;
        }
    }
    (vcpus, memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(status: serde_json::Value) -> VirtualMachine {
        let mut machine = VirtualMachine::new(
            "web",
            serde_json::from_value(serde_json::json!({"hostPool": "dc1", "vcpus": 4, "memory": "8Gi"})).unwrap(),
        );
        machine.status = serde_json::from_value(status).unwrap();
        machine
    }

    #[test]
    fn a_placed_machine_holds_at_least_its_spec() {
        let forged = machine(serde_json::json!({"host": "kvm-1", "allocated": {"vcpus": 0, "memoryBytes": 0}}));
        assert_eq!(held(&forged), Some(("kvm-1", 4, 8 << 30)), "a status claiming less frees nothing");
        let bare = machine(serde_json::json!({"host": "kvm-1"}));
        assert_eq!(held(&bare), Some(("kvm-1", 4, 8 << 30)));
        let grown = machine(serde_json::json!({"host": "kvm-1", "allocated": {"vcpus": 8, "memoryBytes": 1}}));
        assert_eq!(held(&grown), Some(("kvm-1", 8, 8 << 30)), "a machine shrunk in spec holds what it runs with");
        assert_eq!(held(&machine(serde_json::json!({}))), None, "not placed");
    }
}
