//! API group `identity.makonis.lv`: Active Directory as code.
//!
//! A [`Directory`] (cluster-scoped) is an AD domain the platform manages, reached over LDAPS
//! or StartTLS only. Every Agency whose organisational unit lies under a Directory's base
//! gets its OU, sub-OUs for people, groups, service accounts and leavers, and its five role
//! groups. In an agency's namespace, a [`DirectoryUser`] is a person's account, a
//! [`DirectoryGroup`] a security or distribution group, and a
//! [`DirectoryServiceAccount`] the account a service signs in with. The identity operator
//! keeps the directory true to them, puts back (or reports) what someone changed directly
//! and never touches what the platform did not create.

mod directory;
mod group;
mod service_account;
mod shared;
mod user;

/// The API group of the directory kinds.
pub const GROUP: &str = "identity.makonis.lv";

pub use directory::{AgencyUnit, Directory, DirectorySpec, DirectoryStatus, PasswordPolicy};
pub use group::{DirectoryGroup, DirectoryGroupSpec, DirectoryGroupStatus, GroupKind, GroupMember};
pub use service_account::{DirectoryServiceAccount, DirectoryServiceAccountSpec, DirectoryServiceAccountStatus};
pub use shared::{
    ACCOUNT_PATTERN, DriftPolicy, EMAIL_PATTERN, GROUP_NAME_PATTERN, Leaving, OBJECT_NAME_PATTERN, TEXT_PATTERN,
};
pub use user::{AgencyRole, DirectoryUser, DirectoryUserSpec, DirectoryUserStatus, PasswordSource};
