//! Pure XML builders and tolerant parsers for libvirt documents: domains with Mākonis metadata,
//! volumes, directory pools and disk-only snapshots. No libvirt calls here.

use std::fmt::Write as _;

use super::spec::{DomainSpec, NetworkSpec, VolumeFormat};

/// The XML namespace of the `<mk:vm>` element in every Mākonis domain's `<metadata>`.
pub const METADATA_NAMESPACE: &str = "https://makonis.lv/xmlns/compute/v1";

/// `text` with `& < > " '` replaced by entities, safe in element text and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Reverses [`escape`] and numeric character references; unknown entities stay as they are.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Start tags `<name …>` / `<name …/>` in `xml`, as slices from `<` to `>`.
fn start_tags<'a>(xml: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let open = format!("<{name}");
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(found) = xml[from..].find(&open) {
            let at = from + found;
            from = at + open.len();
            let after = &xml[from..];
            let boundary = after.chars().next().is_some_and(|c| c.is_whitespace() || c == '>' || c == '/');
            if let (true, Some(end)) = (boundary, after.find('>')) {
                return Some(&xml[at..from + end + 1]);
            }
        }
        None
    })
}

/// Whole elements `<name …>…</name>` in `xml` (not nested in one another).
fn elements<'a>(xml: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let close = format!("</{name}>");
    start_tags(xml, name).filter_map(move |tag| {
        let at = tag.as_ptr() as usize - xml.as_ptr() as usize;
        if tag.ends_with("/>") {
            return Some(tag);
        }
        let end = xml[at..].find(&close)?;
        Some(&xml[at..at + end + close.len()])
    })
}

/// The unescaped value of attribute `name` in the start tag `tag`.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    while let Some(at) = search.find(name) {
        let before = search[..at].chars().last();
        let after = search[at + name.len()..].trim_start();
        if before.is_some_and(char::is_whitespace)
            && let Some(value) = after.strip_prefix('=')
        {
            let value = value.trim_start();
            let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
            let end = value[1..].find(quote)?;
            return Some(unescape(&value[1..1 + end]));
        }
        search = &search[at + name.len()..];
    }
    None
}

/// The unescaped text of the first `<name>text</name>` in `xml`.
fn text_of(xml: &str, name: &str) -> Option<String> {
    let element = elements(xml, name).next()?;
    let start = element.find('>')? + 1;
    let end = element.rfind("</")?;
    (start <= end).then(|| unescape(element[start..end].trim()))
}

fn format_name(format: VolumeFormat) -> &'static str {
    match format {
        VolumeFormat::Raw => "raw",
        VolumeFormat::Qcow2 => "qcow2",
    }
}

/// The libvirt domain XML for `spec`: an x86_64 HVM guest, hardware-accelerated (`type='kvm'`)
/// when `kvm` says the host offers it and software-emulated (`type='qemu'`) otherwise, with
/// virtio disks and NICs, an optional read-only SATA CD-ROM, a serial console on a pty, no
/// graphics, `on_crash` destroy, title "namespace/name" and our `<mk:vm>` metadata. `uuid`
/// keeps the identity of an existing domain when it is redefined.
pub fn domain_xml(spec: &DomainSpec, uuid: Option<&str>, kvm: bool) -> String {
    let mut xml = String::from(if kvm { "<domain type='kvm'>\n" } else { "<domain type='qemu'>\n" });
    let _ = writeln!(xml, "  <name>{}</name>", escape(&spec.name));
    if let Some(uuid) = uuid {
        let _ = writeln!(xml, "  <uuid>{}</uuid>", escape(uuid));
    }
    let _ = writeln!(xml, "  <title>{}/{}</title>", escape(&spec.owner_namespace), escape(&spec.owner_name));
    let _ = writeln!(
        xml,
        "  <metadata>\n    <mk:vm xmlns:mk=\"{METADATA_NAMESPACE}\" uid=\"{}\" namespace=\"{}\" name=\"{}\"/>\n  </metadata>",
        escape(&spec.owner_uid),
        escape(&spec.owner_namespace),
        escape(&spec.owner_name)
    );
    let _ = writeln!(xml, "  <memory unit='KiB'>{}</memory>", spec.memory_bytes.div_ceil(1024));
    let _ = writeln!(xml, "  <vcpu placement='static'>{}</vcpu>", spec.vcpus);
    xml.push_str("  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='hd'/>\n");
    if spec.cdrom.is_some() {
        xml.push_str("    <boot dev='cdrom'/>\n");
    }
    xml.push_str("  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n  <clock offset='utc'/>\n");
    xml.push_str("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n");
    xml.push_str("  <on_crash>destroy</on_crash>\n  <devices>\n");
    for disk in &spec.disks {
        let _ = writeln!(
            xml,
            "    <disk type='file' device='disk'>\n      <driver name='qemu' type='{}' discard='unmap'/>\n      \
             <source file='{}'/>\n      <target dev='{}' bus='virtio'/>\n    </disk>",
            format_name(disk.format),
            escape(&disk.path),
            escape(&disk.target)
        );
    }
    if let Some(iso) = &spec.cdrom {
        let _ = writeln!(
            xml,
            "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      \
             <source file='{}'/>\n      <target dev='sda' bus='sata'/>\n      <readonly/>\n    </disk>",
            escape(iso)
        );
    }
    for network in &spec.networks {
        match network {
            NetworkSpec::Network(name) => {
                let _ = writeln!(
                    xml,
                    "    <interface type='network'>\n      <source network='{}'/>\n      <model type='virtio'/>\n    \
                     </interface>",
                    escape(name)
                );
            }
            NetworkSpec::User => {
                xml.push_str("    <interface type='user'>\n      <model type='virtio'/>\n    </interface>\n");
            }
        }
    }
    xml.push_str("    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n");
    xml.push_str("    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n");
    xml.push_str("  </devices>\n</domain>\n");
    xml
}

/// The `uid` of our `<mk:vm>` metadata element in a domain XML, whatever prefix it carries;
/// `None` for domains Mākonis does not manage.
pub fn owner_uid(domain_xml: &str) -> Option<String> {
    let metadata = elements(domain_xml, "metadata").next()?;
    let declaration = metadata.find(&format!("\"{METADATA_NAMESPACE}\"")).or_else(|| {
        metadata.find(&format!("'{METADATA_NAMESPACE}'")) // libvirt may re-quote attributes
    })?;
    let start = metadata[..declaration].rfind('<')?;
    let end = declaration + metadata[declaration..].find('>')?;
    attribute(&metadata[start..=end], "uid").filter(|uid| !uid.is_empty())
}

/// The volume XML for a new volume of `capacity_bytes` (allocated lazily) in `format`.
pub fn volume_xml(name: &str, capacity_bytes: u64, format: VolumeFormat) -> String {
    format!(
        "<volume>\n  <name>{}</name>\n  <capacity unit='bytes'>{capacity_bytes}</capacity>\n  \
         <allocation unit='bytes'>0</allocation>\n  <target>\n    <format type='{}'/>\n  </target>\n</volume>\n",
        escape(name),
        format_name(format)
    )
}

/// The storage pool XML of a directory pool `name` at `path`.
pub fn pool_dir_xml(name: &str, path: &str) -> String {
    format!(
        "<pool type='dir'>\n  <name>{}</name>\n  <target>\n    <path>{}</path>\n  </target>\n</pool>\n",
        escape(name),
        escape(path)
    )
}

/// The snapshot XML of an external disk-only snapshot `name` that moves disk `target_dev` onto
/// a new qcow2 overlay at `overlay_path`, leaving the disks `other_targets` alone.
pub fn snapshot_xml(name: &str, target_dev: &str, overlay_path: &str, other_targets: &[String]) -> String {
    let mut xml = format!(
        "<domainsnapshot>\n  <name>{}</name>\n  <description>Makonis: {} frozen for a consistent copy</description>\n  \
         <disks>\n    <disk name='{}' snapshot='external' type='file'>\n      <driver type='qcow2'/>\n      \
         <source file='{}'/>\n    </disk>\n",
        escape(name),
        escape(target_dev),
        escape(target_dev),
        escape(overlay_path)
    );
    for other in other_targets.iter().filter(|other| *other != target_dev) {
        let _ = writeln!(xml, "    <disk name='{}' snapshot='no'/>", escape(other));
    }
    xml.push_str("  </disks>\n</domainsnapshot>\n");
    xml
}

/// The format in a volume XML's `<target>`; anything but qcow2 is read byte for byte (raw).
pub(crate) fn volume_format(volume_xml: &str) -> VolumeFormat {
    let format = elements(volume_xml, "target")
        .next()
        .and_then(|target| start_tags(target, "format").next().and_then(|tag| attribute(tag, "type")));
    match format.as_deref() {
        Some("qcow2") => VolumeFormat::Qcow2,
        _ => VolumeFormat::Raw,
    }
}

/// The `<target><path>` of a storage pool XML.
pub(crate) fn pool_path(pool_xml: &str) -> Option<String> {
    elements(pool_xml, "target").next().and_then(|target| text_of(target, "path"))
}

/// The file behind a domain disk: its path and the format qemu reads it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DiskSource {
    /// The top image's path.
    pub path: String,
    /// The driver type, e.g. "raw" or "qcow2".
    pub format: String,
}

/// The source of the disk with target `target_dev` in a domain XML (the top of its chain).
pub(crate) fn disk_source(domain_xml: &str, target_dev: &str) -> Option<DiskSource> {
    elements(domain_xml, "disk").find_map(|disk| {
        let dev = start_tags(disk, "target").next().and_then(|tag| attribute(tag, "dev"))?;
        if dev != target_dev {
            return None;
        }
        let source = start_tags(disk, "source").next()?;
        let path = attribute(source, "file").or_else(|| attribute(source, "dev"))?;
        let format = start_tags(disk, "driver").next().and_then(|tag| attribute(tag, "type")).unwrap_or_default();
        Some(DiskSource { path, format })
    })
}

/// The target devices of all disks in a domain XML, e.g. `["vda", "vdb", "sda"]`.
pub(crate) fn disk_targets(domain_xml: &str) -> Vec<String> {
    elements(domain_xml, "disk")
        .filter_map(|disk| start_tags(disk, "target").next().and_then(|tag| attribute(tag, "dev")))
        .collect()
}

/// True when the domain has UEFI variables (`<nvram>`) to remove with it.
pub(crate) fn has_nvram(domain_xml: &str) -> bool {
    start_tags(domain_xml, "nvram").next().is_some()
}

#[cfg(test)]
mod tests {
    use super::super::spec::DiskSpec;
    use super::*;

    fn spec() -> DomainSpec {
        DomainSpec {
            name: "web-1".into(),
            owner_uid: "6f1c-<&>\"'".into(),
            owner_namespace: "team-a".into(),
            owner_name: "web <1> & \"co\"".into(),
            vcpus: 2,
            memory_bytes: 512 * 1024 * 1024 + 1,
            disks: vec![
                DiskSpec { path: "/pool/web-1's root.img".into(), format: VolumeFormat::Raw, target: "vda".into() },
                DiskSpec { path: "/pool/web-1-data.qcow2".into(), format: VolumeFormat::Qcow2, target: "vdb".into() },
            ],
            networks: vec![NetworkSpec::Network("tenant&a".into()), NetworkSpec::User],
            cdrom: Some("/pool/seed.iso".into()),
        }
    }

    #[test]
    fn domain_xml_escapes_everything() {
        let xml = domain_xml(&spec(), Some("0f6f5a3e-8d0b-4c1e-9b5a-2f3c4d5e6f70"), false);
        assert!(xml.starts_with("<domain type='qemu'>"));
        assert!(domain_xml(&spec(), None, true).starts_with("<domain type='kvm'>"), "KVM where the host has it");
        assert!(xml.contains("<title>team-a/web &lt;1&gt; &amp; &quot;co&quot;</title>"), "{xml}");
        assert!(xml.contains("uid=\"6f1c-&lt;&amp;&gt;&quot;&apos;\""), "{xml}");
        assert!(xml.contains("<source file='/pool/web-1&apos;s root.img'/>"), "{xml}");
        assert!(xml.contains("<source network='tenant&amp;a'/>"), "{xml}");
        assert!(xml.contains("<uuid>0f6f5a3e-8d0b-4c1e-9b5a-2f3c4d5e6f70</uuid>"));
        assert!(!xml.contains("<graphics"));
    }

    #[test]
    fn domain_xml_devices_and_sizes() {
        let xml = domain_xml(&spec(), None, false);
        assert!(!xml.contains("<uuid>"));
        assert!(xml.contains("<memory unit='KiB'>524289</memory>"), "rounds up to whole KiB");
        assert!(xml.contains("<vcpu placement='static'>2</vcpu>"));
        assert!(xml.contains("<on_crash>destroy</on_crash>"));
        assert!(xml.contains("<driver name='qemu' type='raw' discard='unmap'/>"));
        assert!(xml.contains("<driver name='qemu' type='qcow2' discard='unmap'/>"));
        assert!(xml.contains("<target dev='sda' bus='sata'/>\n      <readonly/>"));
        assert!(xml.contains("<interface type='user'>"));
        assert!(xml.contains("<serial type='pty'>"));
        assert_eq!(disk_targets(&xml), ["vda", "vdb", "sda"]);
    }

    #[test]
    fn metadata_round_trip() {
        let spec = spec();
        let xml = domain_xml(&spec, None, false);
        assert_eq!(owner_uid(&xml).as_deref(), Some(spec.owner_uid.as_str()));
        // As libvirt may print it back: another prefix, single quotes, attributes reordered.
        let reformatted = "<domain><name>x</name><metadata>\n<other:x xmlns:other='urn:x' uid='nope'/>\n\
             <m:vm name='n' uid='abc&amp;1' xmlns:m='https://makonis.lv/xmlns/compute/v1'/>\n</metadata></domain>";
        assert_eq!(owner_uid(reformatted).as_deref(), Some("abc&1"));
        assert_eq!(owner_uid("<domain type='test'><name>test</name></domain>"), None);
        assert_eq!(owner_uid("<domain><metadata><a:b xmlns:a='urn:a' uid='x'/></metadata></domain>"), None);
    }

    #[test]
    fn volume_xml_and_format() {
        let raw = volume_xml("a<b", 64 << 20, VolumeFormat::Raw);
        assert!(raw.contains("<name>a&lt;b</name>"));
        assert!(raw.contains("<capacity unit='bytes'>67108864</capacity>"));
        assert_eq!(volume_format(&raw), VolumeFormat::Raw);
        assert_eq!(volume_format(&volume_xml("q", 1, VolumeFormat::Qcow2)), VolumeFormat::Qcow2);
        let with_backing = "<volume><target><path>/p/o</path><format type='qcow2'/></target>\
             <backingStore><path>/p/b</path><format type='raw'/></backingStore></volume>";
        assert_eq!(volume_format(with_backing), VolumeFormat::Qcow2);
        assert_eq!(volume_format("<volume><target><format type='iso'/></target></volume>"), VolumeFormat::Raw);
    }

    #[test]
    fn pool_xml_round_trip() {
        let xml = pool_dir_xml("backup & co", "/var/lib/makonis/backup");
        assert!(xml.contains("<name>backup &amp; co</name>"));
        assert_eq!(pool_path(&xml).as_deref(), Some("/var/lib/makonis/backup"));
        let from_libvirt = "<pool type='dir'>\n  <name>p</name>\n  <source>\n  </source>\n  <target>\n    \
             <path>/srv/p</path>\n    <permissions>\n      <mode>0711</mode>\n    </permissions>\n  </target>\n</pool>";
        assert_eq!(pool_path(from_libvirt).as_deref(), Some("/srv/p"));
    }

    #[test]
    fn snapshot_xml_moves_only_the_frozen_disk() {
        let others = ["vda".to_string(), "vdb".to_string(), "sda".to_string()];
        let xml = snapshot_xml("makonis-freeze-vda", "vda", "/p/root.img.frozen.qcow2", &others);
        assert!(xml.contains("<disk name='vda' snapshot='external' type='file'>"));
        assert!(xml.contains("<source file='/p/root.img.frozen.qcow2'/>"));
        assert!(xml.contains("<disk name='vdb' snapshot='no'/>"));
        assert!(xml.contains("<disk name='sda' snapshot='no'/>"));
        assert!(!xml.contains("<disk name='vda' snapshot='no'/>"));
    }

    #[test]
    fn disk_source_reads_the_top_of_the_chain() {
        let xml = "<domain><devices>\
            <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
              <source file='/p/root.img.frozen.qcow2' index='2'/>\
              <backingStore type='file' index='1'><format type='raw'/><source file='/p/root.img'/></backingStore>\
              <target dev='vda' bus='virtio'/></disk>\
            <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/p/o&amp;x.img'/>\
              <target dev='vdb' bus='virtio'/></disk></devices></domain>";
        assert_eq!(
            disk_source(xml, "vda"),
            Some(DiskSource { path: "/p/root.img.frozen.qcow2".into(), format: "qcow2".into() })
        );
        assert_eq!(disk_source(xml, "vdb").map(|s| s.path), Some("/p/o&x.img".into()));
        assert_eq!(disk_source(xml, "vdc"), None);
        assert!(!has_nvram(xml));
        assert!(has_nvram("<domain><os><nvram>/x</nvram></os></domain>"));
    }

    #[test]
    fn unescape_handles_references() {
        assert_eq!(unescape("a&#65;&#x42;&amp;&unknown;&"), "aAB&&unknown;&");
    }
}
