//! The portal's view of the cluster: agencies, catalog items and service instances from
//! watch caches, and the edge that applies and retires instances.

pub mod apply;
pub mod follow;
pub mod guarded;
pub mod people;
pub mod view;

pub use view::{ClusterView, InstanceKey, InstanceSummary, Outputs};
