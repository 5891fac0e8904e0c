//! One module per subcommand.

pub mod crds;
pub mod identity;
pub mod operator;
pub mod portal;
pub mod portal_db;
pub mod siem;
pub mod sigma;
pub mod slo;
