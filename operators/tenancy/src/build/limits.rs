//! Default requests and limits for containers that do not set their own.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{LimitRange, LimitRangeItem, LimitRangeSpec},
    apimachinery::pkg::api::resource::Quantity,
};
use makonis_api::tenancy::Agency;

use super::child_meta;

/// Name of the LimitRange in every agency namespace.
pub const LIMIT_RANGE_NAME: &str = "makonis-defaults";

/// A container without requests gets 100m CPU and 128Mi memory, and without limits
/// 500m and 512Mi: enough for a small service, and every pod counts against the quota.
pub fn build_limit_range(agency: &Agency) -> LimitRange {
    let quantities = |cpu: &str, memory: &str| {
        BTreeMap::from([("cpu".to_string(), Quantity(cpu.into())), ("memory".to_string(), Quantity(memory.into()))])
    };
    LimitRange {
        metadata: child_meta(agency, LIMIT_RANGE_NAME),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default_request: Some(quantities("100m", "128Mi")),
                default: Some(quantities("500m", "512Mi")),
                ..LimitRangeItem::default()
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_agency;

    #[test]
    fn containers_get_defaults() {
        let limits = build_limit_range(&sample_agency("vdi"));
        let item = &limits.spec.unwrap().limits[0];
        assert_eq!(item.type_, "Container");
        assert_eq!(item.default_request.as_ref().unwrap()["cpu"], Quantity("100m".into()));
        assert_eq!(item.default.as_ref().unwrap()["memory"], Quantity("512Mi".into()));
    }
}
