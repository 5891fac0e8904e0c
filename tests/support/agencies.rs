//! Agencies for tests: unique codes and a label that ties them to one test's operator.

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use makonis_api::tenancy::{Agency, AgencyQuota, AgencySpec, Contact, Directory, DisplayName, Network, RoleGroups};

/// Label that ties an agency to the operator instance of one test.
pub const TEST_LABEL: &str = "makonis.lv/test-run";

/// A short identifier unique to this process and call, usable in agency codes.
pub fn unique_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{:x}{:x}", (nanos ^ std::process::id()) & 0xfffff, n)
}

/// A valid agency `code`, labelled for the test run `run`.
pub fn test_agency(code: &str, run: &str) -> Agency {
    let group = code.to_uppercase();
    let mut agency = Agency::new(
        code,
        AgencySpec {
            code: code.into(),
            display_name: DisplayName { lv: format!("Testa iestāde {code}"), en: format!("Test agency {code}") },
            quota: AgencyQuota {
                cpu: Quantity("8".into()),
                memory: Quantity("32Gi".into()),
                storage: Quantity("1Ti".into()),
                virtual_machines: 4,
                mailboxes: 50,
                service_instances: 5,
            },
            directory: Directory {
                organizational_unit: format!("OU={group},OU=Iestades,DC=lm,DC=gov,DC=lv"),
                groups: RoleGroups {
                    admins: format!("{group}-Admins"),
                    requesters: format!("{group}-Requesters"),
                    approvers: format!("{group}-Approvers"),
                    security_officers: format!("{group}-Security"),
                    viewers: format!("{group}-Viewers"),
                },
            },
            contacts: vec![Contact {
                name: "Testa kontakts".into(),
                email: format!("it@{code}.example.lv"),
                phone: "+371 67000000".into(),
            }],
            network: Network::default(),
            domains: Vec::new(),
        },
    );
    agency.metadata.labels = Some([(TEST_LABEL.to_string(), run.to_string())].into());
    agency
}
