//! The order form, generated from a catalog item's parameter schema: pure code, no IO.
//!
//! [`build`] turns the schema, the values to show and the errors to report into a [`Form`]
//! that the `fields` macro of `templates/macros/form.html` renders; [`parse`] reads the
//! submitted form back into typed parameters for [`ParameterSchema::validate`]; [`localize`]
//! gives the validator's and the parser's messages in Latvian.
//!
//! Each field's form key is its parameter's JSON pointer (`/storage/sizeGi`), so the errors
//! of the validator, which carry the same pointers, land next to their fields. Every feature
//! of the schema subset is rendered:
//!
//! - a string is a text input (`email`, `uri` and `date` formats use the matching HTML
//!   input, a long string without format or pattern a text area) with `minlength`,
//!   `maxlength` and `pattern` when it can be translated faithfully;
//! - an integer or a number is a number input with `min`, `max` and `step`;
//! - a boolean is a checkbox (unticked sends nothing, which reads as `false`);
//! - an `enum` is a radio group of up to four options, a select beyond;
//! - a `const` is shown read-only and still sent;
//! - an object is a fieldset of its properties;
//! - an array of scalars is a text area with one value per line, an array of distinct
//!   `enum` values a checkbox group, an array of objects (or of arrays) a fieldset per item
//!   followed by empty ones to add items with.
//!
//! Defaults fill absent values, except inside a group that has no value, whose fields stay
//! empty so that it stays absent. Required fields carry `required` and a visible marker; a
//! field required only inside an optional group or a list item gets a hint instead, since the
//! group may be left empty. Hints state every rule in the user's language.
//!
//! When [`parse`] reports errors, show its value with them rather than validating it: a value
//! it could not read is kept as text, which validation would report a second time.
//!
//! [`ParameterSchema::validate`]: makonis_catalog::schema::ParameterSchema::validate

mod attach;
mod build;
mod constraints;
mod field;
mod localize;
mod parse;
mod pattern;
mod style;
#[cfg(test)]
mod tests;
mod text;
mod texts;

use makonis_catalog::FieldError;
use makonis_catalog::schema::ParameterSchema;
use serde_json::Value;

pub use self::field::{Choice, Constraints, Field, Form, FormError, Input};
pub use self::localize::localize;
pub use crate::i18n::Lang;

/// Builds the form of `schema` in `lang`, showing `values` (the schema's defaults where a
/// value is absent) and `errors`: each next to the field at its pointer, or in
/// [`Form::errors`] when no field is there.
pub fn build(schema: &ParameterSchema, values: &Value, errors: &[FieldError], lang: Lang) -> Form {
    let mut fields = build::fields(schema.root(), values, lang);
    let errors = attach::attach(&mut fields, errors, lang);
    Form { fields, errors }
}

/// Reads a submitted form into parameters: `"12"` becomes `12` for an integer, an empty
/// optional field is absent, a checkbox is `true` when sent and `false` when not, the lines of
/// a list become its items. Pairs whose key is not a JSON pointer (the plan, the CSRF token)
/// are ignored, and so are keys the schema does not know. Values that cannot be read are
/// reported with their pointer and kept as text.
pub fn parse(schema: &ParameterSchema, pairs: &[(String, String)]) -> (Value, Vec<FieldError>) {
    parse::parse(schema.root(), pairs)
}
