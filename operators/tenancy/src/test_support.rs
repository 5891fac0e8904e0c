//! Sample agencies for unit tests.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::ObjectMeta;
use makonis_api::tenancy::{Agency, AgencyQuota, AgencySpec, Contact, Directory, DisplayName, Network, RoleGroups};

/// A complete, valid spec for the agency `code`.
pub fn sample_spec(code: &str) -> AgencySpec {
    let upper = code.to_uppercase();
    AgencySpec {
        code: code.into(),
        display_name: DisplayName { lv: "Valsts darba inspekcija".into(), en: "State Labour Inspectorate".into() },
        quota: AgencyQuota {
            cpu: Quantity("16".into()),
            memory: Quantity("64Gi".into()),
            storage: Quantity("2Ti".into()),
            virtual_machines: 20,
            mailboxes: 150,
            service_instances: 10,
        },
        directory: Directory {
            organizational_unit: format!("OU={upper},OU=Agencies,DC=lm,DC=gov,DC=lv"),
            groups: RoleGroups {
                admins: format!("{upper}-Makonis-Admins"),
                requesters: format!("{upper}-Makonis-Requesters"),
                approvers: format!("{upper}-Makonis-Approvers"),
                security_officers: format!("{upper}-Makonis-Security"),
                viewers: format!("{upper}-Makonis-Viewers"),
            },
        },
        contacts: vec![Contact {
            name: "Anna Bērziņa".into(),
            email: "it@vdi.gov.lv".into(),
            phone: "+371 67021600".into(),
        }],
        network: Network::default(),
        domains: Vec::new(),
    }
}

/// A stored Agency `code`, as the API server would return it (with a UID).
pub fn sample_agency(code: &str) -> Agency {
    let mut agency = Agency::new(code, sample_spec(code));
    agency.metadata = ObjectMeta {
        name: Some(code.into()),
        uid: Some(format!("uid-{code}")),
        generation: Some(1),
        ..ObjectMeta::default()
    };
    agency
}
