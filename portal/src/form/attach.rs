//! Showing errors next to the fields they are about.

use makonis_catalog::FieldError;

use super::field::{Field, FormError, Input};
use super::localize::localize;
use super::texts;
use crate::i18n::Lang;

/// Attaches each error, in `lang`, to the field at its pointer (an error inside a list
/// written one per line to that list, naming the line); returns those that no field shows.
pub(super) fn attach(fields: &mut [Field], errors: &[FieldError], lang: Lang) -> Vec<FormError> {
    errors
        .iter()
        .filter_map(|error| {
            let message = localize(error, lang);
            let shown = show(fields, &error.path, &message, lang);
            (!shown).then(|| FormError { path: error.path.clone(), message })
        })
        .collect()
}

/// Adds `message` to the field at `path` among `fields` or their descendants.
fn show(fields: &mut [Field], path: &str, message: &str, lang: Lang) -> bool {
    for field in fields {
        if field.name == path {
            field.errors.push(message.to_owned());
            return true;
        }
        let Some(rest) = path.strip_prefix(field.name.as_str()).and_then(|rest| rest.strip_prefix('/')) else {
            continue;
        };
        return match field.input {
            Input::Group | Input::List => show(&mut field.children, path, message, lang),
            Input::Lines => {
                let line = rest.split('/').next().and_then(|index| index.parse::<usize>().ok());
                let text = line.map_or_else(|| message.to_owned(), |index| texts::on_line(index + 1, message, lang));
                field.errors.push(text);
                true
            }
            _ => {
                field.errors.push(message.to_owned());
                true
            }
        };
    }
    false
}
