//! A catalog item checked and prepared once: its schema and templates parsed, ready to
//! judge orders and render instances.

use std::collections::{BTreeMap, BTreeSet};

use makonis_api::{
    catalog::{CatalogItemSpec, OutputValue, Plan},
    labels,
};
use serde_json::Value;

use crate::{
    error::FieldError,
    measure::{Measured, measurement},
    names::{credentials_secret_name, directory_account_name},
    policy::{self, Breach, Scope},
    render::{
        AgencyVars, Engine, InstanceVars, ItemVars, PlanVars, PlatformVars, RenderContext, RenderedObject,
        check_objects, matches_skeleton, parse_documents,
    },
    schema::{Format, Kind, ParameterSchema},
};

/// The field manager and `app.kubernetes.io/managed-by` value of the catalog controller.
pub const MANAGER: &str = "makonis-catalog";

/// A catalog item whose schema and templates parse.
#[derive(Debug, Clone)]
pub struct CompiledItem {
    name: String,
    spec: CatalogItemSpec,
    schema: ParameterSchema,
    engine: Engine,
}

/// An order that passed [`CompiledItem::check_order`].
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// The chosen plan.
    pub plan: Plan,
    /// The parameters with the schema's defaults filled in.
    pub parameters: Value,
}

/// Everything rendered for one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The resources, in template order.
    pub objects: Vec<RenderedObject>,
    /// The outputs, in the item's order.
    pub outputs: Vec<OutputValue>,
}

/// Who and where an instance is: what [`CompiledItem::render`] needs besides the order.
#[derive(Debug, Clone)]
pub struct InstanceRef<'a> {
    /// The instance's name.
    pub name: &'a str,
    /// Its namespace (the agency's).
    pub namespace: &'a str,
    /// The agency's code and names.
    pub agency: AgencyVars,
    /// The DNS domains the agency's host names must lie in
    /// (`makonis_api::tenancy::Agency::hostname_domains`).
    pub host_domains: &'a [String],
}

/// Why an instance's resources cannot be rendered; each says which template and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A template or output does not render, or what it rendered is not valid objects.
    #[error("{0}")]
    Template(String),
    /// A template rendered objects, keys or kinds its own text does not declare.
    #[error("{0}")]
    Undeclared(String),
    /// A rendered object does what no instance may (see `policy`).
    #[error("{0}")]
    Forbidden(String),
    /// A rendered object names a host outside the agency's domains.
    #[error("{0}")]
    ForeignHost(String),
}

impl RenderError {
    /// A bounded name of the kind of failure, for conditions, refusals and metrics:
    /// `RenderFailed`, `UndeclaredObject`, `ForbiddenResource` or `ForeignHostname`.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Template(_) => "RenderFailed",
            Self::Undeclared(_) => "UndeclaredObject",
            Self::Forbidden(_) => "ForbiddenResource",
            Self::ForeignHost(_) => "ForeignHostname",
        }
    }
}

impl CompiledItem {
    /// Checks an item and prepares it. Errors carry JSON pointers into the CatalogItem
    /// (`/spec/parameters/properties/x/minimum`, `/spec/templates/2/template`); every
    /// plan is also rendered once with the schema's defaults, so a template that refers to
    /// an unknown variable is refused here rather than when someone orders.
    pub fn compile(name: &str, spec: &CatalogItemSpec) -> Result<Self, Vec<FieldError>> {
        let mut errors = duplicate_names(spec);
        let schema = ParameterSchema::parse(&spec.parameters)
            .map_err(|e| errors.extend(e.into_iter().map(|e| e.under("/spec/parameters"))))
            .ok();
        let engine = Engine::parse(&spec.templates, &spec.outputs).map_err(|e| errors.extend(e)).ok();
        let (Some(schema), Some(engine)) = (schema, engine) else {
            return Err(errors);
        };
        let item = Self { name: name.to_string(), spec: spec.clone(), schema, engine };
        errors.extend(item.trial_render());
        if errors.is_empty() { Ok(item) } else { Err(errors) }
    }

    /// The item's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The item as published.
    pub fn spec(&self) -> &CatalogItemSpec {
        &self.spec
    }

    /// The parsed parameter schema (the portal builds its order form from it).
    pub fn schema(&self) -> &ParameterSchema {
        &self.schema
    }

    /// The plan called `name`.
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.spec.plans.iter().find(|p| p.name == name)
    }

    /// Judges an order: the plan must exist, the parameters fit the schema, and every
    /// `format: hostname` parameter is one of the agency's host names (under one of
    /// `host_domains`). Errors point into the ServiceInstance (`/spec/plan`,
    /// `/spec/parameters/replicas`).
    pub fn check_order(
        &self,
        plan: &str,
        parameters: &Value,
        host_domains: &[String],
    ) -> Result<Order, Vec<FieldError>> {
        let mut errors = Vec::new();
        let chosen = self.plan(plan);
        if chosen.is_none() {
            let plans = self.spec.plans.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ");
            errors.push(FieldError::new(
                "/spec/plan",
                format!("catalog item `{}` has no plan `{plan}` (plans: {plans})", self.name),
            ));
        }
        let parameters = self
            .schema
            .validate(parameters)
            .map_err(|e| errors.extend(e.into_iter().map(|e| e.under("/spec/parameters"))))
            .ok();
        if let Some(parameters) = &parameters {
            let hostname = |rules: &crate::schema::StringRules| rules.format == Some(Format::Hostname);
            for (pointer, host) in self.schema.strings_where(parameters, &hostname) {
                if !makonis_api::tenancy::within_domains(host, host_domains) {
                    let message = policy::foreign_host_message(host, host_domains);
                    errors.push(FieldError::new(format!("/spec/parameters{pointer}"), message));
                }
            }
        }
        match (chosen, parameters) {
            (Some(plan), Some(parameters)) if errors.is_empty() => Ok(Order { plan: plan.clone(), parameters }),
            _ => Err(errors),
        }
    }

    /// Renders the resources and outputs of an instance for an order. Each template's
    /// objects must be exactly those its own text declares, and every object must keep the
    /// catalog's rules (`policy`); restricted pod settings a template leaves out are
    /// filled in. The error names the template or output that failed and why.
    pub fn render(
        &self,
        instance: &InstanceRef<'_>,
        order: &Order,
        platform: &PlatformVars,
    ) -> Result<Rendered, RenderError> {
        let context = self.context(instance, order, platform);
        let tera_context = tera::Context::from_serialize(&context).map_err(|e| RenderError::Template(e.to_string()))?;
        let mut objects: Vec<RenderedObject> = Vec::new();
        for template in &self.spec.templates {
            let failed =
                |e: String| RenderError::Template(format!("template `{}` failed to render: {e}", template.name));
            let text = self.engine.render_template(&template.name, &tera_context).map_err(failed)?;
            let skeleton = self.engine.render_skeleton(&template.name, &tera_context).map_err(failed)?;
            let invalid = |e: String| RenderError::Template(format!("template `{}`: {e}", template.name));
            let documents = parse_documents(&text).map_err(invalid)?;
            let declared = parse_documents(&skeleton).map_err(invalid)?;
            matches_skeleton(&documents, &declared)
                .map_err(|e| RenderError::Undeclared(format!("template `{}`: {e}", template.name)))?;
            let rendered =
                check_objects(&template.name, documents, instance.name, instance.namespace, &context.instance.labels)
                    .map_err(invalid)?;
            for object in rendered {
                if let Some(first) = objects.iter().find(|o| o.kind == object.kind && o.name == object.name) {
                    return Err(RenderError::Template(format!(
                        "templates `{}` and `{}` both render {} `{}`",
                        first.template, object.template, object.kind.kind, object.name
                    )));
                }
                objects.push(object);
            }
        }
        let instances = |rules: &crate::schema::StringRules| rules.instance;
        let referenced: Vec<String> = self
            .schema
            .strings_where(&order.parameters, &instances)
            .into_iter()
            .map(|(_, name)| name.to_string())
            .collect();
        let scope =
            Scope::new(instance.name, instance.namespace, platform, instance.host_domains, &referenced, &objects);
        let problems = policy::check(&mut objects, &scope);
        if let Some(first) = problems.first() {
            let message = problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; ");
            return Err(match first.breach {
                Breach::Forbidden => RenderError::Forbidden(message),
                Breach::ForeignHost => RenderError::ForeignHost(message),
            });
        }
        let outputs = self
            .spec
            .outputs
            .iter()
            .map(|output| {
                let value = self
                    .engine
                    .render_output(&output.name, &tera_context)
                    .map_err(|e| RenderError::Template(format!("output `{}` failed to render: {e}", output.name)))?;
                Ok(OutputValue { name: output.name.clone(), title: output.title.clone(), value: value.trim().into() })
            })
            .collect::<Result<Vec<_>, RenderError>>()?;
        if let Some(probe) = &self.spec.probe {
            let measured = Measured {
                instance: instance.name,
                namespace: instance.namespace,
                labels: &context.instance.labels,
                service: format!("{} ({})", self.spec.title.lv, order.plan.name),
            };
            for object in measurement(&measured, probe, &order.plan, &outputs).map_err(RenderError::Template)? {
                if let Some(first) = objects.iter().find(|o| o.kind == object.kind && o.name == object.name) {
                    return Err(RenderError::Template(format!(
                        "template `{}` renders {} `{}`, which the platform creates to measure the SLA",
                        first.template, object.kind.kind, object.name
                    )));
                }
                objects.push(object);
            }
        }
        Ok(Rendered { objects, outputs })
    }

    /// Whether the item's templates use the per-instance credentials Secret
    /// (`instance.credentialsSecret`); only then does the controller create one.
    pub fn uses_credentials(&self) -> bool {
        self.spec.templates.iter().any(|t| t.template.contains("instance.credentialsSecret"))
    }

    /// Whether resources of the template `name` are kept when an instance is retired.
    pub fn retains(&self, template: &str) -> bool {
        self.spec.retain_on_retire.iter().any(|t| t == template)
    }

    fn context(&self, instance: &InstanceRef<'_>, order: &Order, platform: &PlatformVars) -> RenderContext {
        RenderContext {
            instance: InstanceVars {
                name: instance.name.to_string(),
                namespace: instance.namespace.to_string(),
                host: format!("{}.{}.{}", instance.name, instance.agency.code, platform.apps_domain),
                credentials_secret: credentials_secret_name(instance.name),
                directory_account: directory_account_name(instance.namespace, instance.name),
                labels: instance_labels(&instance.agency.code, instance.name, &self.name),
            },
            agency: instance.agency.clone(),
            item: ItemVars { name: self.name.clone(), version: self.spec.version.clone() },
            plan: PlanVars::from(&order.plan),
            parameters: order.parameters.clone(),
            platform: platform.clone(),
        }
    }

    /// Renders every plan once for a sample instance, so that broken templates are found
    /// at publish time. The sample parameters are the schema's defaults plus the first of
    /// the `examples` of each required parameter without a default; when those are not
    /// valid parameters, there is no trial.
    fn trial_render(&self) -> Vec<FieldError> {
        let Ok(parameters) = self.schema.validate(&self.sample_parameters()) else {
            return Vec::new();
        };
        let platform = PlatformVars::default();
        let host_domains = [format!("sample.{}", platform.apps_domain)];
        let instance = InstanceRef {
            name: "sample",
            namespace: "agency-sample",
            agency: AgencyVars {
                code: "sample".into(),
                display_name: makonis_api::catalog::LocalizedTitle { lv: "Paraugs".into(), en: "Sample".into() },
            },
            host_domains: &host_domains,
        };
        let mut errors = Vec::new();
        for (index, plan) in self.spec.plans.iter().enumerate() {
            let order = Order { plan: plan.clone(), parameters: parameters.clone() };
            if let Err(error) = self.render(&instance, &order, &platform) {
                let message = error.to_string();
                let path = self.failing_path(&message).unwrap_or_else(|| format!("/spec/plans/{index}"));
                errors.push(FieldError::new(path, format!("plan `{}` does not render: {message}", plan.name)));
            }
        }
        errors
    }

    /// The first example of every required top-level parameter that has no default.
    fn sample_parameters(&self) -> Value {
        let mut sample = serde_json::Map::new();
        if let Kind::Object(rules) = &self.schema.root().kind {
            for name in &rules.required {
                let node = rules.properties.get(name);
                if let Some(example) = node.filter(|n| n.default.is_none()).and_then(|n| n.examples.first()) {
                    sample.insert(name.clone(), example.clone());
                }
            }
        }
        Value::Object(sample)
    }

    /// The path of the template or output a render error names.
    fn failing_path(&self, message: &str) -> Option<String> {
        let templates = self
            .spec
            .templates
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("template `{}`", t.name), format!("/spec/templates/{i}/template")));
        let outputs = self
            .spec
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("output `{}`", o.name), format!("/spec/outputs/{i}/value")));
        templates.chain(outputs).find(|(needle, _)| message.starts_with(needle.as_str())).map(|(_, path)| path)
    }
}

/// The labels on every resource of an instance.
pub fn instance_labels(agency: &str, instance: &str, item: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED_BY.to_string(), MANAGER.to_string()),
        (labels::AGENCY.to_string(), agency.to_string()),
        (labels::INSTANCE.to_string(), instance.to_string()),
        (labels::CATALOG_ITEM.to_string(), item.to_string()),
    ])
}

/// Duplicate plan, template and output names (the API server refuses them too, through
/// list-map keys; the webhook may see an item first).
fn duplicate_names(spec: &CatalogItemSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let lists: [(&str, Vec<&str>); 3] = [
        ("plans", spec.plans.iter().map(|p| p.name.as_str()).collect()),
        ("templates", spec.templates.iter().map(|t| t.name.as_str()).collect()),
        ("outputs", spec.outputs.iter().map(|o| o.name.as_str()).collect()),
    ];
    for (list, names) in lists {
        let mut seen = BTreeSet::new();
        for (index, name) in names.into_iter().enumerate() {
            if !seen.insert(name) {
                errors.push(FieldError::new(format!("/spec/{list}/{index}/name"), format!("duplicate name `{name}`")));
            }
        }
    }
    for (index, name) in spec.retain_on_retire.iter().enumerate() {
        if !spec.templates.iter().any(|t| &t.name == name) {
            errors.push(FieldError::new(
                format!("/spec/retainOnRetire/{index}"),
                format!("`{name}` is not the name of a template"),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(parameters: &str, template: &str) -> CatalogItemSpec {
        let yaml = format!(
            r#"
title: {{lv: T, en: T}}
description: {{lv: T, en: T}}
category: WebHosting
owner: {{team: T, email: t@lm.gov.lv}}
icon: globe
version: 1.0.0
parameters: {parameters}
plans:
  - name: small
    title: {{lv: M, en: S}}
    resources: {{cpu: "1", memory: 1Gi, storage: "0", replicas: 1}}
    monthlyPriceEur: "1.00"
    sla:
      availabilityPercent: 99
      supportHours: 24x7
      incidentTargets:
        p1: {{response: 1h, restore: 4h}}
        p2: {{response: 1h, restore: 4h}}
        p3: {{response: 1h, restore: 4h}}
        p4: {{response: 1h, restore: 4h}}
      rpo: 1d
      rto: 1d
templates:
  - name: config
    template: {template:?}
"#
        );
        serde_yaml_ng::from_str(&yaml).unwrap()
    }

    const REQUIRED_WITH_EXAMPLE: &str = r#"{type: object, required: [email], properties: {email: {type: string, title: E, x-title-lv: E, format: email, examples: [a@b.lv]}}}"#;

    #[test]
    fn trial_render_uses_examples_of_required_parameters() {
        let broken = spec(REQUIRED_WITH_EXAMPLE, "{{ parameters.emial }}");
        let errors = CompiledItem::compile("x", &broken).unwrap_err();
        assert_eq!(errors[0].path, "/spec/templates/0/template");
        assert!(errors[0].message.contains("plan `small` does not render"), "{}", errors[0].message);
        let fine = spec(
            REQUIRED_WITH_EXAMPLE,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ instance.name }}'}\ndata: {e: {{ parameters.email | json_encode() }}}",
        );
        assert!(CompiledItem::compile("x", &fine).is_ok());
    }

    #[test]
    fn credentials_are_wanted_only_when_a_template_refers_to_them() {
        let without = CompiledItem::compile("x", &spec(r#"{type: object}"#, "")).unwrap();
        assert!(!without.uses_credentials());
        let with = spec(
            r#"{type: object}"#,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ instance.name }}'}\ndata: {s: '{{ instance.credentialsSecret }}'}",
        );
        assert!(CompiledItem::compile("x", &with).unwrap().uses_credentials());
    }

    #[test]
    fn orders_are_judged_with_pointers_into_the_instance() {
        let item = CompiledItem::compile("x", &spec(REQUIRED_WITH_EXAMPLE, "")).unwrap();
        let errors = item.check_order("xl", &serde_json::json!({"email": "nope"}), &[]).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "/spec/plan: catalog item `x` has no plan `xl` (plans: small)",
                "/spec/parameters/email: must be a valid e-mail address"
            ]
        );
        let order = item.check_order("small", &serde_json::json!({"email": "a@b.lv"}), &[]).unwrap();
        assert_eq!(order.plan.name, "small");
    }

    #[test]
    fn duplicate_names_and_unknown_retained_templates_are_refused() {
        let mut doubled = spec(r#"{type: object}"#, "");
        doubled.templates.push(doubled.templates[0].clone());
        doubled.retain_on_retire = vec!["data".into()];
        let errors = CompiledItem::compile("x", &doubled).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "/spec/templates/1/name: duplicate name `config`",
                "/spec/retainOnRetire/0: `data` is not the name of a template"
            ]
        );
    }
}
