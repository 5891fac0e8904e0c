//! How a list is entered, which the form builder and the parser must agree on.

use makonis_catalog::schema::{ArrayRules, Kind};

/// The control of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListStyle {
    /// Scalars typed one per line in a text area.
    Lines,
    /// Distinct values from an `enum`, ticked in a checkbox group.
    Choices,
    /// Objects or lists, each a group of fields.
    Rows,
}

/// The style of an array with `rules`.
pub(super) fn list_style(rules: &ArrayRules) -> ListStyle {
    match rules.items.kind {
        Kind::Object(_) | Kind::Array(_) => ListStyle::Rows,
        Kind::String(_) | Kind::Integer(_) | Kind::Number(_)
            if rules.unique_items && rules.items.enum_values.is_some() =>
        {
            ListStyle::Choices
        }
        Kind::String(_) | Kind::Integer(_) | Kind::Number(_) | Kind::Boolean => ListStyle::Lines,
    }
}
