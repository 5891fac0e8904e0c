//! The portal's writes to the cluster: a granted order or resize is server-side-applied
//! as the agency's ServiceInstance under the portal's own field manager; a retirement
//! deletes it (the catalog controller then keeps the item's retained data).

use std::collections::BTreeMap;

use kube::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams},
};
use makonis_api::{catalog::ServiceInstance, tenancy::namespace_for_code};
use serde_json::json;

use crate::store::requests::Request;

/// The field manager of everything the portal applies.
pub const FIELD_MANAGER: &str = "makonis-portal";
/// Annotation naming the request that last changed an instance.
pub const REQUEST_ANNOTATION: &str = "portal.makonis.lv/request";
/// Annotation naming who asked for it.
pub const REQUESTED_BY_ANNOTATION: &str = "portal.makonis.lv/requested-by";

/// The ServiceInstance a granted order or resize asks for, with `labels`.
pub fn desired_instance(request: &Request, labels: &BTreeMap<String, String>) -> serde_json::Value {
    json!({
        "apiVersion": "catalog.makonis.lv/v1alpha1",
        "kind": "ServiceInstance",
        "metadata": {
            "name": request.instance,
            "namespace": namespace_for_code(&request.agency),
            "labels": labels,
            "annotations": {
                REQUEST_ANNOTATION: request.id,
                REQUESTED_BY_ANNOTATION: request.requester,
            },
        },
        "spec": {
            "catalogItem": request.catalog_item,
            "plan": request.plan,
            "parameters": request.parameters,
        },
    })
}

/// Applies the instance `request` asks for. Admission refusals come back as errors
/// whose message is the webhook's (field path included).
pub async fn apply_instance(
    client: &Client,
    request: &Request,
    labels: &BTreeMap<String, String>,
) -> Result<(), kube::Error> {
    let api: Api<ServiceInstance> = Api::namespaced(client.clone(), &namespace_for_code(&request.agency));
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&request.instance, &params, &Patch::Apply(desired_instance(request, labels))).await?;
    Ok(())
}

/// Deletes the instance `request` retires; an instance already gone is not an error.
pub async fn retire_instance(client: &Client, request: &Request) -> Result<(), kube::Error> {
    let api: Api<ServiceInstance> = Api::namespaced(client.clone(), &namespace_for_code(&request.agency));
    match api.delete(&request.instance, &DeleteParams::foreground()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}

/// The message of an API error as a person should read it (the API server's or the
/// webhook's own words, without the transport's).
pub fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => format!("the Kubernetes API could not be reached: {other}"),
    }
}
