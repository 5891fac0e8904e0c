//! The generated form as the template sees it: fields with their labels, current values,
//! HTML constraints, hints and errors.

use serde::Serialize;

/// An order form: the fields of a catalog item's parameters, ready for the `fields` macro of
/// `templates/macros/form.html`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Form {
    /// The top-level parameters, in the schema's (alphabetical) order.
    pub fields: Vec<Field>,
    /// Errors not tied to a visible field: an unknown parameter, a problem with the whole
    /// parameter object. Shown above the fields.
    pub errors: Vec<FormError>,
}

/// A problem that no field of the form shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormError {
    /// JSON pointer of the value concerned (`""` is the whole parameter object).
    pub path: String,
    /// The message in the user's language.
    pub message: String,
}

/// One form field: a parameter, a group of parameters (an object) or a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The HTML id: `p`, then the pointer's tokens joined by `-`, e.g. `p-storage-sizeGi`.
    /// Ids of the parts of a field (description, hint, error, choices) add `--` and a suffix,
    /// which no field id contains.
    pub id: String,
    /// The form key: the parameter's JSON pointer, e.g. `/storage/sizeGi`.
    pub name: String,
    /// The label in the user's language.
    pub label: String,
    /// Help text in the user's language.
    pub description: Option<String>,
    /// Which control renders the field.
    pub input: Input,
    /// Whether the form cannot be sent without a value: the `required` attribute, and the
    /// visible [`marker`](Self::marker).
    pub required: bool,
    /// The visible text that marks a required field, e.g. `(required)`; set when `required` is.
    pub marker: Option<String>,
    /// The current value as text: a number as written, one value per line for a list.
    pub value: String,
    /// Whether a checkbox is ticked.
    pub checked: bool,
    /// The choices of a select, a radio group or a checkbox group.
    pub options: Vec<Choice>,
    /// HTML constraints and the hints that state them.
    pub constraints: Constraints,
    /// Problems with the current value, in the user's language.
    pub errors: Vec<String>,
    /// The fields of a group, or the items of a list.
    pub children: Vec<Field>,
    /// A fixed value (`const`): shown but not editable, still sent with the form.
    pub read_only: bool,
}

/// The control of a field; serialized in kebab case (`checkbox-group`), which the template
/// switches on. The single-line inputs are named as their HTML `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Input {
    /// A single-line text input.
    Text,
    /// An e-mail address input.
    Email,
    /// An http or https URL input.
    Url,
    /// A date input (`YYYY-MM-DD`).
    Date,
    /// A number input with `min`, `max` and `step`.
    Number,
    /// A multi-line text area for a long string.
    LongText,
    /// A checkbox for a boolean: ticked sends `true`, unticked sends nothing (false).
    Checkbox,
    /// A drop-down list of the allowed values.
    Select,
    /// Radio buttons, for a few allowed values.
    Radio,
    /// Checkboxes for a list of distinct allowed values.
    CheckboxGroup,
    /// A text area with one list item per line.
    Lines,
    /// A group of fields (an object), rendered as a fieldset.
    Group,
    /// A list of groups (an array of objects or of lists), one per item, with empty items
    /// to fill in.
    List,
}

/// One choice of a select, a radio group or a checkbox group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// The HTML id of a radio button or checkbox: the field's id, `--` and the choice's index.
    pub id: String,
    /// The value sent; empty for "not set".
    pub value: String,
    /// The text shown.
    pub label: String,
    /// Whether the choice is selected or ticked.
    pub selected: bool,
}

/// The HTML constraints of a field, each compatible with what the schema allows (a browser
/// never refuses a value the schema accepts, but for `maxlength`, which counts an emoji as
/// two characters), and hints that state the rules in words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Constraints {
    /// `min` of a number input.
    pub min: Option<String>,
    /// `max` of a number input.
    pub max: Option<String>,
    /// `step` of a number input: the `multipleOf`, `1` for an integer, or `any`.
    pub step: Option<String>,
    /// `minlength` of a text input.
    pub minlength: Option<u64>,
    /// `maxlength` of a text input (browsers count an emoji as two characters).
    pub maxlength: Option<u64>,
    /// `pattern` of a text input, in the browser's syntax; omitted when the schema's pattern
    /// cannot be translated faithfully.
    pub pattern: Option<String>,
    /// `placeholder`: the schema's first example.
    pub placeholder: Option<String>,
    /// The rules in the user's language, e.g. `1–64 characters`, `From 10 to 500`.
    pub hints: Vec<String>,
}
