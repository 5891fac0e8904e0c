//! The agency's quota in compute units: vCPUs count as CPU cores, memory and disk sizes
//! in bytes. The number of machines is enforced by the API server itself (the agency's
//! ResourceQuota counts `virtualmachines.compute.makonis.lv`).

use makonis_api::{quantity::ParsedQuantity, tenancy::AgencyQuota};

use crate::placement::format_bytes;

/// An agency's limits, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU, in thousandths of a core.
    pub cpu_milli: i128,
    /// Memory in bytes.
    pub memory_bytes: i128,
    /// Storage in bytes.
    pub storage_bytes: i128,
}

impl Limits {
    /// The limits of `quota`; an error names the field that is not a usable quantity.
    pub fn of(quota: &AgencyQuota) -> Result<Self, String> {
        Ok(Self {
            cpu_milli: milli("cpu", &quota.cpu.0)?,
            memory_bytes: milli("memory", &quota.memory.0)? / 1000,
            storage_bytes: milli("storage", &quota.storage.0)? / 1000,
        })
    }
}

/// Bytes of a quantity such as `20Gi`, if it is one.
pub fn bytes(quantity: &str) -> Option<i128> {
    ParsedQuantity::parse(quantity).ok()?.milli_value().map(|m| m / 1000)
}

fn milli(field: &str, quantity: &str) -> Result<i128, String> {
    ParsedQuantity::parse(quantity)
        .ok()
        .and_then(|q| q.milli_value())
        .ok_or_else(|| format!("the agency's quota field {field} `{quantity}` is not a usable quantity"))
}

/// Whether a machine of `vcpus` and `memory` bytes fits next to what the agency's other
/// machines hold (`used_vcpus`, `used_memory`). The error says which resource is short
/// and by how much.
pub fn machine_fits(limits: &Limits, used_vcpus: i64, used_memory: i64, vcpus: i64, memory: i64) -> Result<(), String> {
    let cpu_left = limits.cpu_milli - i128::from(used_vcpus) * 1000;
    if i128::from(vcpus) * 1000 > cpu_left {
        return Err(format!(
            "the machine needs {vcpus} vCPU but only {} of the agency's {} CPU are left",
            cores(cpu_left.max(0)),
            cores(limits.cpu_milli)
        ));
    }
    let memory_left = limits.memory_bytes - i128::from(used_memory);
    if i128::from(memory) > memory_left {
        return Err(format!(
            "the machine needs {} memory but only {} of the agency's {} are left",
            format_bytes(memory as u64),
            format_bytes(memory_left.max(0) as u64),
            format_bytes(limits.memory_bytes as u64)
        ));
    }
    Ok(())
}

/// Whether a volume of `size` bytes fits next to the agency's other volumes
/// (`used_storage` bytes).
pub fn volume_fits(limits: &Limits, used_storage: i64, size: i64) -> Result<(), String> {
    let left = limits.storage_bytes - i128::from(used_storage);
    if i128::from(size) > left {
        return Err(format!(
            "the volume needs {} but only {} of the agency's {} storage is left",
            format_bytes(size as u64),
            format_bytes(left.max(0) as u64),
            format_bytes(limits.storage_bytes as u64)
        ));
    }
    Ok(())
}

fn cores(milli: i128) -> String {
    if milli % 1000 == 0 { (milli / 1000).to_string() } else { format!("{:.1}", milli as f64 / 1000.0) }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;

    fn limits(cpu: &str, memory: &str, storage: &str) -> Limits {
        Limits::of(&AgencyQuota {
            cpu: Quantity(cpu.into()),
            memory: Quantity(memory.into()),
            storage: Quantity(storage.into()),
            ..AgencyQuota::default()
        })
        .unwrap()
    }

    const GI: i64 = 1 << 30;

    #[test]
    fn a_machine_fits_exactly_at_the_limit_and_not_one_byte_over() {
        let l = limits("8", "16Gi", "1Ti");
        assert_eq!(machine_fits(&l, 6, 12 * GI, 2, 4 * GI), Ok(()));
        assert_eq!(
            machine_fits(&l, 6, 12 * GI, 3, 4 * GI),
            Err("the machine needs 3 vCPU but only 2 of the agency's 8 CPU are left".into())
        );
        assert_eq!(
            machine_fits(&l, 6, 12 * GI + 1, 2, 4 * GI),
            Err("the machine needs 4 GiB memory but only 4 GiB of the agency's 16 GiB are left".into())
        );
    }

    #[test]
    fn fractional_cpu_quota_is_reported_as_such() {
        let l = limits("2500m", "16Gi", "1Ti");
        assert_eq!(
            machine_fits(&l, 1, 0, 2, GI),
            Err("the machine needs 2 vCPU but only 1.5 of the agency's 2.5 CPU are left".into())
        );
    }

    #[test]
    fn volumes_count_against_storage() {
        let l = limits("8", "16Gi", "100Gi");
        assert_eq!(volume_fits(&l, 60 * GI, 40 * GI), Ok(()));
        assert_eq!(
            volume_fits(&l, 60 * GI, 41 * GI),
            Err("the volume needs 41 GiB but only 40 GiB of the agency's 100 GiB storage is left".into())
        );
    }

    #[test]
    fn sizes_parse_as_bytes() {
        assert_eq!(bytes("1Gi"), Some(1 << 30));
        assert_eq!(bytes("512Mi"), Some(512 << 20));
        assert_eq!(bytes("2G"), Some(2_000_000_000));
        assert_eq!(bytes("lots"), None);
    }
}
