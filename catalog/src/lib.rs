//! The service catalog's core, free of Kubernetes IO: checking an item's parameter schema
//! and templates, validating an order's parameters (with defaults), rendering the
//! resources of an instance, and quota arithmetic in catalog units.
//!
//! The catalog controller, its admission webhook and the portal all call these functions,
//! so an order is judged the same way wherever it is checked.

pub mod compiled;
pub mod error;
pub mod item;
pub mod measure;
pub mod names;
pub mod policy;
pub mod quota;
pub mod render;
pub mod schema;

pub use error::FieldError;
pub use item::{CompiledItem, InstanceRef, MANAGER, Order, RenderError, Rendered};
