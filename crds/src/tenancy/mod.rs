//! API group `tenancy.makonis.lv`: agencies, the tenants of the platform.

mod agency;
mod status;

pub use agency::{
    Agency, AgencyQuota, AgencySpec, CODE_PATTERN, Contact, Directory, DisplayName, Isolation, Network, RoleGroups,
    code_of_namespace, namespace_for_code,
};
pub use status::{AgencyStatus, QuotaStatus};
