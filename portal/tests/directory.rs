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

/// The password of a new account, before its owner changes it.
const INITIAL_PASSWORD: &str = "Sākuma-Parole-1!";

/// An account in Samba that must change its password at the first sign-in (as the identity
/// operator creates people), under a fresh name; deleted when dropped.
struct NewAccount {
    username: String,
    dn: String,
}

impl NewAccount {
    async fn create() -> Self {
        let mut suffix = [0u8; 4];
        getrandom::fill(&mut suffix).unwrap();
        let username = format!("pw{}", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let dn = format!("CN={username},CN=Users,{}", env("MAKONIS_TEST_SAMBA_BASE", "samba.sh"));
        let mut ldap = admin_connection().await;
        let password: Vec<u8> = format!("\"{INITIAL_PASSWORD}\"").encode_utf16().flat_map(u16::to_le_bytes).collect();
        let value = |v: &str| std::collections::HashSet::from([v.as_bytes().to_vec()]);
        ldap.add(
            &dn,
            vec![
                (b"objectClass".to_vec(), value("user")),
                (b"sAMAccountName".to_vec(), value(&username)),
                (b"userPrincipalName".to_vec(), value(&format!("{username}@lm.test"))),
                (b"unicodePwd".to_vec(), std::collections::HashSet::from([password])),
                (b"userAccountControl".to_vec(), value("512")),
            ],
        )
        .await
        .unwrap()
        .success()
        .expect("the account is created");
        ldap.modify(&dn, vec![ldap3::Mod::Replace(b"pwdLastSet".to_vec(), value("0"))])
            .await
            .unwrap()
            .success()
            .expect("the account must change its password");
        Self { username, dn }
    }
}

impl Drop for NewAccount {
    fn drop(&mut self) {
        let dn = self.dn.clone();
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let mut ldap = admin_connection().await;
                let _ = ldap.delete(&dn).await;
            })
        })
        .join()
        .unwrap();
    }
}

/// The domain administrator's connection to Samba over LDAPS.
async fn admin_connection() -> ldap3::Ldap {
    let config = samba();
    let ca = std::fs::read(config.ca_file.as_ref().unwrap()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let settings = ldap3::LdapConnSettings::new().set_config(Arc::new(tls));
    let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, &config.url).await.unwrap();
    ldap3::drive!(conn);
    let script = "samba.sh";
    ldap.simple_bind(&env("MAKONIS_TEST_SAMBA_ADMIN_DN", script), &env("MAKONIS_TEST_SAMBA_ADMIN_PASSWORD", script))
        .await
        .unwrap()
        .success()
        .expect("the domain administrator binds");
    ldap
}

/// Posts the password form as someone not signed in (with the form's own CSRF token).
async fn post_password(portal: &support::portal::TestPortal, fields: &[(&str, &str)]) -> support::portal::Answer {
    use makonis_portal::web::cookies;
    let login = portal.cookie_name(cookies::LOGIN_CSRF);
    let form = portal.get(None, "/password").await;
    let csrf = support::portal::cookie_value(&form.headers, &login).expect("the form sets its CSRF cookie");
    let mut pairs = vec![("_csrf", csrf.as_str()), ("next", "/catalog")];
    pairs.extend_from_slice(fields);
    let body = serde_urlencoded::to_string(&pairs).unwrap();
    portal.post_raw(Some(&format!("{login}={csrf}")), "/password", &body).await
}

/// A new account's first sign-in: the directory takes the initial password but wants a new
/// one, so the portal asks for it with the domain's rules; refusals name the rule; the new
/// password signs the person in. Every attempt is audited.
#[tokio::test]
async fn a_new_account_changes_its_first_password_in_the_portal_and_signs_in_with_it() {
    let account = NewAccount::create().await;
    let user = account.username.as_str();
    let config = makonis_portal::context::PortalConfig { directory: Some(samba()), ..Default::default() };
    let portal = support::portal::TestPortal::with_config(support::sqlite_store().await, Vec::new(), config).await;

    let first = portal.try_sign_in(user, INITIAL_PASSWORD).await.expect_err("not signed in before the change");
    assert_eq!(first.status, axum::http::StatusCode::OK, "{}", first.body);
    assert!(first.body.contains(r#"id="password-required""#), "the change form, saying why");
    assert!(first.body.contains(&format!(r#"value="{user}""#)), "with the login name");
    assert!(
        first.body.contains("vismaz 7 rakstzīmes"),
        "with the domain's rules (in Latvian, the default): {}",
        first.body
    );
    let after_wrong = portal.try_sign_in(user, "Nepareiza-Parole-1!").await.unwrap_err();
    assert_eq!(after_wrong.status, axum::http::StatusCode::UNAUTHORIZED, "a wrong password is only wrong");

    let attempt = |current: &'static str, new: &'static str, repeat: &'static str| {
        [("username", user), ("current_password", current), ("new_password", new), ("repeat_password", repeat)]
    };
    let refusals = [
        (attempt(INITIAL_PASSWORD, "Jauna-Parole-7!", "Jauna-Parole-8!"), 422, "Abas jaunās paroles atšķiras"),
        (attempt(INITIAL_PASSWORD, INITIAL_PASSWORD, INITIAL_PASSWORD), 422, "tāda pati kā pašreizējā"),
        (attempt("Nepareiza-Parole-1!", "Jauna-Parole-7!", "Jauna-Parole-7!"), 401, "Pašreizējā parole nav pareiza"),
        (attempt(INITIAL_PASSWORD, "Ja-1!", "Ja-1!"), 422, "Jaunā parole ir par īsu"),
        (attempt(INITIAL_PASSWORD, "jaunaparolebez", "jaunaparolebez"), 422, "par maz dažādu rakstzīmju veidu"),
    ];
    for (fields, status, words) in refusals {
        let answer = post_password(&portal, &fields).await;
        assert_eq!(answer.status.as_u16(), status, "{words}: {}", answer.body);
        assert!(answer.body.contains(words), "{words}: {}", answer.body);
        assert!(answer.body.contains(&format!(r#"value="{user}""#)), "the login name is kept");
    }

    let changed = post_password(&portal, &attempt(INITIAL_PASSWORD, "Jauna-Parole-7!", "Jauna-Parole-7!")).await;
    assert_eq!(changed.status, axum::http::StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(changed.location(), "/catalog");
    let session = portal.cookie_name(makonis_portal::web::cookies::SESSION);
    assert!(support::portal::cookie_value(&changed.headers, &session).is_some(), "signed in with the new password");

    let signed_in = portal.try_sign_in(user, "Jauna-Parole-7!").await.expect("the new password signs in");
    let page = portal.get(Some(&signed_in), "/password").await;
    assert!(page.body.contains(r#"readonly"#), "a signed-in person changes only their own password");
    let someone_else = [
        ("username", "anna.requester"),
        ("current_password", PASSWORD),
        ("new_password", "Annas-Jauna-Parole-7!"),
        ("repeat_password", "Annas-Jauna-Parole-7!"),
    ];
    let refused = portal.post(&signed_in, "/password", &someone_else).await;
    assert_eq!(refused.status.as_u16(), 401, "the form's name is ignored: Anna's password is not theirs");
    assert!(authenticate(&samba(), "anna.requester", PASSWORD).await.is_ok(), "Anna's password is unchanged");
    // The initial password is not asserted to fail at once: Samba, like Windows for NTLM,
    // accepts a replaced password for `old password allowed period` (60 minutes).

    let policy = makonis_portal::identity::ldap::password_policy(&samba()).await.unwrap().expect("Samba's policy");
    if policy.min_age_days > 0 {
        let again =
            portal.post(&signed_in, "/password", &attempt("Jauna-Parole-7!", "Cita-Parole-9!", "Cita-Parole-9!")).await;
        assert_eq!(again.status.as_u16(), 422, "{}", again.body);
        assert!(again.body.contains("mainīta pārāk nesen"), "{}", again.body);
    }

    let metrics = portal.metrics_text().await;
    for outcome in ["changed", "too_short", "not_complex", "invalid_credentials"] {
        let line = format!("makonis_portal_password_changes_total{{outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&line), "{line} counted: {metrics}");
    }

    let query = makonis_portal::store::audit::AuditQuery {
        agencies: None,
        actor: Some(user.to_owned()),
        before: None,
        limit: 100,
    };
    let rows = portal.context.store.audit_events(&query).await.unwrap();
    let changes: Vec<(String, String)> = rows
        .iter()
        .filter(|row| row.event.action == "change_password")
        .map(|row| (row.event.outcome.clone(), row.event.detail.clone()))
        .collect();
    for detail in [
        "password_refused: mismatch",
        "password_refused: unchanged",
        "unauthenticated",
        "password_refused: too_short",
        "password_refused: not_complex",
    ] {
        assert!(changes.contains(&("failure".into(), detail.into())), "{detail} audited: {changes:?}");
    }
    assert!(
        changes.contains(&("success".into(), "sessions_ended: 0".into())),
        "the change audited (no session could exist before it): {changes:?}"
    );
    let started = changes.iter().filter(|(outcome, _)| outcome == "started").count();
    let asked = changes
        .iter()
        .filter(|(outcome, detail)| {
            outcome != "started" && !detail.contains("mismatch") && !detail.contains("unchanged")
        })
        .count();
    assert_eq!(started, asked, "every change the directory was asked for is audited before it is asked: {changes:?}");
    assert!(
        rows.iter().any(|row| row.event.action == "sign_in" && row.event.detail == "password_change_required"),
        "the first sign-in's turn to the form audited"
    );
}

/// On OpenLDAP a person changes their own password with the Password Modify operation,
/// bound as themselves: a wrong current password is a wrong password, and afterwards only
/// the new one signs in; a change in the portal signs out every session the person had.
#[tokio::test]
async fn openldap_people_change_their_own_password() {
    let script = "openldap.sh";
    let config = openldap();
    let mut suffix = [0u8; 4];
    getrandom::fill(&mut suffix).unwrap();
    let username = format!("pw{}", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let dn = format!("uid={username},ou=people,{}", env("MAKONIS_TEST_OPENLDAP_BASE", script));
    let settings = ldap3::LdapConnSettings::new().set_starttls(true).set_no_tls_verify(true);
    let (conn, mut admin) = ldap3::LdapConnAsync::with_settings(settings, &config.url).await.unwrap();
    ldap3::drive!(conn);
    admin
        .simple_bind(
            &env("MAKONIS_TEST_OPENLDAP_ADMIN_DN", script),
            &env("MAKONIS_TEST_OPENLDAP_ADMIN_PASSWORD", script),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let value = |v: &str| std::collections::HashSet::from([v.as_bytes().to_vec()]);
    let attributes = vec![
        (b"objectClass".to_vec(), value("inetOrgPerson")),
        (b"uid".to_vec(), value(&username)),
        (b"cn".to_vec(), value("Pārbaudes Persona")),
        (b"sn".to_vec(), value("Persona")),
        (b"userPassword".to_vec(), value(INITIAL_PASSWORD)),
    ];
    admin.add(&dn, attributes).await.unwrap().success().expect("the person is added");

    use makonis_portal::identity::ldap::change_password;
    let wrong = change_password(&config, &username, "Nepareiza-Parole-1!", "Jauna-Parole-7!").await;
    assert_eq!(wrong, Err(DirectoryError::InvalidCredentials));

    // Through the portal: the person is signed in twice (say, at the office and at home);
    // changing the password in one browser ends both sessions and starts a new one there.
    let portal = support::portal::TestPortal::with_config(
        support::sqlite_store().await,
        Vec::new(),
        makonis_portal::context::PortalConfig { directory: Some(config.clone()), ..Default::default() },
    )
    .await;
    let office = portal.try_sign_in(&username, INITIAL_PASSWORD).await.expect("the person signs in");
    let home = portal.try_sign_in(&username, INITIAL_PASSWORD).await.expect("and again elsewhere");
    let fields = [
        ("current_password", INITIAL_PASSWORD),
        ("new_password", "Jauna-Parole-7!"),
        ("repeat_password", "Jauna-Parole-7!"),
    ];
    let changed = portal.post(&office, "/password", &fields).await;
    assert_eq!(changed.status, axum::http::StatusCode::SEE_OTHER, "{}", changed.body);
    let session = portal.cookie_name(makonis_portal::web::cookies::SESSION);
    let renewed = support::portal::cookie_value(&changed.headers, &session).expect("signed in anew");
    for (name, browser) in [("the other browser", &home), ("the old cookie of this one", &office)] {
        let page = portal.get(Some(browser), "/requests").await;
        assert_eq!(page.status, axum::http::StatusCode::SEE_OTHER, "{name} is signed out: {}", page.body);
        assert!(page.location().starts_with("/login"), "{name} is sent to sign in: {}", page.location());
    }
    assert!(!renewed.is_empty());
    let query = makonis_portal::store::audit::AuditQuery {
        agencies: None,
        actor: Some(username.clone()),
        before: None,
        limit: 100,
    };
    let rows = portal.context.store.audit_events(&query).await.unwrap();
    assert!(
        rows.iter().any(|row| row.event.action == "change_password"
            && row.event.outcome == "success"
            && row.event.detail == "sessions_ended: 2"),
        "the change audited with the two sessions it ended"
    );
    assert!(authenticate(&config, &username, "Jauna-Parole-7!").await.is_ok(), "the new password signs in");
    assert_invalid(&config, &username, INITIAL_PASSWORD).await;

    admin.delete(&dn).await.unwrap().success().expect("the person is removed");
}
