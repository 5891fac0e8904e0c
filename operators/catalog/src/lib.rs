//! The catalog controller: turns each `ServiceInstance` into the resources its
//! `CatalogItem` templates, and serves the admission webhook that refuses invalid items
//! and orders before they are stored.
//!
//! The judging (parameters, quota, rendering) is pure and shared by the controller and
//! the webhook ([`decide`]); readiness roll-up ([`readiness`]), what retiring keeps
//! ([`retention`]), the status ([`status`]) and whether an item can be ordered
//! ([`item_status`]) are pure too. The IO lives in [`controller`] and [`webhook`].

pub mod approval;
pub mod config;
pub mod controller;
pub mod decide;
pub mod error;
pub mod item_status;
pub mod judge;
pub mod readiness;
pub mod retention;
pub mod status;
pub mod stores;
pub mod webhook;

#[cfg(test)]
mod test_support;

pub use config::CatalogConfig;
pub use controller::{CatalogController, Context, FINALIZER};
