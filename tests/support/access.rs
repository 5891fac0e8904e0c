//! What the API server's authoriser decides for an identity, asked with a
//! SubjectAccessReview (the admin's client asks on the identity's behalf).

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::{Api, Client, api::PostParams};

/// One request to decide: `verb` on `resource` (with `subresource`) of API `group`, in
/// `namespace` (`None`: cluster-wide).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `get`, `create`, …
    pub verb: &'a str,
    /// The API group, `""` for the core group.
    pub group: &'a str,
    /// The resource's plural, e.g. `serviceinstances`.
    pub resource: &'a str,
    /// The subresource, e.g. `status`.
    pub subresource: Option<&'a str>,
    /// The namespace, or `None` for a cluster-wide request.
    pub namespace: Option<&'a str>,
}

/// Whether `user` in `groups` may make `request`.
pub async fn allowed(admin: &Client, user: &str, groups: &[String], request: Request<'_>) -> bool {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.into()),
            groups: Some(groups.to_vec()),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(request.verb.into()),
                group: Some(request.group.into()),
                resource: Some(request.resource.into()),
                subresource: request.subresource.map(Into::into),
                namespace: request.namespace.map(Into::into),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let api: Api<SubjectAccessReview> = Api::all(admin.clone());
    api.create(&PostParams::default(), &review).await.expect("access review").status.expect("review status").allowed
}
