//! The portal's reads and writes of an agency's people and groups: listed when a page is
//! shown (an object that does not decode is counted, not fatal), server-side applied
//! under the portal's field manager without force (an object someone else manages, with
//! kubectl or GitOps, answers with the conflict instead of being taken over), and a new
//! person's first password put in a one-time Secret that only the identity operator reads.

use std::collections::BTreeMap;

use k8s_openapi::{ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Api, Client, Resource,
    api::{ListParams, Patch, PatchParams, PostParams},
    core::DeserializeGuard,
};
use makonis_api::{
    identity::{DirectoryGroup, DirectoryGroupSpec, DirectoryUser, DirectoryUserSpec, PasswordSource},
    labels,
};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::apply::FIELD_MANAGER;

/// The objects of kind `K` in `namespace` that decode, and how many do not.
async fn list<K>(client: &Client, namespace: &str) -> Result<(Vec<K>, usize), kube::Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    let api: Api<DeserializeGuard<K>> = Api::namespaced(client.clone(), namespace);
    let listed = api.list(&ListParams::default()).await?;
    let (mut good, mut bad) = (Vec::new(), 0);
    for item in listed.items {
        match item.0 {
            Ok(object) => good.push(object),
            Err(invalid) => {
                let name = invalid.metadata.name.unwrap_or_default();
                let kind = K::kind(&());
                tracing::warn!(%kind, name, error = invalid.error, "an object the people page cannot read is left out");
                bad += 1;
            }
        }
    }
    Ok((good, bad))
}

/// The people of the agency in `namespace`, and how many cannot be read.
pub async fn people(client: &Client, namespace: &str) -> Result<(Vec<DirectoryUser>, usize), kube::Error> {
    list(client, namespace).await
}

/// The groups of the agency in `namespace`, and how many cannot be read.
pub async fn groups(client: &Client, namespace: &str) -> Result<(Vec<DirectoryGroup>, usize), kube::Error> {
    list(client, namespace).await
}

/// Puts `password` into a new one-time Secret for the person `person` in `namespace` and
/// returns its name (random, so that an earlier attempt's Secret, which the portal may not
/// read or delete, is never in the way). The identity operator deletes it once the person
/// has set their own password.
pub async fn create_first_password(
    client: &Client,
    namespace: &str,
    person: &str,
    password: &str,
) -> Result<String, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = Secret {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-first-password-", person.chars().take(200).collect::<String>())),
            labels: Some(BTreeMap::from([
                (labels::ONE_TIME_PASSWORD.to_owned(), "true".to_owned()),
                (labels::MANAGED_BY.to_owned(), FIELD_MANAGER.to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("password".to_owned(), ByteString(password.as_bytes().to_vec()))])),
        type_: Some("Opaque".into()),
        ..Secret::default()
    };
    let created = api.create(&PostParams::default(), &secret).await?;
    Ok(created.metadata.name.unwrap_or_default())
}

/// Applies the person `name` in `namespace` with `spec` (the first password, when given,
/// from the Secret `first_password`).
pub async fn apply_person(
    client: &Client,
    namespace: &str,
    name: &str,
    mut spec: DirectoryUserSpec,
    first_password: Option<String>,
) -> Result<(), kube::Error> {
    if let Some(secret_ref) = first_password {
        spec.password = Some(PasswordSource { secret_ref });
    }
    apply::<DirectoryUser>(client, namespace, name, json!(spec)).await
}

/// Creates the group `name` in `namespace` with `spec`.
pub async fn apply_group(
    client: &Client,
    namespace: &str,
    name: &str,
    spec: DirectoryGroupSpec,
) -> Result<(), kube::Error> {
    apply::<DirectoryGroup>(client, namespace, name, json!(spec)).await
}

/// Server-side applies the `K` called `name` in `namespace` with `spec`, as the portal.
async fn apply<K>(client: &Client, namespace: &str, name: &str, spec: serde_json::Value) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    let object = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    });
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.patch(name, &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(object)).await?;
    Ok(())
}
