//! The VirtualMachine controller: networks, quota and placement, inline volumes, the
//! cloud-init seed, the libvirt domain and its power state.
//!
//! Where a machine is comes from the hosts: its domain is the one of its name whose
//! metadata carries its UID, found on the host its status names or, failing that, on any
//! host of its pool. Its disks are its volumes' data found by their own UIDs (see
//! [`super::locate`]); nothing a status says becomes a disk, a host or a network.

use std::{sync::Arc, time::Duration};

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
    Context,
    locate::{self, Found},
    machine_facts::{FINALIZER, disk_format, power_state_name, volume_names},
    machine_placement::{self, memory_bytes},
    mismatch::{self, Mismatch},
    status,
};
use crate::{
    MANAGER, allowed, cloudinit,
    error::Error,
    hypervisor::{self, DomainInfo, DomainSpec, NetworkSpec, PowerState},
    naming,
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

/// The names the machine's seed disk may have: the current one and the legacy one.
fn seed_names(machine: &VirtualMachine, namespace: &str) -> [String; 2] {
    let (name, uid) = (machine.name_any(), machine.uid().unwrap_or_default());
    [naming::seed_name(namespace, &name, &uid), naming::legacy::seed_name(namespace, &name, &uid)]
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
    mismatch::report(&ctx, &machine.object_ref(&()), "VirtualMachine", &outcome.mismatches).await;
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
    domain: Option<DomainInfo>,
    addresses: Vec<String>,
    mismatches: Vec<Mismatch>,
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
            mismatches: Vec::new(),
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

/// What the pool's last check says of `host`.
fn host_message(pool: &HostPool, host: &str) -> String {
    let checked = pool.status.as_ref().and_then(|s| s.hosts.iter().find(|h| h.name == host));
    checked.map(|h| h.message.clone()).filter(|m| !m.is_empty()).unwrap_or_else(|| "no answer".into())
}

/// The first of the machine's networks its pool does not offer its agency, as a reason
/// and message naming the field.
fn refused_network(machine: &VirtualMachine, namespace: &str, pool: &HostPool) -> Option<String> {
    machine.spec.networks.iter().enumerate().find_map(|(index, attachment)| {
        let field = match attachment.kind {
            NetworkKind::Network => format!("spec.networks[{index}].network"),
            NetworkKind::User => format!("spec.networks[{index}].kind"),
        };
        allowed::network(pool, namespace, attachment).err().map(|why| format!("{field}: {why}"))
    })
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
    // Checked before anything is placed or defined: the webhook may have been bypassed,
    // or the pool's networks changed since the machine was admitted.
    if let Some(message) = refused_network(machine, namespace, &pool) {
        return Ok(Outcome::waiting(VmPhase::Failed, "NetworkNotAllowed", message, machine));
    }
    ensure_inline_volumes(machine, namespace, ctx).await?;
    let recorded = machine.status.clone().unwrap_or_default();
    let claimed = machine_placement::claimed_host(ctx, machine);
    let disks = find_disks(machine, namespace, &pool, recorded.host.as_deref(), ctx).await?;
    let required = disks.iter().find_map(|d| d.host.clone());
    let hints = [recorded.host.as_deref(), claimed.as_deref(), required.as_deref()];
    let found = locate::domain(ctx, &pool, machine, &hints).await?;
    let computed_domain = naming::domain_name(namespace, &machine.name_any());
    let mut mismatches: Vec<Mismatch> = Vec::new();
    let host = match &found {
        Found::At(host, domain) => {
            mismatches.extend(mismatch::compare("status.host", recorded.host.as_deref(), Some(host)));
            mismatches.extend(mismatch::compare(
                "status.domainUuid",
                recorded.domain_uuid.as_deref(),
                Some(&domain.uuid),
            ));
            host.clone()
        }
        Found::Nowhere { unreachable } => {
            if let Some(host) = recorded.host.as_ref().filter(|h| unreachable.contains(h)) {
                // Its domain may run there: left where it is, never defined elsewhere.
                let mut outcome = Outcome::unreachable(machine, &host_message(&pool, host));
                outcome.host = Some(host.clone());
                return Ok(outcome);
            }
            match machine_placement::place(
                machine,
                namespace,
                &pool,
                required.as_deref(),
                recorded.host.as_deref(),
                ctx,
            )
            .await
            {
                Ok(placed) => placed.host,
                Err((reason, message)) => {
                    let mut outcome = Outcome::waiting(VmPhase::Pending, reason, message, machine);
                    outcome.host = None;
                    return Ok(outcome);
                }
            }
        }
    };
    mismatches.extend(mismatch::compare("status.domain", recorded.domain.as_deref(), Some(&computed_domain)));
    let placement_reason = machine_placement::claimed_reason(ctx, machine)
        .or_else(|| recorded.placement_reason.clone().filter(|_| recorded.host.as_deref() == Some(host.as_str())));
    if locate::reported_unreachable(&pool, &host) {
        let mut outcome = Outcome::unreachable(machine, &host_message(&pool, &host));
        outcome.host = Some(host);
        outcome.placement_reason = placement_reason;
        outcome.mismatches = mismatches;
        return Ok(outcome);
    }
    let waiting = |phase, reason, message: String| Outcome {
        phase,
        reason,
        message,
        host: Some(host.clone()),
        placement_reason: placement_reason.clone(),
        domain: None,
        addresses: Vec::new(),
        mismatches: mismatches.clone(),
    };
    let mut disk_specs = Vec::new();
    for (index, disk) in disks.iter().enumerate() {
        let name = &disk.volume_name;
        let Some(volume) = &disk.volume else {
            return Ok(waiting(VmPhase::Provisioning, "VolumeMissing", format!("waiting for Volume {name} to exist")));
        };
        if let Some(other) = &disk.host
            && *other != host
        {
            return Ok(waiting(
                VmPhase::Failed,
                "VolumeOnOtherHost",
                format!(
                    "Volume {name} is on host {other} but the machine is placed on {host}; a machine's volumes must be on its host"
                ),
            ));
        }
        let ready =
            matches!(volume.status.as_ref().and_then(|s| s.phase), Some(VolumePhase::Available | VolumePhase::InUse));
        let (Some(path), true) = (disk.path.clone(), ready) else {
            let why = volume
                .status
                .iter()
                .flat_map(|s| &s.conditions)
                .find(|c| c.type_ == "Ready")
                .map(|c| c.message.clone())
                .unwrap_or_else(|| "not created yet".into());
            return Ok(waiting(VmPhase::Provisioning, "VolumeNotReady", format!("waiting for Volume {name}: {why}")));
        };
        disk_specs.push(hypervisor::DiskSpec {
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
        name: computed_domain,
        owner_uid: machine.uid().unwrap_or_default(),
        owner_namespace: namespace.to_string(),
        owner_name: machine.name_any(),
        vcpus: machine.spec.vcpus.max(1) as u32,
        memory_bytes: memory_bytes(machine) as u64,
        disks: disk_specs,
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
    Ok(Outcome { phase, reason, message, host: Some(host), placement_reason, domain, addresses, mismatches })
}

/// One disk of a machine: its Volume (if it exists) and that volume's data, found by the
/// volume's own UID on the hosts of the pool.
struct FoundDisk {
    volume_name: String,
    volume: Option<Arc<Volume>>,
    host: Option<String>,
    path: Option<String>,
}

/// The machine's disks, each with its volume's data where it is found. A volume whose
/// data is on no host yet has no host, unless its spec names one.
async fn find_disks(
    machine: &VirtualMachine,
    namespace: &str,
    pool: &HostPool,
    machine_host: Option<&str>,
    ctx: &Context,
) -> Result<Vec<FoundDisk>, Error> {
    let mut disks = Vec::new();
    for volume_name in volume_names(machine) {
        let volume = ctx.views.volume(namespace, &volume_name);
        let (mut host, mut path) = (None, None);
        if let Some(volume) = volume.as_ref().filter(|v| v.spec.host_pool == pool.name_any()) {
            let recorded = volume.status.as_ref().and_then(|s| s.host.as_deref());
            let hints = [recorded, volume.spec.host.as_deref(), machine_host];
            match locate::volume_data(ctx, pool, volume, &hints).await? {
                Found::At(found, data) => {
                    host = Some(found);
                    path = Some(data.info().path.clone());
                }
                Found::Nowhere { .. } => host = volume.spec.host.clone(),
            }
        }
        disks.push(FoundDisk { volume_name, volume, host, path });
    }
    Ok(disks)
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
    let uid = machine.uid().unwrap_or_default();
    let [name, legacy] = seed_names(machine, namespace);
    let domain = naming::domain_name(namespace, &machine.name_any());
    ctx.hosts
        .call(pool, host, move |hv| {
            let running = hv
                .find_domain(&domain)?
                .is_some_and(|d| d.state == PowerState::Running && d.owner_uid.as_deref() == Some(uid.as_str()));
            if let Some(existing) = hv.find_volume(&storage_pool, &name)?
                && running
            {
                return Ok(Some(existing.path));
            }
            hv.delete_volume(&storage_pool, &legacy)?;
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

/// Stops and undefines the machine's own domain wherever it is found, removes its seed
/// disk, then lets the machine go. Inline volumes that follow the machine are deleted by
/// the garbage collector (they are owned by it).
async fn remove(machine: &VirtualMachine, api: &Api<VirtualMachine>, ctx: &Context) -> Result<Action, Error> {
    let namespace = machine.namespace().unwrap_or_default();
    if let Some(pool) = ctx.views.pool(&machine.spec.host_pool) {
        let recorded = machine.status.as_ref().and_then(|s| s.host.clone());
        let claimed = machine_placement::claimed_host(ctx, machine);
        let found = locate::domain(ctx, &pool, machine, &[recorded.as_deref(), claimed.as_deref()]).await?;
        let host = match found {
            Found::At(host, _) => Some(host),
            // On no host that answers: what is left is on the recorded host, if anywhere
            // (and if that host does not answer, the call fails and is retried).
            Found::Nowhere { .. } => recorded.filter(|h| pool.spec.hosts.iter().any(|s| s.name == *h)),
        };
        if let Some(host) = host {
            let domain = naming::domain_name(&namespace, &machine.name_any());
            let [seed, legacy_seed] = seed_names(machine, &namespace);
            let storage_pool = seed_storage_pool(&pool);
            let uid = machine.uid().unwrap_or_default();
            let undefined = ctx
                .hosts
                .call(&pool, &host, move |hv| {
                    let own = hv
                        .find_domain(&domain)?
                        .is_some_and(|d| !uid.is_empty() && d.owner_uid.as_deref() == Some(uid.as_str()));
                    if own {
                        hv.undefine_domain(&domain)?;
                    }
                    hv.delete_volume(&storage_pool, &seed)?;
                    hv.delete_volume(&storage_pool, &legacy_seed)?;
                    Ok(own)
                })
                .await?;
            if undefined {
                ctx.events
                    .normal(
                        &machine.object_ref(&()),
                        "Undefined",
                        "Delete",
                        format!("stopped and undefined its domain on host {host}"),
                    )
                    .await;
            }
        }
    }
    ctx.claims.lock().expect("claims lock").remove(&machine.uid().unwrap_or_default());
    remove_finalizer(api, machine, FINALIZER, MANAGER, &ctx.metrics).await?;
    Ok(Action::await_change())
}

/// The status for `outcome`. A recorded value the outcome contradicts is never kept.
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
    let contradicted = |field: &str| outcome.mismatches.iter().any(|m| m.field == field);
    VirtualMachineStatus {
        phase: Some(outcome.phase),
        conditions: status::conditions(&previous.conditions, vec![ready, scheduled], generation),
        observed_generation: generation,
        domain: outcome
            .host
            .as_ref()
            .map(|_| naming::domain_name(&machine.namespace().unwrap_or_default(), &machine.name_any())),
        domain_uuid: outcome
            .domain
            .as_ref()
            .map(|d| d.uuid.clone())
            .or(previous.domain_uuid.filter(|_| !contradicted("status.domainUuid"))),
        power_state: outcome.domain.as_ref().map(|d| power_state_name(d.state).to_string()).or(previous.power_state),
        addresses: if outcome.domain.is_some() { outcome.addresses } else { previous.addresses },
        host: outcome.host,
        placement_reason: outcome.placement_reason,
        allocated,
    }
}
