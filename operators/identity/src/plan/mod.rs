//! What the directory should hold, and what differs from what it holds: pure functions
//! from objects and entries to attribute values, differences and changes.

pub mod attributes;
pub mod group;
pub mod ownership;
pub mod user;
