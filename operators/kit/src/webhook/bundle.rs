//! The `caBundle` of the webhook's registration, published from the shared Secret.

use k8s_openapi::{ByteString, api::admissionregistration::v1::ValidatingWebhookConfiguration};
use kube::{Api, Client, api::PostParams};

use super::{secret::SharedSecret, tls::read};
use crate::apply::ApiCallError;

/// Sets the CA bundle of every webhook in the configuration `name` to `ca_pem` (the
/// `ca.crt` of the shared Secret as this replica last saw it), writing only when one
/// differs. Before writing, the Secret is read again: a replica whose watch is behind
/// must not put back a bundle another replica has already replaced. Returns whether it
/// wrote.
pub async fn publish_ca_bundle(
    client: &Client,
    name: &str,
    ca_pem: &str,
    shared: &SharedSecret,
    manager: &str,
) -> Result<bool, ApiCallError> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let fail = |action, error| ApiCallError {
        action,
        kind: "ValidatingWebhookConfiguration".into(),
        name: name.into(),
        error,
    };
    let mut configuration = api.get(name).await.map_err(|e| fail("reading", e))?;
    let bundle = ByteString(ca_pem.as_bytes().to_vec());
    let stale = |hook: &k8s_openapi::api::admissionregistration::v1::ValidatingWebhook| {
        hook.client_config.ca_bundle.as_ref() != Some(&bundle)
    };
    if !configuration.webhooks.iter().flatten().any(stale) {
        return Ok(false);
    }
    let current = shared.read().await?.and_then(|secret| read(&secret).ok());
    if current.is_none_or(|material| material.ca_pem != ca_pem) {
        tracing::debug!(configuration = name, "the Secret changed since it was last seen; publishing later");
        return Ok(false);
    }
    for hook in configuration.webhooks.iter_mut().flatten() {
        hook.client_config.ca_bundle = Some(bundle.clone());
    }
    match api
        .replace(name, &PostParams { field_manager: Some(manager.into()), ..Default::default() }, &configuration)
        .await
    {
        Ok(_) => Ok(true),
        // Another replica published at the same moment; the next look settles it.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(fail("updating", error)),
    }
}
