//! Rendering an instance's resources and outputs from its item's Tera templates.
//!
//! Each template renders to zero or more YAML documents; every document must be an
//! object of an [allowed kind](ALLOWED_KINDS) named after the instance. The controller's
//! labels and the instance's namespace are set on every object, so a template cannot
//! place anything outside its agency.

mod context;
mod engine;
mod kinds;
mod objects;
mod quote;

pub use context::{AgencyVars, InstanceVars, ItemVars, PlanVars, PlatformVars, RenderContext};
pub use engine::Engine;
pub use kinds::{ALLOWED_KINDS, AllowedKind, Readiness, allowed_kind};
pub use objects::{RenderedObject, parse_objects};
