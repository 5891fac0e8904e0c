//! Status writes shared by the compute controllers.

use std::fmt::Debug;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp};
use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
};
use makonis_operator_kit::{
    apply::ApiCallError,
    conditions::{DesiredCondition, merge_conditions},
    status::apply_status_if_changed,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use super::Context;
use crate::{MANAGER, error::Error};

/// `existing` conditions with `desired` merged in (transition times kept).
pub fn conditions(existing: &[Condition], desired: Vec<DesiredCondition>, generation: Option<i64>) -> Vec<Condition> {
    merge_conditions(existing, desired, generation, Timestamp::now())
}

/// Writes `desired` as the status of `object` unless it already has it.
///
/// The status is applied whole with the controller's field manager, which removes the
/// fields it set before and no longer sets. A field someone else wrote (the status
/// subresource is writable by whoever may patch it) would stay, so the fields `current`
/// has and `desired` does not are removed as well: the status is exactly the
/// controller's answer.
pub async fn write<K, S>(
    ctx: &Context,
    api: &Api<K>,
    object: &K,
    current: Option<&S>,
    desired: &S,
) -> Result<bool, Error>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug,
    S: Serialize + PartialEq,
{
    let written = apply_status_if_changed(api, object, current, desired, MANAGER, &ctx.metrics).await?;
    let stale = stale_fields(current, desired);
    if stale.is_empty() {
        return Ok(written);
    }
    let name = object.meta().name.clone().unwrap_or_default();
    let patch = serde_json::json!({ "status": stale });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(|error| ApiCallError {
        action: "removing stale fields from the status of",
        kind: K::kind(&()).into_owned(),
        name: name.clone(),
        error,
    })?;
    ctx.metrics.record_write(MANAGER, &K::kind(&()));
    Ok(true)
}

/// The top-level fields of `current` that `desired` does not have, each set to null (a
/// merge patch that removes them).
fn stale_fields<S: Serialize>(current: Option<&S>, desired: &S) -> Map<String, Value> {
    let fields = |status: &S| match serde_json::to_value(status) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let desired = fields(desired);
    current
        .map(fields)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !desired.contains_key(k))
        .map(|(k, _)| (k, Value::Null))
        .collect()
}

#[cfg(test)]
mod tests {
    use makonis_api::compute::VolumeStatus;

    use super::*;

    #[test]
    fn fields_the_controller_no_longer_sets_are_removed() {
        let forged =
            VolumeStatus { path: Some("/dev/sda".into()), host: Some("kvm".into()), ..VolumeStatus::default() };
        let answer = VolumeStatus { host: Some("kvm".into()), ..VolumeStatus::default() };
        assert_eq!(stale_fields(Some(&forged), &answer), Map::from_iter([("path".to_string(), Value::Null)]));
        assert!(stale_fields(Some(&answer), &answer).is_empty());
        assert!(stale_fields(None, &answer).is_empty());
    }
}
