//! NoCloud seed images for cloud-init.
//!
//! cloud-init's NoCloud datasource looks for a filesystem labelled `cidata` holding `meta-data`, `user-data` and
//! optionally `network-config`. [`nocloud_iso`] builds such a filesystem as an ISO 9660 image with volume
//! identifier `CIDATA` and a Joliet supplementary volume descriptor, so the files appear with their lowercase,
//! hyphenated names when mounted (Linux prefers Joliet). Without Joliet the names read `META_DATA.`, etc.
//!
//! Layout, in 2048-byte sectors: 0–15 system area (zeros), 16 primary volume descriptor, 17 Joliet descriptor,
//! 18 set terminator, 19–20 the primary L and M path tables, 21–22 the Joliet L and M path tables, 23 the primary
//! root directory, 24 the Joliet root directory, then each file's data from sector 25 on, each starting on a
//! sector boundary. Both descriptors point at the same file data. Every timestamp is the Unix epoch
//! (1970-01-01 00:00:00 UTC), so the same input always gives the same bytes.

const SECTOR: usize = 2048;
const PRIMARY_SECTOR: u32 = 16;
const JOLIET_SECTOR: u32 = 17;
const TERMINATOR_SECTOR: u32 = 18;
const PRIMARY_L_TABLE: u32 = 19;
const PRIMARY_M_TABLE: u32 = 20;
const JOLIET_L_TABLE: u32 = 21;
const JOLIET_M_TABLE: u32 = 22;
const PRIMARY_ROOT: u32 = 23;
const JOLIET_ROOT: u32 = 24;
const FIRST_FILE: u32 = 25;
const PATH_TABLE_SIZE: u32 = 10;
const VOLUME_ID: &str = "CIDATA";
/// The Unix epoch as a 7-byte directory record date: years since 1900, month, day, hour, minute, second, offset.
const RECORD_DATE: [u8; 7] = [70, 1, 1, 0, 0, 0, 0];
/// The Unix epoch as a 17-byte volume descriptor date: `YYYYMMDDHHMMSScc` and a zero UTC offset.
const VOLUME_DATE: &[u8; 17] = b"1970010100000000\0";
/// An unset volume descriptor date.
const NO_DATE: &[u8; 17] = b"0000000000000000\0";

/// Builds the YAML `meta-data` file: `instance-id: …` and `local-hostname: …`, quoting values that would not
/// read back as plain strings.
pub fn meta_data(instance_id: &str, hostname: &str) -> String {
    format!("instance-id: {}\nlocal-hostname: {}\n", yaml_scalar(instance_id), yaml_scalar(hostname))
}

/// Builds a NoCloud seed: an ISO 9660 image labelled `CIDATA`, with Joliet names, holding `meta-data`,
/// `user-data` and, when given, `network-config`. Panics if a file is 4 GiB or larger.
pub fn nocloud_iso(meta_data: &str, user_data: &str, network_config: Option<&str>) -> Vec<u8> {
    // Directory records must be sorted by name; these orders agree for both name sets.
    let mut files = vec![("META_DATA.;1", "meta-data", meta_data.as_bytes())];
    if let Some(network_config) = network_config {
        files.push(("NETWORK_CONFIG.;1", "network-config", network_config.as_bytes()));
    }
    files.push(("USER_DATA.;1", "user-data", user_data.as_bytes()));

    let mut next = FIRST_FILE;
    let mut extents = Vec::with_capacity(files.len());
    for (_, _, data) in &files {
        extents.push(next);
        next += u32::try_from(data.len().div_ceil(SECTOR)).expect("seed file larger than an ISO 9660 volume");
    }
    let total_sectors = next;

    let mut image = vec![0u8; total_sectors as usize * SECTOR];
    let primary_root: Vec<(Vec<u8>, u32, u32)> = files
        .iter()
        .zip(&extents)
        .map(|((name, _, data), &extent)| (name.as_bytes().to_vec(), extent, len32(data)))
        .collect();
    let joliet_root: Vec<(Vec<u8>, u32, u32)> =
        files.iter().zip(&extents).map(|((_, name, data), &extent)| (ucs2(name), extent, len32(data))).collect();

    put_sector(&mut image, PRIMARY_SECTOR, &volume_descriptor(false, total_sectors));
    put_sector(&mut image, JOLIET_SECTOR, &volume_descriptor(true, total_sectors));
    put_sector(&mut image, TERMINATOR_SECTOR, &terminator());
    put_sector(&mut image, PRIMARY_L_TABLE, &path_table(PRIMARY_ROOT, false));
    put_sector(&mut image, PRIMARY_M_TABLE, &path_table(PRIMARY_ROOT, true));
    put_sector(&mut image, JOLIET_L_TABLE, &path_table(JOLIET_ROOT, false));
    put_sector(&mut image, JOLIET_M_TABLE, &path_table(JOLIET_ROOT, true));
    put_sector(&mut image, PRIMARY_ROOT, &directory(PRIMARY_ROOT, &primary_root));
    put_sector(&mut image, JOLIET_ROOT, &directory(JOLIET_ROOT, &joliet_root));
    for ((_, _, data), &extent) in files.iter().zip(&extents) {
        put_sector(&mut image, extent, data);
    }
    image
}

fn len32(data: &[u8]) -> u32 {
    u32::try_from(data.len()).expect("seed file larger than 4 GiB")
}

fn put_sector(image: &mut [u8], sector: u32, bytes: &[u8]) {
    let start = sector as usize * SECTOR;
    image[start..start + bytes.len()].copy_from_slice(bytes);
}

fn both_u16(value: u16) -> [u8; 4] {
    let (le, be) = (value.to_le_bytes(), value.to_be_bytes());
    [le[0], le[1], be[0], be[1]]
}

fn both_u32(value: u32) -> [u8; 8] {
    let (le, be) = (value.to_le_bytes(), value.to_be_bytes());
    [le[0], le[1], le[2], le[3], be[0], be[1], be[2], be[3]]
}

/// UCS-2 big-endian, as Joliet stores names.
fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Writes `text` into a fixed-width descriptor field, padded with spaces (UCS-2 spaces for Joliet).
fn text_field(field: &mut [u8], text: &str, joliet: bool) {
    if joliet {
        for (pair, unit) in field.chunks_exact_mut(2).zip(text.encode_utf16().chain(std::iter::repeat(0x20))) {
            pair.copy_from_slice(&unit.to_be_bytes());
        }
    } else {
        for (byte, value) in field.iter_mut().zip(text.bytes().chain(std::iter::repeat(b' '))) {
            *byte = value;
        }
    }
}

/// A directory record; `id` is the raw file identifier (`[0]` for `.`, `[1]` for `..`).
fn directory_record(extent: u32, size: u32, is_directory: bool, id: &[u8]) -> Vec<u8> {
    let length = 33 + id.len() + (id.len() + 1) % 2;
    let mut record = vec![0u8; length];
    record[0] = u8::try_from(length).expect("file identifier too long");
    record[2..10].copy_from_slice(&both_u32(extent));
    record[10..18].copy_from_slice(&both_u32(size));
    record[18..25].copy_from_slice(&RECORD_DATE);
    record[25] = if is_directory { 2 } else { 0 };
    record[28..32].copy_from_slice(&both_u16(1));
    record[32] = id.len() as u8;
    record[33..33 + id.len()].copy_from_slice(id);
    record
}

/// A one-sector root directory: `.`, `..` and the files as (identifier, extent, size).
fn directory(own_sector: u32, files: &[(Vec<u8>, u32, u32)]) -> Vec<u8> {
    let mut bytes = directory_record(own_sector, SECTOR as u32, true, &[0]);
    bytes.extend(directory_record(own_sector, SECTOR as u32, true, &[1]));
    for (id, extent, size) in files {
        bytes.extend(directory_record(*extent, *size, false, id));
    }
    assert!(bytes.len() <= SECTOR, "root directory exceeds one sector");
    bytes
}

/// A path table holding only the root directory, little-endian (L) or big-endian (M).
fn path_table(root_sector: u32, big_endian: bool) -> Vec<u8> {
    let (extent, parent) = if big_endian {
        (root_sector.to_be_bytes(), 1u16.to_be_bytes())
    } else {
        (root_sector.to_le_bytes(), 1u16.to_le_bytes())
    };
    let mut entry = vec![1, 0];
    entry.extend(extent);
    entry.extend(parent);
    entry.extend([0, 0]);
    entry
}

/// The primary volume descriptor, or with `joliet` the Joliet supplementary one (UCS-2 level 3).
fn volume_descriptor(joliet: bool, total_sectors: u32) -> Vec<u8> {
    let mut d = vec![0u8; SECTOR];
    d[0] = if joliet { 2 } else { 1 };
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    text_field(&mut d[8..40], "", joliet);
    text_field(&mut d[40..72], VOLUME_ID, joliet);
    d[80..88].copy_from_slice(&both_u32(total_sectors));
    if joliet {
        d[88..91].copy_from_slice(b"%/E");
    }
    d[120..124].copy_from_slice(&both_u16(1));
    d[124..128].copy_from_slice(&both_u16(1));
    d[128..132].copy_from_slice(&both_u16(SECTOR as u16));
    d[132..140].copy_from_slice(&both_u32(PATH_TABLE_SIZE));
    let (l_table, m_table, root) = if joliet {
        (JOLIET_L_TABLE, JOLIET_M_TABLE, JOLIET_ROOT)
    } else {
        (PRIMARY_L_TABLE, PRIMARY_M_TABLE, PRIMARY_ROOT)
    };
    d[140..144].copy_from_slice(&l_table.to_le_bytes());
    d[148..152].copy_from_slice(&m_table.to_be_bytes());
    d[156..190].copy_from_slice(&directory_record(root, SECTOR as u32, true, &[0]));
    // Volume set, publisher, preparer, application, copyright, abstract and bibliographic identifiers.
    for (start, end) in [(190, 318), (318, 446), (446, 574), (574, 702), (702, 739), (739, 776), (776, 813)] {
        text_field(&mut d[start..end], "", joliet);
    }
    d[813..830].copy_from_slice(VOLUME_DATE);
    d[830..847].copy_from_slice(VOLUME_DATE);
    d[847..864].copy_from_slice(NO_DATE);
    d[864..881].copy_from_slice(VOLUME_DATE);
    d[881] = 1;
    d
}

fn terminator() -> Vec<u8> {
    let mut d = vec![0u8; 7];
    d[0] = 255;
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    d
}

/// `value` as a YAML scalar: plain when it starts with a letter, uses only `[A-Za-z0-9._-]` and is not a YAML
/// boolean or null word; double-quoted otherwise.
fn yaml_scalar(value: &str) -> String {
    const SPECIAL: [&str; 11] = ["y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf"];
    let plain = value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !SPECIAL.iter().any(|word| word.eq_ignore_ascii_case(value));
    if plain {
        return value.to_string();
    }
    let mut quoted = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_DATA: &str = "#cloud-config\nhostname: vm-1\nssh_authorized_keys:\n  - ssh-ed25519 AAAA test\n";
    const NETWORK: &str = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n";

    /// A file or directory found by walking the image independently of the writer.
    #[derive(Debug, PartialEq)]
    struct Entry {
        name: String,
        extent: usize,
        size: usize,
        directory: bool,
    }

    fn le32(bytes: &[u8], at: usize) -> usize {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
    }

    fn be32(bytes: &[u8], at: usize) -> usize {
        u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
    }

    /// Reads a both-endian 32-bit field, checking that both halves agree.
    fn both32(bytes: &[u8], at: usize) -> usize {
        let value = le32(bytes, at);
        assert_eq!(value, be32(bytes, at + 4), "both-endian field at {at} disagrees");
        value
    }

    fn sector(image: &[u8], n: usize) -> &[u8] {
        &image[n * 2048..(n + 1) * 2048]
    }

    fn decode_ucs2(bytes: &[u8]) -> String {
        let units: Vec<u16> = bytes.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]])).collect();
        String::from_utf16(&units).unwrap()
    }

    /// Follows a volume descriptor's root record and lists the root directory.
    fn root_entries(image: &[u8], descriptor: &[u8], joliet: bool) -> Vec<Entry> {
        let root = &descriptor[156..190];
        assert_eq!(root[0], 34);
        assert_eq!(root[25] & 2, 2, "root record is not a directory");
        let (extent, size) = (both32(root, 2), both32(root, 10));
        let dir = &image[extent * 2048..extent * 2048 + size];
        let mut entries = Vec::new();
        let mut at = 0;
        while at < dir.len() && dir[at] != 0 {
            let record = &dir[at..at + dir[at] as usize];
            assert_eq!(record.len() % 2, 0, "odd record length");
            let id = &record[33..33 + record[32] as usize];
            let name = match id {
                [0] => ".".to_string(),
                [1] => "..".to_string(),
                _ if joliet => decode_ucs2(id),
                _ => String::from_utf8(id.to_vec()).unwrap(),
            };
            entries.push(Entry {
                name,
                extent: both32(record, 2),
                size: both32(record, 10),
                directory: record[25] & 2 != 0,
            });
            at += record.len();
        }
        entries
    }

    fn file_text<'a>(image: &'a [u8], entry: &Entry) -> &'a str {
        std::str::from_utf8(&image[entry.extent * 2048..entry.extent * 2048 + entry.size]).unwrap()
    }

    fn check_path_tables(image: &[u8], descriptor: &[u8], root_extent: usize) {
        let size = both32(descriptor, 132);
        assert_eq!(size, 10);
        let l = &sector(image, le32(descriptor, 140))[..size];
        let m = &sector(image, be32(descriptor, 148))[..size];
        assert_eq!((l[0], le32(l, 2), u16::from_le_bytes([l[6], l[7]]), l[8]), (1, root_extent, 1, 0));
        assert_eq!((m[0], be32(m, 2), u16::from_be_bytes([m[6], m[7]]), m[8]), (1, root_extent, 1, 0));
    }

    #[test]
    fn primary_descriptor_and_files() {
        let meta = meta_data("i-0001", "vm-1");
        let image = nocloud_iso(&meta, USER_DATA, Some(NETWORK));
        assert_eq!(image.len() % 2048, 0);
        assert!(image[..16 * 2048].iter().all(|&b| b == 0));
        let pvd = sector(&image, 16);
        assert_eq!((pvd[0], &pvd[1..6], pvd[6]), (1, &b"CD001"[..], 1));
        assert_eq!(&pvd[40..72], format!("{:<32}", "CIDATA").as_bytes());
        assert_eq!(both32(pvd, 80) * 2048, image.len());
        assert_eq!(u16::from_le_bytes([pvd[128], pvd[129]]), 2048);
        let entries = root_entries(&image, pvd, false);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, [".", "..", "META_DATA.;1", "NETWORK_CONFIG.;1", "USER_DATA.;1"]);
        assert!(entries[0].directory && entries[1].directory && !entries[2].directory);
        assert_eq!(file_text(&image, &entries[2]), meta);
        assert_eq!(file_text(&image, &entries[3]), NETWORK);
        assert_eq!(file_text(&image, &entries[4]), USER_DATA);
        check_path_tables(&image, pvd, both32(&pvd[156..190], 2));
        let terminator = sector(&image, 18);
        assert_eq!((terminator[0], &terminator[1..6]), (255, &b"CD001"[..]));
    }

    #[test]
    fn joliet_descriptor_has_lowercase_names() {
        let image = nocloud_iso("instance-id: a\n", USER_DATA, Some(NETWORK));
        let svd = sector(&image, 17);
        assert_eq!((svd[0], &svd[1..6]), (2, &b"CD001"[..]));
        assert_eq!(&svd[88..91], b"%/E");
        assert_eq!(decode_ucs2(&svd[40..72]).trim_end(), "CIDATA");
        assert_eq!(both32(svd, 80) * 2048, image.len());
        let entries = root_entries(&image, svd, true);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, [".", "..", "meta-data", "network-config", "user-data"]);
        assert_eq!(file_text(&image, &entries[2]), "instance-id: a\n");
        assert_eq!(file_text(&image, &entries[3]), NETWORK);
        assert_eq!(file_text(&image, &entries[4]), USER_DATA);
        // The names are stored as raw UCS-2 big-endian bytes.
        let dir = sector(&image, both32(&svd[156..190], 2));
        let needle: Vec<u8> = "user-data".bytes().flat_map(|b| [0, b]).collect();
        assert!(dir.windows(needle.len()).any(|w| w == needle));
        check_path_tables(&image, svd, both32(&svd[156..190], 2));
        // Both descriptors share the file data.
        let primary = root_entries(&image, sector(&image, 16), false);
        assert_eq!(primary[2].extent, entries[2].extent);
        assert_ne!(both32(&svd[156..190], 2), both32(&sector(&image, 16)[156..190], 2));
    }

    #[test]
    fn files_are_sector_aligned_and_network_config_is_optional() {
        let big = "x".repeat(5000);
        let image = nocloud_iso("m", &big, None);
        let entries = root_entries(&image, sector(&image, 17), true);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, [".", "..", "meta-data", "user-data"]);
        assert_eq!(entries[3].extent, entries[2].extent + 1);
        assert_eq!(image.len(), (entries[3].extent + 3) * 2048);
        assert_eq!(file_text(&image, &entries[3]), big);
    }

    #[test]
    fn output_is_deterministic_with_epoch_dates() {
        let a = nocloud_iso("m", "u", Some("n"));
        assert_eq!(a, nocloud_iso("m", "u", Some("n")));
        assert_ne!(a, nocloud_iso("m", "v", Some("n")));
        let pvd = sector(&a, 16);
        assert_eq!(&pvd[813..829], b"1970010100000000");
        let root = root_entries(&a, pvd, false);
        let record_date = &sector(&a, root[0].extent)[18..25];
        assert_eq!(record_date, [70, 1, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn meta_data_yaml() {
        assert_eq!(meta_data("i-0001", "web-1.example"), "instance-id: i-0001\nlocal-hostname: web-1.example\n");
        assert_eq!(meta_data("123", "yes"), "instance-id: \"123\"\nlocal-hostname: \"yes\"\n");
        assert_eq!(meta_data("a: b", "q\"\\"), "instance-id: \"a: b\"\nlocal-hostname: \"q\\\"\\\\\"\n");
    }

    /// The only IO in this module: when `isoinfo` is installed, extract each file through Joliet and compare.
    #[test]
    fn isoinfo_extracts_the_files() {
        if std::process::Command::new("isoinfo").arg("-version").output().is_err() {
            println!("skipped: isoinfo is not on PATH");
            return;
        }
        let files = [("/meta-data", "instance-id: i-1\n"), ("/user-data", USER_DATA), ("/network-config", NETWORK)];
        let image = nocloud_iso(files[0].1, files[1].1, Some(files[2].1));
        let path = std::env::temp_dir().join(format!("nocloud-test-{}.iso", std::process::id()));
        std::fs::write(&path, &image).unwrap();
        for (name, content) in files {
            let out = std::process::Command::new("isoinfo").args(["-J", "-x", name, "-i"]).arg(&path).output().unwrap();
            assert!(out.status.success(), "isoinfo failed: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8(out.stdout).unwrap(), content, "{name}");
        }
        let info = std::process::Command::new("isoinfo").args(["-d", "-i"]).arg(&path).output().unwrap();
        std::fs::remove_file(&path).unwrap();
        let info = String::from_utf8(info.stdout).unwrap();
        assert!(info.contains("Volume id: CIDATA"), "{info}");
        assert!(info.contains("Joliet with UCS level 3 found"), "{info}");
    }
}
