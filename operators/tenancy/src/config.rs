//! Settings of the tenancy controller that do not come from an Agency.

/// Where the platform itself runs and how directory groups are named in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenancyConfig {
    /// The namespace of the platform (Mākonis, monitoring): every agency admits traffic
    /// from it.
    pub platform_namespace: String,
    /// Prefix the cluster's authentication puts before directory group names (the API
    /// server's `--oidc-groups-prefix`), e.g. `ad:`; empty when there is none.
    pub group_prefix: String,
    /// The catalog operator's ServiceAccount (in the platform namespace). It is granted,
    /// in each agency namespace only, the Secrets rights it needs for the credentials of
    /// the agency's service instances.
    pub catalog_service_account: String,
    /// The identity operator's ServiceAccount (in the platform namespace), granted in each
    /// agency namespace the Secrets rights of initial passwords and service accounts.
    pub identity_service_account: String,
    /// The portal's ServiceAccount (in the platform namespace), granted in each agency
    /// namespace the creation of Secrets: the first passwords of people added in the portal.
    pub portal_service_account: String,
}

impl Default for TenancyConfig {
    fn default() -> Self {
        Self {
            platform_namespace: "makonis-system".into(),
            group_prefix: String::new(),
            catalog_service_account: "makonis-catalog-operator".into(),
            identity_service_account: "makonis-identity-operator".into(),
            portal_service_account: "makonis-portal".into(),
        }
    }
}
