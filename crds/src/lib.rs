//! The Mākonis API: the custom resource types of every `makonis.lv` API group.
//!
//! This crate depends on nothing else of ours. Each API group is a module; every kind
//! carries its OpenAPI schema (with CEL validation) so that the API server itself refuses
//! invalid objects. [`all_crds`] lists every definition for `makonis crds`, which writes
//! `crds/generated/*.yaml`; a test fails when those files drift from the code.

pub mod catalog;
pub mod compute;
pub mod dn;
pub mod identity;
pub mod labels;
pub mod mail;
pub mod quantity;
pub mod reference;
pub mod security;
pub mod slo;
pub mod tenancy;

mod generated;

pub use generated::{CrdFile, all_crds, generated_files, reference_pages, render_crd_files};
