//! Threats: an agency role reaching beyond what it is for — writing the operators' status
//! records, reaching another agency, running commands in pods or granting itself roles.
//! Decided by the real API server's authoriser for the RoleBindings the tenancy operator
//! writes. The matrix of every role's rights is generated here and kept in
//! `docs/security/authorization-matrix.md`; a test fails when the API server decides
//! otherwise than the committed page says.

use std::collections::BTreeSet;

use futures::{StreamExt, stream};
use kube::Client;
use makonis_api::all_crds;

use crate::support::{
    access::{Request, allowed},
    cluster::yaml_documents,
    tenancy::{TestRun, wait_ready},
};

/// Every verb a role could hold on a resource.
const VERBS: [&str; 8] = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
/// The verbs that only read.
const READ: [&str; 3] = ["get", "list", "watch"];
/// The verbs that change one object.
const WRITE: [&str; 4] = ["create", "update", "patch", "delete"];

/// The committed matrix, relative to the repository.
const MATRIX_PAGE: &str = "docs/security/authorization-matrix.md";

/// A resource (or subresource) the matrix shows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Resource {
    group: String,
    resource: String,
    subresource: Option<String>,
    namespaced: bool,
    installed: bool,
}

impl Resource {
    fn name(&self) -> String {
        let group = if self.group.is_empty() { String::new() } else { format!(".{}", self.group) };
        let sub = self.subresource.as_ref().map(|s| format!("/{s}")).unwrap_or_default();
        let note = if self.installed { "" } else { " (not installed yet)" };
        let scope = if self.namespaced { "" } else { " (cluster-wide)" };
        format!("`{}{group}{sub}`{scope}{note}", self.resource)
    }
}

/// Every Mākonis resource and subresource: the installed CRDs, and the kinds of later API
/// groups that the agency roles already name.
fn makonis_resources() -> Vec<Resource> {
    let mut resources = BTreeSet::new();
    for crd in all_crds() {
        let namespaced = crd.spec.scope == "Namespaced";
        let base = Resource {
            group: crd.spec.group.clone(),
            resource: crd.spec.names.plural.clone(),
            subresource: None,
            namespaced,
            installed: true,
        };
        for version in &crd.spec.versions {
            let Some(subresources) = &version.subresources else { continue };
            if subresources.status.is_some() {
                resources.insert(Resource { subresource: Some("status".into()), ..base.clone() });
            }
            if subresources.scale.is_some() {
                resources.insert(Resource { subresource: Some("scale".into()), ..base.clone() });
            }
        }
        resources.insert(Resource { subresource: Some("finalizers".into()), ..base.clone() });
        resources.insert(base);
    }
    let installed: BTreeSet<(String, String)> =
        resources.iter().map(|r| (r.group.clone(), r.resource.clone())).collect();
    let roles = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/base/rbac/agency-roles.yaml"))
        .expect("the agency roles");
    for role in yaml_documents(&roles) {
        for rule in role["rules"].as_array().into_iter().flatten() {
            for group in rule["apiGroups"].as_array().into_iter().flatten().filter_map(|g| g.as_str()) {
                if !group.ends_with("makonis.lv") {
                    continue;
                }
                for resource in rule["resources"].as_array().into_iter().flatten().filter_map(|r| r.as_str()) {
                    if !installed.contains(&(group.to_string(), resource.to_string())) {
                        resources.insert(Resource {
                            group: group.into(),
                            resource: resource.into(),
                            subresource: None,
                            namespaced: true,
                            installed: false,
                        });
                    }
                }
            }
        }
    }
    resources.into_iter().collect()
}

/// The Kubernetes resources of an agency's namespace whose rights matter most: its data
/// (Secrets), running commands in its pods, and who holds which role.
fn kubernetes_resources() -> Vec<Resource> {
    let resource = |group: &str, resource: &str, subresource: Option<&str>| Resource {
        group: group.into(),
        resource: resource.into(),
        subresource: subresource.map(Into::into),
        namespaced: true,
        installed: true,
    };
    vec![
        resource("", "secrets", None),
        resource("", "configmaps", None),
        resource("", "pods", None),
        resource("", "pods", Some("exec")),
        resource("", "pods", Some("attach")),
        resource("", "pods", Some("portforward")),
        resource("", "pods", Some("log")),
        resource("", "serviceaccounts", None),
        resource("", "serviceaccounts", Some("token")),
        resource("", "services", None),
        resource("", "persistentvolumeclaims", None),
        resource("", "resourcequotas", None),
        resource("", "limitranges", None),
        resource("", "events", None),
        resource("apps", "deployments", None),
        resource("networking.k8s.io", "networkpolicies", None),
        resource("rbac.authorization.k8s.io", "rolebindings", None),
        resource("rbac.authorization.k8s.io", "roles", None),
    ]
}

/// Someone whose rights the matrix shows.
struct Subject {
    title: &'static str,
    user: String,
    groups: Vec<String>,
}

/// The five roles of agency `code` (its directory groups as `test_agency` names them), a
/// signed-in user with no role, and an anonymous caller.
fn subjects(code: &str) -> Vec<Subject> {
    let group = |suffix: &str| vec![format!("{}-{suffix}", code.to_uppercase())];
    let person = |title, suffix| Subject { title, user: "someone@lm.gov.lv".into(), groups: group(suffix) };
    vec![
        person("agency admin", "Admins"),
        person("requester", "Requesters"),
        person("approver", "Approvers"),
        person("security officer", "Security"),
        person("viewer", "Viewers"),
        Subject { title: "any signed-in user", user: "someone@lm.gov.lv".into(), groups: vec![] },
        Subject { title: "anonymous", user: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()] },
    ]
}

/// The verbs `subject` may use on each of `resources` in `namespace` (cluster-wide ones
/// are asked cluster-wide): one set per resource, in order.
async fn rights(
    admin: &Client,
    subject: &Subject,
    resources: &[Resource],
    namespace: &str,
) -> Vec<BTreeSet<&'static str>> {
    let mut groups = subject.groups.clone();
    if subject.user != "system:anonymous" {
        groups.push("system:authenticated".into());
    }
    let asks = resources
        .iter()
        .enumerate()
        .flat_map(|(index, resource)| VERBS.iter().map(move |verb| (index, resource, *verb)));
    let answers: Vec<(usize, &'static str, bool)> = stream::iter(asks)
        .map(|(index, resource, verb)| {
            let groups = &groups;
            async move {
                let request = Request {
                    verb,
                    group: &resource.group,
                    resource: &resource.resource,
                    subresource: resource.subresource.as_deref(),
                    namespace: resource.namespaced.then_some(namespace),
                };
                (index, verb, allowed(admin, &subject.user, groups, request).await)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut sets = vec![BTreeSet::new(); resources.len()];
    for (index, verb, yes) in answers {
        if yes {
            sets[index].insert(verb);
        }
    }
    sets
}

/// A cell of the matrix: `read`, `write`, other verbs by name, or `—`.
fn cell(verbs: &BTreeSet<&'static str>) -> String {
    if verbs.is_empty() {
        return "—".into();
    }
    let mut left = verbs.clone();
    let mut words = Vec::new();
    for (word, group) in [("read", &READ[..]), ("write", &WRITE[..])] {
        if group.iter().all(|v| left.contains(v)) {
            words.push(word.to_string());
            group.iter().for_each(|v| {
                left.remove(v);
            });
        }
    }
    words.extend(VERBS.iter().filter(|v| left.contains(*v)).map(|v| v.to_string()));
    words.join(" ")
}

/// Two agencies with their RoleBindings, written by the tenancy operator.
struct Agencies {
    run: TestRun,
    a: String,
    b: String,
}

impl Agencies {
    async fn ready() -> Self {
        let run = TestRun::start(300).await;
        let (a, b) = (run.code("rbaca"), run.code("rbacb"));
        run.create(&a).await;
        run.create(&b).await;
        wait_ready(&run.agencies, &a).await;
        wait_ready(&run.agencies, &b).await;
        Self { run, a, b }
    }
}

fn all_resources() -> Vec<Resource> {
    let mut resources = makonis_resources();
    resources.extend(kubernetes_resources());
    resources
}

/// The page: what each role of an agency may do in its own namespace.
fn matrix_page(titles: &[&str], resources: &[Resource], columns: &[Vec<BTreeSet<&'static str>>]) -> String {
    let mut page = String::from(
        "# Who may do what in an agency's namespace\n\n\
         Generated by `tests/security/rbac.rs` from the API server's own decisions\n\
         (SubjectAccessReview) for the RoleBindings the tenancy operator writes for an agency;\n\
         the test fails when the API server decides otherwise than this page says. After a\n\
         deliberate change of `manifests/base/rbac/agency-roles.yaml`, regenerate it with\n\
         `MAKONIS_WRITE_DOCS=1 cargo test --test security rbac::` (with the test control plane of\n\
         `./test.sh` running) and review the difference.\n\n\
         **read** is get, list and watch; **write** is create, update, patch and delete; other\n\
         verbs are named; — is nothing. In another agency's namespace every role may do nothing\n\
         (`no_agency_role_reaches_another_agency_either_way`). Cluster-wide kinds are asked\n\
         cluster-wide: agency roles are bound in their namespace only, so they hold nothing there.\n\
         Platform administrators, catalog authors and the operators' ServiceAccounts are not\n\
         tenants and are not shown (see `threat-model.md`).\n\n",
    );
    page.push_str(&format!("| resource | {} |\n", titles.join(" | ")));
    page.push_str(&format!("|---|{}\n", "---|".repeat(titles.len())));
    for (row, resource) in resources.iter().enumerate() {
        let cells: Vec<String> = columns.iter().map(|column| cell(&column[row])).collect();
        page.push_str(&format!("| {} | {} |\n", resource.name(), cells.join(" | ")));
    }
    page
}

#[tokio::test]
async fn the_authorisation_matrix_is_what_the_api_server_decides() {
    let setup = Agencies::ready().await;
    let resources = all_resources();
    let namespace = format!("agency-{}", setup.a);
    let people = subjects(&setup.a);
    let mut columns = Vec::new();
    for subject in &people {
        columns.push(rights(&setup.run.admin, subject, &resources, &namespace).await);
    }
    let titles: Vec<&str> = people.iter().map(|s| s.title).collect();
    let page = matrix_page(&titles, &resources, &columns);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(MATRIX_PAGE);
    if std::env::var_os("MAKONIS_WRITE_DOCS").is_some() {
        std::fs::write(&path, &page).expect("write the matrix");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "{MATRIX_PAGE} differs from what the API server decides; review the change and regenerate it with \
         `MAKONIS_WRITE_DOCS=1 cargo test --test security rbac::`. Decided now:\n{page}"
    );
}

#[tokio::test]
async fn no_agency_role_may_write_a_status_or_any_other_subresource() {
    let setup = Agencies::ready().await;
    let subresources: Vec<Resource> = makonis_resources().into_iter().filter(|r| r.subresource.is_some()).collect();
    assert!(subresources.iter().any(|r| r.resource == "volumes"), "the compute kinds are among them");
    let namespace = format!("agency-{}", setup.a);
    for subject in subjects(&setup.a) {
        let held = rights(&setup.run.admin, &subject, &subresources, &namespace).await;
        for (resource, verbs) in subresources.iter().zip(held) {
            let writes: Vec<_> = verbs.iter().filter(|v| !READ.contains(v)).collect();
            assert!(writes.is_empty(), "{} may {writes:?} {}", subject.title, resource.name());
        }
    }
}

#[tokio::test]
async fn no_agency_role_reaches_another_agency_either_way() {
    let setup = Agencies::ready().await;
    let resources = all_resources();
    for (own, other) in [(&setup.a, &setup.b), (&setup.b, &setup.a)] {
        let namespace = format!("agency-{other}");
        for subject in subjects(own).into_iter().take(5) {
            let held = rights(&setup.run.admin, &subject, &resources, &namespace).await;
            for (resource, verbs) in resources.iter().zip(held) {
                assert!(
                    verbs.is_empty(),
                    "{} of {own} may {verbs:?} {} in {namespace}",
                    subject.title,
                    resource.name()
                );
            }
        }
    }
}

#[tokio::test]
async fn no_agency_role_may_run_commands_in_pods_or_grant_itself_roles() {
    let setup = Agencies::ready().await;
    let namespace = format!("agency-{}", setup.a);
    let dangerous: Vec<Resource> = kubernetes_resources()
        .into_iter()
        .filter(|r| {
            matches!(r.subresource.as_deref(), Some("exec" | "attach" | "portforward" | "token"))
                || matches!(r.resource.as_str(), "rolebindings" | "roles")
        })
        .collect();
    for subject in subjects(&setup.a) {
        let held = rights(&setup.run.admin, &subject, &dangerous, &namespace).await;
        for (resource, verbs) in dangerous.iter().zip(held) {
            let risky: Vec<_> = verbs.iter().filter(|v| resource.subresource.is_some() || !READ.contains(v)).collect();
            assert!(risky.is_empty(), "{} may {risky:?} {}", subject.title, resource.name());
        }
    }
    for (verb, resource) in [("bind", "clusterroles"), ("escalate", "clusterroles"), ("escalate", "roles")] {
        for subject in subjects(&setup.a) {
            let request = Request {
                verb,
                group: "rbac.authorization.k8s.io",
                resource,
                subresource: None,
                namespace: Some(&namespace),
            };
            let mut groups = subject.groups.clone();
            groups.push("system:authenticated".into());
            assert!(
                !allowed(&setup.run.admin, &subject.user, &groups, request).await,
                "{} may {verb} {resource}",
                subject.title
            );
        }
    }
}
