//! Tenant isolation, both ways, and the operator's least privilege — decided by the
//! real API server's RBAC for the RoleBindings the operator wrote.

mod support;

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client, api::ListParams};
use support::{
    access::{self, Request},
    cluster::{OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, client_as},
    tenancy::{TestRun, wait_ready},
};

/// Whether `user` in `groups` may `verb` the `resource` (`group`) in `namespace`.
async fn allowed(
    admin: &Client,
    user: &str,
    groups: &[String],
    verb: &str,
    group: &str,
    resource: &str,
    namespace: Option<&str>,
) -> bool {
    access::allowed(admin, user, groups, Request { verb, group, resource, subresource: None, namespace }).await
}

#[tokio::test]
async fn agencies_cannot_reach_each_other_and_roles_do_what_they_say() {
    let t = TestRun::start(300).await;
    let admin = t.admin.clone();
    let (a, b) = (t.code("a"), t.code("b"));
    for code in [&a, &b] {
        t.create(code).await;
    }
    for code in [&a, &b] {
        wait_ready(&t.agencies, code).await;
    }
    let (ns_a, ns_b) = (format!("agency-{a}"), format!("agency-{b}"));
    let group = |code: &str, role: &str| vec![format!("{}-{role}", code.to_uppercase())];

    // Real requests as directory users: each viewer sees its own agency only, both ways.
    for (own, own_ns, other_ns) in [(&a, &ns_a, &ns_b), (&b, &ns_b, &ns_a)] {
        let viewer = client_as("viewer@lm.gov.lv", &[&group(own, "Viewers")[0]]).await;
        Api::<Pod>::namespaced(viewer.clone(), own_ns).list(&ListParams::default()).await.expect("own agency visible");
        let refused = Api::<Pod>::namespaced(viewer, other_ns)
            .list(&ListParams::default())
            .await
            .expect_err("other agency hidden");
        assert!(matches!(&refused, kube::Error::Api(s) if s.code == 403), "{refused}");
    }

    // Roles, as the API server's authoriser decides them.
    let user = "someone@lm.gov.lv";
    let cases: [(&str, &str, &str, &str, &str, bool); 12] = [
        ("Requesters", "create", "catalog.makonis.lv", "serviceinstances", "own", true),
        ("Requesters", "create", "catalog.makonis.lv", "serviceinstances", "other", false),
        ("Requesters", "delete", "catalog.makonis.lv", "serviceinstances", "own", false),
        ("Approvers", "create", "catalog.makonis.lv", "serviceinstances", "own", false),
        ("Approvers", "list", "catalog.makonis.lv", "serviceinstances", "own", true),
        ("Viewers", "get", "", "secrets", "own", false),
        ("Admins", "get", "", "secrets", "own", true),
        ("Admins", "get", "", "secrets", "other", false),
        ("Admins", "patch", "", "resourcequotas", "own", false),
        ("Admins", "delete", "compute.makonis.lv", "virtualmachines", "own", true),
        ("Security", "create", "security.makonis.lv", "detectionrules", "own", true),
        ("Security", "delete", "compute.makonis.lv", "virtualmachines", "own", false),
    ];
    for (role, verb, api_group, resource, whose, expected) in cases {
        let namespace = if whose == "own" { &ns_a } else { &ns_b };
        let got = allowed(&admin, user, &group(&a, role), verb, api_group, resource, Some(namespace)).await;
        assert_eq!(got, expected, "{role} of {a}: {verb} {resource} in {whose} agency");
    }

    // The operator itself holds no more than it needs.
    let operator = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}");
    let sa_groups = vec!["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{OPERATOR_NAMESPACE}")];
    for (verb, api_group, resource, expected) in [
        ("list", "", "secrets", false),
        ("get", "", "configmaps", false),
        ("create", "rbac.authorization.k8s.io", "clusterrolebindings", false),
        ("escalate", "rbac.authorization.k8s.io", "clusterroles", false),
        ("create", "", "pods", false),
        ("patch", "rbac.authorization.k8s.io", "rolebindings", true),
        ("delete", "", "namespaces", true),
    ] {
        let got = allowed(&admin, &operator, &sa_groups, verb, api_group, resource, None).await;
        assert_eq!(got, expected, "operator: {verb} {resource}");
    }
    // The catalog operator reads and creates Secrets only in agency namespaces, where the
    // tenancy controller binds that right.
    let catalog = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:makonis-catalog-operator");
    for (verb, namespace, expected) in [
        ("get", Some(ns_a.as_str()), true),
        ("create", Some(ns_b.as_str()), true),
        ("get", Some("kube-system"), false),
        ("list", None, false),
        ("watch", None, false),
    ] {
        let got = allowed(&admin, &catalog, &sa_groups, verb, "", "secrets", namespace).await;
        assert_eq!(got, expected, "catalog operator: {verb} secrets in {namespace:?}");
    }
    // The portal creates Secrets (people's first passwords) only in agency namespaces, and
    // never reads one there.
    let portal = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:makonis-portal");
    for (verb, namespace, expected) in [
        ("create", Some(ns_a.as_str()), true),
        ("create", Some(ns_b.as_str()), true),
        ("get", Some(ns_a.as_str()), false),
        ("list", Some(ns_a.as_str()), false),
        ("delete", Some(ns_a.as_str()), false),
        ("create", Some("kube-system"), false),
        ("create", Some(OPERATOR_NAMESPACE), false),
    ] {
        let got = allowed(&admin, &portal, &sa_groups, verb, "", "secrets", namespace).await;
        assert_eq!(got, expected, "portal: {verb} secrets in {namespace:?}");
    }
    // Its leader-election Lease, in its own namespace only.
    for (namespace, expected) in [(OPERATOR_NAMESPACE, true), ("default", false)] {
        let got =
            allowed(&admin, &operator, &sa_groups, "update", "coordination.k8s.io", "leases", Some(namespace)).await;
        assert_eq!(got, expected, "operator: update leases in {namespace}");
    }
}
