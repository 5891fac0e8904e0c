//! Invalid Agencies are refused by the API server itself, with the field named.
//! (The CRD's OpenAPI schema and CEL rules; no controller runs in this test.)

mod support;

use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use makonis_api::tenancy::Agency;
use serde_json::{Value, json};
use support::{
    agencies::{test_agency, unique_id},
    cluster::{admin_client, install_platform},
};

/// Applies `agency` as raw JSON (so that values our own types cannot hold can be sent)
/// and returns the API server's refusal message; panics if it was accepted.
async fn refusal(api: &Api<Agency>, agency: Value) -> String {
    let name = agency["metadata"]["name"].as_str().unwrap_or("x").to_string();
    let params = PatchParams::apply("makonis-tests");
    match api.patch(&name, &params, &Patch::Apply(&agency)).await {
        Ok(_) => panic!("agency {name} was accepted: {agency}"),
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            status.message
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

fn valid(code: &str) -> Value {
    let mut agency = serde_json::to_value(test_agency(code, "validation")).unwrap();
    agency["apiVersion"] = json!("tenancy.makonis.lv/v1alpha1");
    agency["kind"] = json!("Agency");
    agency
}

fn assert_names(message: &str, field: &str, words: &str) {
    assert!(message.contains(field), "message does not name {field}: {message}");
    assert!(message.contains(words), "message does not say {words:?}: {message}");
}

#[tokio::test]
async fn invalid_agencies_are_refused_with_the_field_path() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let api: Api<Agency> = Api::all(admin.clone());
    let id = unique_id();

    // A code that is not a DNS label.
    let mut bad = valid("Bad_Code");
    bad["spec"]["code"] = json!("Bad_Code");
    let message = refusal(&api, bad).await;
    assert_names(&message, "spec.code", "should match");

    // A code longer than 20 characters.
    let long = "a".repeat(21);
    let message = refusal(&api, valid(&long)).await;
    assert_names(&message, "spec.code", "20");

    // metadata.name and spec.code differ.
    let mut other = valid(&format!("n{id}"));
    other["spec"]["code"] = json!(format!("m{id}"));
    let message = refusal(&api, other).await;
    assert_names(&message, "spec.code", "metadata.name must equal spec.code");

    // One field set to a bad value each: (where, value, field named, what is said).
    let cases = [
        ("/spec/quota/cpu", json!("-2"), "spec.quota.cpu", "non-negative"),
        ("/spec/quota/virtualMachines", json!(-1), "spec.quota.virtualMachines", "greater than or equal to 0"),
        ("/spec/quota/memory", json!("lots"), "spec.quota.memory", "non-negative Kubernetes quantity"),
        ("/spec/contacts", json!([]), "spec.contacts", "at least 1"),
        ("/spec/contacts/0/email", json!("not-an-address"), "spec.contacts[0].email", "should match"),
        (
            "/spec/directory/organizationalUnit",
            json!("VDI people"),
            "spec.directory.organizationalUnit",
            "should match",
        ),
        (
            "/spec/network",
            json!({"isolation": "Isolated", "allowedAgencies": ["lm"]}),
            "spec.network.allowedAgencies",
            "only be set when isolation is AllowList",
        ),
        (
            "/spec/network",
            json!({"isolation": "AllowList"}),
            "spec.network.allowedAgencies",
            "needs at least one agency",
        ),
    ];
    for (i, (pointer, value, field, words)) in cases.into_iter().enumerate() {
        let mut agency = valid(&format!("v{i}x{id}"));
        *agency.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} exists in a valid agency")) = value;
        assert_names(&refusal(&api, agency).await, field, words);
    }

    // An agency listing itself.
    let code = format!("y{id}");
    let mut itself = valid(&code);
    itself["spec"]["network"] = json!({"isolation": "AllowList", "allowedAgencies": [code]});
    let message = refusal(&api, itself).await;
    assert_names(&message, "spec.network.allowedAgencies", "cannot list itself");

    // Missing required parts.
    let mut incomplete = valid(&format!("z{id}"));
    incomplete["spec"].as_object_mut().unwrap().remove("directory");
    let message = refusal(&api, incomplete).await;
    assert_names(&message, "spec.directory", "Required value");
}

#[tokio::test]
async fn code_cannot_change_after_creation() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let api: Api<Agency> = Api::all(admin.clone());
    let code = format!("i{}", unique_id());
    api.create(&PostParams::default(), &test_agency(&code, "validation")).await.expect("a valid agency is accepted");
    let patch = json!({"spec": {"code": format!("{code}x")}});
    let error =
        api.patch(&code, &PatchParams::default(), &Patch::Merge(&patch)).await.expect_err("code change refused");
    let kube::Error::Api(status) = error else { panic!("unexpected error {error}") };
    assert_eq!(status.code, 422);
    assert_names(&status.message, "spec.code", "code is immutable");
    // Nobody reconciles this agency (no operator here), so it has no finalizer and goes at once.
    api.delete(&code, &Default::default()).await.expect("delete");
}
