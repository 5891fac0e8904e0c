//! The per-instance Secret with a generated password, created once and never rewritten.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::{Duration, Instant},
};

use k8s_openapi::{ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{Api, ResourceExt, api::PostParams};
use makonis_api::catalog::ServiceInstance;
use makonis_catalog::{MANAGER, item::instance_labels, names::credentials_secret_name};
use makonis_operator_kit::apply::ApiCallError;

use super::Context;
use crate::error::Error;

/// Characters of generated passwords: letters and digits, safe in every connection string.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/// Length of generated passwords (about 190 bits).
const PASSWORD_LENGTH: usize = 33;

/// Creates the instance's credentials Secret if it does not exist. An existing Secret of
/// that name (for example one retained from an earlier instance of the same name) is
/// kept as it is, so retained data stays reachable. It carries no owner reference: it may
/// have to outlive the instance with the data it opens, so retiring decides its fate, not
/// the garbage collector (see [`crate::retention`]).
///
/// Secrets are read one by one rather than watched: the operator may touch Secrets only in
/// agency namespaces (a RoleBinding there), and a watch would need that right everywhere.
///
/// A Secret found or created is not read again for `resync`: each reconcile of the
/// instance would otherwise cost a read.
pub async fn ensure_credentials(instance: &ServiceInstance, ctx: &Context) -> Result<(), Error> {
    let namespace = instance.namespace().unwrap_or_default();
    let name = credentials_secret_name(&instance.name_any());
    let uid = instance.uid().unwrap_or_default();
    if ctx.credentials.confirmed_within(&uid, ctx.resync) {
        return Ok(());
    }
    if credentials_exist(instance, ctx).await? {
        ctx.credentials.confirm(uid);
        return Ok(());
    }
    let agency = makonis_api::tenancy::code_of_namespace(&namespace).unwrap_or(&namespace);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(namespace.clone()),
            labels: Some(instance_labels(agency, &instance.name_any(), &instance.spec.catalog_item)),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "password".to_string(),
            ByteString(password().map_err(|e| Error::Random(e.to_string()))?.into_bytes()),
        )])),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    match api.create(&PostParams { field_manager: Some(MANAGER.into()), ..Default::default() }, &secret).await {
        Ok(_) => {
            ctx.metrics.record_write(MANAGER, "Secret");
            ctx.credentials.confirm(uid);
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(ApiCallError { action: "creating", kind: "Secret".into(), name, error }.into()),
    }
}

/// The instances whose credentials Secret was last seen to exist, and when.
#[derive(Default)]
pub struct ConfirmedCredentials {
    seen: Mutex<HashMap<String, Instant>>,
}

impl ConfirmedCredentials {
    /// Whether the Secret of the instance with `uid` was seen less than `age` ago.
    fn confirmed_within(&self, uid: &str, age: Duration) -> bool {
        self.lock().get(uid).is_some_and(|seen| seen.elapsed() < age)
    }

    /// Notes that the Secret of the instance with `uid` exists now.
    fn confirm(&self, uid: String) {
        self.lock().insert(uid, Instant::now());
    }

    /// Forgets the instance with `uid` (it is retired).
    pub fn forget(&self, uid: &str) {
        self.lock().remove(uid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether the instance's credentials Secret exists.
pub async fn credentials_exist(instance: &ServiceInstance, ctx: &Context) -> Result<bool, Error> {
    Ok(credentials_metadata(instance, ctx).await?.is_some())
}

/// The metadata of the instance's credentials Secret, if it exists.
pub async fn credentials_metadata(instance: &ServiceInstance, ctx: &Context) -> Result<Option<ObjectMeta>, Error> {
    let name = credentials_secret_name(&instance.name_any());
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &instance.namespace().unwrap_or_default());
    match api.get_metadata_opt(&name).await {
        Ok(found) => Ok(found.map(|secret| secret.metadata)),
        Err(error) => Err(ApiCallError { action: "reading", kind: "Secret".into(), name, error }.into()),
    }
}

/// A random password from [`ALPHABET`], without modulo bias.
fn password() -> Result<String, getrandom::Error> {
    let mut password = String::with_capacity(PASSWORD_LENGTH);
    let limit = u8::MAX - (u8::MAX % ALPHABET.len() as u8);
    while password.len() < PASSWORD_LENGTH {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes)?;
        for byte in bytes.into_iter().filter(|b| *b < limit) {
            if password.len() < PASSWORD_LENGTH {
                password.push(ALPHABET[byte as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_distinct_and_from_the_alphabet() {
        let (a, b) = (password().unwrap(), password().unwrap());
        assert_eq!(a.len(), PASSWORD_LENGTH);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
    }
}

#[cfg(test)]
mod confirmed_tests {
    use super::*;

    #[test]
    fn confirmations_expire_and_can_be_forgotten() {
        let confirmed = ConfirmedCredentials::default();
        assert!(!confirmed.confirmed_within("a", Duration::from_secs(60)));
        confirmed.confirm("a".into());
        assert!(confirmed.confirmed_within("a", Duration::from_secs(60)));
        assert!(!confirmed.confirmed_within("a", Duration::ZERO));
        confirmed.forget("a");
        assert!(!confirmed.confirmed_within("a", Duration::from_secs(60)));
    }
}
