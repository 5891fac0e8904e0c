//! The security regression suite: one test per threat of `docs/security/threat-model.md`,
//! named after the threat, each against the real components the threat crosses (the API
//! server's authoriser and admission, libvirt, the catalog's renderer, the portal on both
//! databases, the directory). A test here fails if the defence it names is removed.

#[path = "../support/mod.rs"]
mod support;

#[path = "../../portal/tests/support/mod.rs"]
mod portal_support;

mod approvals;
mod audit;
mod compute;
mod hostnames;
mod identity;
mod probes;
mod rbac;
mod render;
mod retire;
mod status;
