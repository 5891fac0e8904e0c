//! An agency's people and groups as its administrators manage them in the portal: the
//! forms checked against the API's rules (pure), and the rows the pages list. The objects
//! are `DirectoryUser`s and `DirectoryGroup`s in the agency's namespace; the identity
//! operator makes the directory match them.

pub mod form;
pub mod rows;

pub use form::{FieldCode, GroupForm, PersonForm, check_group, check_person};
pub use rows::{GroupRow, PersonRow};
