//! The Secrets the identity controllers keep in agency namespaces: a person's initial
//! password (until they change it) and a service account's credentials.
//!
//! A password is written to its Secret before the directory gets it, so that a failure
//! between the two never loses it: the next reconcile finds it in the Secret and uses it.

use std::collections::BTreeMap;

use k8s_openapi::{ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Api, Resource,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use makonis_api::labels;
use makonis_operator_kit::apply::{ApiCallError, controller_reference};

use super::context::{Context, MANAGER};
use crate::{error::Error, password};

/// The key of a password in the Secrets the controllers write and read.
pub const PASSWORD_KEY: &str = "password";
/// The key a service account's next password waits in while it is being set.
pub const NEXT_PASSWORD_KEY: &str = "next-password";

fn api_error(action: &'static str, name: &str, error: kube::Error) -> Error {
    ApiCallError { action, kind: "Secret".into(), name: name.into(), error }.into()
}

/// The Secret `name` in `namespace`, if it exists.
pub async fn read(ctx: &Context, namespace: &str, name: &str) -> Result<Option<Secret>, Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    api.get_opt(name).await.map_err(|e| api_error("reading", name, e))
}

/// The text of `key` in `secret`.
pub fn value(secret: &Secret, key: &str) -> Option<String> {
    secret.data.as_ref()?.get(key).and_then(|ByteString(bytes)| String::from_utf8(bytes.clone()).ok())
}

/// The password in the Secret `name` (key `password`) an object points to, and whether
/// the Secret is for one use ([`labels::ONE_TIME_PASSWORD`]).
pub async fn referenced_password(ctx: &Context, namespace: &str, name: &str) -> Result<(String, bool), Error> {
    let secret = read(ctx, namespace, name)
        .await?
        .ok_or_else(|| Error::Secret(format!("password.secretRef: the Secret {name} does not exist")))?;
    let password = value(&secret, PASSWORD_KEY).filter(|p| !p.is_empty()).ok_or_else(|| {
        Error::Secret(format!("password.secretRef: the Secret {name} has no (UTF-8) key {PASSWORD_KEY}"))
    })?;
    Ok((password, is_one_time(&secret)))
}

/// Whether `secret` holds a password for one use ([`labels::ONE_TIME_PASSWORD`]).
pub fn is_one_time(secret: &Secret) -> bool {
    secret.metadata.labels.as_ref().and_then(|l| l.get(labels::ONE_TIME_PASSWORD)).is_some_and(|v| v == "true")
}

/// The initial password of `owner` kept in the Secret `name`: the one already there, or a
/// new one generated and stored first. `fields` are written beside it (the username).
pub async fn initial_password<K>(
    ctx: &Context,
    owner: &K,
    name: &str,
    fields: &[(&str, String)],
) -> Result<String, Error>
where
    K: Resource<DynamicType = ()>,
{
    let namespace = owner.meta().namespace.clone().unwrap_or_default();
    // Create first: on the first reconcile (the usual case) that is the only call; a
    // Secret already there (an earlier attempt's) answers 409 and is read below.
    let password = password::generate().map_err(|e| Error::Random(e.to_string()))?;
    let mut data: BTreeMap<String, ByteString> =
        fields.iter().map(|(k, v)| (k.to_string(), ByteString(v.clone().into_bytes()))).collect();
    data.insert(PASSWORD_KEY.into(), ByteString(password.clone().into_bytes()));
    let secret = owned_secret(owner, name, data);
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    match api.create(&PostParams { field_manager: Some(MANAGER.into()), ..PostParams::default() }, &secret).await {
        Ok(_) => Ok(password),
        // Written by an earlier attempt, or a reconcile that ran at the same time: use that one.
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let secret = read(ctx, &namespace, name).await?;
            secret
                .as_ref()
                .and_then(|s| value(s, PASSWORD_KEY))
                .ok_or_else(|| Error::Secret(format!("the Secret {name} exists but holds no {PASSWORD_KEY}")))
        }
        Err(error) => Err(api_error("creating", name, error)),
    }
}

/// Writes `data` into the Secret `name` owned by `owner` (server-side apply; keys not in
/// `data` are removed).
pub async fn apply<K>(ctx: &Context, owner: &K, name: &str, data: BTreeMap<String, ByteString>) -> Result<(), Error>
where
    K: Resource<DynamicType = ()>,
{
    let namespace = owner.meta().namespace.clone().unwrap_or_default();
    let secret = owned_secret(owner, name, data);
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    api.patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&secret))
        .await
        .map_err(|e| api_error("applying", name, e))?;
    Ok(())
}

/// Deletes the Secret `name`, and says whether it was there (one already gone is fine).
pub async fn delete(ctx: &Context, namespace: &str, name: &str) -> Result<bool, Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(api_error("deleting", name, error)),
    }
}

/// A Secret owned by `owner` (deleted with it), labelled as the identity controllers'.
fn owned_secret<K: Resource<DynamicType = ()>>(owner: &K, name: &str, data: BTreeMap<String, ByteString>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: owner.meta().namespace.clone(),
            labels: Some(BTreeMap::from([(labels::MANAGED_BY.to_string(), MANAGER.to_string())])),
            owner_references: controller_reference(owner).map(|r| vec![r]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    }
}

/// A password's bytes for a Secret.
pub fn bytes(text: &str) -> ByteString {
    ByteString(text.as_bytes().to_vec())
}

/// The generated password for a new service account credential.
pub fn generated() -> Result<String, Error> {
    password::generate().map_err(|e| Error::Random(e.to_string()))
}
