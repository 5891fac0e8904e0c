//! Rendering an instance's resources and outputs from its item's Tera templates.
//!
//! Each template renders to zero or more YAML documents; every document must be an
//! object of an [allowed kind](ALLOWED_KINDS) named after the instance. Every value a
//! template writes is quoted as one YAML node (`quote`, enforced by `engine`), and the
//! rendering must hold exactly the objects, keys and kinds the template's own text
//! declares (`shape`). The controller's labels and the instance's namespace are set on
//! every object, so a template cannot place anything outside its agency.

mod context;
mod engine;
mod kinds;
mod objects;
mod quote;
mod shape;

pub use context::{AgencyVars, InstanceVars, ItemVars, PlanVars, PlatformVars, RenderContext};
pub use engine::Engine;
pub use kinds::{ALLOWED_KINDS, AllowedKind, Readiness, allowed_kind};
pub use objects::{RenderedObject, check_objects, parse_documents};
pub use shape::matches_skeleton;
