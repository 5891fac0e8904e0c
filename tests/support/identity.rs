//! The identity tests' world: the Samba AD domain controller of `tests/directory/samba.sh`,
//! a Directory pointing at it for one test run, an Agency whose OU lives in a subtree of
//! that run's own (removed at the end), and the operators that manage them — tenancy (for
//! the namespace) and identity, each as its own ServiceAccount. Assertions read the
//! directory with `ldapsearch`, an independent client, never with the operator's code.

use std::{
    collections::BTreeMap,
    io::Write,
    process::{Command, Stdio},
};

use base64::Engine;
use k8s_openapi::{ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use makonis_api::{
    identity::{Directory, DirectoryUser},
    tenancy::Agency,
};
use serde_json::json;

use super::{
    CONVERGE,
    agencies::{TEST_LABEL, test_agency, unique_id},
    cluster::{
        OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, admin_client, install_platform, service_account_kubeconfig,
    },
    directory::env,
    operator::{OperatorOptions, OperatorProcess},
    tenancy::wait_ready,
    wait_until,
};

/// The identity operator's ServiceAccount (from manifests/base/rbac).
pub const IDENTITY_SERVICE_ACCOUNT: &str = "makonis-identity-operator";

/// One entry as `ldapsearch` printed it: attribute (lower case) → values (decoded).
pub type LdapEntry = BTreeMap<String, Vec<String>>;

/// One identity test's world.
pub struct IdentityRun {
    /// Cluster-admin client.
    pub admin: Client,
    /// The run id.
    pub run: String,
    /// The run's agency code.
    pub code: String,
    /// The agency's namespace.
    pub namespace: String,
    /// The subtree all of this run's OUs live in: `OU=Test-<run>,DC=lm,DC=test`.
    pub subtree: String,
    /// The agency's OU.
    pub agency_ou: String,
    /// The Directory's name.
    pub directory: String,
    /// The tenancy operator, kept running (it makes the agency's namespace) until the run ends.
    tenancy: OperatorProcess,
    /// The identity operator (its log is worth reading when a test fails).
    pub identity: OperatorProcess,
}

/// The domain's base DN.
pub fn base() -> String {
    env("MAKONIS_TEST_SAMBA_BASE", "samba.sh")
}

impl IdentityRun {
    /// Installs the platform, creates the Directory (with its Secrets), an Agency whose OU
    /// is under the run's own subtree, and starts both operators; waits for the Agency.
    pub async fn start(leaver_grace_days: u32, drift: &str, resync_seconds: u64) -> Self {
        let admin = admin_client().await;
        install_platform(&admin).await;
        let run = unique_id();
        let code = format!("id{run}");
        let subtree = format!("OU=Test-{run},{}", base());
        let agency_ou = format!("OU={code},OU=Agencies,{subtree}");

        let directory = create_directory(&admin, &run, drift, leaver_grace_days).await;
        let agency = identity_agency(&code, &run, &agency_ou);
        let agencies: Api<Agency> = Api::all(admin.clone());
        agencies.create(&PostParams::default(), &agency).await.expect("the Agency is created");

        let tenancy_config = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT).await;
        let tenancy = OperatorProcess::start(OperatorOptions {
            kubeconfig: &tenancy_config,
            controllers: "tenancy",
            run: &run,
            resync_seconds: 300,
            extra_args: &[],
        })
        .await;
        wait_ready(&agencies, &code).await;
        let identity_config = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, IDENTITY_SERVICE_ACCOUNT).await;
        let identity = OperatorProcess::start(OperatorOptions {
            kubeconfig: &identity_config,
            controllers: "identity",
            run: &run,
            resync_seconds,
            extra_args: &[],
        })
        .await;
        let namespace = format!("agency-{code}");
        Self { admin, run, code, namespace, subtree, agency_ou, directory, tenancy, identity }
    }

    /// The DirectoryUsers of the agency's namespace.
    pub fn users(&self) -> Api<DirectoryUser> {
        Api::namespaced(self.admin.clone(), &self.namespace)
    }

    /// Applies `object` (YAML-ish JSON) in the agency's namespace as the admin.
    pub async fn apply<K>(&self, object: serde_json::Value) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.admin.clone(), &self.namespace);
        let name = object["metadata"]["name"].as_str().expect("a name").to_string();
        api.patch(&name, &PatchParams::apply("identity-test").force(), &Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("applying {name}: {e}"))
    }

    /// The DN of `cn` under the agency's sub-OU `unit`.
    pub fn dn(&self, cn: &str, unit: &str) -> String {
        format!("CN={cn},OU={unit},{}", self.agency_ou)
    }

    /// Waits until the `kind` object `name` of the namespace has the condition
    /// `type_` with `status`, and returns the object as JSON.
    pub async fn wait_condition(&self, plural: &str, name: &str, type_: &str, status: &str) -> serde_json::Value {
        self.wait_reason(plural, name, type_, status, None).await
    }

    /// Like [`IdentityRun::wait_condition`], for a condition that is false for `reason`
    /// (another reason on the way, say `Waiting`, is not yet the answer).
    pub async fn wait_false(&self, plural: &str, name: &str, type_: &str, reason: &str) -> serde_json::Value {
        self.wait_reason(plural, name, type_, "False", Some(reason)).await
    }

    async fn wait_reason(
        &self,
        plural: &str,
        name: &str,
        type_: &str,
        status: &str,
        reason: Option<&str>,
    ) -> serde_json::Value {
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
            self.admin.clone(),
            &self.namespace,
            &kube::api::ApiResource {
                group: "identity.makonis.lv".into(),
                version: "v1alpha1".into(),
                api_version: "identity.makonis.lv/v1alpha1".into(),
                kind: String::new(),
                plural: plural.into(),
            },
        );
        wait_until(&format!("{plural}/{name} to have {type_}={status}"), CONVERGE, || async {
            let object = api.get(name).await.map_err(|e| e.to_string())?;
            let value = serde_json::to_value(&object).map_err(|e| e.to_string())?;
            let conditions = value["status"]["conditions"].as_array().cloned().unwrap_or_default();
            let generation = value["metadata"]["generation"].clone();
            let observed = value["status"]["observedGeneration"].clone();
            match conditions.iter().find(|c| c["type"] == type_) {
                Some(c)
                    if c["status"] == status
                        && (status == "False" || generation == observed)
                        && reason.is_none_or(|r| c["reason"] == r) =>
                {
                    Ok(value)
                }
                other => Err(format!("{other:?}")),
            }
        })
        .await
    }
}

impl Drop for IdentityRun {
    fn drop(&mut self) {
        // The run's whole subtree goes, whatever the test left in it.
        let _ = ldap_tool("ldapdelete", &["-e", "!1.2.840.113556.1.4.805", &self.subtree], None);
    }
}

/// Creates the Directory `samba-<run>` for the Samba domain, labelled for the run, with
/// its CA and bind Secrets (the domain's administrator) in the platform namespace; returns
/// its name.
pub async fn create_directory(admin: &Client, run: &str, drift: &str, leaver_grace_days: u32) -> String {
    let directory = format!("samba-{run}");
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), OPERATOR_NAMESPACE);
    let ca = std::fs::read(env("MAKONIS_TEST_SAMBA_CA", "samba.sh")).expect("the Samba CA");
    create_secret(&secrets, &format!("{directory}-ca"), [("ca.crt", ca)]).await;
    create_secret(
        &secrets,
        &format!("{directory}-bind"),
        [
            ("username", env("MAKONIS_TEST_SAMBA_ADMIN_DN", "samba.sh").into_bytes()),
            ("password", env("MAKONIS_TEST_SAMBA_ADMIN_PASSWORD", "samba.sh").into_bytes()),
        ],
    )
    .await;
    let directories: Api<Directory> = Api::all(admin.clone());
    let object: Directory = serde_json::from_value(json!({
        "apiVersion": "identity.makonis.lv/v1alpha1",
        "kind": "Directory",
        "metadata": {"name": directory, "labels": {TEST_LABEL: run}},
        "spec": {
            "url": env("MAKONIS_TEST_SAMBA_URL", "samba.sh"),
            "caSecret": format!("{directory}-ca"),
            "bindSecret": format!("{directory}-bind"),
            "baseDn": base(),
            "drift": drift,
            "leaverGraceDays": leaver_grace_days,
        }
    }))
    .unwrap();
    directories.create(&PostParams::default(), &object).await.expect("the Directory is created");
    directory
}

/// A test agency `code` whose OU is `ou` and whose role groups are `<code>-admins` and so
/// on (group names are unique in a domain, so each run has its own).
pub fn identity_agency(code: &str, run: &str, ou: &str) -> Agency {
    let mut agency = test_agency(code, run);
    agency.spec.directory.organizational_unit = ou.to_string();
    let groups = &mut agency.spec.directory.groups;
    for (group, role) in [
        (&mut groups.admins, "admins"),
        (&mut groups.requesters, "requesters"),
        (&mut groups.approvers, "approvers"),
        (&mut groups.security_officers, "security"),
        (&mut groups.viewers, "viewers"),
    ] {
        *group = format!("{code}-{role}");
    }
    agency
}

async fn create_secret<const N: usize>(api: &Api<Secret>, name: &str, data: [(&str, Vec<u8>); N]) {
    let secret = Secret {
        metadata: ObjectMeta { name: Some(name.into()), ..ObjectMeta::default() },
        data: Some(data.into_iter().map(|(k, v)| (k.to_string(), ByteString(v))).collect()),
        ..Secret::default()
    };
    api.create(&PostParams::default(), &secret).await.unwrap_or_else(|e| panic!("creating the Secret {name}: {e}"));
}

/// Runs an OpenLDAP client tool against Samba as its administrator (or as `bind` =
/// `(user, password)`), with `ldif` on stdin; returns (success, stdout, stderr).
pub fn ldap_tool(tool: &str, args: &[&str], ldif: Option<&str>) -> (bool, String, String) {
    ldap_tool_as(tool, args, ldif, None)
}

/// [`ldap_tool`] bound as `bind` instead of the administrator.
pub fn ldap_tool_as(
    tool: &str,
    args: &[&str],
    ldif: Option<&str>,
    bind: Option<(&str, &str)>,
) -> (bool, String, String) {
    let script = "samba.sh";
    let (user, password) = match bind {
        Some((user, password)) => (user.to_string(), password.to_string()),
        None => (env("MAKONIS_TEST_SAMBA_ADMIN_DN", script), env("MAKONIS_TEST_SAMBA_ADMIN_PASSWORD", script)),
    };
    let mut child = Command::new(tool)
        .env("LDAPTLS_CACERT", env("MAKONIS_TEST_SAMBA_CA", script))
        .env("LDAPTLS_REQCERT", "demand")
        .args(["-x", "-H", &env("MAKONIS_TEST_SAMBA_URL", script), "-D", &user, "-w", &password])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool} (ldap-utils) runs: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(ldif) = ldif {
        stdin.write_all(ldif.as_bytes()).expect("the LDIF is written");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("the tool ends");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Changes the directory as its administrator (`ldapmodify`); panics with the tool's words.
pub fn ldap_modify(ldif: &str) {
    let (ok, _, stderr) = ldap_tool("ldapmodify", &[], Some(ldif));
    assert!(ok, "ldapmodify failed: {stderr}\n{ldif}");
}

/// The entries `ldapsearch` finds under `base` (subtree) for `filter`, with `attributes`.
pub fn search(base: &str, filter: &str, attributes: &[&str]) -> Vec<(String, LdapEntry)> {
    let mut args = vec!["-LLL", "-o", "ldif-wrap=no", "-b", base, filter];
    args.extend(attributes);
    let (ok, stdout, stderr) = ldap_tool("ldapsearch", &args, None);
    if !ok && stderr.contains("No such object") || stdout.is_empty() && stderr.contains("(32)") {
        return Vec::new();
    }
    assert!(ok, "ldapsearch failed: {stderr}");
    parse_ldif(&stdout)
}

/// The entry at `dn`, if it exists.
pub fn read(dn: &str, attributes: &[&str]) -> Option<LdapEntry> {
    let mut args = vec!["-LLL", "-o", "ldif-wrap=no", "-s", "base", "-b", dn, "(objectClass=*)"];
    args.extend(attributes);
    let (ok, stdout, stderr) = ldap_tool("ldapsearch", &args, None);
    if !ok {
        assert!(stderr.contains("No such object") || stderr.contains("(32)"), "ldapsearch failed: {stderr}");
        return None;
    }
    parse_ldif(&stdout).into_iter().next().map(|(_, entry)| entry)
}

/// Whether binding as `user` with `password` works, and the server's words when not.
pub fn bind(user: &str, password: &str) -> Result<(), String> {
    let (ok, _, stderr) = ldap_tool_as(
        "ldapsearch",
        &["-LLL", "-s", "base", "-b", "", "(objectClass=*)", "dn"],
        None,
        Some((user, password)),
    );
    if ok { Ok(()) } else { Err(stderr) }
}

/// Entries of LDIF text (values after `::` are base64, decoded as UTF-8).
fn parse_ldif(text: &str) -> Vec<(String, LdapEntry)> {
    let mut entries = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut dn = String::new();
        let mut entry = LdapEntry::new();
        for line in block.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = match value.strip_prefix(':') {
                Some(encoded) => String::from_utf8_lossy(
                    &base64::engine::general_purpose::STANDARD.decode(encoded.trim()).unwrap_or_default(),
                )
                .into_owned(),
                None => value.trim().to_string(),
            };
            if name.eq_ignore_ascii_case("dn") {
                dn = value;
            } else {
                entry.entry(name.to_lowercase()).or_default().push(value);
            }
        }
        if !dn.is_empty() {
            entries.push((dn, entry));
        }
    }
    entries
}

/// The first value of `name` in `entry`.
pub fn first<'a>(entry: &'a LdapEntry, name: &str) -> Option<&'a str> {
    entry.get(&name.to_lowercase()).and_then(|v| v.first()).map(String::as_str)
}
