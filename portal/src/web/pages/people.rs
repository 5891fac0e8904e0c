//! An agency's people and groups, for its administrators: the list with each person's
//! roles, groups and whether the directory matches; adding a person (the first password
//! shown once); changing or disabling one; adding a group.

use std::collections::BTreeMap;

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use tera::Context as TeraContext;

use super::{refusal, see_other};
use crate::{
    actions::{
        ActionError,
        people::{self, Added, PeopleError},
    },
    people::{FieldCode, GroupForm, PersonForm, form::ROLES},
    web::{AppState, error::WebError, viewer::Viewer},
};

/// The people page, with what just happened above it.
struct Shown<'a> {
    added: Option<Added>,
    group: Option<(&'a GroupForm, BTreeMap<&'static str, FieldCode>)>,
    problem: Option<String>,
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    agency: &str,
    status: StatusCode,
    shown: Shown<'_>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let listed = people::list(&state.context, actor, agency).await?;
    let mut context = TeraContext::new();
    context.insert("agency", agency);
    context.insert("people", &listed.people);
    context.insert("groups", &listed.groups);
    context.insert("unreadable", &listed.unreadable);
    context.insert("added_username", &shown.added.as_ref().map(|a| a.username.clone()));
    context.insert("first_password", &shown.added.map(|a| a.first_password));
    let (group, group_errors) = shown.group.map_or((GroupForm::default(), BTreeMap::new()), |(f, e)| (f.clone(), e));
    context.insert(
        "group_form",
        &serde_json::json!({"name": group.name, "kind": group.kind, "description": group.description}),
    );
    context.insert("group_errors", &group_errors);
    context.insert("problem", &shown.problem);
    Ok(state.templates.page(viewer, status, "people.html", context))
}

/// `GET /people`: the agencies whose people the viewer manages (straight to the one, when
/// there is one).
pub async fn agencies(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let administered = super::administered(&state, actor);
    if let [one] = administered.as_slice() {
        return Ok(see_other(&format!("/agencies/{one}/people")));
    }
    let mut context = TeraContext::new();
    context.insert("administered", &administered);
    Ok(state.templates.page(&viewer, StatusCode::OK, "people_agencies.html", context))
}

/// `GET /agencies/{agency}/people`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
) -> Result<Response, WebError> {
    list_page(&state, &viewer, &agency, StatusCode::OK, Shown { added: None, group: None, problem: None }).await
}

/// The person form: new (`name` none) or a person's, with the agency's groups and problems.
async fn person_page(
    state: &AppState,
    viewer: &Viewer,
    agency: &str,
    name: Option<&str>,
    form: &PersonForm,
    errors: BTreeMap<&'static str, FieldCode>,
    problem: Option<String>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let listed = people::list(&state.context, actor, agency).await?;
    let status = if errors.is_empty() && problem.is_none() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let person = name.and_then(|name| listed.people.iter().find(|p| p.name == name));
    let mut context = TeraContext::new();
    context.insert("agency", agency);
    context.insert("name", &name);
    context.insert("person", &person);
    context.insert(
        "form",
        &serde_json::json!({
            "username": form.username, "given_name": form.given_name, "surname": form.surname,
            "email": form.email, "title": form.title, "department": form.department,
            "groups": form.groups, "roles": form.roles, "enabled": form.enabled.is_some(),
        }),
    );
    context.insert("groups", &listed.groups);
    context.insert("roles", &ROLES);
    context.insert("errors", &errors);
    context.insert("problem", &problem);
    Ok(state.templates.page(viewer, status, "person.html", context))
}

/// `GET /agencies/{agency}/new-person`.
pub async fn new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
) -> Result<Response, WebError> {
    person_page(&state, &viewer, &agency, None, &PersonForm::default(), BTreeMap::new(), None).await
}

/// `POST /agencies/{agency}/people`: adds the person and shows their first password once.
pub async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let form = PersonForm::from_pairs(&pairs);
    match people::add_person(&state.context, actor, &agency, &form).await {
        Ok(added) => {
            let shown = Shown { added: Some(added), group: None, problem: None };
            list_page(&state, &viewer, &agency, StatusCode::OK, shown).await
        }
        Err(error) => {
            let (errors, problem) = problems(error)?;
            person_page(&state, &viewer, &agency, None, &form, errors, problem).await
        }
    }
}

/// `GET /agencies/{agency}/people/{name}`: the person's form.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, name)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let (_, spec, _) = people::person(&state.context, actor, &agency, &name).await?;
    person_page(&state, &viewer, &agency, Some(&name), &PersonForm::of(&spec), BTreeMap::new(), None).await
}

/// `POST /agencies/{agency}/people/{name}`: saves the person's form.
pub async fn change(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, name)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let form = PersonForm::from_pairs(&pairs);
    match people::change_person(&state.context, actor, &agency, &name, &form).await {
        Ok(()) => Ok(see_other(&format!("/agencies/{agency}/people"))),
        Err(error) => {
            let (errors, problem) = problems(error)?;
            person_page(&state, &viewer, &agency, Some(&name), &form, errors, problem).await
        }
    }
}

/// `POST /agencies/{agency}/groups`: adds a group.
pub async fn add_group(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
    Form(form): Form<GroupForm>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    match people::add_group(&state.context, actor, &agency, &form).await {
        Ok(()) => Ok(see_other(&format!("/agencies/{agency}/people"))),
        Err(error) => {
            let (errors, problem) = problems(error)?;
            let shown = Shown { added: None, group: Some((&form, errors)), problem };
            list_page(&state, &viewer, &agency, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

/// A refusal as the form shows it (a code per field, or the words above the form);
/// anything else (not found, forbidden, the platform's failure) is an error page.
fn problems(error: PeopleError) -> Result<(BTreeMap<&'static str, FieldCode>, Option<String>), WebError> {
    match error {
        PeopleError::Form(errors) => Ok((errors, None)),
        PeopleError::Action(error @ (ActionError::Conflict(_) | ActionError::Invalid(_))) => {
            refusal(error).map(|(_, words)| (BTreeMap::new(), Some(words)))
        }
        PeopleError::Action(error) => Err(error.into()),
    }
}
