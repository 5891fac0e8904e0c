//! The webhook's certificate: kept in a Secret shared by every replica, and published
//! as the CA bundle of the ValidatingWebhookConfiguration.
//!
//! The first replica to start generates a private CA and a serving certificate for the
//! configured host names and stores them in the Secret; the others read it. A Secret
//! whose certificate names other hosts, or expires within 30 days, is replaced.

use std::collections::BTreeMap;

use crate::apply::ApiCallError;
use k8s_openapi::{
    ByteString,
    api::{admissionregistration::v1::ValidatingWebhookConfiguration, core::v1::Secret},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{Api, Client, api::PostParams};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// How long generated certificates are valid.
const VALIDITY_DAYS: i64 = 365;
/// A certificate this close to expiry is replaced at start-up.
const RENEW_DAYS: i64 = 30;
/// Annotation recording the host names a stored certificate was made for.
const HOSTS_ANNOTATION: &str = "catalog.makonis.lv/webhook-hosts";
/// Annotation recording when a stored certificate expires (RFC 3339).
const EXPIRES_ANNOTATION: &str = "catalog.makonis.lv/webhook-expires";

/// A serving certificate, its key and the CA that signed it, all PEM.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The serving certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
    /// The CA certificate the API server trusts.
    pub ca_pem: String,
    /// When the serving certificate expires.
    pub expires: k8s_openapi::jiff::Timestamp,
}

/// Why the webhook's certificate could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Generating a key or certificate failed.
    #[error("generating the webhook certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// Another replica stored a certificate at the same moment, for other hosts.
    #[error(
        "another replica stored a webhook certificate for other host names; check --webhook-hosts on every replica"
    )]
    Unusable,
    /// A Kubernetes API call failed.
    #[error(transparent)]
    Api(#[from] ApiCallError),
}

/// Generates a private CA and a serving certificate for `hosts` (DNS names or IPs).
pub fn generate(hosts: &[String], now: k8s_openapi::jiff::Timestamp) -> Result<TlsMaterial, rcgen::Error> {
    let not_before =
        time::OffsetDateTime::from_unix_timestamp(now.as_second() - 60).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let not_after = not_before + time::Duration::days(VALIDITY_DAYS);
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "Mākonis catalog webhook CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(hosts.to_vec())?;
    params.distinguished_name.push(DnType::CommonName, hosts.first().map(String::as_str).unwrap_or("makonis"));
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(TlsMaterial {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        ca_pem: ca_cert.pem(),
        expires: k8s_openapi::jiff::Timestamp::from_second(not_after.unix_timestamp()).unwrap_or(now),
    })
}

/// Reads the shared certificate from the Secret `namespace/name`, creating or replacing
/// it when it is missing, made for other hosts, or about to expire.
pub async fn ensure_tls(
    client: &Client,
    namespace: &str,
    name: &str,
    hosts: &[String],
    manager: &str,
) -> Result<TlsMaterial, TlsError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let fail = |action, error| ApiCallError { action, kind: "Secret".into(), name: name.into(), error };
    let now = k8s_openapi::jiff::Timestamp::now();
    let existing = api.get_opt(name).await.map_err(|e| fail("reading", e))?;
    if let Some(material) = existing.as_ref().and_then(|s| usable(s, hosts, now)) {
        return Ok(material);
    }
    let material = generate(hosts, now)?;
    let secret = to_secret(name, namespace, hosts, &material);
    match existing {
        None => {
            match api.create(&PostParams { field_manager: Some(manager.into()), ..Default::default() }, &secret).await {
                Ok(_) => Ok(material),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    let raced = api.get(name).await.map_err(|e| fail("reading", e))?;
                    usable(&raced, hosts, now).ok_or(TlsError::Unusable)
                }
                Err(error) => Err(fail("creating", error).into()),
            }
        }
        Some(_) => {
            api.replace(name, &PostParams { field_manager: Some(manager.into()), ..Default::default() }, &secret)
                .await
                .map_err(|e| fail("replacing", e))?;
            Ok(material)
        }
    }
}

fn to_secret(name: &str, namespace: &str, hosts: &[String], material: &TlsMaterial) -> Secret {
    let bytes = |text: &str| ByteString(text.as_bytes().to_vec());
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            annotations: Some(BTreeMap::from([
                (HOSTS_ANNOTATION.to_string(), hosts.join(",")),
                (EXPIRES_ANNOTATION.to_string(), material.expires.to_string()),
            ])),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            ("tls.crt".to_string(), bytes(&material.cert_pem)),
            ("tls.key".to_string(), bytes(&material.key_pem)),
            ("ca.crt".to_string(), bytes(&material.ca_pem)),
        ])),
        ..Default::default()
    }
}

/// The material in `secret`, if it was made for `hosts` and is not about to expire.
fn usable(secret: &Secret, hosts: &[String], now: k8s_openapi::jiff::Timestamp) -> Option<TlsMaterial> {
    let annotations = secret.metadata.annotations.as_ref()?;
    if annotations.get(HOSTS_ANNOTATION)? != &hosts.join(",") {
        return None;
    }
    let expires: k8s_openapi::jiff::Timestamp = annotations.get(EXPIRES_ANNOTATION)?.parse().ok()?;
    if expires.as_second() - now.as_second() < RENEW_DAYS * 86_400 {
        return None;
    }
    let data = secret.data.as_ref()?;
    let text = |key: &str| data.get(key).and_then(|b| String::from_utf8(b.0.clone()).ok());
    Some(TlsMaterial { cert_pem: text("tls.crt")?, key_pem: text("tls.key")?, ca_pem: text("ca.crt")?, expires })
}

/// Sets the CA bundle of every webhook in the configuration `name` to `ca_pem`, writing
/// only when one differs (guarded by the resource version). Returns whether it wrote.
pub async fn publish_ca_bundle(client: &Client, name: &str, ca_pem: &str, manager: &str) -> Result<bool, ApiCallError> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let fail = |action, error| ApiCallError {
        action,
        kind: "ValidatingWebhookConfiguration".into(),
        name: name.into(),
        error,
    };
    let mut configuration = api.get(name).await.map_err(|e| fail("reading", e))?;
    let bundle = ByteString(ca_pem.as_bytes().to_vec());
    let mut changed = false;
    for hook in configuration.webhooks.iter_mut().flatten() {
        if hook.client_config.ca_bundle.as_ref() != Some(&bundle) {
            hook.client_config.ca_bundle = Some(bundle.clone());
            changed = true;
        }
    }
    if changed {
        api.replace(name, &PostParams { field_manager: Some(manager.into()), ..Default::default() }, &configuration)
            .await
            .map_err(|e| fail("updating", e))?;
    }
    Ok(changed)
}
