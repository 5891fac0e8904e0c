//! Settings of the catalog controller that do not come from a catalog item.

use makonis_catalog::render::PlatformVars;

/// How instances are rendered on this installation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogConfig {
    /// The `platform.*` variables of every template.
    pub platform: PlatformVars,
}
