//! The names Mākonis gives its objects on a hypervisor, and the owner each name records.
//!
//! libvirt storage volumes carry no metadata of their own (a `<metadata>` element in a
//! volume's XML is dropped), so a volume's name is its owner record: every name of data
//! ends with the owning object's full UID before a suffix that says what it is, e.g.
//! `<namespace>.<name>.<uid>.qcow2`. The operator only ever computes these names from the
//! object itself (namespace, name, UID), never from anything written into its status,
//! and checks with [`owned_by`] that a name carries the object's UID before it attaches,
//! overwrites or deletes the data. A UID is never reused, so no other object's data can
//! have such a name. The namespace and name in front are for people reading `virsh`
//! output (cut short when long; the UID decides).
//!
//! Data made before the full UID was used carries only its first eight characters
//! ([`legacy`]); it is still found, under the name computed from the same object.

/// The most bytes of `<namespace>.<name>` a name carries (libvirt volume names in a
/// directory pool are file names, at most 255 bytes with the UID and suffix).
const READABLE_MAX: usize = 160;

/// What a libvirt name ends with, by what the data is.
const SUFFIXES: [&str; 4] = [".cidata.iso", ".manifest.json", ".qcow2", ".raw"];

/// The libvirt domain of a virtual machine: `<namespace>.<name>`. The domain also
/// carries the machine's UID in its metadata; a domain of that name with another UID
/// is never touched.
pub fn domain_name(namespace: &str, name: &str) -> String {
    format!("{namespace}.{name}")
}

/// The libvirt volume of a `Volume`: `<namespace>.<name>.<uid>.<raw|qcow2>`.
pub fn volume_name(namespace: &str, name: &str, uid: &str, format: &str) -> String {
    format!("{}.{uid}.{format}", readable(namespace, name))
}

/// The NoCloud seed disk of a virtual machine: `<namespace>.<name>.<uid>.cidata.iso`.
pub fn seed_name(namespace: &str, name: &str, uid: &str) -> String {
    format!("{}.{uid}.cidata.iso", readable(namespace, name))
}

/// The data of a `Backup`: `backup.<namespace>.<name>.<uid>.raw`.
pub fn backup_data_name(namespace: &str, name: &str, uid: &str) -> String {
    format!("backup.{}.{uid}.raw", readable(namespace, name))
}

/// The manifest of a completed `Backup`, written last: its presence is what makes the
/// data a complete backup (`backup.<namespace>.<name>.<uid>.manifest.json`).
pub fn backup_manifest_name(namespace: &str, name: &str, uid: &str) -> String {
    format!("backup.{}.{uid}.manifest.json", readable(namespace, name))
}

/// The owner UID a libvirt name made by this module records; `None` for names it did not
/// make (images, volumes made by hand, legacy names).
pub fn owner_of(libvirt_name: &str) -> Option<&str> {
    let stem = SUFFIXES.iter().find_map(|suffix| libvirt_name.strip_suffix(suffix))?;
    let (_, uid) = stem.rsplit_once('.')?;
    is_uid(uid).then_some(uid)
}

/// Whether `libvirt_name` is data of the object with UID `uid`: it records that UID, or it
/// is exactly the legacy name `legacy_name` computed from the same object.
pub fn owned_by(libvirt_name: &str, uid: &str, legacy_name: &str) -> bool {
    owner_of(libvirt_name) == Some(uid) || (!uid.is_empty() && libvirt_name == legacy_name)
}

/// A Kubernetes UID: a UUID in its 36-character text form.
fn is_uid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `<namespace>.<name>`, cut to [`READABLE_MAX`] bytes.
fn readable(namespace: &str, name: &str) -> String {
    let mut text = format!("{namespace}.{name}");
    let mut cut = READABLE_MAX.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
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

/// The names data had before names carried the full UID: the same shapes with the UID's
/// first eight characters. Only looked up (and removed with their object), never made.
pub mod legacy {
    /// A `Volume`'s data: `<namespace>.<name>.<uid8>.<raw|qcow2>`.
    pub fn volume_name(namespace: &str, name: &str, uid: &str, format: &str) -> String {
        format!("{namespace}.{name}.{}.{format}", short_uid(uid))
    }

    /// A machine's seed disk: `<namespace>.<name>.<uid8>.cidata.iso`.
    pub fn seed_name(namespace: &str, name: &str, uid: &str) -> String {
        format!("{namespace}.{name}.{}.cidata.iso", short_uid(uid))
    }

    /// A `Backup`'s data: `backup.<namespace>.<name>.<uid8>.raw`.
    pub fn backup_data_name(namespace: &str, name: &str, uid: &str) -> String {
        format!("backup.{namespace}.{name}.{}.raw", short_uid(uid))
    }

    /// A `Backup`'s manifest: `backup.<namespace>.<name>.<uid8>.manifest.json`.
    pub fn backup_manifest_name(namespace: &str, name: &str, uid: &str) -> String {
        format!("backup.{namespace}.{name}.{}.manifest.json", short_uid(uid))
    }

    fn short_uid(uid: &str) -> &str {
        uid.get(..8).unwrap_or(uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    const OTHER: &str = "11111111-2222-3333-4444-555555555555";

    #[test]
    fn names_carry_namespace_name_and_the_full_uid() {
        assert_eq!(domain_name("agency-vdi", "web-1"), "agency-vdi.web-1");
        assert_eq!(volume_name("agency-vdi", "data", UID, "qcow2"), format!("agency-vdi.data.{UID}.qcow2"));
        assert_eq!(seed_name("agency-vdi", "web-1", UID), format!("agency-vdi.web-1.{UID}.cidata.iso"));
        assert_eq!(backup_data_name("agency-vdi", "nightly", UID), format!("backup.agency-vdi.nightly.{UID}.raw"));
        assert_eq!(
            backup_manifest_name("agency-vdi", "nightly", UID),
            format!("backup.agency-vdi.nightly.{UID}.manifest.json")
        );
    }

    #[test]
    fn every_name_records_its_owner() {
        for name in [
            volume_name("agency-vdi", "data", UID, "raw"),
            volume_name("agency-vdi", "data.with.dots", UID, "qcow2"),
            seed_name("agency-vdi", "web-1", UID),
            backup_data_name("agency-vdi", "nightly", UID),
            backup_manifest_name("agency-vdi", "nightly", UID),
        ] {
            assert_eq!(owner_of(&name), Some(UID), "{name}");
            assert!(owned_by(&name, UID, "unused"), "{name}");
            assert!(!owned_by(&name, OTHER, "unused"), "{name} is not OTHER's");
        }
    }

    #[test]
    fn names_not_made_here_record_no_owner() {
        for name in ["debian-12.qcow2", "agency-b.data.0f1e2d3c.raw", "x.raw", "/dev/sda", "", UID] {
            assert_eq!(owner_of(name), None, "{name}");
        }
        assert_eq!(owner_of(&format!("ns.v.{}.raw", &UID[..35])), None, "a UID cut short is no UID");
    }

    #[test]
    fn another_objects_name_never_passes_for_ours() {
        // A name chosen to look like ours: an object named after another's UID.
        let crafted = volume_name("agency-a", &format!("x.{UID}"), OTHER, "raw");
        assert_eq!(owner_of(&crafted), Some(OTHER));
        assert!(!owned_by(&crafted, UID, &legacy::volume_name("agency-a", "x", UID, "raw")));
        // A legacy name is ours only when it is exactly the one computed from the object.
        let old = legacy::volume_name("agency-a", "data", UID, "raw");
        assert_eq!(old, "agency-a.data.0f1e2d3c.raw");
        assert!(owned_by(&old, UID, &old));
        assert!(!owned_by(&old, OTHER, &legacy::volume_name("agency-a", "data", OTHER, "raw")));
        assert!(!owned_by("", "", ""), "an object without a UID owns nothing");
    }

    #[test]
    fn long_names_stay_within_a_file_name() {
        let namespace = "agency-".to_string() + &"n".repeat(56);
        let name = "v".repeat(253);
        let made = backup_manifest_name(&namespace, &name, UID);
        assert!(made.len() <= 255, "{} bytes", made.len());
        assert_eq!(owner_of(&made), Some(UID));
    }

    #[test]
    fn legacy_names_keep_the_first_eight_characters() {
        assert_eq!(legacy::volume_name("ns", "v", "abc", "raw"), "ns.v.abc.raw", "a short UID is used whole");
        assert_eq!(legacy::seed_name("agency-vdi", "web-1", UID), "agency-vdi.web-1.0f1e2d3c.cidata.iso");
        assert_eq!(legacy::backup_data_name("agency-vdi", "nightly", UID), "backup.agency-vdi.nightly.0f1e2d3c.raw");
        assert_eq!(
            legacy::backup_manifest_name("agency-vdi", "nightly", UID),
            "backup.agency-vdi.nightly.0f1e2d3c.manifest.json"
        );
    }

    #[test]
    fn disk_targets_follow_the_virtio_order() {
        assert_eq!(disk_target(0), "vda");
        assert_eq!(disk_target(1), "vdb");
        assert_eq!(disk_target(25), "vdz");
        assert_eq!(disk_target(26), "vdaa");
    }
}
