//! The self-service portal of Mākonis: agencies browse the catalog, order services,
//! approve orders and follow their services; platform staff oversee agencies, the catalog
//! and every request. Server-rendered pages (tera) and a JSON API share one set of
//! handlers' logic and one authorisation; state lives in SQL (sqlx: SQLite or PostgreSQL)
//! and in Kubernetes.

pub mod actions;
pub mod cluster;
pub mod context;
pub mod form;
pub mod i18n;
pub mod identity;
pub mod people;
pub mod siem;
pub mod store;
pub mod web;
pub mod worker;
pub mod workflow;
