//! Building the fields of a form from the schema and the values to show: labels in the
//! user's language, the control for each type, defaults filled in, required fields marked.

use makonis_catalog::error::pointer_token;
use makonis_catalog::schema::{ArrayRules, Format, Kind, ObjectRules, SchemaNode, StringRules};
use serde_json::Value;

use super::constraints;
use super::field::{Choice, Constraints, Field, Input};
use super::style::{ListStyle, list_style};
use super::text::show;
use super::texts;
use crate::i18n::Lang;

/// Empty items offered after the items of a list of groups, for adding new ones (a page
/// without scripts cannot add them on demand).
const NEW_ITEMS: usize = 3;

/// Most options shown as radio buttons; more make a select.
const MOST_RADIOS: usize = 4;

/// Where a field sits, which decides how it is filled and marked.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// Sent whenever the form is: required in its group, and every group around it is.
    necessary: bool,
    /// Listed in its group's `required`.
    required: bool,
    /// The group around it has no value: no defaults are shown, so that it stays absent.
    blank: bool,
    /// Inside a `const` value.
    read_only: bool,
}

/// The control of a scalar without choices: its input and its constraints.
type Control = (Input, Constraints);

impl Place {
    /// The parameter object itself.
    const ROOT: Place = Place { necessary: true, required: true, blank: false, read_only: false };
}

/// Builds the fields of the parameters with `root` schema, showing `values`.
pub(super) fn fields(root: &SchemaNode, values: &Value, lang: Lang) -> Vec<Field> {
    Builder { lang }.field(root, "", String::new(), Some(values), Place::ROOT).children
}

struct Builder {
    lang: Lang,
}

impl Builder {
    /// The field of `node`, the property `name` at `pointer`, whose value is `given`.
    fn field(&self, node: &SchemaNode, name: &str, pointer: String, given: Option<&Value>, place: Place) -> Field {
        let read_only = place.read_only || node.const_value.is_some();
        let fallback = if place.blank { None } else { node.default.as_ref() };
        let value = node.const_value.as_ref().or(given).or(fallback);
        let must_fill = !read_only && node.default.is_none() && needs_input(&node.kind);
        let required = place.necessary && must_fill;
        let mut field = Field {
            id: format!("p{}", pointer.replace('/', "-")),
            name: pointer,
            label: self.label(node, name),
            description: self.description(node),
            input: Input::Text,
            required,
            marker: required.then(|| texts::required_marker(self.lang).to_owned()),
            value: String::new(),
            checked: false,
            options: Vec::new(),
            constraints: Constraints::default(),
            errors: Vec::new(),
            children: Vec::new(),
            read_only,
        };
        let place = Place { read_only, ..place };
        match &node.kind {
            Kind::Object(rules) => self.group(&mut field, rules, value, place),
            Kind::Boolean => {
                field.input = Input::Checkbox;
                field.checked = value == Some(&Value::Bool(true));
            }
            Kind::Array(rules) => self.list(&mut field, rules, value, place),
            Kind::String(rules) => {
                let control = (string_input(rules), constraints::string(rules, self.lang));
                self.scalar(&mut field, node, value, place, control);
            }
            Kind::Integer(rules) => {
                let control = (Input::Number, constraints::number(rules, true, self.lang));
                self.scalar(&mut field, node, value, place, control);
            }
            Kind::Number(rules) => {
                let control = (Input::Number, constraints::number(rules, false, self.lang));
                self.scalar(&mut field, node, value, place, control);
            }
        }
        if must_fill && place.required && !place.necessary {
            field.constraints.hints.insert(0, texts::required_in_group(self.lang).to_owned());
        }
        field
    }

    fn label(&self, node: &SchemaNode, name: &str) -> String {
        let (own, other) = match self.lang {
            Lang::Lv => (&node.title_lv, &node.title),
            Lang::En => (&node.title, &node.title_lv),
        };
        own.as_ref().or(other.as_ref()).cloned().unwrap_or_else(|| name.to_owned())
    }

    fn description(&self, node: &SchemaNode) -> Option<String> {
        let (own, other) = match self.lang {
            Lang::Lv => (&node.description_lv, &node.description),
            Lang::En => (&node.description, &node.description_lv),
        };
        own.as_ref().or(other.as_ref()).cloned()
    }

    /// An object: a group whose fields are blank unless it has a value or is always sent.
    fn group(&self, field: &mut Field, rules: &ObjectRules, value: Option<&Value>, place: Place) {
        field.input = Input::Group;
        let blank = value.is_none() && !place.necessary;
        let values = value.and_then(Value::as_object);
        field.children = rules
            .properties
            .iter()
            .map(|(name, node)| {
                let required = rules.is_required(name);
                let child =
                    Place { necessary: place.necessary && required, required, blank, read_only: place.read_only };
                let pointer = format!("{}/{}", field.name, pointer_token(name));
                self.field(node, name, pointer, values.and_then(|values| values.get(name)), child)
            })
            .collect();
    }

    /// A string or a number: its `control` (input and constraints), or choices from its
    /// `enum` unless it is fixed.
    fn scalar(&self, field: &mut Field, node: &SchemaNode, value: Option<&Value>, place: Place, control: Control) {
        match &node.enum_values {
            Some(allowed) if !field.read_only => self.choose(field, node, allowed, value, place),
            _ => {
                let (input, constraints) = control;
                field.input = input;
                field.value = value.map(show).unwrap_or_default();
                field.constraints = Constraints { placeholder: constraints::placeholder(node), ..constraints };
            }
        }
    }

    /// A value from `enum`: radio buttons for a few, a select for more. An optional value
    /// gets a "not set" choice; so does a select with nothing chosen yet.
    fn choose(&self, field: &mut Field, node: &SchemaNode, allowed: &[Value], value: Option<&Value>, place: Place) {
        let current = value.map(show);
        let known = current.as_ref().is_some_and(|current| allowed.iter().any(|value| show(value) == *current));
        field.input = if allowed.len() <= MOST_RADIOS { Input::Radio } else { Input::Select };
        let may_unset = !place.necessary && (node.default.is_none() || !known);
        let unset = match field.input {
            Input::Radio => may_unset,
            _ => may_unset || !known,
        };
        let texts = allowed.iter().map(show);
        let values = unset.then(String::new).into_iter().chain(texts);
        field.options = values
            .enumerate()
            .map(|(index, value)| Choice {
                id: format!("{}--{index}", field.id),
                label: if value.is_empty() { texts::not_set(self.lang).to_owned() } else { value.clone() },
                selected: if known { current.as_ref() == Some(&value) } else { value.is_empty() },
                value,
            })
            .collect();
        field.value = current.filter(|_| known).unwrap_or_default();
    }

    /// An array: lines of a text area, a checkbox group, or a group per item.
    fn list(&self, field: &mut Field, rules: &ArrayRules, value: Option<&Value>, place: Place) {
        let items = value.and_then(Value::as_array);
        match list_style(rules) {
            ListStyle::Lines => {
                field.input = Input::Lines;
                field.value = value.map(show).unwrap_or_default();
                field.constraints = constraints::lines(rules, self.lang);
            }
            ListStyle::Choices => {
                field.input = Input::CheckboxGroup;
                let ticked: Vec<String> = items.into_iter().flatten().map(show).collect();
                let allowed = rules.items.enum_values.iter().flatten().map(show);
                field.options = allowed
                    .enumerate()
                    .map(|(index, value)| Choice {
                        id: format!("{}--{index}", field.id),
                        label: value.clone(),
                        selected: ticked.contains(&value),
                        value,
                    })
                    .collect();
                field.constraints = constraints::choices(rules, self.lang);
            }
            ListStyle::Rows => {
                field.input = Input::List;
                field.constraints = constraints::list(rules, self.lang);
                field.children = self.rows(&field.name, rules, items.map(Vec::as_slice).unwrap_or_default(), place);
            }
        }
    }

    /// The groups of a list's items, then empty ones to add items with (none when the list
    /// is fixed), enough to reach `minItems` and within `maxItems`.
    fn rows(&self, pointer: &str, rules: &ArrayRules, items: &[Value], place: Place) -> Vec<Field> {
        let count = |n: Option<u64>| n.and_then(|n| usize::try_from(n).ok());
        let wanted = NEW_ITEMS.max(count(rules.min_items).unwrap_or(0).saturating_sub(items.len()));
        let room = count(rules.max_items).map_or(usize::MAX, |max| max.saturating_sub(items.len()));
        let new = if place.read_only { 0 } else { wanted.min(room) };
        let given = items.iter().map(Some).chain(std::iter::repeat_n(None, new));
        given
            .enumerate()
            .map(|(index, item)| {
                let row =
                    Place { necessary: false, required: false, blank: item.is_none(), read_only: place.read_only };
                let mut field = self.field(&rules.items, "", format!("{pointer}/{index}"), item, row);
                field.label = texts::item_label(index + 1, item.is_none(), self.lang);
                field
            })
            .collect()
    }
}

/// Whether a required value of `kind` needs the user to enter something: a checkbox is
/// always sent, a group always has its fields, and a list without `minItems` may be empty.
fn needs_input(kind: &Kind) -> bool {
    match kind {
        Kind::Boolean | Kind::Object(_) => false,
        Kind::Array(rules) => rules.min_items.is_some_and(|min| min > 0),
        Kind::String(_) | Kind::Integer(_) | Kind::Number(_) => true,
    }
}

/// The control of a string without choices.
fn string_input(rules: &StringRules) -> Input {
    match rules.format {
        Some(Format::Email) => Input::Email,
        Some(Format::Uri) => Input::Url,
        Some(Format::Date) => Input::Date,
        Some(Format::Hostname | Format::Ipv4 | Format::DnsLabel) => Input::Text,
        // Only strings the schema lets span lines (`x-multiline`) get a text area: the
        // others refuse line breaks.
        None if rules.multiline => Input::LongText,
        None => Input::Text,
    }
}
