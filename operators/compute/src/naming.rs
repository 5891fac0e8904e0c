//! The names Mākonis gives its objects on a hypervisor.
//!
//! Every name carries the Kubernetes namespace and name (so an operator with `virsh`
//! sees whose it is) and, for data, the first characters of the object's UID: a volume
//! deleted with `Retain` keeps its data under the old UID, and a new object of the same
//! name never touches it.

/// The libvirt domain of a virtual machine: `<namespace>.<name>`. The domain also
/// carries the machine's UID in its metadata; a domain of that name with another UID
/// is never touched.
pub fn domain_name(namespace: &str, name: &str) -> String {
    format!("{namespace}.{name}")
}

/// The libvirt volume of a `Volume`: `<namespace>.<name>.<uid8>.<raw|qcow2>`.
pub fn volume_name(namespace: &str, name: &str, uid: &str, format: &str) -> String {
    format!("{namespace}.{name}.{}.{format}", short_uid(uid))
}

/// The NoCloud seed disk of a virtual machine: `<namespace>.<name>.<uid8>.cidata.iso`.
pub fn seed_name(namespace: &str, name: &str, uid: &str) -> String {
    format!("{namespace}.{name}.{}.cidata.iso", short_uid(uid))
}

/// The data of a `Backup`: `backup.<namespace>.<name>.<uid8>.raw`.
pub fn backup_data_name(namespace: &str, name: &str, uid: &str) -> String {
    format!("backup.{namespace}.{name}.{}.raw", short_uid(uid))
}

/// The manifest of a completed `Backup`, written last: its presence is what makes the
/// data a complete backup (`backup.<namespace>.<name>.<uid8>.manifest.json`).
pub fn backup_manifest_name(namespace: &str, name: &str, uid: &str) -> String {
    format!("backup.{namespace}.{name}.{}.manifest.json", short_uid(uid))
}

/// The guest device of the disk at `index` in the machine's disk list: `vda`, `vdb`, …
pub fn disk_target(index: usize) -> String {
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    if index < letters.len() {
        format!("vd{}", letters[index] as char)
    } else {
        format!("vd{}{}", letters[index / letters.len() - 1] as char, letters[index % letters.len()] as char)
    }
}

/// The name of the `Volume` created for an inline disk: `<machine>-<disk>`.
pub fn inline_volume_name(machine: &str, disk: &str) -> String {
    format!("{machine}-{disk}")
}

fn short_uid(uid: &str) -> &str {
    uid.get(..8).unwrap_or(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_namespace_name_and_uid() {
        let uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        assert_eq!(domain_name("agency-vdi", "web-1"), "agency-vdi.web-1");
        assert_eq!(volume_name("agency-vdi", "data", uid, "qcow2"), "agency-vdi.data.0f1e2d3c.qcow2");
        assert_eq!(seed_name("agency-vdi", "web-1", uid), "agency-vdi.web-1.0f1e2d3c.cidata.iso");
        assert_eq!(backup_data_name("agency-vdi", "nightly", uid), "backup.agency-vdi.nightly.0f1e2d3c.raw");
        assert_eq!(
            backup_manifest_name("agency-vdi", "nightly", uid),
            "backup.agency-vdi.nightly.0f1e2d3c.manifest.json"
        );
        assert_eq!(volume_name("ns", "v", "abc", "raw"), "ns.v.abc.raw", "a short UID is used whole");
    }

    #[test]
    fn disk_targets_follow_the_virtio_order() {
        assert_eq!(disk_target(0), "vda");
        assert_eq!(disk_target(1), "vdb");
        assert_eq!(disk_target(25), "vdz");
        assert_eq!(disk_target(26), "vdaa");
    }
}
