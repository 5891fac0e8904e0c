//! The directory over LDAP: encrypted connections only, typed errors, entries as read.

pub mod connection;
pub mod entry;
pub mod error;
pub mod metrics;
pub mod pool;

pub use connection::{Attribute, Change, Connection, Settings, Transport, transport_of};
pub use entry::{Entry, guid_filter, guid_text};
pub use error::DirectoryError;
pub use metrics::LdapMetrics;
pub use pool::Pool;

pub use ldap3::Scope;
