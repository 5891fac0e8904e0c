//! Quota in catalog units: what an agency's instances add up to, against its quota.
//!
//! Every instance counts the totals of its plan (`cpu`, `memory`, `storage`). Instances
//! are admitted in the order they were created: an instance that already holds quota
//! (it was admitted before) counts what it holds; one that does not yet counts only if
//! it was created before the instance being judged. Two orders made at the same moment
//! therefore cannot both squeeze into the last of the quota, whichever is reconciled
//! first.

use std::{cmp::Ordering, fmt};

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use makonis_api::{catalog::PlanResources, quantity::ParsedQuantity, tenancy::AgencyQuota};

/// Amounts in thousandths of a unit (millicores; milli-bytes), exact and comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Units {
    /// CPU, in thousandths of a core.
    pub cpu: i128,
    /// Memory, in thousandths of a byte.
    pub memory: i128,
    /// Storage, in thousandths of a byte.
    pub storage: i128,
}

impl Units {
    /// The totals of a plan. Errors name the field that is not a quantity.
    pub fn of_plan(resources: &PlanResources) -> Result<Self, String> {
        Ok(Self {
            cpu: milli("cpu", &resources.cpu)?,
            memory: milli("memory", &resources.memory)?,
            storage: milli("storage", &resources.storage)?,
        })
    }

    /// The catalog-unit limits of an agency's quota.
    pub fn of_quota(quota: &AgencyQuota) -> Result<Self, String> {
        Ok(Self {
            cpu: milli("cpu", &quota.cpu)?,
            memory: milli("memory", &quota.memory)?,
            storage: milli("storage", &quota.storage)?,
        })
    }

    fn plus(self, other: Self) -> Self {
        Self { cpu: self.cpu + other.cpu, memory: self.memory + other.memory, storage: self.storage + other.storage }
    }
}

fn milli(field: &str, quantity: &Quantity) -> Result<i128, String> {
    ParsedQuantity::parse(&quantity.0)
        .ok()
        .and_then(|q| q.milli_value())
        .ok_or_else(|| format!("{field} `{}` is not a usable quantity", quantity.0))
}

/// Where an instance stands in the creation order: creation time (RFC 3339, as the API
/// server writes it), then name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CreationOrder {
    /// `metadata.creationTimestamp`.
    pub created: String,
    /// `metadata.name`.
    pub name: String,
}

/// One other instance of the agency, as the quota check sees it.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Its place in the creation order.
    pub order: CreationOrder,
    /// What it was admitted with (`status.admitted`), if it was.
    pub holding: Option<Units>,
    /// What its current plan needs, if the plan is known.
    pub request: Option<Units>,
}

/// Why an instance does not fit: the first resource that is short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// `cpu`, `memory` or `storage`.
    pub resource: &'static str,
    /// What the plan needs.
    pub needed: i128,
    /// What is left for it.
    pub left: i128,
    /// The agency's limit.
    pub limit: i128,
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v| format_amount(self.resource, v);
        write!(
            f,
            "the plan needs {} {} but only {} of the agency's {} is left",
            show(self.needed),
            self.resource,
            show(self.left.max(0)),
            show(self.limit)
        )
    }
}

/// What the other instances use, as seen by the instance at `me`.
pub fn used_by_others(me: &CreationOrder, others: &[Claim]) -> Units {
    others.iter().fold(Units::default(), |sum, other| match (other.holding, other.request) {
        (Some(holding), _) => sum.plus(holding),
        (None, Some(request)) if other.order.cmp(me) == Ordering::Less => sum.plus(request),
        _ => sum,
    })
}

/// Whether `need` fits in `limit` next to `used`.
pub fn check_fits(limit: Units, used: Units, need: Units) -> Result<(), QuotaExceeded> {
    let rows = [
        ("cpu", limit.cpu, used.cpu, need.cpu),
        ("memory", limit.memory, used.memory, need.memory),
        ("storage", limit.storage, used.storage, need.storage),
    ];
    for (resource, limit, used, needed) in rows {
        if needed > 0 && used + needed > limit {
            return Err(QuotaExceeded { resource, needed, left: limit - used, limit });
        }
    }
    Ok(())
}

/// An amount in thousandths as a person reads it: cores (`1.5`, `250m`) for CPU, binary
/// units (`512Mi`, `20Gi`) for bytes.
pub fn format_amount(resource: &str, milli: i128) -> String {
    if resource == "cpu" {
        return if milli % 1000 == 0 { (milli / 1000).to_string() } else { format!("{milli}m") };
    }
    let bytes = milli.div_euclid(1000) + i128::from(milli.rem_euclid(1000) > 0);
    for (suffix, power) in [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
        let unit = 1i128 << power;
        if bytes != 0 && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(cpu: i128, memory_gi: i128, storage_gi: i128) -> Units {
        let gi = 1000 * (1i128 << 30);
        Units { cpu: cpu * 1000, memory: memory_gi * gi, storage: storage_gi * gi }
    }

    fn at(second: u32, name: &str) -> CreationOrder {
        CreationOrder { created: format!("2026-11-28T10:00:{second:02}Z"), name: name.into() }
    }

    #[test]
    fn holders_count_and_later_newcomers_do_not() {
        let others = [
            Claim { order: at(1, "a"), holding: Some(units(2, 4, 10)), request: Some(units(4, 8, 10)) },
            Claim { order: at(2, "b"), holding: None, request: Some(units(1, 1, 1)) },
            Claim { order: at(9, "d"), holding: None, request: Some(units(8, 8, 8)) },
            Claim { order: at(3, "e"), holding: None, request: None },
        ];
        assert_eq!(used_by_others(&at(5, "c"), &others), units(3, 5, 11));
    }

    #[test]
    fn same_second_is_ordered_by_name() {
        let others = [Claim { order: at(1, "b"), holding: None, request: Some(units(1, 0, 0)) }];
        assert_eq!(used_by_others(&at(1, "a"), &others), Units::default());
        assert_eq!(used_by_others(&at(1, "c"), &others), units(1, 0, 0));
    }

    #[test]
    fn the_first_short_resource_is_reported_with_what_is_left() {
        let error = check_fits(units(16, 64, 500), units(15, 10, 10), units(2, 4, 10)).unwrap_err();
        assert_eq!(error.resource, "cpu");
        assert_eq!(error.to_string(), "the plan needs 2 cpu but only 1 of the agency's 16 is left");
        let error = check_fits(units(16, 64, 500), units(1, 62, 10), units(2, 4, 10)).unwrap_err();
        assert_eq!(error.to_string(), "the plan needs 4Gi memory but only 2Gi of the agency's 64Gi is left");
        assert!(check_fits(units(16, 64, 500), units(14, 60, 490), units(2, 4, 10)).is_ok());
    }

    #[test]
    fn nothing_needed_always_fits() {
        assert!(check_fits(units(0, 0, 0), units(5, 5, 5), Units::default()).is_ok());
    }

    #[test]
    fn plans_and_quotas_convert_exactly() {
        let plan = PlanResources {
            cpu: Quantity("1500m".into()),
            memory: Quantity("1.5Gi".into()),
            storage: Quantity("0".into()),
            replicas: 1,
        };
        let got = Units::of_plan(&plan).unwrap();
        assert_eq!(format_amount("cpu", got.cpu), "1500m");
        assert_eq!(format_amount("memory", got.memory), "1536Mi");
        assert_eq!(got.storage, 0);
        let bad = PlanResources { cpu: Quantity("lots".into()), ..plan };
        assert_eq!(Units::of_plan(&bad).unwrap_err(), "cpu `lots` is not a usable quantity");
    }
}
