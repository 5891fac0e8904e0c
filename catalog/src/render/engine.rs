//! The Tera engine holding one item's templates and outputs, parsed once.

use std::{collections::HashMap, error::Error as _};

use makonis_api::catalog::{Output, Template};
use tera::{Context, Tera};

use crate::error::FieldError;

/// Tera name of a resource template.
fn template_key(name: &str) -> String {
    format!("template/{name}")
}

/// Tera name of an output.
fn output_key(name: &str) -> String {
    format!("output/{name}")
}

/// An item's templates and outputs, parsed.
#[derive(Debug, Clone)]
pub struct Engine {
    tera: Tera,
}

impl Engine {
    /// Parses every template and output. Errors point at `/spec/templates/<i>/template`
    /// or `/spec/outputs/<i>/value`.
    pub fn parse(templates: &[Template], outputs: &[Output]) -> Result<Self, Vec<FieldError>> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![]);
        // Tera always offers `get_env`; templates must not read the controller's environment.
        tera.register_function("get_env", |_: &HashMap<String, tera::Value>| -> tera::Result<tera::Value> {
            Err(tera::Error::msg("get_env is not available in catalog templates"))
        });
        let mut errors = Vec::new();
        let sources = templates
            .iter()
            .enumerate()
            .map(|(i, t)| (template_key(&t.name), &t.template, format!("/spec/templates/{i}/template"), &t.name))
            .chain(
                outputs
                    .iter()
                    .enumerate()
                    .map(|(i, o)| (output_key(&o.name), &o.value, format!("/spec/outputs/{i}/value"), &o.name)),
            );
        for (key, source, path, name) in sources {
            if let Err(error) = tera.add_raw_template(&key, source) {
                errors.push(FieldError::new(path, format!("`{name}` does not parse: {}", describe(&error))));
            }
        }
        if errors.is_empty() { Ok(Self { tera }) } else { Err(errors) }
    }

    /// Renders the template `name`.
    pub fn render_template(&self, name: &str, context: &Context) -> Result<String, String> {
        self.tera.render(&template_key(name), context).map_err(|e| describe(&e))
    }

    /// Renders the output `name`.
    pub fn render_output(&self, name: &str, context: &Context) -> Result<String, String> {
        self.tera.render(&output_key(name), context).map_err(|e| describe(&e))
    }
}

/// A Tera error with its causes, on one line: Tera's own message says only "Failed to
/// render 'x'"; the reason (an unknown variable, a parse error with line and column) is in
/// the chain.
fn describe(error: &tera::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(name: &str, source: &str) -> Template {
        Template { name: name.into(), template: source.into() }
    }

    #[test]
    fn parse_errors_name_the_template_and_its_path() {
        let errors = Engine::parse(&[template("ok", "a: 1"), template("broken", "{% if x %}open")], &[]).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "/spec/templates/1/template");
        assert!(errors[0].message.starts_with("`broken` does not parse"), "{}", errors[0].message);
    }

    #[test]
    fn render_errors_carry_the_cause() {
        let engine = Engine::parse(&[template("t", "name: {{ instance.nmae }}")], &[]).unwrap();
        let mut context = Context::new();
        context.insert("instance", &serde_json::json!({"name": "web"}));
        let message = engine.render_template("t", &context).unwrap_err();
        assert!(message.contains("instance.nmae"), "{message}");
    }

    #[test]
    fn templates_cannot_read_the_environment() {
        let engine = Engine::parse(&[template("t", "{{ get_env(name=\"HOME\") }}")], &[]).unwrap();
        let message = engine.render_template("t", &Context::new()).unwrap_err();
        assert!(message.contains("get_env is not available"), "{message}");
    }

    #[test]
    fn output_is_not_html_escaped() {
        let output =
            Output { name: "url".into(), title: Default::default(), value: "https://{{ host }}/?a=1&b=2".into() };
        let engine = Engine::parse(&[], &[output]).unwrap();
        let mut context = Context::new();
        context.insert("host", "x.lv");
        assert_eq!(engine.render_output("url", &context).unwrap(), "https://x.lv/?a=1&b=2");
    }
}
