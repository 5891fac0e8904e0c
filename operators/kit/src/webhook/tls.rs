//! The webhook's certificate, as kept in the Secret every replica shares: reading and
//! judging it, and making a new one. Pure; the IO is in [`super::secret`].
//!
//! The Secret holds `tls.crt` (the serving certificate), `tls.key` (its key) and `ca.crt`
//! (the CA bundle the API server trusts, published as the webhook's `caBundle`). Whoever
//! wrote it (a replica, an administrator, cert-manager), the certificate is judged by its
//! content: it must verify against `ca.crt` for every configured host name and not expire
//! within [`RENEW_DAYS`].

use std::{sync::Arc, time::Duration};

use k8s_openapi::{
    ByteString,
    api::core::v1::Secret,
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
    jiff::{SignedDuration, Timestamp},
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::{
    CertificateError, RootCertStore, ServerConfig,
    client::{WebPkiServerVerifier, danger::ServerCertVerifier},
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject},
};
use x509_parser::{certificate::X509CertificateParser, nom::Parser};

/// How long generated certificates are valid.
const VALIDITY_DAYS: i64 = 365;
/// A certificate this close to expiry is replaced.
pub const RENEW_DAYS: i64 = 30;

/// A serving certificate, its key and the CA bundle that verifies it, all PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsMaterial {
    /// The serving certificate (and any intermediates).
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
    /// The CA certificates the API server trusts: the one that signed the serving
    /// certificate, and during a renewal the one before it.
    pub ca_pem: String,
    /// When the serving certificate expires.
    pub expires: Timestamp,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").field("expires", &self.expires).finish_non_exhaustive()
    }
}

/// What to do with the shared Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Serve this certificate.
    Use(TlsMaterial),
    /// Serve this certificate, although it does not name every configured host: another
    /// replica, configured differently, replaced it. Only at start-up does a replica
    /// replace a certificate for that, so that replicas of two configurations (during a
    /// rollout) never take turns replacing it.
    UseForeign(TlsMaterial, String),
    /// Make a new certificate, for this reason.
    Replace(String),
}

/// Judges the shared Secret for `hosts` at `now`. `starting`: whether this replica is
/// starting (see [`Verdict::UseForeign`]).
pub fn judge(secret: &Secret, hosts: &[String], now: Timestamp, starting: bool) -> Verdict {
    let material = match read(secret) {
        Ok(material) => material,
        Err(why) => return Verdict::Replace(why),
    };
    match check(&material, hosts, now) {
        Ok(()) => Verdict::Use(material),
        Err(Problem::OtherHosts(why)) if !starting => Verdict::UseForeign(material, why),
        Err(problem) => Verdict::Replace(problem.to_string()),
    }
}

/// The certificate, key and CA bundle in `secret`.
pub fn read(secret: &Secret) -> Result<TlsMaterial, String> {
    let data = secret.data.as_ref().ok_or("it holds no data")?;
    let text = |key: &str| {
        let bytes = data.get(key).ok_or_else(|| format!("it has no {key}"))?;
        String::from_utf8(bytes.0.clone()).map_err(|_| format!("its {key} is not PEM text"))
    };
    let cert_pem = text("tls.crt")?;
    let leaf = certificates(&cert_pem).map_err(|e| format!("tls.crt: {e}"))?.remove(0);
    let (_, parsed) = X509CertificateParser::new()
        .with_deep_parse_extensions(false)
        .parse(leaf.as_ref())
        .map_err(|e| format!("tls.crt: {e}"))?;
    let expires =
        Timestamp::from_second(parsed.validity().not_after.timestamp()).map_err(|e| format!("tls.crt: {e}"))?;
    Ok(TlsMaterial { cert_pem, key_pem: text("tls.key")?, ca_pem: text("ca.crt")?, expires })
}

/// Why a certificate cannot be served as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// It does not verify against the bundle, or its key does not fit.
    #[error("it is unusable: {0}")]
    Unusable(String),
    /// It expires soon.
    #[error("it expires on {0}")]
    ExpiresSoon(Timestamp),
    /// It verifies, but not for every configured host.
    #[error("{0}")]
    OtherHosts(String),
}

/// Whether `material` can be served for `hosts` at `now`: the key fits the certificate,
/// the certificate verifies against the CA bundle for every host, and it does not expire
/// within [`RENEW_DAYS`].
pub fn check(material: &TlsMaterial, hosts: &[String], now: Timestamp) -> Result<(), Problem> {
    server_config(material).map_err(|e| Problem::Unusable(e.to_string()))?;
    let unusable = |e: &dyn std::fmt::Display| Problem::Unusable(e.to_string());
    let chain = certificates(&material.cert_pem).map_err(|e| unusable(&e))?;
    let mut roots = RootCertStore::empty();
    for ca in certificates(&material.ca_pem).map_err(|e| unusable(&format!("ca.crt: {e}")))? {
        roots.add(ca).map_err(|e| unusable(&format!("ca.crt: {e}")))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| unusable(&format!("ca.crt: {e}")))?;
    let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now.as_second()).unwrap_or(0)));
    let mut foreign = None;
    for host in hosts {
        let name = ServerName::try_from(host.as_str()).map_err(|e| unusable(&format!("host {host}: {e}")))?;
        match verifier.verify_server_cert(&chain[0], &chain[1..], &name, &[], at) {
            Ok(_) => {}
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => foreign = foreign.or_else(|| Some(format!("it is not made for {host}"))),
            Err(error) => return Err(unusable(&format!("it does not verify against ca.crt: {error}"))),
        }
    }
    // Expiry first: a certificate for other hosts that a replica serves for now must
    // still be renewed in time.
    if material.expires < now + SignedDuration::from_hours(24 * RENEW_DAYS) {
        return Err(Problem::ExpiresSoon(material.expires));
    }
    foreign.map_or(Ok(()), |why| Err(Problem::OtherHosts(why)))
}

/// A rustls server configuration for `material`. Fails when the key does not fit the
/// certificate.
pub fn server_config(material: &TlsMaterial) -> Result<ServerConfig, rustls::Error> {
    let certs = certificates(&material.cert_pem).map_err(|e| rustls::Error::General(format!("tls.crt: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(material.key_pem.as_bytes())
        .map_err(|e| rustls::Error::General(format!("tls.key: {e}")))?;
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM text; at least one.
fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs =
        CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(certs)
}

/// Generates a private CA and a serving certificate for `hosts` (DNS names or IPs). The
/// CA bundle also holds `previous_ca` (the CA being replaced) while it is valid, so that
/// a replica still serving the old certificate is trusted until it reloads.
pub fn generate(hosts: &[String], now: Timestamp, previous_ca: Option<&str>) -> Result<TlsMaterial, rcgen::Error> {
    let not_before =
        time::OffsetDateTime::from_unix_timestamp(now.as_second() - 60).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let not_after = not_before + time::Duration::days(VALIDITY_DAYS);
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "Mākonis admission webhook CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(hosts.to_vec())?;
    params.distinguished_name.push(DnType::CommonName, hosts.first().map(String::as_str).unwrap_or("makonis"));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.signed_by(&key, &issuer)?;
    let mut ca_pem = ca_cert.pem();
    if let Some(previous) = previous_ca.and_then(|pem| still_valid_ca(pem, now)) {
        ca_pem.push_str(&previous);
    }
    Ok(TlsMaterial {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        ca_pem,
        expires: Timestamp::from_second(not_after.unix_timestamp()).unwrap_or(now),
    })
}

/// The first CA certificate of the bundle `pem`, as PEM, if it has not expired at `now`.
fn still_valid_ca(pem: &str, now: Timestamp) -> Option<String> {
    let first = certificates(pem).ok()?.into_iter().next()?;
    let (_, parsed) = X509CertificateParser::new().with_deep_parse_extensions(false).parse(first.as_ref()).ok()?;
    if parsed.validity().not_after.timestamp() <= now.as_second() {
        return None;
    }
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    let end = start + pem[start..].find(END)? + END.len();
    Some(format!("{}\n", &pem[start..end]))
}

/// The Secret `namespace/name` holding `material`; `resource_version` makes replacing it
/// conditional on nobody having written it since it was read.
pub fn to_secret(name: &str, namespace: &str, material: &TlsMaterial, resource_version: Option<String>) -> Secret {
    let bytes = |text: &str| ByteString(text.as_bytes().to_vec());
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            resource_version,
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(
            [
                ("tls.crt".to_string(), bytes(&material.cert_pem)),
                ("tls.key".to_string(), bytes(&material.key_pem)),
                ("ca.crt".to_string(), bytes(&material.ca_pem)),
            ]
            .into(),
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        vec!["makonis-catalog-webhook.makonis-system.svc".into(), "127.0.0.1".into()]
    }

    fn days(n: i64) -> SignedDuration {
        SignedDuration::from_hours(24 * n)
    }

    fn stored(material: &TlsMaterial) -> Secret {
        to_secret("tls", "makonis-system", material, None)
    }

    #[test]
    fn a_fresh_certificate_is_used_and_reads_back_whole() {
        let now = Timestamp::now();
        let material = generate(&hosts(), now, None).unwrap();
        assert_eq!(judge(&stored(&material), &hosts(), now, true), Verdict::Use(material.clone()));
        assert_eq!(read(&stored(&material)).unwrap(), material);
    }

    #[test]
    fn other_hosts_are_replaced_at_start_up_only() {
        let now = Timestamp::now();
        let material = generate(&["other.makonis-system.svc".to_string()], now, None).unwrap();
        assert!(
            matches!(judge(&stored(&material), &hosts(), now, true), Verdict::Replace(why) if why.contains("not made for"))
        );
        assert!(matches!(judge(&stored(&material), &hosts(), now, false), Verdict::UseForeign(..)));
    }

    #[test]
    fn a_certificate_close_to_expiry_is_replaced() {
        let now = Timestamp::now();
        let old = generate(&hosts(), now - days(340), None).unwrap();
        let verdict = judge(&stored(&old), &hosts(), now, false);
        assert!(matches!(&verdict, Verdict::Replace(why) if why.contains("expires on")), "{verdict:?}");
        let expired = generate(&hosts(), now - days(400), None).unwrap();
        assert!(matches!(judge(&stored(&expired), &hosts(), now, false), Verdict::Replace(_)));
        let foreign_and_old = generate(&["other.makonis-system.svc".to_string()], now - days(340), None).unwrap();
        let verdict = judge(&stored(&foreign_and_old), &hosts(), now, false);
        assert!(matches!(&verdict, Verdict::Replace(why) if why.contains("expires on")), "{verdict:?}");
    }

    #[test]
    fn mismatched_or_broken_parts_are_replaced() {
        let now = Timestamp::now();
        let (one, two) = (generate(&hosts(), now, None).unwrap(), generate(&hosts(), now, None).unwrap());
        let other_key = TlsMaterial { key_pem: two.key_pem.clone(), ..one.clone() };
        assert!(
            matches!(judge(&stored(&other_key), &hosts(), now, false), Verdict::Replace(why) if why.contains("unusable"))
        );
        let other_ca = TlsMaterial { ca_pem: two.ca_pem.clone(), ..one.clone() };
        assert!(
            matches!(judge(&stored(&other_ca), &hosts(), now, false), Verdict::Replace(why) if why.contains("does not verify"))
        );
        let mut garbage = stored(&one);
        garbage.data.as_mut().unwrap().insert("tls.crt".into(), ByteString(b"not a certificate".to_vec()));
        assert!(matches!(judge(&garbage, &hosts(), now, false), Verdict::Replace(why) if why.contains("tls.crt")));
        garbage.data = None;
        assert_eq!(judge(&garbage, &hosts(), now, false), Verdict::Replace("it holds no data".into()));
    }

    #[test]
    fn a_renewal_keeps_trusting_the_previous_ca_while_it_is_valid() {
        let now = Timestamp::now();
        let old = generate(&hosts(), now - days(340), None).unwrap();
        let new = generate(&hosts(), now, Some(&old.ca_pem)).unwrap();
        assert_eq!(certificates(&new.ca_pem).unwrap().len(), 2);
        let old_served_with_new_bundle = TlsMaterial { ca_pem: new.ca_pem.clone(), ..old.clone() };
        assert!(!matches!(check(&old_served_with_new_bundle, &hosts(), now), Err(Problem::Unusable(_))));
        assert_eq!(check(&new, &hosts(), now), Ok(()));
        let newer = generate(&hosts(), now, Some(&new.ca_pem)).unwrap();
        assert_eq!(certificates(&newer.ca_pem).unwrap().len(), 2, "only the CA just replaced is kept");
        let expired = generate(&hosts(), now - days(400), None).unwrap();
        let after_expiry = generate(&hosts(), now, Some(&expired.ca_pem)).unwrap();
        assert_eq!(certificates(&after_expiry.ca_pem).unwrap().len(), 1, "an expired CA is dropped");
    }
}
