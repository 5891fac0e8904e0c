//! Choosing the hypervisor host for a new virtual machine.
//!
//! A host is eligible when it is reachable, not in maintenance, carries every requested label, does not already
//! run the request's anti-affinity group, and has room: what is allocated plus the request must not exceed the
//! capacity scaled by the over-commit ratio, for vCPUs and memory alike. Of the eligible hosts, [`place`] picks the
//! one with the most memory left after placing, then the most vCPUs left, then the smallest name.

use std::collections::{BTreeMap, BTreeSet};

/// An amount of vCPUs and memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capacity {
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in bytes.
    pub memory_bytes: u64,
}

/// Over-commit ratios in thousandths: 1000 allocates exactly the capacity, 4000 allocates four times it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overcommit {
    /// CPU ratio in thousandths.
    pub cpu_permille: u32,
    /// Memory ratio in thousandths.
    pub memory_permille: u32,
}

/// What the scheduler knows about one host.
#[derive(Debug, Clone, Copy)]
pub struct HostView<'a> {
    /// The host's name.
    pub name: &'a str,
    /// Whether the host answers.
    pub reachable: bool,
    /// Whether the host is being drained for maintenance.
    pub maintenance: bool,
    /// The host's labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Physical capacity, before over-commit.
    pub capacity: Capacity,
    /// What the machines already placed on the host hold.
    pub allocated: Capacity,
    /// Anti-affinity groups that already have a machine on the host.
    pub groups: &'a BTreeSet<String>,
}

/// The machine to place.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Virtual CPUs wanted.
    pub vcpus: u32,
    /// Memory wanted, in bytes.
    pub memory_bytes: u64,
    /// Labels the host must carry, each with exactly this value.
    pub labels: &'a BTreeMap<String, String>,
    /// A group of which at most one machine may run on each host.
    pub anti_affinity_group: Option<&'a str>,
}

/// The chosen host and a sentence explaining the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The chosen host's name.
    pub host: String,
    /// Why this host, e.g. `hv-2: 6 of 64 vCPU and 20 GiB of 48 GiB left after placing (...)`.
    pub reason: String,
}

/// No host can take the request; the message says why, host by host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NoRoom {
    /// The explanation shown to the user.
    pub message: String,
}

/// Room left on a host after placing, in usable (over-committed) units.
struct Left {
    vcpus: u64,
    vcpus_usable: u64,
    memory: u64,
    memory_usable: u64,
}

/// Picks the host for `request`, or explains why none fits.
pub fn place(request: &Request<'_>, hosts: &[HostView<'_>], overcommit: Overcommit) -> Result<Placement, NoRoom> {
    if hosts.is_empty() {
        return Err(NoRoom { message: "the pool has no hosts".to_string() });
    }
    let mut sorted: Vec<&HostView<'_>> = hosts.iter().collect();
    sorted.sort_by_key(|host| host.name);

    let mut eligible: Vec<(&HostView<'_>, Left)> = Vec::new();
    let mut refusals: Vec<String> = Vec::new();
    for host in sorted {
        match assess(request, host, overcommit) {
            Ok(left) => eligible.push((host, left)),
            Err(refusal) => refusals.push(format!("{} {refusal}", host.name)),
        }
    }

    let count = eligible.len();
    let best = eligible.into_iter().min_by(|(a_host, a), (b_host, b)| {
        b.memory.cmp(&a.memory).then(b.vcpus.cmp(&a.vcpus)).then(a_host.name.cmp(b_host.name))
    });
    let Some((host, left)) = best else {
        let wanted = format!("{} vCPU and {}", request.vcpus, format_bytes(request.memory_bytes));
        return Err(NoRoom { message: format!("no host can take {wanted}: {}", refusals.join("; ")) });
    };
    let why = if count == 1 {
        "the only eligible host".to_string()
    } else {
        format!("most memory left of {count} eligible hosts")
    };
    Ok(Placement {
        host: host.name.to_string(),
        reason: format!(
            "{}: {} of {} vCPU and {} of {} left after placing ({why})",
            host.name,
            left.vcpus,
            left.vcpus_usable,
            format_bytes(left.memory),
            format_bytes(left.memory_usable),
        ),
    })
}

/// What is left on `host` after placing `request`, or why it cannot take it (phrased to follow the host name).
fn assess(request: &Request<'_>, host: &HostView<'_>, overcommit: Overcommit) -> Result<Left, String> {
    if !host.reachable {
        return Err("is unreachable".to_string());
    }
    if host.maintenance {
        return Err("is in maintenance".to_string());
    }
    let missing: Vec<String> = request
        .labels
        .iter()
        .filter(|(key, value)| host.labels.get(*key) != Some(*value))
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    match missing.len() {
        0 => {}
        1 => return Err(format!("lacks label {}", missing[0])),
        _ => return Err(format!("lacks labels {}", missing.join(", "))),
    }
    if let Some(group) = request.anti_affinity_group
        && host.groups.contains(group)
    {
        return Err(format!("already runs anti-affinity group {group:?}"));
    }

    let vcpus_usable = scale(u64::from(host.capacity.vcpus), overcommit.cpu_permille);
    let memory_usable = scale(host.capacity.memory_bytes, overcommit.memory_permille);
    let vcpus_needed = u64::from(host.allocated.vcpus) + u64::from(request.vcpus);
    let memory_needed = u128::from(host.allocated.memory_bytes) + u128::from(request.memory_bytes);
    let vcpus_short = vcpus_needed.saturating_sub(vcpus_usable);
    let memory_short = memory_needed.saturating_sub(u128::from(memory_usable));
    let memory_short = u64::try_from(memory_short).unwrap_or(u64::MAX);
    match (vcpus_short, memory_short) {
        (0, 0) => Ok(Left {
            vcpus: vcpus_usable - vcpus_needed,
            vcpus_usable,
            memory: memory_usable - memory_needed as u64,
            memory_usable,
        }),
        (0, memory) => Err(format!("lacks {}", format_bytes(memory))),
        (vcpus, 0) => Err(format!("lacks {vcpus} vCPU")),
        (vcpus, memory) => Err(format!("lacks {vcpus} vCPU and {}", format_bytes(memory))),
    }
}

/// `amount * permille / 1000`, rounded down, saturating at `u64::MAX`.
fn scale(amount: u64, permille: u32) -> u64 {
    u64::try_from(u128::from(amount) * u128::from(permille) / 1000).unwrap_or(u64::MAX)
}

/// Formats a byte count in binary units with at most one decimal: `512 B`, `1.5 GiB`, `32 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut unit = 0;
    while unit + 1 < UNITS.len() && bytes >= 1 << (10 * (unit + 1)) {
        unit += 1;
    }
    let size = 1u128 << (10 * unit);
    // Tenths of the unit, rounded half up; a rounding up to 1024 moves to the next unit.
    let mut tenths = (u128::from(bytes) * 10 + size / 2) / size;
    if tenths >= 10240 && unit + 1 < UNITS.len() {
        unit += 1;
        tenths = (tenths + 512) / 1024;
    }
    if tenths.is_multiple_of(10) {
        format!("{} {}", tenths / 10, UNITS[unit])
    } else {
        format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const NONE: Overcommit = Overcommit { cpu_permille: 1000, memory_permille: 1000 };

    struct Host {
        name: &'static str,
        reachable: bool,
        maintenance: bool,
        labels: BTreeMap<String, String>,
        capacity: Capacity,
        allocated: Capacity,
        groups: BTreeSet<String>,
    }

    fn host(name: &'static str, vcpus: u32, memory_gib: u64) -> Host {
        Host {
            name,
            reachable: true,
            maintenance: false,
            labels: BTreeMap::new(),
            capacity: Capacity { vcpus, memory_bytes: memory_gib * GIB },
            allocated: Capacity::default(),
            groups: BTreeSet::new(),
        }
    }

    fn views(hosts: &[Host]) -> Vec<HostView<'_>> {
        hosts
            .iter()
            .map(|h| HostView {
                name: h.name,
                reachable: h.reachable,
                maintenance: h.maintenance,
                labels: &h.labels,
                capacity: h.capacity,
                allocated: h.allocated,
                groups: &h.groups,
            })
            .collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn request<'a>(vcpus: u32, memory_bytes: u64, labels: &'a BTreeMap<String, String>) -> Request<'a> {
        Request { vcpus, memory_bytes, labels, anti_affinity_group: None }
    }

    #[test]
    fn picks_most_memory_left_and_explains() {
        let mut a = host("hv-1", 64, 64);
        a.allocated = Capacity { vcpus: 10, memory_bytes: 50 * GIB };
        let mut b = host("hv-2", 64, 48);
        b.allocated = Capacity { vcpus: 50, memory_bytes: 20 * GIB };
        let hosts = [a, b];
        let none = BTreeMap::new();
        let placement = place(&request(8, 8 * GIB, &none), &views(&hosts), NONE).unwrap();
        assert_eq!(placement.host, "hv-2");
        assert_eq!(
            placement.reason,
            "hv-2: 6 of 64 vCPU and 20 GiB of 48 GiB left after placing (most memory left of 2 eligible hosts)"
        );
    }

    #[test]
    fn only_eligible_host_is_named_as_such() {
        let hosts = [host("hv-1", 4, 8)];
        let none = BTreeMap::new();
        let placement = place(&request(1, GIB / 2, &none), &views(&hosts), NONE).unwrap();
        assert_eq!(
            placement.reason,
            "hv-1: 3 of 4 vCPU and 7.5 GiB of 8 GiB left after placing (the only eligible host)"
        );
    }

    #[test]
    fn ties_break_on_vcpus_then_name() {
        let none = BTreeMap::new();
        let hosts = [host("hv-b", 16, 32), host("hv-a", 8, 32), host("hv-c", 16, 32)];
        assert_eq!(place(&request(2, GIB, &none), &views(&hosts), NONE).unwrap().host, "hv-b");
        let hosts = [host("hv-c", 16, 32), host("hv-b", 16, 32)];
        assert_eq!(place(&request(2, GIB, &none), &views(&hosts), NONE).unwrap().host, "hv-b");
    }

    #[test]
    fn every_refusal_reason_in_name_order() {
        let mut hosts = vec![host("hv-5", 64, 256), host("hv-3", 16, 64), host("hv-1", 64, 256)];
        hosts[2].maintenance = true;
        hosts[1].allocated = Capacity { vcpus: 10, memory_bytes: 38 * GIB };
        hosts[0].labels = labels(&[("zone", "a")]);
        let mut unreachable = host("hv-2", 64, 256);
        unreachable.reachable = false;
        let mut grouped = host("hv-4", 64, 256);
        grouped.groups.insert("db".to_string());
        grouped.labels = labels(&[("zone", "b")]);
        hosts.push(unreachable);
        hosts.push(grouped);
        hosts[1].labels = labels(&[("zone", "b")]);
        hosts[2].labels = labels(&[("zone", "b")]);
        hosts[3].labels = labels(&[("zone", "b")]);

        let wanted = labels(&[("zone", "b")]);
        let req = Request { anti_affinity_group: Some("db"), ..request(8, 32 * GIB, &wanted) };
        let err = place(&req, &views(&hosts), NONE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no host can take 8 vCPU and 32 GiB: hv-1 is in maintenance; hv-2 is unreachable; hv-3 lacks 2 vCPU and \
             6 GiB; hv-4 already runs anti-affinity group \"db\"; hv-5 lacks label zone=b"
        );
        assert_eq!(err.message, err.to_string());
    }

    #[test]
    fn empty_pool() {
        let none = BTreeMap::new();
        assert_eq!(place(&request(1, GIB, &none), &[], NONE).unwrap_err().message, "the pool has no hosts");
    }

    #[test]
    fn labels_must_all_match_exactly() {
        let mut a = host("hv-1", 8, 8);
        a.labels = labels(&[("zone", "a"), ("disk", "ssd")]);
        let mut b = host("hv-2", 64, 512);
        b.labels = labels(&[("zone", "b")]);
        let mut c = host("hv-3", 8, 16);
        c.labels = labels(&[("zone", "b"), ("disk", "ssd"), ("gpu", "no")]);
        let hosts = [a, b, c];
        let wanted = labels(&[("zone", "b"), ("disk", "ssd")]);
        assert_eq!(place(&request(1, GIB, &wanted), &views(&hosts), NONE).unwrap().host, "hv-3");
        let wanted = labels(&[("zone", "c"), ("disk", "hdd")]);
        assert_eq!(
            place(&request(1, GIB, &wanted), &views(&hosts), NONE).unwrap_err().message,
            "no host can take 1 vCPU and 1 GiB: hv-1 lacks labels disk=hdd, zone=c; hv-2 lacks labels disk=hdd, \
             zone=c; hv-3 lacks labels disk=hdd, zone=c"
        );
    }

    #[test]
    fn anti_affinity_avoids_hosts_with_the_group() {
        let mut a = host("hv-1", 64, 512);
        a.groups.insert("db".to_string());
        let b = host("hv-2", 8, 16);
        let hosts = [a, b];
        let none = BTreeMap::new();
        let db = Request { anti_affinity_group: Some("db"), ..request(1, GIB, &none) };
        assert_eq!(place(&db, &views(&hosts), NONE).unwrap().host, "hv-2");
        let web = Request { anti_affinity_group: Some("web"), ..request(1, GIB, &none) };
        assert_eq!(place(&web, &views(&hosts), NONE).unwrap().host, "hv-1");
    }

    #[test]
    fn overcommit_boundary_is_inclusive() {
        // 10 physical vCPUs at 2.5× give 25; 10 GiB at 1.5× gives 15 GiB.
        let overcommit = Overcommit { cpu_permille: 2500, memory_permille: 1500 };
        let mut h = host("hv-1", 10, 10);
        h.allocated = Capacity { vcpus: 20, memory_bytes: 10 * GIB };
        let hosts = [h];
        let none = BTreeMap::new();
        let exact = place(&request(5, 5 * GIB, &none), &views(&hosts), overcommit).unwrap();
        assert_eq!(exact.reason, "hv-1: 0 of 25 vCPU and 0 B of 15 GiB left after placing (the only eligible host)");
        let byte_over = place(&request(5, 5 * GIB + 1, &none), &views(&hosts), overcommit).unwrap_err();
        assert_eq!(byte_over.message, "no host can take 5 vCPU and 5 GiB: hv-1 lacks 1 B");
        let cpu_over = place(&request(6, 5 * GIB, &none), &views(&hosts), overcommit).unwrap_err();
        assert_eq!(cpu_over.message, "no host can take 6 vCPU and 5 GiB: hv-1 lacks 1 vCPU");
        // Without over-commit the same host is already full.
        let plain = place(&request(1, 1, &none), &views(&hosts), NONE).unwrap_err();
        assert_eq!(plain.message, "no host can take 1 vCPU and 1 B: hv-1 lacks 11 vCPU and 1 B");
    }

    #[test]
    fn overcommit_rounds_down_and_does_not_overflow() {
        // 3 vCPUs at 1.5× is 4.5, usable 4.
        let overcommit = Overcommit { cpu_permille: 1500, memory_permille: 4000 };
        let mut big = host("hv-1", 3, 0);
        big.capacity.memory_bytes = u64::MAX;
        let hosts = [big];
        let none = BTreeMap::new();
        assert!(place(&request(4, u64::MAX, &none), &views(&hosts), overcommit).is_ok());
        assert_eq!(
            place(&request(5, 1, &none), &views(&hosts), overcommit).unwrap_err().message,
            "no host can take 5 vCPU and 1 B: hv-1 lacks 1 vCPU"
        );
    }

    #[test]
    fn formats_bytes() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1024), "1 KiB");
        assert_eq!(format_bytes(512 << 20), "512 MiB");
        assert_eq!(format_bytes(3 << 29), "1.5 GiB");
        assert_eq!(format_bytes(32 * GIB), "32 GiB");
        assert_eq!(format_bytes(GIB + GIB / 10), "1.1 GiB");
        assert_eq!(format_bytes(GIB + GIB / 21), "1 GiB");
        assert_eq!(format_bytes(GIB - 1), "1 GiB");
        assert_eq!(format_bytes(u64::MAX), "16 EiB");
    }
}
