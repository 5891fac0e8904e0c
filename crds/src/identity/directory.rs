//! The `Directory` kind: an Active Directory domain the platform manages.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shared::{DriftPolicy, OBJECT_NAME_PATTERN};

/// An Active Directory domain that the identity operator manages.
///
/// The operator speaks to it over LDAPS (`ldaps://`) or StartTLS (`ldap://`, always
/// upgraded before anything else is sent); there is no way to send a password
/// unencrypted, even to a server that would accept it. The server is verified against
/// the CA in `caSecret`. Every Agency whose `spec.directory.organizationalUnit` lies under
/// `baseDn` is managed in this domain (the longest matching base wins).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "identity.makonis.lv",
    version = "v1alpha1",
    kind = "Directory",
    plural = "directories",
    singular = "directory",
    shortname = "dir",
    category = "makonis",
    status = "DirectoryStatus",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(name = "Base", type_ = "string", json_path = ".spec.baseDn"),
    printcolumn(name = "Level", type_ = "string", json_path = ".status.functionalLevel"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySpec {
    /// Where the domain controller answers: `ldaps://dc1.lm.gov.lv:636` (TLS from the first
    /// byte) or `ldap://dc1.lm.gov.lv:389` (StartTLS before the bind; a server that refuses
    /// StartTLS is not used).
    #[schemars(
        length(min = 8, max = 255),
        regex(pattern = r"^ldaps?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/?$")
    )]
    pub url: String,

    /// Secret in the platform's namespace whose key `ca.crt` holds the PEM certificates
    /// the server's certificate must chain to.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub ca_secret: String,

    /// Secret in the platform's namespace with the operator's account: keys `username`
    /// (a DN, `DOMAIN\name` or a UPN) and `password`. The account needs the rights to
    /// create and change users and groups under the agencies' OUs, no more.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub bind_secret: String,

    /// The domain's naming context, e.g. `DC=lm,DC=gov,DC=lv`.
    #[schemars(length(min = 4, max = 255), regex(pattern = r"^[Dd][Cc]=[A-Za-z0-9-]+(,\s*[Dd][Cc]=[A-Za-z0-9-]+)*$"))]
    pub base_dn: String,

    /// The suffix of users' `userPrincipalName`, e.g. `lm.gov.lv`; by default the domain
    /// the base DN names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 3, max = 253),
        regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
    )]
    pub user_principal_suffix: Option<String>,

    /// What happens to direct changes of managed objects, unless an object says otherwise.
    #[serde(default)]
    pub drift: DriftPolicy,

    /// Days a removed account stays disabled in its agency's leavers OU before it is
    /// deleted (0 to 3650, default 30).
    #[serde(default = "default_leaver_days")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 3650").message("leaverGraceDays must be 0 to 3650"))]
    pub leaver_grace_days: u32,
}

fn default_leaver_days() -> u32 {
    30
}

/// What the operator last saw of the domain.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryStatus {
    /// `Ready`: reachable over TLS, signed in, the base DN found.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The domain's functional level, e.g. `2008 R2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functional_level: Option<String>,
    /// The domain's default password policy, as people are told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicy>,
    /// Each agency whose OU this domain holds: whether its OUs and role groups are in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agencies: Vec<AgencyUnit>,
}

/// One agency's place in the domain, as the operator last left it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgencyUnit {
    /// The agency's code.
    pub code: String,
    /// Its organisational unit.
    pub organizational_unit: String,
    /// Whether the OU, its sub-OUs and the role groups are in place.
    pub ready: bool,
    /// What is missing or wrong, or what was found (a role group the platform did not
    /// create is left to the directory's administrators).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The domain's default password policy (from the domain object).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PasswordPolicy {
    /// Fewest characters (`minPwdLength`).
    pub min_length: u32,
    /// Whether three of upper case, lower case, digits and symbols are required and the
    /// account name may not appear (`pwdProperties` bit 1).
    pub complexity: bool,
    /// How many earlier passwords may not be reused (`pwdHistoryLength`).
    pub history_length: u32,
    /// Days before a password must be changed; none when it never expires (`maxPwdAge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// Days a new password must be kept before it may be changed again (`minPwdAge`).
    pub min_age_days: u32,
    /// Failed sign-ins before the account is locked; 0 never (`lockoutThreshold`).
    pub lockout_threshold: u32,
}

impl PasswordPolicy {
    /// The attributes of the domain object (the base DN's entry) that hold the policy.
    pub const DOMAIN_ATTRIBUTES: [&'static str; 6] =
        ["minPwdLength", "pwdProperties", "pwdHistoryLength", "maxPwdAge", "minPwdAge", "lockoutThreshold"];

    /// The policy from the domain object's attributes, as `number` reads them (absent
    /// ones count as 0: no rule).
    pub fn from_domain(number: impl Fn(&str) -> Option<i64>) -> Self {
        let count = |name: &str| u32::try_from(number(name).unwrap_or(0)).unwrap_or(0);
        Self {
            min_length: count("minPwdLength"),
            complexity: number("pwdProperties").unwrap_or(0) & DOMAIN_PASSWORD_COMPLEX != 0,
            history_length: count("pwdHistoryLength"),
            max_age_days: number("maxPwdAge").and_then(interval_days),
            min_age_days: number("minPwdAge").and_then(interval_days).unwrap_or(0),
            lockout_threshold: count("lockoutThreshold"),
        }
    }
}

/// `pwdProperties` bit: passwords must be complex.
const DOMAIN_PASSWORD_COMPLEX: i64 = 1;

/// Days in an AD interval (negative 100 ns units, as `maxPwdAge` holds); `None` for
/// "never" (0 or the minimum value).
fn interval_days(value: i64) -> Option<u32> {
    if value == 0 || value == i64::MIN {
        return None;
    }
    u32::try_from(value.unsigned_abs() / 10_000_000 / 86_400).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_reads_as_people_say_it() {
        let domain = |name: &str| match name {
            "minPwdLength" => Some(7),
            "pwdProperties" => Some(1),
            "pwdHistoryLength" => Some(24),
            "maxPwdAge" => Some(-36_288_000_000_000),
            "minPwdAge" => Some(-864_000_000_000),
            _ => None,
        };
        let policy = PasswordPolicy::from_domain(domain);
        assert_eq!(
            policy,
            PasswordPolicy {
                min_length: 7,
                complexity: true,
                history_length: 24,
                max_age_days: Some(42),
                min_age_days: 1,
                lockout_threshold: 0
            }
        );
        assert_eq!(interval_days(i64::MIN), None, "never expires");
        assert_eq!(PasswordPolicy::from_domain(|_| Some(-1)).min_length, 0, "a negative count is no rule");
    }
}
