//! The VirtualMachine controller: quota, placement, inline volumes, the cloud-init seed,
//! the libvirt domain and its power state.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::{Api, Resource, ResourceExt, api::ObjectMeta, runtime::controller::Action};
use makonis_api::compute::{
    HostCapacity, HostPool, NetworkKind, PowerState as WantedPower, VirtualMachine, VirtualMachineStatus, VmPhase,
    Volume, VolumePhase, VolumeSource, VolumeSpec,
};
use makonis_operator_kit::{
    apply::ApiCallError,
    conditions::DesiredCondition,
    error::ErrorCategory,
    error::error_chain,
    finalizers::{add_finalizer, remove_finalizer},
};

use super::{
    Claim, Context, Refusal,
    machine_facts::{FINALIZER, disk_format, power_state_name, volume_names},
    status,
};
use crate::{
    MANAGER, cloudinit,
    error::Error,
    hypervisor::{self, DomainSpec, NetworkSpec, PowerState},
    naming, placement,
    quota::{self, Limits},
};

/// Label on inline volumes: the machine they were created for.
pub const MACHINE_LABEL: &str = "compute.makonis.lv/virtual-machine";
/// How long a shutdown may take before the domain is forced off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often a machine waiting for something is checked again.
const WAITING_RECHECK: Duration = Duration::from_secs(10);

/// The libvirt storage pool that holds the machines' cloud-init seed disks on each host:
/// the pool's first storage tier.
fn seed_storage_pool(pool: &HostPool) -> String {
    pool.spec.storage_tiers.first().map(|t| t.storage_pool.clone()).unwrap_or_default()
}

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

/// What the machines of `pool` hold on each host: from their status, and from claims
/// made at placement that the watch cache does not show yet.
pub fn allocations(ctx: &Context, pool: &str) -> BTreeMap<String, Allocation> {
    let claims = current_claims(ctx);
    let mut by_host: BTreeMap<String, Allocation> = BTreeMap::new();
    let mut add = |host: &str, vcpus: i64, memory: i64, group: Option<&String>| {
        let entry = by_host.entry(host.to_string()).or_default();
        entry.vcpus += vcpus;
        entry.memory_bytes += memory;
        entry.groups.extend(group.cloned());
    };
    for machine in ctx.views.machines.state() {
        let uid = machine.uid().unwrap_or_default();
        if machine.spec.host_pool != pool || claims.contains_key(&uid) {
            continue;
        }
        let status = machine.status.as_ref();
        if let (Some(host), Some(held)) =
            (status.and_then(|s| s.host.as_deref()), status.and_then(|s| s.allocated.as_ref()))
        {
            add(host, i64::from(held.vcpus), held.memory_bytes, machine.spec.placement.anti_affinity_group.as_ref());
        }
    }
    for claim in claims.values().filter(|c| c.pool == pool) {
        add(&claim.host, claim.vcpus, claim.memory_bytes, claim.group.as_ref());
    }
    by_host
}

/// The claims the watch cache does not show yet. A claim is dropped once the cache
/// shows its machine with a host (from then on the cache counts it).
fn current_claims(ctx: &Context) -> std::collections::HashMap<String, Claim> {
    let mut claims = ctx.claims.lock().expect("claims lock");
    let placed: BTreeSet<String> = ctx
        .views
        .machines
        .state()
        .iter()
        .filter(|m| m.status.as_ref().is_some_and(|s| s.host.is_some() && s.allocated.is_some()))
        .filter_map(|m| m.uid())
        .collect();
    claims.retain(|uid, _| !placed.contains(uid));
    claims.clone()
}

/// Brings one machine to its spec.
pub async fn reconcile(machine: Arc<VirtualMachine>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = machine.namespace().unwrap_or_default();
    let api: Api<VirtualMachine> = Api::namespaced(ctx.client.clone(), &namespace);
    if machine.metadata.deletion_timestamp.is_some() {
        return remove(&machine, &api, &ctx).await;
    }
    if add_finalizer(&api, &*machine, FINALIZER, MANAGER, &ctx.metrics).await? {
        return Ok(Action::await_change());
    }
    let outcome = provision(&machine, &namespace, &ctx).await;
    let (outcome, requeue) = match outcome {
        Ok(outcome) => {
            let requeue = if outcome.phase == VmPhase::Running || outcome.phase == VmPhase::Stopped {
                ctx.resync
            } else {
                WAITING_RECHECK
            };
            (outcome, requeue)
        }
        Err(error) if error.category() == "unreachable" => {
            (Outcome::unreachable(&machine, &error_chain(&error)), super::PROBE_INTERVAL)
        }
        Err(Error::Hypervisor(error)) => {
            // Said on the machine too; the error is still returned for the Event and retry.
            let outcome = Outcome::waiting(VmPhase::Provisioning, "HypervisorError", error_chain(&error), &machine);
            let desired = machine_status(&machine, outcome);
            status::write(&ctx, &api, &*machine, machine.status.as_ref(), &desired).await?;
            return Err(Error::Hypervisor(error));
        }
        Err(error) => return Err(error),
    };
    let desired = machine_status(&machine, outcome);
    status::write(&ctx, &api, &*machine, machine.status.as_ref(), &desired).await?;
    Ok(Action::requeue(requeue))
}

/// What a provisioning pass found.
struct Outcome {
    phase: VmPhase,
    reason: &'static str,
    message: String,
    host: Option<String>,
    placement_reason: Option<String>,
    domain: Option<hypervisor::DomainInfo>,
    addresses: Vec<String>,
}

impl Outcome {
    fn waiting(phase: VmPhase, reason: &'static str, message: impl Into<String>, machine: &VirtualMachine) -> Self {
        let status = machine.status.clone().unwrap_or_default();
        Self {
            phase,
            reason,
            message: message.into(),
            host: status.host,
            placement_reason: status.placement_reason,
            domain: None,
            addresses: Vec::new(),
        }
    }

    fn unreachable(machine: &VirtualMachine, why: &str) -> Self {
        let host = machine.status.as_ref().and_then(|s| s.host.clone()).unwrap_or_default();
        Self::waiting(
            VmPhase::HostUnreachable,
            "HostUnreachable",
            format!(
                "host {host} does not answer ({why}); the machine is left where it is and is checked again every {} s",
                super::PROBE_INTERVAL.as_secs()
            ),
            machine,
        )
    }
}

async fn provision(machine: &VirtualMachine, namespace: &str, ctx: &Context) -> Result<Outcome, Error> {
    let Some(pool) = ctx.views.pool(&machine.spec.host_pool) else {
        return Ok(Outcome::waiting(
            VmPhase::Pending,
            "HostPoolNotFound",
            format!("HostPool {} does not exist; create it or correct spec.hostPool", machine.spec.host_pool),
            machine,
        ));
    };
    ensure_inline_volumes(machine, namespace, ctx).await?;
    let host = match machine.status.as_ref().and_then(|s| s.host.clone()) {
        Some(host) => host,
        None => match place(machine, namespace, &pool, ctx).await {
            Ok(host) => host,
            Err((reason, message)) => return Ok(Outcome::waiting(VmPhase::Pending, reason, message, machine)),
        },
    };
    let placement_reason =
        machine.status.as_ref().and_then(|s| s.placement_reason.clone()).or_else(|| claimed_reason(ctx, machine));
    if let Some(host_status) = pool.status.as_ref().and_then(|s| s.hosts.iter().find(|h| h.name == host))
        && !host_status.reachable
    {
        let mut outcome = Outcome::unreachable(machine, &host_status.message);
        outcome.host = Some(host);
        outcome.placement_reason = placement_reason;
        return Ok(outcome);
    }
    let waiting = |reason, message: String| Outcome {
        phase: VmPhase::Provisioning,
        reason,
        message,
        host: Some(host.clone()),
        placement_reason: placement_reason.clone(),
        domain: None,
        addresses: Vec::new(),
    };
    let mut disks = Vec::new();
    for (index, name) in volume_names(machine).iter().enumerate() {
        let Some(volume) = ctx.views.volume(namespace, name) else {
            return Ok(waiting("VolumeMissing", format!("waiting for Volume {name} to exist")));
        };
        let volume_status = volume.status.clone().unwrap_or_default();
        if let Some(other) = volume_status.host.as_deref().or(volume.spec.host.as_deref())
            && other != host
        {
            return Ok(Outcome {
                phase: VmPhase::Failed,
                reason: "VolumeOnOtherHost",
                message: format!(
                    "Volume {name} is on host {other} but the machine is placed on {host}; a machine's volumes must be on its host"
                ),
                ..waiting("", String::new())
            });
        }
        let ready = matches!(volume_status.phase, Some(VolumePhase::Available | VolumePhase::InUse));
        let (Some(path), true) = (volume_status.path.clone(), ready) else {
            let why = volume_status
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| c.message.clone())
                .unwrap_or_else(|| "not created yet".into());
            return Ok(waiting("VolumeNotReady", format!("waiting for Volume {name}: {why}")));
        };
        disks.push(hypervisor::DiskSpec {
            path,
            format: disk_format(volume.spec.format),
            target: naming::disk_target(index),
        });
    }
    let (seed, seed_note) = match &machine.spec.cloud_init {
        Some(cloud_init) => match seed_disk(machine, namespace, cloud_init, &pool, &host, ctx).await? {
            Some(path) => (Some(path), String::new()),
            None => (
                None,
                format!(
                    "; the cloud-init user data was not given to the guest: host {host} does not accept volume uploads"
                ),
            ),
        },
        None => (None, String::new()),
    };
    let spec = DomainSpec {
        name: naming::domain_name(namespace, &machine.name_any()),
        owner_uid: machine.uid().unwrap_or_default(),
        owner_namespace: namespace.to_string(),
        owner_name: machine.name_any(),
        vcpus: machine.spec.vcpus.max(1) as u32,
        memory_bytes: memory_bytes(machine) as u64,
        disks,
        networks: machine
            .spec
            .networks
            .iter()
            .map(|n| match n.kind {
                NetworkKind::User => NetworkSpec::User,
                NetworkKind::Network => NetworkSpec::Network(n.network.clone().unwrap_or_default()),
            })
            .collect(),
        cdrom: seed,
    };
    let running = machine.spec.power_state == WantedPower::Running;
    let (domain, addresses) = ctx
        .hosts
        .call(&pool, &host, move |hv| {
            hv.define_domain(&spec)?;
            if running {
                hv.start_domain(&spec.name)?;
            } else {
                hv.stop_domain(&spec.name, SHUTDOWN_GRACE)?;
            }
            let domain = hv.find_domain(&spec.name)?;
            let addresses = hv.domain_addresses(&spec.name)?;
            Ok((domain, addresses))
        })
        .await?;
    let (phase, reason, message) = match domain.as_ref().map(|d| d.state) {
        Some(PowerState::Running) if running => {
            (VmPhase::Running, "Running", format!("running on host {host}{seed_note}"))
        }
        Some(PowerState::ShutOff) if !running => (VmPhase::Stopped, "Stopped", format!("stopped, as asked{seed_note}")),
        Some(state) => (VmPhase::Provisioning, "PowerStateDiffers", format!("the domain is {state:?} on host {host}")),
        None => (VmPhase::Provisioning, "DomainMissing", format!("the domain is not defined on host {host} yet")),
    };
    Ok(Outcome { phase, reason, message, host: Some(host), placement_reason, domain, addresses })
}

/// Memory in bytes of the machine's spec (0 if unreadable; the schema refuses that).
fn memory_bytes(machine: &VirtualMachine) -> i64 {
    quota::bytes(&machine.spec.memory.0).unwrap_or(0) as i64
}

fn claimed_reason(ctx: &Context, machine: &VirtualMachine) -> Option<String> {
    let claims = ctx.claims.lock().expect("claims lock");
    claims.get(&machine.uid().unwrap_or_default()).map(|c| c.reason.clone())
}

/// Checks the quota and picks a host, claiming room on it. Errors are a condition
/// reason and message.
async fn place(machine: &VirtualMachine, namespace: &str, pool: &HostPool, ctx: &Context) -> Result<String, Refusal> {
    let _placing = ctx.placing.lock().await;
    let uid = machine.uid().unwrap_or_default();
    if let Some(claim) = ctx.claims.lock().expect("claims lock").get(&uid) {
        return Ok(claim.host.clone());
    }
    let vcpus = i64::from(machine.spec.vcpus);
    let memory = memory_bytes(machine);
    if let Some(agency) = ctx.views.agency_of(namespace) {
        let limits = Limits::of(&agency.spec.quota).map_err(|m| ("QuotaInvalid", m))?;
        let (used_vcpus, used_memory) = namespace_holdings(ctx, namespace, &uid);
        quota::machine_fits(&limits, used_vcpus, used_memory, vcpus, memory)
            .map_err(|m| ("QuotaExceeded", format!("{m}; free quota or ask for a larger one")))?;
    }
    let allocated = allocations(ctx, &pool.name_any());
    let status = pool.status.clone().unwrap_or_default();
    let empty = BTreeSet::new();
    let required_host = volume_hosts(machine, namespace, ctx);
    let views: Vec<placement::HostView<'_>> = pool
        .spec
        .hosts
        .iter()
        .filter(|h| required_host.as_ref().is_none_or(|r| *r == h.name))
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
        .collect();
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
    let chosen = placement::place(&request, &views, overcommit).map_err(|no_room| {
        let mut message = no_room.message;
        if let Some(host) = &required_host {
            message.push_str(&format!(" (only host {host} was considered: the machine's volumes are there)"));
        }
        ("NoHostWithRoom", message)
    })?;
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
    Ok(chosen.host)
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
        if let Some(held) = other.status.as_ref().and_then(|s| s.allocated.as_ref()) {
            vcpus += i64::from(held.vcpus);
            memory += held.memory_bytes;
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

/// The host the machine's existing volumes are on, if any already are.
fn volume_hosts(machine: &VirtualMachine, namespace: &str, ctx: &Context) -> Option<String> {
    volume_names(machine)
        .iter()
        .filter_map(|name| ctx.views.volume(namespace, name))
        .find_map(|volume| volume.status.as_ref().and_then(|s| s.host.clone()).or_else(|| volume.spec.host.clone()))
}

/// Creates the `Volume`s of the machine's inline disks. A volume that follows the
/// machine (`Delete`) is owned by it and goes with it; a `Retain` one is not owned, so
/// it outlives the machine.
async fn ensure_inline_volumes(machine: &VirtualMachine, namespace: &str, ctx: &Context) -> Result<(), Error> {
    let api: Api<Volume> = Api::namespaced(ctx.client.clone(), namespace);
    for disk in &machine.spec.disks {
        let Some(inline) = &disk.inline else { continue };
        let name = naming::inline_volume_name(&machine.name_any(), &disk.name);
        if ctx.views.volume(namespace, &name).is_some() {
            continue;
        }
        let owner = (inline.reclaim_policy == makonis_api::compute::ReclaimPolicy::Delete)
            .then(|| owner_reference(machine))
            .flatten();
        let mut labels = machine.labels().clone();
        labels.insert(MACHINE_LABEL.into(), machine.name_any());
        labels.insert(makonis_api::labels::MANAGED_BY.into(), MANAGER.into());
        let volume = Volume {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_string()),
                labels: Some(labels),
                owner_references: owner.map(|o| vec![o]),
                ..ObjectMeta::default()
            },
            spec: VolumeSpec {
                host_pool: machine.spec.host_pool.clone(),
                host: None,
                size: inline.size.clone(),
                tier: inline.tier.clone().unwrap_or_else(|| "standard".into()),
                format: inline.format,
                source: inline.image.clone().map(|image| VolumeSource {
                    image: Some(image),
                    volume: None,
                    backup: None,
                }),
                reclaim_policy: inline.reclaim_policy,
            },
            status: None,
        };
        match api.create(&Default::default(), &volume).await {
            Ok(_) => ctx.metrics.record_write(MANAGER, "Volume"),
            Err(kube::Error::Api(response)) if response.code == 409 => {}
            Err(error) => {
                return Err(ApiCallError { action: "creating", kind: "Volume".into(), name, error }.into());
            }
        }
    }
    Ok(())
}

fn owner_reference(machine: &VirtualMachine) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: VirtualMachine::api_version(&()).into_owned(),
        kind: VirtualMachine::kind(&()).into_owned(),
        name: machine.name_any(),
        uid: machine.uid()?,
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// Writes the machine's NoCloud seed image into the first storage tier of the host and
/// returns its path; `None` when the host cannot take uploads (libvirt's test
/// hypervisor). It is written while the domain is not running (cloud-init reads it at
/// boot), so a spec change reaches the guest at its next start.
async fn seed_disk(
    machine: &VirtualMachine,
    namespace: &str,
    cloud_init: &makonis_api::compute::CloudInit,
    pool: &HostPool,
    host: &str,
    ctx: &Context,
) -> Result<Option<String>, Error> {
    let user_data = match (&cloud_init.user_data, &cloud_init.user_data_secret) {
        (Some(text), _) => text.clone(),
        (None, Some(secret)) => {
            let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(ctx.client.clone(), namespace);
            let secret = secrets.get(secret).await.map_err(|error| ApiCallError {
                action: "reading",
                kind: "Secret".into(),
                name: secret.clone(),
                error,
            })?;
            secret
                .data
                .and_then(|d| d.get("userData").map(|v| String::from_utf8_lossy(&v.0).into_owned()))
                .unwrap_or_default()
        }
        (None, None) => String::new(),
    };
    let instance_id = format!("{}-{}", machine.uid().unwrap_or_default(), machine.metadata.generation.unwrap_or(0));
    let image = cloudinit::nocloud_iso(&cloudinit::meta_data(&instance_id, &machine.name_any()), &user_data, None);
    let storage_pool = seed_storage_pool(pool);
    let name = naming::seed_name(namespace, &machine.name_any(), &machine.uid().unwrap_or_default());
    let domain = naming::domain_name(namespace, &machine.name_any());
    ctx.hosts
        .call(pool, host, move |hv| {
            let running = hv.find_domain(&domain)?.is_some_and(|d| d.state == PowerState::Running);
            if let Some(existing) = hv.find_volume(&storage_pool, &name)?
                && running
            {
                return Ok(Some(existing.path));
            }
            hv.delete_volume(&storage_pool, &name)?;
            let spec = hypervisor::VolumeSpec {
                name: name.clone(),
                capacity_bytes: image.len() as u64,
                format: hypervisor::VolumeFormat::Raw,
                source: hypervisor::VolumeSource::Empty,
            };
            let volume = hv.create_volume(&storage_pool, &spec)?;
            match hv.upload(&storage_pool, &name, &mut image.as_slice()) {
                Ok(_) => Ok(Some(volume.path)),
                Err(error) if error.is_unsupported() => {
                    hv.delete_volume(&storage_pool, &name)?;
                    Ok(None)
                }
                Err(error) => Err(error),
            }
        })
        .await
}

/// Stops and undefines the domain, then lets the machine go. Inline volumes that follow
/// the machine are deleted by the garbage collector (they are owned by it).
async fn remove(machine: &VirtualMachine, api: &Api<VirtualMachine>, ctx: &Context) -> Result<Action, Error> {
    let namespace = machine.namespace().unwrap_or_default();
    let host = machine.status.as_ref().and_then(|s| s.host.clone());
    if let (Some(host), Some(pool)) = (host, ctx.views.pool(&machine.spec.host_pool)) {
        let domain = naming::domain_name(&namespace, &machine.name_any());
        let seed = naming::seed_name(&namespace, &machine.name_any(), &machine.uid().unwrap_or_default());
        let storage_pool = seed_storage_pool(&pool);
        let uid = machine.uid().unwrap_or_default();
        ctx.hosts
            .call(&pool, &host, move |hv| {
                if let Some(found) = hv.find_domain(&domain)?
                    && found.owner_uid.as_deref() == Some(uid.as_str())
                {
                    hv.undefine_domain(&domain)?;
                }
                hv.delete_volume(&storage_pool, &seed)
            })
            .await?;
        ctx.events
            .normal(
                &machine.object_ref(&()),
                "Undefined",
                "Delete",
                format!("stopped and undefined its domain on host {host}"),
            )
            .await;
    }
    ctx.claims.lock().expect("claims lock").remove(&machine.uid().unwrap_or_default());
    remove_finalizer(api, machine, FINALIZER, MANAGER, &ctx.metrics).await?;
    Ok(Action::await_change())
}

/// The status for `outcome`.
fn machine_status(machine: &VirtualMachine, outcome: Outcome) -> VirtualMachineStatus {
    let previous = machine.status.clone().unwrap_or_default();
    let generation = machine.metadata.generation;
    let scheduled = match &outcome.host {
        Some(host) => DesiredCondition::truthy(
            "Scheduled",
            "Placed",
            outcome.placement_reason.clone().unwrap_or_else(|| format!("placed on host {host}")),
        ),
        None => DesiredCondition::falsy("Scheduled", outcome.reason, outcome.message.clone()),
    };
    let ready = DesiredCondition {
        type_: "Ready",
        status: matches!(outcome.phase, VmPhase::Running | VmPhase::Stopped),
        reason: outcome.reason,
        message: outcome.message.clone(),
    };
    let allocated =
        outcome.host.as_ref().map(|_| HostCapacity { vcpus: machine.spec.vcpus, memory_bytes: memory_bytes(machine) });
    VirtualMachineStatus {
        phase: Some(outcome.phase),
        conditions: status::conditions(&previous.conditions, vec![ready, scheduled], generation),
        observed_generation: generation,
        domain: outcome
            .host
            .as_ref()
            .map(|_| naming::domain_name(&machine.namespace().unwrap_or_default(), &machine.name_any())),
        domain_uuid: outcome.domain.as_ref().map(|d| d.uuid.clone()).or(previous.domain_uuid),
        power_state: outcome.domain.as_ref().map(|d| power_state_name(d.state).to_string()).or(previous.power_state),
        addresses: if outcome.domain.is_some() { outcome.addresses } else { previous.addresses },
        host: outcome.host,
        placement_reason: outcome.placement_reason,
        allocated,
    }
}
