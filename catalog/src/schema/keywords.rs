//! The keywords of the subset: which are allowed on every node, which belong to which type,
//! and the limits that keep a schema cheap to check.

/// The only `$schema` accepted (at the root).
pub(super) const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Most levels of nesting; the root is level 1.
pub(super) const MAX_LEVELS: usize = 8;

/// Most schema objects (the root, every property and every `items`) in one schema.
pub(super) const MAX_NODES: usize = 200;

/// Keywords allowed on a node of any type.
pub(super) const COMMON: [&str; 10] = [
    "type",
    "title",
    "x-title-lv",
    "description",
    "x-description-lv",
    "examples",
    "$comment",
    "default",
    "enum",
    "const",
];

/// A type name of the subset, before its constraints are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TypeName {
    Object,
    String,
    Integer,
    Number,
    Boolean,
    Array,
}

impl TypeName {
    /// Every type, in the order the documentation lists them.
    pub(super) const ALL: [TypeName; 6] =
        [Self::Object, Self::String, Self::Integer, Self::Number, Self::Boolean, Self::Array];

    /// The type named `name` in a schema, if supported.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|type_name| type_name.name() == name)
    }

    /// The type's name as written in a schema.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Object => "object",
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Array => "array",
        }
    }

    /// The keywords specific to this type.
    pub(super) fn keywords(self) -> &'static [&'static str] {
        const NUMERIC: &[&str] = &["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
        match self {
            Self::Object => &["properties", "required", "additionalProperties"],
            Self::String => &["minLength", "maxLength", "pattern", "format", "x-multiline", "x-instance"],
            Self::Integer | Self::Number => NUMERIC,
            Self::Boolean => &[],
            Self::Array => &["items", "minItems", "maxItems", "uniqueItems"],
        }
    }
}

/// All type names, for messages: `object, string, integer, number, boolean, array`.
pub(super) fn type_names() -> String {
    TypeName::ALL.map(TypeName::name).join(", ")
}

/// The message for a keyword that is a part of the subset but not for `type_name`, or
/// `None` if `keyword` is allowed there.
pub(super) fn misplaced(keyword: &str, type_name: Option<TypeName>) -> Option<String> {
    if COMMON.contains(&keyword) {
        return None;
    }
    let owners: Vec<&str> =
        TypeName::ALL.into_iter().filter(|owner| owner.keywords().contains(&keyword)).map(TypeName::name).collect();
    match type_name {
        _ if owners.is_empty() => Some(format!(
            "keyword `{keyword}` is not supported by the catalog's schema subset (supported: {})",
            supported(type_name)
        )),
        Some(type_name) if !type_name.keywords().contains(&keyword) => Some(format!(
            "keyword `{keyword}` does not apply to type `{}` (it applies to: {})",
            type_name.name(),
            owners.join(", ")
        )),
        _ => None,
    }
}

/// The keywords supported on a node of `type_name` (of any type if unknown).
fn supported(type_name: Option<TypeName>) -> String {
    let mut keywords = COMMON.to_vec();
    match type_name {
        Some(type_name) => keywords.extend(type_name.keywords()),
        None => {
            for keyword in TypeName::ALL.into_iter().flat_map(TypeName::keywords) {
                if !keywords.contains(keyword) {
                    keywords.push(keyword);
                }
            }
        }
    }
    keywords.join(", ")
}
