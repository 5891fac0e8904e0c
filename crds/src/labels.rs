//! Label and annotation keys shared by every Mākonis component.
//!
//! Children of Mākonis resources carry these labels so that a controller, an operator
//! with kubectl and the portal can all find what belongs to which agency.

/// The code of the agency an object belongs to (`vdi`, `nva`, …).
pub const AGENCY: &str = "makonis.lv/agency";
/// Marks a namespace as an agency's tenancy namespace; value [`TENANCY_AGENCY`].
pub const TENANCY: &str = "makonis.lv/tenancy";
/// The value of [`TENANCY`] on agency namespaces.
pub const TENANCY_AGENCY: &str = "agency";
/// The standard `app.kubernetes.io/managed-by` label: which controller owns the object.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The standard `kubernetes.io/metadata.name` label the API server sets on every namespace.
pub const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";
/// Annotation with the agency's Latvian display name on its namespace.
pub const DISPLAY_NAME_LV: &str = "makonis.lv/display-name-lv";
/// Annotation with the agency's English display name on its namespace.
pub const DISPLAY_NAME_EN: &str = "makonis.lv/display-name-en";
/// The name of the ServiceInstance an object belongs to.
pub const INSTANCE: &str = "makonis.lv/instance";
/// The name of the CatalogItem an object was rendered from.
pub const CATALOG_ITEM: &str = "makonis.lv/catalog-item";
/// `"true"` on a resource kept after its ServiceInstance was retired.
pub const RETAINED: &str = "makonis.lv/retained";

/// Label of a Secret named by a DirectoryUser's `password.secretRef` that holds a first
/// password for one use (`"true"`): the identity operator deletes it, as it does the
/// initial passwords it generates, once the person has set their own. The portal's
/// first passwords carry it.
pub const ONE_TIME_PASSWORD: &str = "identity.makonis.lv/one-time";
