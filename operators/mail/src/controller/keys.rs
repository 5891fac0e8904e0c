//! DKIM keys: one Secret per served domain in the mail namespace (agencies cannot read
//! it), created once with a new key, never rewritten. Deleting a MailDomain keeps the
//! key, so that declaring the domain again publishes the same record.

use std::collections::BTreeMap;

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api, ResourceExt,
    api::{ObjectMeta, PostParams},
    runtime::reflector::Store,
};
use makonis_operator_kit::apply::ApiCallError;

use crate::{dkim, dns::DKIM_SELECTOR, error::Error, render::SigningKeys};

/// The label that marks the platform's DKIM Secrets (the controller watches only those).
pub const DKIM_LABEL: &str = "mail.makonis.lv/dkim";
/// The annotation naming the Secret's domain.
pub const DOMAIN_ANNOTATION: &str = "mail.makonis.lv/domain";

/// The DKIM Secrets, from their watch cache.
#[derive(Clone)]
pub struct DkimKeys {
    /// The labelled Secrets of the mail namespace.
    pub secrets: Store<Secret>,
}

impl DkimKeys {
    /// Every domain's private key, for signing.
    pub fn signing_keys(&self) -> SigningKeys {
        let keys = self
            .secrets
            .state()
            .iter()
            .filter_map(|s| {
                let domain = s.annotations().get(DOMAIN_ANNOTATION)?.clone();
                let ByteString(pem) = s.data.as_ref()?.get("private.pem")?;
                Some((domain, String::from_utf8(pem.clone()).ok()?))
            })
            .collect();
        SigningKeys(keys)
    }

    /// The public key (the record's `p=`) of `domain`, once its Secret exists.
    pub fn public_key(&self, domain: &str) -> Option<String> {
        self.secrets
            .state()
            .iter()
            .find(|s| s.annotations().get(DOMAIN_ANNOTATION).map(String::as_str) == Some(domain))
            .and_then(|s| s.data.as_ref()?.get("public").map(|ByteString(b)| String::from_utf8_lossy(b).into_owned()))
    }
}

/// The name of `domain`'s DKIM Secret.
pub fn secret_name(domain: &str) -> String {
    format!("dkim-{domain}")
}

/// Creates the DKIM Secret of `domain` with a new key. The key is generated on a blocking
/// thread (finding RSA primes takes a while).
pub async fn create(secrets: &Api<Secret>, domain: &str, field_manager: &str) -> Result<(), Error> {
    let key = tokio::task::spawn_blocking(dkim::generate)
        .await
        .map_err(|e| Error::Waiting(format!("generating the DKIM key of {domain} was cancelled: {e}")))??;
    let name = secret_name(domain);
    let data = BTreeMap::from([
        ("private.pem".to_owned(), ByteString(key.private_pem.into_bytes())),
        ("public".to_owned(), ByteString(key.public_base64.into_bytes())),
        ("selector".to_owned(), ByteString(DKIM_SELECTOR.as_bytes().to_vec())),
    ]);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(BTreeMap::from([(DKIM_LABEL.to_owned(), "true".to_owned())])),
            annotations: Some(BTreeMap::from([(DOMAIN_ANNOTATION.to_owned(), domain.to_owned())])),
            ..ObjectMeta::default()
        },
        data: Some(data),
        type_: Some("Opaque".into()),
        ..Secret::default()
    };
    // Created only when absent (not applied): a pass that raced this one must not replace
    // a key that may already be published.
    let params = PostParams { field_manager: Some(field_manager.to_owned()), ..PostParams::default() };
    match secrets.create(&params, &secret).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(ApiCallError { action: "creating", kind: "Secret".into(), name, error }.into()),
    }
    .inspect(|()| tracing::info!(domain, "DKIM key generated"))
}
