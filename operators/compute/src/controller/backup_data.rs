//! A backup's data and manifest on the hosts.
//!
//! A backup is written to its target: the Backup's `spec.target`, or its policy's target
//! (a policy's backups carry a copy in their own, immutable spec). The target must be a
//! host of its HostPool and one of the storage pools that pool offers for backups. The
//! data and the manifest are named with the Backup's UID; the manifest, written last,
//! also records that UID and the data's SHA-256, and it is the operator's record of the
//! backup: a restore uses the checksum it holds, never the one in the status.

use std::sync::Arc;

use kube::{Api, ResourceExt};
use makonis_api::compute::{Backup, BackupLocation, BackupPolicy, BackupTarget, HostPool};
use makonis_operator_kit::{apply::ApiCallError, error::ErrorCategory};
use serde::{Deserialize, Serialize};

use super::{Context, mismatch::Mismatch};
use crate::{allowed, error::Error, hypervisor, naming};

/// The most bytes a manifest may have.
const MANIFEST_LIMIT: u64 = 64 << 10;

/// A storage pool of a host that backups may be written to.
#[derive(Debug, Clone)]
pub struct Place {
    /// The HostPool.
    pub pool: Arc<HostPool>,
    /// The host in it.
    pub host: String,
    /// The libvirt storage pool.
    pub storage_pool: String,
}

impl Place {
    /// The status record of this place for the backup's data named `data`.
    pub fn location(&self, data: &str) -> BackupLocation {
        BackupLocation {
            host_pool: self.pool.name_any(),
            host: self.host.clone(),
            storage_pool: self.storage_pool.clone(),
            volume_name: data.to_string(),
        }
    }

    fn same(&self, location: &BackupLocation) -> bool {
        self.pool.name_any() == location.host_pool
            && self.host == location.host
            && self.storage_pool == location.storage_pool
    }
}

/// The names of a backup's data and manifest: current, then legacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `backup.<namespace>.<name>.<uid>.raw`.
    pub data: String,
    /// `backup.<namespace>.<name>.<uid>.manifest.json`.
    pub manifest: String,
    /// The data's name before names carried the full UID.
    pub legacy_data: String,
    /// The manifest's name before names carried the full UID.
    pub legacy_manifest: String,
}

/// The names of `backup`'s data and manifest, computed from the Backup itself.
pub fn names(backup: &Backup) -> Names {
    let (namespace, name, uid) = (backup.namespace().unwrap_or_default(), backup.name_any(), uid(backup));
    Names {
        data: naming::backup_data_name(&namespace, &name, &uid),
        manifest: naming::backup_manifest_name(&namespace, &name, &uid),
        legacy_data: naming::legacy::backup_data_name(&namespace, &name, &uid),
        legacy_manifest: naming::legacy::backup_manifest_name(&namespace, &name, &uid),
    }
}

/// What a manifest records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The Backup's UID (absent in manifests written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The Backup's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The Backup's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// The backed-up Volume.
    pub volume: String,
    /// The data's libvirt volume name.
    pub data: String,
    /// Bytes of data.
    pub bytes: u64,
    /// SHA-256 of the data, lowercase hex.
    pub sha256: String,
    /// Whether the data was read back and compared.
    pub verified: bool,
    /// When it was written (RFC 3339).
    pub written: String,
}

impl Manifest {
    /// The manifest of `backup` for data `data` of `bytes` with `sha256`.
    pub fn of(backup: &Backup, data: &str, bytes: u64, sha256: &str, verified: bool, written: String) -> Self {
        Self {
            uid: Some(uid(backup)),
            namespace: backup.namespace(),
            backup: Some(backup.name_any()),
            volume: backup.spec.volume.clone(),
            data: data.to_string(),
            bytes,
            sha256: sha256.to_string(),
            verified,
            written,
        }
    }

    /// The manifest in `text`, if it is one and it is `backup`'s: it records the Backup's
    /// UID (or, for a legacy manifest, carries none) and names data of the backup's own.
    pub fn read(text: &[u8], backup: &Backup, names: &Names, legacy: bool) -> Option<Self> {
        // A volume may hold a few bytes more than was uploaded (zeros at the end).
        let end = text.iter().rposition(|b| *b != 0 && !b.is_ascii_whitespace()).map_or(0, |last| last + 1);
        let manifest: Self = serde_json::from_slice(&text[..end]).ok()?;
        let owner = match &manifest.uid {
            Some(recorded) => *recorded == uid(backup),
            None => legacy,
        };
        let data = if legacy { &names.legacy_data } else { &names.data };
        (owner && manifest.data == *data).then_some(manifest)
    }
}

/// A completed backup as found on a host: where, its data's name, and its manifest.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Where it is.
    pub place: Place,
    /// Its data's libvirt name (current or legacy).
    pub data: String,
    /// Its manifest.
    pub manifest: Manifest,
}

/// The backup's target: its own, or its policy's.
pub async fn target_of(backup: &Backup, ctx: &Context) -> Result<Result<BackupTarget, String>, Error> {
    if let Some(target) = &backup.spec.target {
        return Ok(Ok(target.clone()));
    }
    let Some(policy) = &backup.spec.policy else {
        return Ok(Err("the backup has neither spec.target nor spec.policy; set one".into()));
    };
    let policies: Api<BackupPolicy> = Api::namespaced(ctx.client.clone(), &backup.namespace().unwrap_or_default());
    match policies.get_opt(policy).await {
        Ok(Some(policy)) => Ok(Ok(policy.spec.target)),
        Ok(None) => Ok(Err(format!("BackupPolicy {policy} does not exist"))),
        Err(error) => {
            Err(ApiCallError { action: "reading", kind: "BackupPolicy".into(), name: policy.clone(), error }.into())
        }
    }
}

/// The place of `target`, if its pool exists, has the host and offers the storage pool
/// for backups; otherwise why not.
pub fn place_of(ctx: &Context, target: &BackupTarget) -> Result<Place, String> {
    let pool =
        ctx.views.pool(&target.host_pool).ok_or_else(|| format!("HostPool {} does not exist", target.host_pool))?;
    if !pool.spec.hosts.iter().any(|h| h.name == target.host) {
        return Err(format!("HostPool {} has no host {}", target.host_pool, target.host));
    }
    allowed::backup_pool(&pool, &target.storage_pool)?;
    Ok(Place { pool, host: target.host.clone(), storage_pool: target.storage_pool.clone() })
}

/// Where the backup's data may be: its target now and, when its status records another
/// place that is also a backup pool of a HostPool, that place (a policy's target may have
/// changed since an older backup was written). Only the backup's own names are ever
/// looked up or removed there.
pub async fn places(ctx: &Context, backup: &Backup) -> Result<Vec<Place>, Error> {
    let mut places = Vec::new();
    if let Ok(Ok(place)) = target_of(backup, ctx).await.map(|t| t.and_then(|t| place_of(ctx, &t))) {
        places.push(place);
    }
    if let Some(recorded) = backup.status.as_ref().and_then(|s| s.location.as_ref())
        && !places.iter().any(|p| p.same(recorded))
        && let Ok(place) = place_of(ctx, &recorded_target(recorded))
    {
        places.push(place);
    }
    Ok(places)
}

/// The recorded location's fields that contradict the backup: a data name that is not
/// the backup's own, and a place other than its own `spec.target`.
pub fn mismatches(backup: &Backup) -> Vec<Mismatch> {
    let Some(recorded) = backup.status.as_ref().and_then(|s| s.location.as_ref()) else {
        return Vec::new();
    };
    let names = names(backup);
    let mut found = Vec::new();
    if recorded.volume_name != names.data && recorded.volume_name != names.legacy_data {
        found.push(Mismatch {
            field: "status.location.volumeName",
            recorded: recorded.volume_name.clone(),
            actual: Some(names.data.clone()),
        });
    }
    if let Some(target) = &backup.spec.target
        && recorded_target(recorded) != *target
    {
        found.push(Mismatch {
            field: "status.location",
            recorded: format!("{}/{}/{}", recorded.host_pool, recorded.host, recorded.storage_pool),
            actual: Some(format!("{}/{}/{}", target.host_pool, target.host, target.storage_pool)),
        });
    }
    found
}

/// The completed backup on the hosts: the first of `places` that holds its manifest.
/// `Ok(None)` when none does (not complete, or gone).
pub async fn find(ctx: &Context, backup: &Backup, places: &[Place]) -> Result<Option<Stored>, Error> {
    let names = names(backup);
    for place in places {
        let (storage_pool, candidates) = (place.storage_pool.clone(), names.clone());
        let owner = Arc::new(backup.clone());
        let read = ctx
            .hosts
            .call(&place.pool, &place.host, move |hv| {
                for (manifest, data, legacy) in [
                    (&candidates.manifest, &candidates.data, false),
                    (&candidates.legacy_manifest, &candidates.legacy_data, true),
                ] {
                    if hv.find_volume(&storage_pool, manifest)?.is_none()
                        || hv.find_volume(&storage_pool, data)?.is_none()
                    {
                        continue;
                    }
                    let text = hypervisor::read_volume(hv, &storage_pool, manifest, MANIFEST_LIMIT)?;
                    if let Some(found) = Manifest::read(&text, &owner, &candidates, legacy) {
                        return Ok(Some((data.clone(), found)));
                    }
                }
                Ok(None)
            })
            .await;
        match read {
            Ok(Some((data, manifest))) => return Ok(Some(Stored { place: place.clone(), data, manifest })),
            Ok(None) => {}
            Err(error) if error.category() == "unreachable" => {}
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// Removes the backup's data and manifest (current and legacy names) at `place`.
pub async fn delete(ctx: &Context, backup: &Backup, place: &Place) -> Result<(), Error> {
    let names = names(backup);
    let storage_pool = place.storage_pool.clone();
    ctx.hosts
        .call(&place.pool, &place.host, move |hv| {
            for name in [&names.manifest, &names.data, &names.legacy_manifest, &names.legacy_data] {
                hv.delete_volume(&storage_pool, name)?;
            }
            Ok(())
        })
        .await
}

fn uid(backup: &Backup) -> String {
    backup.uid().unwrap_or_default()
}

/// The place a recorded location names, as a target.
fn recorded_target(location: &BackupLocation) -> BackupTarget {
    BackupTarget {
        host_pool: location.host_pool.clone(),
        host: location.host.clone(),
        storage_pool: location.storage_pool.clone(),
    }
}

#[cfg(test)]
mod tests {
    use makonis_api::compute::{BackupSpec, BackupStatus};

    use super::*;

    const UID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    fn backup(target: Option<BackupTarget>, location: Option<BackupLocation>) -> Backup {
        let mut backup =
            Backup::new("nightly", BackupSpec { volume: "data".into(), policy: None, target, verify: true });
        backup.metadata.namespace = Some("agency-a".into());
        backup.metadata.uid = Some(UID.into());
        backup.status = Some(BackupStatus { location, ..BackupStatus::default() });
        backup
    }

    fn target() -> BackupTarget {
        BackupTarget { host_pool: "dc1".into(), host: "kvm-b".into(), storage_pool: "backup".into() }
    }

    #[test]
    fn a_manifest_is_the_backups_only_when_it_records_its_uid_and_data() {
        let b = backup(None, None);
        let names = names(&b);
        let written = Manifest::of(&b, &names.data, 3, "abc", true, "2026-01-01T00:00:00Z".into());
        let text = serde_json::to_vec(&written).unwrap();
        assert_eq!(Manifest::read(&text, &b, &names, false), Some(written.clone()));
        let mut foreign = written.clone();
        foreign.uid = Some("11111111-2222-3333-4444-555555555555".into());
        assert_eq!(Manifest::read(&serde_json::to_vec(&foreign).unwrap(), &b, &names, false), None);
        let mut elsewhere = written.clone();
        elsewhere.data = "agency-b.precious.raw".into();
        assert_eq!(Manifest::read(&serde_json::to_vec(&elsewhere).unwrap(), &b, &names, false), None);
        let mut old = written;
        old.uid = None;
        old.data = names.legacy_data.clone();
        let old_text = serde_json::to_vec(&old).unwrap();
        assert!(Manifest::read(&old_text, &b, &names, true).is_some(), "a legacy manifest under the legacy name");
        assert!(Manifest::read(&old_text, &b, &names, false).is_none(), "a manifest without a UID is only legacy");
        assert!(Manifest::read(b"not json", &b, &names, false).is_none());
    }

    #[test]
    fn a_recorded_location_of_someone_elses_data_is_a_mismatch() {
        let names = names(&backup(None, None));
        let own = target_location(&names.data);
        assert!(mismatches(&backup(Some(target()), Some(own.clone()))).is_empty());
        let mut foreign = own.clone();
        foreign.volume_name = "agency-b.precious.11111111-2222-3333-4444-555555555555.raw".into();
        foreign.storage_pool = "disks".into();
        let found = mismatches(&backup(Some(target()), Some(foreign.clone())));
        let fields: Vec<&str> = found.iter().map(|m| m.field).collect();
        assert_eq!(fields, ["status.location.volumeName", "status.location"]);
        let by_policy = mismatches(&backup(None, Some(foreign)));
        assert_eq!(by_policy.len(), 1, "a policy's target may have moved; only the name is checked");
    }

    fn target_location(data: &str) -> BackupLocation {
        BackupLocation {
            host_pool: "dc1".into(),
            host: "kvm-b".into(),
            storage_pool: "backup".into(),
            volume_name: data.into(),
        }
    }
}
