//! Sign-in against real directories: a Samba Active Directory domain controller and an
//! OpenLDAP slapd, both with the test users and groups of `tests/directory/`. A user's
//! groups are their distinguished names.
//!
//! Start them first and export their settings:
//! ```text
//! tests/directory/samba.sh start && eval "$(tests/directory/samba.sh env)"
//! tests/directory/openldap.sh start && eval "$(tests/directory/openldap.sh env)"
//! cargo test -p makonis-portal --test directory
//! ```

mod support;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use makonis_portal::identity::ldap::{DirectoryConfig, DirectoryError, authenticate};
use makonis_portal::identity::{Identity, IdentitySource};

const PASSWORD: &str = "Parole-123!";

/// Login names that try to widen the search; none may sign anybody in.
const HOSTILE_NAMES: [&str; 5] = ["*", "anna*", ")(uid=*", "*)(sAMAccountName=*", "anna.requester)(|(cn=*"];

/// A self-signed CA whose key was thrown away: it signed neither server's certificate.
const UNTRUSTED_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBoDCCAUWgAwIBAgIUTG0txy/9k2cdqiYWNCSxboRB7q0wCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZTWFrb25pcyB1bnRydXN0ZWQgdGVzdCBDQTAgFw0yNjExMjgw
NTE1MDZaGA8yMTI2MTEwNDA1MTUwNlowJDEiMCAGA1UEAwwZTWFrb25pcyB1bnRy
dXN0ZWQgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCMw/MvDCl1j
GbTbiOMnXrQbuyP2RkPE86URE4dJi+v1YbHDO/9vL9CfaOgJnX2Z0vuXU6x2xQSG
Q9d24HrxGMejUzBRMB0GA1UdDgQWBBS/8qDzXPJ/MGlH+YZjsxCShBylmjAfBgNV
HSMEGDAWgBS/8qDzXPJ/MGlH+YZjsxCShBylmjAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0kAMEYCIQD5Sc6vkhGFmQmwuvmye16rbELtBmwO/fpmSqr+Qjdd
zgIhAI8G+3MjPKmMnMcPdYgS0qaBEhYrRMjGD88G9Ar0vyv4
-----END CERTIFICATE-----
";

/// The value of the environment variable `name`, which `tests/directory/SCRIPT env` exports.
fn env(name: &str, script: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run tests/directory/{script} start and eval its env: \
             eval \"$(tests/directory/{script} env)\""
        )
    })
}

/// The Samba domain controller over LDAPS, with the portal's service account.
fn samba() -> DirectoryConfig {
    let script = "samba.sh";
    let mut config = DirectoryConfig::active_directory(
        env("MAKONIS_TEST_SAMBA_URL", script),
        env("MAKONIS_TEST_SAMBA_BASE", script),
    );
    config.ca_file = Some(env("MAKONIS_TEST_SAMBA_CA", script).into());
    config.bind_dn = Some(env("MAKONIS_TEST_SAMBA_BIND_DN", script));
    config.bind_password = Some(env("MAKONIS_TEST_SAMBA_BIND_PASSWORD", script));
    config
}

/// OpenLDAP over `ldap://` upgraded with StartTLS, with the portal's service account.
fn openldap() -> DirectoryConfig {
    let script = "openldap.sh";
    let mut config =
        DirectoryConfig::openldap(env("MAKONIS_TEST_OPENLDAP_URL", script), env("MAKONIS_TEST_OPENLDAP_BASE", script));
    config.ca_file = Some(env("MAKONIS_TEST_OPENLDAP_CA", script).into());
    config.bind_dn = Some(env("MAKONIS_TEST_OPENLDAP_BIND_DN", script));
    config.bind_password = Some(env("MAKONIS_TEST_OPENLDAP_BIND_PASSWORD", script));
    config
}

/// OpenLDAP over LDAPS.
fn openldap_ldaps() -> DirectoryConfig {
    let mut config = openldap();
    config.url = env("MAKONIS_TEST_OPENLDAP_LDAPS_URL", "openldap.sh");
    config.start_tls = false;
    config
}

/// A PEM file with [`UNTRUSTED_CA`].
fn untrusted_ca() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("directory-untrusted-ca.pem");
        std::fs::write(&path, UNTRUSTED_CA).expect("write the untrusted CA");
        path
    })
    .clone()
}

fn expected(username: &str, display_name: &str, groups: &[&str]) -> Identity {
    Identity {
        username: username.into(),
        display_name: display_name.into(),
        email: Some(format!("{username}@lm.test")),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        source: IdentitySource::Directory,
    }
}

async fn assert_invalid(config: &DirectoryConfig, username: &str, password: &str) {
    let result = authenticate(config, username, password).await;
    assert_eq!(
        result,
        Err(DirectoryError::InvalidCredentials),
        "{username:?} with {} at {}",
        password.len(),
        config.url
    );
}

/// Wrong password, unknown user, empty password and hostile login names: all the same error.
async fn assert_refusals(config: &DirectoryConfig) {
    assert_invalid(config, "anna.requester", "Parole-124!").await;
    assert_invalid(config, "anna.requester", "").await;
    assert_invalid(config, "nobody.here", PASSWORD).await;
    for name in HOSTILE_NAMES {
        assert_invalid(config, name, PASSWORD).await;
    }
}

fn category(result: Result<Identity, DirectoryError>) -> &'static str {
    match result {
        Ok(identity) => panic!("signed in as {identity:?}"),
        Err(error) => error.category(),
    }
}

/// A tracing subscriber that writes every field of every span and event, at every level,
/// into one text.
#[derive(Default)]
struct Recorder {
    text: Arc<Mutex<String>>,
    next_id: AtomicU64,
}

/// Appends `name=value` for each field it visits.
struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Fields(&mut self.text.lock().unwrap()));
        tracing::span::Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.text.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.text.lock().unwrap();
        event.record(&mut Fields(&mut text));
        text.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The text of the recorder that is this test binary's global subscriber. (A thread-local
/// one would miss callsites that other tests' threads, without a subscriber, have already
/// registered as uninteresting.)
fn recorded() -> Arc<Mutex<String>> {
    static TEXT: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    TEXT.get_or_init(|| {
        let recorder = Recorder::default();
        let text = recorder.text.clone();
        tracing::subscriber::set_global_default(recorder).expect("no other global subscriber");
        text
    })
    .clone()
}

#[tokio::test]
async fn sign_ins_never_log_passwords() {
    let text = recorded();
    let mut secrets = vec![PASSWORD.to_owned(), "Wrong-Parole-9!".to_owned(), "Not-The-Parole-1!".to_owned()];
    for config in [samba(), openldap()] {
        secrets.extend(config.bind_password.clone());
        assert!(authenticate(&config, "anna.requester", PASSWORD).await.is_ok());
        assert!(authenticate(&config, "anna.requester", "Wrong-Parole-9!").await.is_err());
        let mut wrong_service = config.clone();
        wrong_service.bind_password = Some("Not-The-Parole-1!".into());
        assert!(authenticate(&wrong_service, "anna.requester", PASSWORD).await.is_err());
    }
    let logged = text.lock().unwrap().clone();
    assert!(logged.contains("outcome=\"success\"") && logged.contains("outcome=\"misconfigured\""), "{logged}");
    assert!(logged.contains("reason=\"wrong password\""), "{logged}");
    for secret in &secrets {
        assert!(!logged.contains(secret.as_str()), "{secret} was logged:\n{logged}");
    }
}

#[tokio::test]
async fn samba_signs_users_in_with_nested_groups() {
    let config = samba();
    let anna = authenticate(&config, "anna.requester", PASSWORD).await.unwrap();
    let groups = ["CN=VDI-Requesters,CN=Users,DC=lm,DC=test", "CN=VDI-Staff,CN=Users,DC=lm,DC=test"];
    assert_eq!(anna, expected("anna.requester", "Anna Bērziņa", &groups));
    let janis = authenticate(&config, "Janis.Approver", PASSWORD).await.unwrap();
    assert_eq!(janis, expected("janis.approver", "Jānis Kalniņš", &["CN=VDI-Approvers,CN=Users,DC=lm,DC=test"]));
}

#[tokio::test]
async fn samba_refuses_bad_credentials_alike() {
    let config = samba();
    assert_refusals(&config).await;
    assert_invalid(&config, "disabled.user", PASSWORD).await;
}

#[tokio::test]
async fn samba_starttls_works_and_plain_binds_are_refused_by_the_server() {
    let mut config = samba();
    config.url = "ldap://127.0.0.1:389".into();
    config.start_tls = true;
    assert_eq!(authenticate(&config, "anna.requester", PASSWORD).await.unwrap().username, "anna.requester");

    // Plain LDAP, allowed here, is still refused by Active Directory: stronger auth required.
    config.start_tls = false;
    config.allow_plain = true;
    assert_eq!(category(authenticate(&config, "anna.requester", PASSWORD).await), "misconfigured");
}

#[tokio::test]
async fn samba_with_an_untrusted_ca_is_unreachable() {
    let mut config = samba();
    config.ca_file = Some(untrusted_ca());
    let error = authenticate(&config, "anna.requester", PASSWORD).await.unwrap_err();
    assert!(matches!(&error, DirectoryError::Unreachable(why) if why.contains("certificate")), "{error}");
}

#[tokio::test]
async fn samba_with_a_wrong_service_password_or_base_is_misconfigured() {
    let mut config = samba();
    config.bind_password = Some("Not-The-Parole-1!".into());
    assert_eq!(category(authenticate(&config, "anna.requester", PASSWORD).await), "misconfigured");

    let mut config = samba();
    config.user_base = "OU=Nowhere,DC=lm,DC=test".into();
    let error = authenticate(&config, "anna.requester", PASSWORD).await.unwrap_err();
    assert!(matches!(&error, DirectoryError::Misconfigured(why) if why.contains("base DN")), "{error}");
}

#[tokio::test]
async fn openldap_signs_users_in_over_starttls_and_ldaps() {
    let groups = ["cn=VDI-Requesters,ou=groups,dc=lm,dc=test", "cn=VDI-Staff,ou=groups,dc=lm,dc=test"];
    let anna = expected("anna.requester", "Anna Bērziņa", &groups);
    assert_eq!(authenticate(&openldap(), "anna.requester", PASSWORD).await, Ok(anna.clone()));
    assert_eq!(authenticate(&openldap_ldaps(), "Anna.Requester", PASSWORD).await, Ok(anna));
    let janis = authenticate(&openldap_ldaps(), "janis.approver", PASSWORD).await.unwrap();
    assert_eq!(janis, expected("janis.approver", "Jānis Kalniņš", &["cn=VDI-Approvers,ou=groups,dc=lm,dc=test"]));
}

#[tokio::test]
async fn openldap_refuses_bad_credentials_alike() {
    assert_refusals(&openldap()).await;
    assert_refusals(&openldap_ldaps()).await;
}

#[tokio::test]
async fn openldap_with_an_untrusted_ca_is_unreachable() {
    for mut config in [openldap(), openldap_ldaps()] {
        config.ca_file = Some(untrusted_ca());
        let error = authenticate(&config, "anna.requester", PASSWORD).await.unwrap_err();
        assert!(matches!(&error, DirectoryError::Unreachable(why) if why.contains("certificate")), "{error}");
    }
}

#[tokio::test]
async fn openldap_with_a_wrong_service_password_is_misconfigured() {
    let mut config = openldap();
    config.bind_password = Some("Not-The-Parole-1!".into());
    let error = authenticate(&config, "anna.requester", PASSWORD).await.unwrap_err();
    assert!(matches!(&error, DirectoryError::Misconfigured(why) if why.contains("service account")), "{error}");
}

#[tokio::test]
async fn openldap_plain_ldap_only_when_allowed() {
    let mut config = openldap();
    config.start_tls = false;
    let error = authenticate(&config, "anna.requester", PASSWORD).await.unwrap_err();
    assert!(matches!(&error, DirectoryError::Misconfigured(why) if why.contains("clear text")), "{error}");

    config.allow_plain = true;
    assert_eq!(authenticate(&config, "anna.requester", PASSWORD).await.unwrap().username, "anna.requester");
}

#[tokio::test]
async fn plain_ldap_is_refused_without_connecting() {
    // Nothing listens on port 1: a connection attempt would be Unreachable.
    let mut config = DirectoryConfig::openldap("ldap://127.0.0.1:1", "dc=lm,dc=test");
    config.start_tls = false;
    assert_eq!(category(authenticate(&config, "anna.requester", PASSWORD).await), "misconfigured");
}

/// Fails the test if `sign_in` hangs instead of giving up (a guard, not a measurement).
async fn without_hanging<T>(url: &str, sign_in: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), sign_in).await.unwrap_or_else(|_| panic!("{url}: the sign-in hung"))
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    for url in ["ldaps://127.0.0.1:1", "ldap://127.0.0.1:1"] {
        let config = DirectoryConfig::active_directory(url, "DC=lm,DC=test");
        let result = without_hanging(url, authenticate(&config, "anna.requester", PASSWORD)).await;
        assert_eq!(category(result), "unreachable", "{url}");
    }
}

#[tokio::test]
async fn a_server_that_never_answers_is_unreachable_after_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept connections and keep them open without a word.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    for url in [format!("ldaps://127.0.0.1:{port}"), format!("ldap://127.0.0.1:{port}")] {
        let mut config = DirectoryConfig::openldap(url.as_str(), "dc=lm,dc=test");
        config.timeout = Duration::from_millis(300);
        let error = without_hanging(&url, authenticate(&config, "anna.requester", PASSWORD)).await.unwrap_err();
        assert!(matches!(&error, DirectoryError::Unreachable(why) if why.contains("no answer")), "{url}: {error}");
    }
    silent.abort();
}

/// Signing in to the portal itself against Samba AD: the sign-in form, a session, and the
/// directory's (nested) groups deciding access; a wrong password and an unreachable
/// directory answer with the form again, the username kept.
#[tokio::test]
async fn the_portal_signs_in_against_active_directory_and_maps_its_groups() {
    let mut config = makonis_portal::context::PortalConfig { directory: Some(samba()), ..Default::default() };
    config.platform_groups.operators = "VDI-Staff".into();
    let portal = support::portal::TestPortal::with_config(support::sqlite_store().await, Vec::new(), config).await;
    let anna = portal.try_sign_in("anna.requester", "Parole-123!").await.expect("Anna signs in with her AD password");
    let admin = portal.get(Some(&anna), "/admin/agencies").await;
    assert_eq!(
        admin.status,
        axum::http::StatusCode::OK,
        "VDI-Staff (through VDI-Requesters) is the platform operators' group"
    );
    let janis = portal.try_sign_in("janis.approver", "Parole-123!").await.expect("Jānis signs in");
    assert_eq!(portal.get(Some(&janis), "/admin/agencies").await.status, axum::http::StatusCode::FORBIDDEN);
    let wrong = portal.try_sign_in("anna.requester", "nepareizi").await.unwrap_err();
    assert_eq!(wrong.status, axum::http::StatusCode::UNAUTHORIZED);

    let mut down = samba();
    down.url = "ldaps://127.0.0.1:1".into();
    let config = makonis_portal::context::PortalConfig { directory: Some(down), ..Default::default() };
    let portal = support::portal::TestPortal::with_config(support::sqlite_store().await, Vec::new(), config).await;
    let unreachable = portal.try_sign_in("anna.requester", "Parole-123!").await.unwrap_err();
    assert_eq!(unreachable.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
    assert!(unreachable.body.contains(r#"value="anna.requester""#), "what the user typed is kept");
}
