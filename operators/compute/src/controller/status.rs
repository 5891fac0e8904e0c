//! Status writes shared by the compute controllers.

use std::fmt::Debug;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp};
use kube::{Api, Resource};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    status::apply_status_if_changed,
};
use serde::{Serialize, de::DeserializeOwned};

use super::Context;
use crate::{MANAGER, error::Error};

/// `existing` conditions with `desired` merged in (transition times kept).
pub fn conditions(existing: &[Condition], desired: Vec<DesiredCondition>, generation: Option<i64>) -> Vec<Condition> {
    merge_conditions(existing, desired, generation, Timestamp::now())
}

/// Writes `desired` as the status of `object` unless it already has it.
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
    Ok(apply_status_if_changed(api, object, current, desired, MANAGER, &ctx.metrics).await?)
}
