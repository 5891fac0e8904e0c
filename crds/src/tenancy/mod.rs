//! API group `tenancy.makonis.lv`: agencies, the tenants of the platform.

mod agency;
mod hostnames;
mod status;

pub use agency::{
    Agency, AgencyQuota, AgencySpec, CODE_PATTERN, Contact, DOMAIN_PATTERN, Directory, DisplayName, Isolation, Network,
    RoleGroups, code_of_namespace, namespace_for_code,
};
pub use hostnames::{agency_domains, within_domains};
pub use status::{AgencyStatus, QuotaStatus};
