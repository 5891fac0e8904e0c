//! Quota while requests wait: a pending request reserves what its plan needs, so two
//! pending requests cannot together exceed the agency's quota. The arithmetic and the
//! refusal text are the catalog core's, so the portal and the controller say the same.

use std::fmt;

use makonis_catalog::quota::{QuotaExceeded, Units, check_fits, format_amount};
use serde::Serialize;

/// What a request reserves, in thousandths of a unit (as stored in SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Reservation {
    /// CPU in millicores.
    pub cpu: i64,
    /// Memory in thousandths of a byte.
    pub memory: i64,
    /// Storage in thousandths of a byte.
    pub storage: i64,
}

impl Reservation {
    /// The reservation of `units`; amounts beyond `i64` saturate (no plan comes close).
    pub fn of(units: Units) -> Self {
        let clamp = |v: i128| i64::try_from(v.max(0)).unwrap_or(i64::MAX);
        Self { cpu: clamp(units.cpu), memory: clamp(units.memory), storage: clamp(units.storage) }
    }

    /// The same amounts as catalog units.
    pub fn units(self) -> Units {
        Units { cpu: self.cpu.into(), memory: self.memory.into(), storage: self.storage.into() }
    }

    /// What moving from `from` to `to` adds, per resource (nothing where it shrinks).
    pub fn growth(from: Units, to: Units) -> Self {
        Self::of(Units {
            cpu: (to.cpu - from.cpu).max(0),
            memory: (to.memory - from.memory).max(0),
            storage: (to.storage - from.storage).max(0),
        })
    }
}

/// What an agency's quota already carries: its instances in the cluster and the
/// reservations of its pending requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// The sum of what instances hold and pending requests reserve.
    pub used: Units,
    /// Instances in the cluster plus pending orders of new ones.
    pub instances: u32,
}

impl Usage {
    /// Adds one instance's (or pending order's) amounts.
    pub fn add_instance(&mut self, units: Units) {
        self.add(units);
        self.instances += 1;
    }

    /// Adds amounts that do not make a new instance (a pending resize).
    pub fn add(&mut self, units: Units) {
        self.used = Units {
            cpu: self.used.cpu + units.cpu,
            memory: self.used.memory + units.memory,
            storage: self.used.storage + units.storage,
        };
    }
}

/// Why a request does not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaRefusal {
    /// A resource would go over the limit (the catalog core's message).
    Exceeded(QuotaExceeded),
    /// The agency already has (or has ordered) as many instances as it may.
    TooManyInstances {
        /// The agency's limit.
        limit: u32,
    },
}

impl fmt::Display for QuotaRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exceeded(exceeded) => exceeded.fmt(f),
            Self::TooManyInstances { limit } => {
                write!(f, "the agency already has or has ordered {limit} services, as many as its quota allows")
            }
        }
    }
}

/// Whether `need` (and, for an order, one more instance) fits in `limit` next to `usage`.
pub fn check_reservation(
    limit: Units,
    max_instances: u32,
    usage: &Usage,
    need: Units,
    new_instance: bool,
) -> Result<(), QuotaRefusal> {
    if new_instance && usage.instances >= max_instances {
        return Err(QuotaRefusal::TooManyInstances { limit: max_instances });
    }
    check_fits(limit, usage.used, need).map_err(QuotaRefusal::Exceeded)
}

/// One line of an order's quota summary: a resource's limit, use now and use after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactLine {
    /// `cpu`, `memory` or `storage`.
    pub resource: &'static str,
    /// The agency's limit, as a person reads it (`8`, `32Gi`).
    pub limit: String,
    /// Used or reserved now.
    pub used: String,
    /// Used or reserved once this request is granted.
    pub after: String,
    /// Whether the request would go over the limit.
    pub over: bool,
}

/// `(resource, limit, used, need)` for CPU, memory and storage.
fn per_resource(limit: Units, used: Units, need: Units) -> [(&'static str, i128, i128, i128); 3] {
    [
        ("cpu", limit.cpu, used.cpu, need.cpu),
        ("memory", limit.memory, used.memory, need.memory),
        ("storage", limit.storage, used.storage, need.storage),
    ]
}

/// The quota summary shown before an order is submitted.
pub fn impact(limit: Units, usage: &Usage, need: Units) -> Vec<ImpactLine> {
    per_resource(limit, usage.used, need)
        .into_iter()
        .map(|(resource, limit, used, need)| ImpactLine {
            resource,
            limit: format_amount(resource, limit),
            used: format_amount(resource, used),
            after: format_amount(resource, used + need),
            over: need > 0 && used + need > limit,
        })
        .collect()
}

/// One resource of an agency's quota as a person reads it: used or reserved, and the limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageLine {
    /// `cpu`, `memory` or `storage`.
    pub resource: &'static str,
    /// Held by instances or reserved by waiting requests.
    pub used: String,
    /// The agency's limit.
    pub limit: String,
}

/// What an agency's quota carries, per resource.
pub fn usage_lines(limit: Units, usage: &Usage) -> Vec<UsageLine> {
    per_resource(limit, usage.used, Units::default())
        .into_iter()
        .map(|(resource, limit, used, _)| UsageLine {
            resource,
            used: format_amount(resource, used),
            limit: format_amount(resource, limit),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GI: i128 = 1 << 30;

    fn units(cpu: i128, memory_gi: i128, storage_gi: i128) -> Units {
        Units { cpu: cpu * 1000, memory: memory_gi * GI * 1000, storage: storage_gi * GI * 1000 }
    }

    #[test]
    fn two_pending_orders_cannot_together_exceed_the_quota() {
        let limit = units(8, 32, 100);
        let mut usage = Usage::default();
        let need = units(4, 8, 20);
        assert_eq!(check_reservation(limit, 10, &usage, need, true), Ok(()));
        usage.add_instance(need);
        assert_eq!(check_reservation(limit, 10, &usage, need, true), Ok(()));
        usage.add_instance(need);
        let refusal = check_reservation(limit, 10, &usage, need, true).unwrap_err();
        assert_eq!(refusal.to_string(), "the plan needs 4 cpu but only 0 of the agency's 8 is left");
    }

    #[test]
    fn the_instance_count_is_a_quota_too() {
        let mut usage = Usage::default();
        usage.add_instance(units(0, 0, 0));
        let refusal = check_reservation(units(8, 8, 8), 1, &usage, units(1, 1, 1), true).unwrap_err();
        assert_eq!(refusal, QuotaRefusal::TooManyInstances { limit: 1 });
        assert_eq!(check_reservation(units(8, 8, 8), 1, &usage, units(1, 1, 1), false), Ok(()));
    }

    #[test]
    fn a_resize_reserves_only_what_it_adds() {
        let growth = Reservation::growth(units(2, 8, 50), units(4, 4, 50));
        assert_eq!(growth.units(), units(2, 0, 0));
        assert_eq!(Reservation::of(units(1, 2, 3)).units(), units(1, 2, 3));
    }

    #[test]
    fn usage_lines_show_what_is_used_of_each_limit() {
        let mut usage = Usage::default();
        usage.add_instance(units(6, 4, 10));
        let lines = usage_lines(units(8, 32, 100), &usage);
        let shown: Vec<_> = lines.iter().map(|l| (l.resource, l.used.as_str(), l.limit.as_str())).collect();
        assert_eq!(shown, [("cpu", "6", "8"), ("memory", "4Gi", "32Gi"), ("storage", "10Gi", "100Gi")]);
    }

    #[test]
    fn the_summary_shows_use_before_and_after_and_what_goes_over() {
        let mut usage = Usage::default();
        usage.add_instance(units(6, 4, 10));
        let lines = impact(units(8, 32, 100), &usage, units(4, 8, 20));
        assert_eq!((lines[0].used.as_str(), lines[0].after.as_str(), lines[0].over), ("6", "10", true));
        assert_eq!((lines[1].limit.as_str(), lines[1].after.as_str(), lines[1].over), ("32Gi", "12Gi", false));
    }
}
