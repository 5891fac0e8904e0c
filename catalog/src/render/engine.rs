//! The Tera engine holding one item's templates and outputs, parsed once, with every
//! value a template writes forced through [`quote`](super::quote).
//!
//! After parsing, each resource template's syntax tree is rewritten so that every
//! `{{ … }}` ends in the `yaml` filter (a final `json_encode()` becomes its always-quoted
//! form), whatever the template says: Tera escapes only some expressions (not string
//! concatenations, arrays or objects), so its autoescape is not relied on. Constructs that
//! would write text the rewrite cannot see (`include`, `extends`, `block`, `macro`,
//! `import`, filter sections other than `{% filter text %}`) are refused. The same trees
//! are also kept in a *skeleton* engine whose quoting filters write one inert placeholder
//! instead of the value, so that a rendering can be compared with what the template's own
//! text declares (see `shape`).

use std::{collections::HashMap, error::Error as _};

use makonis_api::catalog::{Output, Template};
use tera::{
    Context, Tera, Value,
    ast::{Expr, FunctionCall, Node},
};

use super::quote;
use crate::error::FieldError;

/// The filter every top-level `{{ … }}` ends in: the value as one YAML node.
const YAML: &str = "yaml";
/// What a final `json_encode()` becomes: the value as one YAML node that is also JSON.
const FLOW: &str = "makonis_flow";
/// The filter of a `{% filter text %}` section: its text as one quoted YAML string.
const TEXT: &str = "text";
/// Filters that may end a `{{ … }}` inside a text section: they escape for the section's
/// own format (HTML, XML, JSON, YAML); the section is quoted as a whole.
const SECTION_ENDINGS: &[&str] = &["escape", "escape_xml", "json_encode", YAML, FLOW];

/// What the skeleton engine writes for every value: an inert plain scalar.
pub const PLACEHOLDER: &str = "makonis-value-placeholder";

/// Tera name of a resource template.
fn template_key(name: &str) -> String {
    format!("template/{name}")
}

/// Tera name of an output.
fn output_key(name: &str) -> String {
    format!("output/{name}")
}

/// An item's templates and outputs, parsed and secured.
#[derive(Debug, Clone)]
pub struct Engine {
    tera: Tera,
    skeleton: Tera,
}

impl Engine {
    /// Parses every template and output. Errors point at `/spec/templates/<i>/template`
    /// or `/spec/outputs/<i>/value`.
    pub fn parse(templates: &[Template], outputs: &[Output]) -> Result<Self, Vec<FieldError>> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![]);
        // Tera always offers `get_env`; templates must not read the controller's environment.
        tera.register_function("get_env", |_: &HashMap<String, Value>| -> tera::Result<Value> {
            Err(tera::Error::msg("get_env is not available in catalog templates"))
        });
        let mut errors = Vec::new();
        for (i, template) in templates.iter().enumerate() {
            let path = format!("/spec/templates/{i}/template");
            let key = template_key(&template.name);
            if let Err(error) = tera.add_raw_template(&key, &template.template) {
                errors.push(FieldError::new(path, format!("`{}` does not parse: {}", template.name, describe(&error))));
                continue;
            }
            let mut problems = Vec::new();
            if let Some(parsed) = tera.templates.get_mut(&key) {
                secure(&mut parsed.ast, false, &mut problems);
            }
            errors.extend(problems.into_iter().map(|p| FieldError::new(&path, format!("`{}`: {p}", template.name))));
        }
        for (i, output) in outputs.iter().enumerate() {
            if let Err(error) = tera.add_raw_template(&output_key(&output.name), &output.value) {
                let message = format!("`{}` does not parse: {}", output.name, describe(&error));
                errors.push(FieldError::new(format!("/spec/outputs/{i}/value"), message));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut skeleton = tera.clone();
        tera.register_filter(YAML, |value: &Value, _: &HashMap<String, Value>| Ok(Value::String(quote::yaml(value))));
        tera.register_filter(FLOW, |value: &Value, _: &HashMap<String, Value>| Ok(Value::String(quote::flow(value))));
        tera.register_filter(TEXT, |value: &Value, _: &HashMap<String, Value>| match value {
            Value::String(body) => Ok(Value::String(quote::text_block(body))),
            _ => Err(tera::Error::msg("`text` quotes the text of a `{% filter text %}` section")),
        });
        for name in [YAML, FLOW, TEXT] {
            skeleton
                .register_filter(name, |_: &Value, _: &HashMap<String, Value>| Ok(Value::String(PLACEHOLDER.into())));
        }
        Ok(Self { tera, skeleton })
    }

    /// Renders the template `name`.
    pub fn render_template(&self, name: &str, context: &Context) -> Result<String, String> {
        self.tera.render(&template_key(name), context).map_err(|e| describe(&e))
    }

    /// Renders the template `name` with every value replaced by [`PLACEHOLDER`]: the
    /// objects its own text declares, for the branches the same context takes.
    pub fn render_skeleton(&self, name: &str, context: &Context) -> Result<String, String> {
        self.skeleton.render(&template_key(name), context).map_err(|e| describe(&e))
    }

    /// Renders the output `name` (plain text, not YAML: nothing is quoted).
    pub fn render_output(&self, name: &str, context: &Context) -> Result<String, String> {
        self.tera.render(&output_key(name), context).map_err(|e| describe(&e))
    }
}

/// Makes every `{{ … }}` of `nodes` end in a quoting filter, and lists the constructs a
/// catalog template may not use. `in_text`: inside a `{% filter text %}` section, where
/// the section is quoted as a whole and each value must name the escaping of the
/// section's own format instead.
fn secure(nodes: &mut [Node], in_text: bool, problems: &mut Vec<String>) {
    for node in nodes {
        match node {
            Node::VariableBlock(_, expr) if in_text => {
                let last = expr.filters.last().map(|f| f.name.as_str());
                if !last.is_some_and(|name| SECTION_ENDINGS.contains(&name)) {
                    problems.push(
                        "inside `{% filter text %}` every `{{ … }}` must end in `| escape` (HTML), \
                         `| json_encode()` (JSON) or `| yaml` (YAML)"
                            .into(),
                    );
                }
            }
            Node::VariableBlock(_, expr) => quote_output(expr),
            Node::FilterSection(_, section, _) if section.filter.name == TEXT => {
                secure(&mut section.body, true, problems);
            }
            Node::FilterSection(_, section, _) => problems.push(format!(
                "`{{% filter {} %}}` is not allowed: its output would not be quoted (use `{{% filter text %}}`)",
                section.filter.name
            )),
            Node::If(branches, _) => {
                for (_, _, body) in &mut branches.conditions {
                    secure(body, in_text, problems);
                }
                if let Some((_, body)) = &mut branches.otherwise {
                    secure(body, in_text, problems);
                }
            }
            Node::Forloop(_, forloop, _) => {
                secure(&mut forloop.body, in_text, problems);
                if let Some(body) = &mut forloop.empty_body {
                    secure(body, in_text, problems);
                }
            }
            Node::Extends(..) | Node::Include(..) | Node::ImportMacro(..) => {
                problems.push("`extends`, `include` and `import` are not allowed: a template stands alone".into());
            }
            Node::MacroDefinition(..) | Node::Block(..) | Node::Super => {
                problems.push("`macro` and `block` are not allowed in catalog templates".into());
            }
            Node::Text(_) | Node::Raw(..) | Node::Comment(..) | Node::Set(..) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

/// Ends `expr` in the `yaml` filter; a final `json_encode()` becomes the always-quoted
/// form, which is what it meant (a JSON value is a YAML value).
fn quote_output(expr: &mut Expr) {
    match expr.filters.last_mut() {
        Some(last) if last.name == YAML || last.name == FLOW => {}
        Some(last) if last.name == "json_encode" => {
            last.name = FLOW.into();
            last.args.clear();
        }
        _ => expr.filters.push(FunctionCall { name: YAML.into(), args: HashMap::new() }),
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

    fn render_one(source: &str, parameters: serde_json::Value) -> String {
        let engine = Engine::parse(&[template("t", source)], &[]).unwrap();
        let mut context = Context::new();
        context.insert("p", &parameters);
        engine.render_template("t", &context).unwrap()
    }

    /// Every kind of expression is quoted, including those Tera's autoescape skips
    /// (concatenations, arrays, objects, literals); each reads back as the value itself.
    #[test]
    fn every_value_is_written_as_one_yaml_node() {
        let evil = "x\n---\nkind: Service";
        let p = serde_json::json!({"s": evil, "list": [evil], "map": {"k": evil}, "n": 3});
        let read = |source: &str| -> serde_json::Value {
            let text = render_one(&format!("v: {source}"), p.clone());
            assert!(!text.contains('\n'), "{text}");
            serde_yaml_ng::from_str::<serde_json::Value>(&text).unwrap()["v"].clone()
        };
        assert_eq!(read("{{ p.s }}"), evil);
        assert_eq!(read("{{ p.s ~ '-x' }}"), format!("{evil}-x"));
        assert_eq!(read("{{ p.list }}"), serde_json::json!([evil]));
        assert_eq!(read("{{ p.map }}"), serde_json::json!({"k": evil}));
        assert_eq!(read("{{ p.s | safe }}"), evil);
        assert_eq!(read("{{ p.n }}m"), "3m");
        assert_eq!(read("{{ p.n + 1 }}"), 4);
        assert_eq!(read("{{ 'web' }}-data"), "web-data");
        assert_eq!(read("{{ 'web' | json_encode() }}"), "web");
        assert_eq!(read("{{ p.list | json_encode() | json_encode() }}"), serde_json::json!([evil]).to_string());
    }

    #[test]
    fn text_sections_are_one_string_and_name_their_escaping() {
        let source = "page: {% filter text %}\n  <p>{{ p.s | escape }}</p>\n  {\"a\": {{ p.s | json_encode() }}}\n{% endfilter %}";
        let rendered = render_one(source, serde_json::json!({"s": "<b>\n---"}));
        let page: serde_json::Value = serde_yaml_ng::from_str(&rendered).unwrap();
        assert_eq!(page["page"], "<p>&lt;b&gt;\n---</p>\n{\"a\": \"<b>\\n---\"}\n");
        let errors = Engine::parse(&[template("t", "{% filter text %}{{ p.s }}{% endfilter %}")], &[]).unwrap_err();
        assert!(errors[0].message.contains("must end in `| escape`"), "{}", errors[0].message);
    }

    #[test]
    fn constructs_that_write_unquoted_text_are_refused() {
        for source in [
            "{% filter upper %}{{ p.s }}{% endfilter %}",
            "{% include \"template/other\" %}",
            "{% macro m() %}x{% endmacro m %}",
            "{% block b %}x{% endblock b %}",
        ] {
            let errors = Engine::parse(&[template("other", "a: 1"), template("t", source)], &[]).unwrap_err();
            assert_eq!(errors[0].path, "/spec/templates/1/template", "{source}");
            assert!(errors[0].message.starts_with("`t`: "), "{source}: {}", errors[0].message);
        }
    }

    #[test]
    fn the_skeleton_writes_a_placeholder_for_every_value() {
        let engine =
            Engine::parse(&[template("t", "{% if p.on %}a: {{ p.s }}\nb: {{ p.s }}-x{% endif %}")], &[]).unwrap();
        let mut context = Context::new();
        context.insert("p", &serde_json::json!({"on": true, "s": "a: b"}));
        assert_eq!(engine.render_skeleton("t", &context).unwrap(), format!("a: {PLACEHOLDER}\nb: {PLACEHOLDER}-x"));
    }
}
