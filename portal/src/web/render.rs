//! Pages: tera templates embedded in the binary, rendered with what every page shows
//! (language, the signed-in user, navigation, the CSRF token).

use std::sync::Arc;

use axum::{
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Serialize;
use tera::{Context as TeraContext, Tera};

use super::{error::WebError, viewer::Viewer};
use crate::i18n::{self, Messages};
use crate::identity::IdentitySource;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "macros/form.html",
    "macros/security.html",
    "error.html",
    "login.html",
    "password.html",
    "catalog.html",
    "item.html",
    "order.html",
    "review.html",
    "requests.html",
    "request_table.html",
    "phase_labels.html",
    "request.html",
    "approvals.html",
    "services.html",
    "service.html",
    "admin_agencies.html",
    "admin_items.html",
    "audit.html",
    "sla_report.html",
    "security.html",
    "security_sources.html",
    "security_report.html",
    "security_alerts.html",
    "security_alert.html",
    "security_incidents.html",
    "tokens.html",
    "agency_tokens.html",
    "people_agencies.html",
    "people.html",
    "person.html",
);

/// The compiled templates and the messages they use.
pub struct Templates {
    tera: Tera,
    messages: Arc<Messages>,
}

/// What the navigation shows for the viewer.
#[derive(Debug, Serialize)]
struct Nav {
    signed_in: bool,
    name: String,
    approves: bool,
    platform: bool,
    audit: bool,
    sla_report: bool,
    security: bool,
    security_incidents: bool,
    /// The viewer signs in with the directory, so may change their password here.
    changes_password: bool,
    /// The viewer administers an agency's people.
    people: bool,
}

impl Templates {
    /// Compiles the embedded templates; an error here is a bug caught by the tests.
    pub fn embedded() -> Result<Self, tera::Error> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        tera.autoescape_on(vec![".html"]);
        let messages = Arc::new(Messages::embedded());
        i18n::register(&mut tera, Arc::clone(&messages));
        tera.register_filter("iso_time", iso_time);
        Ok(Self { tera, messages })
    }

    /// The messages the templates use.
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// Renders `template` for `viewer` with `context`, as an HTML response with `status`.
    pub fn page(&self, viewer: &Viewer, status: StatusCode, template: &str, mut context: TeraContext) -> Response {
        let access = viewer.actor.as_ref().map(|a| &a.access);
        let nav = Nav {
            signed_in: viewer.actor.is_some(),
            name: viewer.actor.as_ref().map(|a| a.identity.display_name.clone()).unwrap_or_default(),
            approves: access.is_some_and(|a| a.approves_anything()),
            platform: access.is_some_and(|a| a.is_platform()),
            audit: access.is_some_and(|a| a.reads_any_audit()),
            sla_report: access.is_some_and(super::pages::reports::reads_reports),
            security: access.is_some_and(|a| a.reads_security_logs()),
            security_incidents: access.is_some_and(|a| a.sees_security_incidents()),
            changes_password: viewer.actor.as_ref().is_some_and(|a| a.identity.source == IdentitySource::Directory),
            people: access.is_some_and(|a| a.administers_any_agency()),
        };
        context.insert("lang", viewer.lang.code());
        context.insert("nav", &nav);
        context.insert("csrf", viewer.csrf.as_deref().unwrap_or(""));
        context.insert("here", &viewer.path);
        context.insert("assets", &super::assets::VERSION.as_str());
        match self.tera.render(template, &context) {
            Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
            Err(error) => {
                let detail = format!("rendering {template}: {}", error_chain(&error));
                WebError::Internal(detail).into_response_for(viewer.lang, "/")
            }
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The tera filter `iso_time`: Unix milliseconds as an ISO 8601 time with the Riga
/// offset, for `<time datetime>`.
fn iso_time(value: &tera::Value, _: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let ms =
        value.as_i64().ok_or_else(|| tera::Error::msg(format!("iso_time: {value} is not a number of milliseconds")))?;
    Ok(tera::Value::from(i18n::format::riga_offset_iso(ms)))
}
