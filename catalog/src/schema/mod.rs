//! The parameter schema of a catalog item: a documented subset of JSON Schema 2020-12.
//!
//! A `CatalogItem`'s `spec.parameters` is a JSON Schema of the parameters an agency fills in
//! when it orders the service. [`ParameterSchema::parse`] reads it (listing every problem, each
//! with a JSON pointer into the schema) and [`ParameterSchema::validate`] checks an order's
//! parameters against it (filling in defaults, listing every violation, each with a JSON
//! pointer into the parameters). The controller, the admission webhook and the portal all use
//! it; the portal builds its order form by walking [`ParameterSchema::root`].
//!
//! # The supported subset
//!
//! A schema outside the subset is refused when the item is checked, never silently half
//! understood.
//!
//! **Nodes.** Every schema object ("node") is a JSON object with a `type`, exactly one of
//! `object`, `string`, `integer`, `number`, `boolean`, `array`, given as a single string.
//! Type lists such as `["string", "null"]` are refused: `null` is never a valid value. The root
//! must be `type: object`. Schemas nest at most 8 levels deep (the root is level 1) and have at
//! most 200 nodes (the root, each property and each `items`); both limits keep the admission
//! webhook cheap.
//!
//! **Keywords on any node.**
//! - `title` and `description` (English), `x-title-lv` and `x-description-lv` (Latvian): strings;
//!   titles must not be empty. Every property must have both `title` and `x-title-lv`, the
//!   labels of the order form; the root and `items` need not.
//! - `examples` (an array, not validated) and `$comment` (a string) are accepted.
//! - `default`: used when the property is absent (so it has no effect on the root or on
//!   `items`); must itself be valid against the node.
//! - `enum`: a non-empty array of distinct values, each valid against the node.
//! - `const`: the only value allowed; must be valid against the node.
//! - `$schema`: only at the root, and only `https://json-schema.org/draft/2020-12/schema`.
//!
//! **string**: `minLength`, `maxLength` (counted in Unicode scalar values, as JSON Schema
//! says), `pattern`, `format` and `x-multiline`.
//! - Every string refuses control characters (C0 and C1, so also NUL, ESC and NEL), the
//!   Unicode line and paragraph separators, the byte-order mark, non-characters and the
//!   invisible bidirectional-text controls, naming the character. Line feed, carriage
//!   return and tab are allowed only where the schema says `x-multiline: true` (our
//!   extension, a boolean; the portal shows such a field as a text area). Values are
//!   always written into templates as data (see `render`), so this is not what keeps YAML
//!   out; it keeps text that reads differently from what it is out of the platform.
//! - `x-instance: true` (our extension) says the value names another instance of the same
//!   agency (a DNS label), e.g. the database an application connects to: that instance's
//!   credentials Secret then counts as this instance's own for its workloads.
//! - A `format: hostname` value must also be one of the ordering agency's host names; the
//!   catalog checks that with the order (`CompiledItem::check_order`).
//! - `pattern` uses the syntax of the Rust `regex` crate, which has no look-around and no
//!   backreferences: such patterns are refused with the crate's explanation. As in JSON Schema
//!   the pattern is not anchored (`[a-z]+` accepts `"A1b"`); write `^…$` to match the whole
//!   value. A pattern whose compiled form would exceed 1 MiB is refused (a guard like the size
//!   limits above).
//! - `format` is one of: `email` (`local@domain`: an ASCII dot-atom local part of at most 64
//!   characters and a `hostname` with at least one dot; no quoted local parts or IP
//!   literals), `hostname` (RFC 1123: dot-separated labels of 1–63 ASCII letters, digits and
//!   `-`, not starting or ending with `-`, at most 253 characters, no trailing dot), `uri` (an
//!   absolute `http` or `https` URL: a host name or IPv4 address, an optional port, then
//!   URI characters with valid `%` escapes; no user info, no IPv6 literals), `date`
//!   (`YYYY-MM-DD`, a date that exists, leap years included), `ipv4` (dotted quad, each part
//!   0–255 without leading zeros), `dns-label` (our extension: a Kubernetes DNS label, 1–63
//!   lower-case letters, digits and `-`, starting and ending with a letter or digit). Unlike
//!   JSON Schema, which ignores unknown formats, an unknown `format` is refused: a typo would
//!   otherwise silently switch the validation off.
//!
//! **integer** and **number**: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`
//! (numbers, with 2020-12 semantics) and `multipleOf` (greater than 0, computed in decimal so
//! that `0.3` is a multiple of `0.1`). The bounds must leave room for a value (`minimum` at
//! most `maximum`, an exclusive bound strictly beyond the other). As in JSON Schema 2020-12, an
//! integer is any number with a zero fractional part: `3.0` is accepted and passed on as `3`.
//!
//! **boolean**: no further keywords.
//!
//! **object**: `properties`, `required` and `additionalProperties`.
//! - Property names match `^[A-Za-z][A-Za-z0-9_]{0,62}$`: they become template variables.
//! - Each name in `required` must be a declared property, listed once. A required property
//!   that has a `default` is satisfied by it.
//! - Parameters not declared in `properties` are always refused. `additionalProperties` may be
//!   given only as `false`, which is the default here (unlike JSON Schema).
//! - `minProperties` and `maxProperties` are not supported.
//!
//! **array**: `items` (one schema, required), `minItems`, `maxItems` and `uniqueItems`
//! (items compared as JSON Schema does, so `1` equals `1.0`).
//!
//! **Anything else is refused**, with the path to the keyword: keywords outside the subset
//! (`$ref`, `$defs`, `oneOf`, `anyOf`, `allOf`, `not`, `if`, `patternProperties`, `readOnly`,
//! …), keywords of another type (`pattern` on an integer) and keywords with a value of the
//! wrong kind (`minimum: "3"`, `required: "a"`).
//!
//! # Validation
//!
//! The parameters must be an object. Every violation is reported, in a stable order
//! (properties by name, an array's own rules before its items), with a JSON pointer such as
//! `/contacts/0/email` and a short English message that states the rule, e.g. `must be at
//! least 1`, `must be one of: small, medium, large`, `is required`, `is not a known parameter
//! (known: a, b)`. Bounds are quoted as written in the schema.
//!
//! An absent property with a `default` takes it, and defaults apply inside it in turn: nested
//! objects, present or defaulted, get their own properties' defaults. An absent optional
//! property without a default stays absent, and so does everything inside it.

mod characters;
mod format;
mod keywords;
mod node;
mod parse;
mod rules;
#[cfg(test)]
mod tests;
mod validate;
mod values;
mod walk;

use serde_json::Value;

pub use self::characters::is_bidi_control;
pub use self::format::Format;
pub use self::node::{ArrayRules, Kind, NumberRules, ObjectRules, Pattern, SchemaNode, StringRules};
use crate::error::FieldError;

/// A parsed, valid parameter schema: its root is an object node.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterSchema {
    root: SchemaNode,
}

impl ParameterSchema {
    /// Parses a schema; `Err` lists every problem, with JSON pointers relative to the schema
    /// root (`""` is the root, `/properties/replicas/minimum` a keyword of a property).
    pub fn parse(schema: &Value) -> Result<ParameterSchema, Vec<FieldError>> {
        parse::parse(schema).map(|root| ParameterSchema { root })
    }

    /// Validates `parameters` (must be an object) and returns them with defaults filled in;
    /// `Err` lists every violation, with JSON pointers relative to the parameters root
    /// (`/replicas`, `/contacts/0/email`).
    pub fn validate(&self, parameters: &Value) -> Result<Value, Vec<FieldError>> {
        let mut errors = Vec::new();
        let checked = validate::check(&self.root, parameters, "", &mut errors);
        if errors.is_empty() { Ok(checked) } else { Err(errors) }
    }

    /// The strings of validated `parameters` whose schema node satisfies `wanted`, as
    /// `(JSON pointer, text)` relative to the parameters root.
    pub fn strings_where<'v>(
        &self,
        parameters: &'v Value,
        wanted: &dyn Fn(&StringRules) -> bool,
    ) -> Vec<(String, &'v str)> {
        let mut found = Vec::new();
        walk::strings_where(&self.root, parameters, "", wanted, &mut found);
        found
    }

    /// The root node (an object), for generating the order form.
    pub fn root(&self) -> &SchemaNode {
        &self.root
    }
}
