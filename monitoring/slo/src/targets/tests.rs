//! The rule of where agency probes may point, case by case.

use makonis_api::slo::{HttpProbe, ProbeSpec as ApiProbeSpec, TcpProbe};

use super::*;

const NAMESPACE: &str = "agency-vdi";

fn rules() -> TargetRules {
    TargetRules {
        apps_domain: "apps.makonis.lv".into(),
        forbidden: ForbiddenRanges {
            api_server: vec!["192.0.2.10".parse().unwrap()],
            cluster: vec!["10.96.0.0/12".parse().unwrap(), "10.244.0.0/16".parse().unwrap()],
        },
    }
}

fn domains() -> Vec<String> {
    vec!["vdi.apps.makonis.lv".into(), "vdi.gov.lv".into()]
}

fn classify(host: &str) -> Result<AllowedHost, Refusal> {
    classify_host(&rules(), NAMESPACE, &domains(), host)
}

fn http(url: &str) -> ApiProbeSpec {
    ApiProbeSpec {
        instance: None,
        http: Some(HttpProbe {
            url: url.into(),
            expected_status: Vec::new(),
            body_match: None,
            latency_threshold: None,
            certificate_expiry_warning_days: 14,
        }),
        tcp: None,
        interval: "30s".into(),
        timeout: "5s".into(),
        failure_threshold: 3,
        success_threshold: 2,
    }
}

fn tcp(host: &str) -> ApiProbeSpec {
    ApiProbeSpec { http: None, tcp: Some(TcpProbe { host: host.into(), port: 5432 }), ..http("http://x.vdi.gov.lv/") }
}

#[test]
fn the_agencys_hosts_and_its_own_services_are_allowed() {
    for host in ["dms.vdi.apps.makonis.lv", "a.b.vdi.gov.lv", "vdi.gov.lv", "DMS.VDI.GOV.LV.", "x.vdi.gov.lv"] {
        assert_eq!(classify(host), Ok(AllowedHost::AgencyHost), "{host}");
    }
    assert_eq!(classify("db.agency-vdi.svc"), Ok(AllowedHost::OwnService("db".into())));
    assert_eq!(classify("db.agency-vdi.svc.cluster.local"), Ok(AllowedHost::OwnService("db".into())));
    assert_eq!(classify("DB.Agency-VDI.svc."), Ok(AllowedHost::OwnService("db".into())));
    assert_eq!(admit(&rules(), NAMESPACE, &domains(), &http("https://dms.vdi.apps.makonis.lv:8443/healthz")), Ok(()));
    assert_eq!(admit(&rules(), NAMESPACE, &domains(), &tcp("db.agency-vdi.svc")), Ok(()));
}

#[test]
fn every_forbidden_class_of_target_is_refused_with_its_reason() {
    let refused = |host: &str| classify(host).expect_err(host);
    assert_eq!(
        refused("127.0.0.1"),
        Refusal::Address { ip: "127.0.0.1".parse().unwrap(), class: Some(AddressClass::Loopback) }
    );
    assert_eq!(refused("[::1]").category(), "Address");
    assert!(refused("[::ffff:127.0.0.1]").to_string().contains("loopback"));
    assert!(refused("169.254.169.254").to_string().contains("link-local"));
    assert!(refused("[fe80::1]").to_string().contains("link-local"));
    assert!(refused("192.0.2.10").to_string().contains("API server"));
    assert!(refused("10.96.0.1").to_string().contains("cluster's internal range 10.96.0.0/12"));
    assert!(refused("193.41.142.10").to_string().contains("is an IP address"));
    assert_eq!(refused("localhost"), Refusal::Localhost("localhost".into()));
    assert_eq!(refused("api.localhost").category(), "Localhost");
    assert_eq!(
        refused("kubernetes.default.svc"),
        Refusal::OtherNamespace { host: "kubernetes.default.svc".into(), namespace: "default".into() }
    );
    assert_eq!(refused("db.agency-nva.svc.cluster.local").category(), "OtherNamespace");
    for host in [
        "kubernetes",
        "kubernetes.default",
        "db.agency-vdi",
        "metadata.google.internal",
        "dms.nva.apps.makonis.lv",
        "evilvdi.gov.lv",
        "vdi.gov.lv.evil.example",
        "2130706433",
        "0x7f000001",
        "127.1",
        "%31%32%37.0.0.1",
    ] {
        assert_eq!(refused(host).category(), "NotTheAgencys", "{host}");
    }
    let message = refused("dms.nva.apps.makonis.lv").to_string();
    assert!(message.contains("under vdi.apps.makonis.lv, vdi.gov.lv"), "{message}");
}

#[test]
fn admission_names_the_field_and_reads_urls_as_a_run_does() {
    let refusal =
        admit(&rules(), NAMESPACE, &domains(), &http("http://169.254.169.254/latest/meta-data/")).unwrap_err();
    assert_eq!(refusal.field, "spec.http.url");
    assert!(refusal.to_string().starts_with("spec.http.url: 169.254.169.254 is a link-local address"), "{refusal}");
    // The host of `user@host` is what a run connects to, and user info is refused anyway.
    let userinfo = admit(&rules(), NAMESPACE, &domains(), &http("http://dms.vdi.gov.lv@127.0.0.1/")).unwrap_err();
    assert_eq!(userinfo.refusal, Refusal::UserInfo);
    let refusal = admit(&rules(), NAMESPACE, &domains(), &tcp("kubernetes.default.svc")).unwrap_err();
    assert_eq!(refusal.field, "spec.tcp.host");
    assert!(admit(&rules(), NAMESPACE, &domains(), &http("http://[::1]:8080/")).is_err());
    assert!(admit(&rules(), NAMESPACE, &domains(), &http("ftp://dms.vdi.gov.lv/")).is_err());
}

#[test]
fn an_agency_without_a_known_agency_object_keeps_its_own_apps_domain() {
    assert_eq!(rules().domains("agency-vdi", None), vec!["vdi.apps.makonis.lv".to_string()]);
    assert_eq!(rules().domains("makonis-system", None), Vec::<String>::new());
}
