//! The identity controllers: Active Directory as code.
//!
//! Each Agency gets its OU (with `People`, `Groups`, `Service Accounts` and `Leavers`) and
//! its five role groups; `DirectoryUser`, `DirectoryGroup` and `DirectoryServiceAccount`
//! objects in its namespace become accounts and groups there. The logic is pure —
//! [`layout`] (where things go), [`plan`] (what they hold and what differs), [`account`]
//! (AD's encodings), [`password`] — and unit-tested; [`ldap`] (encrypted connections only)
//! and [`controller`] are the IO, tested against a real Samba AD domain controller.

pub mod account;
pub mod config;
pub mod controller;
pub mod error;
pub mod import;
pub mod layout;
pub mod ldap;
pub mod password;
pub mod plan;

pub use config::IdentityConfig;
pub use controller::run;
