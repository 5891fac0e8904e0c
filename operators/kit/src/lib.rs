//! The operator kit: what every Mākonis controller shares.
//!
//! A controller is `observe (IO) → validate (pure) → build (pure) → apply (IO) → status
//! (pure, then one patch)`. This crate holds the IO edges and the pure helpers around
//! them, so that each domain crate only writes its own validate/build/status steps:
//!
//! - [`conditions`]: set conditions, keeping transition times when nothing changed;
//! - [`apply`]: server-side apply with one field manager per controller, owner
//!   references, pruning of children that are no longer wanted;
//! - [`owned_fields`]: which fields a manager set earlier and no longer wants;
//! - [`status`]: one status patch, and none when nothing changed;
//! - [`events`]: Kubernetes Events that carry the whole error chain;
//! - [`error`]: the bounded error `category()` used for metric labels and Event reasons;
//! - [`metrics`]: reconcile runs, failures by category and durations;
//! - [`finalizers`]: add and remove finalizers under the controller's explicit control;
//! - [`leader`]: leader election with a Lease, so that one replica of several reconciles;
//! - [`crds`]: wait at start-up until the CRDs a controller needs are established;
//! - [`server`]: `/metrics`, `/healthz` and `/readyz` on their own address;
//! - [`watch`]: watch caches without `managedFields`, driven with logged retries;
//! - [`webhook`]: validating admission webhooks over TLS with a self-managed certificate.

pub mod apply;
pub mod client;
pub mod conditions;
pub mod crds;
pub mod error;
pub mod events;
pub mod finalizers;
pub mod leader;
pub mod metrics;
pub mod owned_fields;
pub mod server;
pub mod status;
pub mod watch;
pub mod webhook;
