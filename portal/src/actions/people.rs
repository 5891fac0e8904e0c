//! An agency's administrators (and platform administrators) list, add and change the
//! agency's people and add its groups. Access is checked first; each change is audited
//! before it is sent (`started`: a change that cannot be recorded is not made) and after
//! (`success` or `failure` with the API server's words). A new person's first password is
//! generated here, shown once to the administrator, and set by the identity operator with
//! "change at the first sign-in".

use std::collections::{BTreeMap, BTreeSet};

use kube::Client;
use makonis_api::{
    identity::{DirectoryGroup, DirectoryUser, DirectoryUserSpec},
    tenancy::namespace_for_code,
};

use super::{ActionError, Actor, administers};
use crate::{
    cluster::{apply::api_message, people as cluster},
    context::Context,
    people::{FieldCode, GroupForm, GroupRow, PersonForm, PersonRow, check_group, check_person, form::role_name},
};

/// What the people page lists.
#[derive(Debug, Clone, Default)]
pub struct People {
    /// The agency's people, by username.
    pub people: Vec<PersonRow>,
    /// The agency's groups, by name.
    pub groups: Vec<GroupRow>,
    /// Objects that exist but cannot be read (written against another schema version).
    pub unreadable: usize,
}

/// Why a change was not made: the form's problems (a code per field), or the action's.
#[derive(Debug)]
pub enum PeopleError {
    /// The form has problems, a code per field.
    Form(BTreeMap<&'static str, FieldCode>),
    /// Access, the cluster or the audit trail.
    Action(ActionError),
}

impl From<ActionError> for PeopleError {
    fn from(error: ActionError) -> Self {
        Self::Action(error)
    }
}

/// A person just added: their object's name, their username and the first password to
/// hand over (shown once; the portal keeps no copy).
#[derive(Debug, Clone)]
pub struct Added {
    /// The DirectoryUser's name.
    pub name: String,
    /// The sign-in name.
    pub username: String,
    /// The first password.
    pub first_password: String,
}

const WHAT: &str = "people and groups";

fn client(context: &Context) -> Result<&Client, ActionError> {
    context.client.as_ref().ok_or_else(|| ActionError::ClusterUnavailable("the portal runs without a cluster".into()))
}

/// What the API server's refusal means for the administrator: a conflict with someone
/// else's fields or a refused value, in its words; anything else is the platform's failure.
fn refused(error: kube::Error) -> ActionError {
    match &error {
        kube::Error::Api(status) if status.code == 409 || status.code == 422 || status.code == 400 => {
            ActionError::Conflict(api_message(&error))
        }
        _ => ActionError::ClusterUnavailable(api_message(&error)),
    }
}

/// The agency's people and groups, for its administrators.
pub async fn list(context: &Context, actor: &Actor, agency: &str) -> Result<People, ActionError> {
    administers(actor, agency, WHAT)?;
    let (users, groups, unreadable) = read(context, agency).await?;
    let mut people: Vec<PersonRow> = users.iter().map(PersonRow::of).collect();
    people.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(People { people, groups: group_rows(&groups), unreadable })
}

/// The rows of `groups`, by their directory names.
fn group_rows(groups: &[DirectoryGroup]) -> Vec<GroupRow> {
    let mut rows: Vec<GroupRow> = groups.iter().map(GroupRow::of).collect();
    rows.sort_by(|a, b| a.directory_name.cmp(&b.directory_name));
    rows
}

async fn read(
    context: &Context,
    agency: &str,
) -> Result<(Vec<DirectoryUser>, Vec<DirectoryGroup>, usize), ActionError> {
    let client = client(context)?;
    let namespace = namespace_for_code(agency);
    let (users, bad_users) = cluster::people(client, &namespace).await.map_err(refused)?;
    let (groups, bad_groups) = cluster::groups(client, &namespace).await.map_err(refused)?;
    Ok((users, groups, bad_users + bad_groups))
}

/// One person of the agency with the agency's groups, for the edit form; `NotFound` when
/// there is no such person.
pub async fn person(
    context: &Context,
    actor: &Actor,
    agency: &str,
    name: &str,
) -> Result<(PersonRow, DirectoryUserSpec, Vec<GroupRow>), ActionError> {
    administers(actor, agency, WHAT)?;
    let (users, groups, _) = read(context, agency).await?;
    let user = users.into_iter().find(|u| u.metadata.name.as_deref() == Some(name)).ok_or(ActionError::NotFound)?;
    Ok((PersonRow::of(&user), user.spec, group_rows(&groups)))
}

/// Adds the person `form` describes to `agency`, with a generated first password.
pub async fn add_person(
    context: &Context,
    actor: &Actor,
    agency: &str,
    form: &PersonForm,
) -> Result<Added, PeopleError> {
    let object = format!("person {}", form.username.trim());
    admitted(context, actor, agency, "add_person", &object).await?;
    let (users, groups, _) = read(context, agency).await?;
    let usernames: BTreeSet<String> = users.iter().map(|u| u.spec.username.clone()).collect();
    let group_names: BTreeSet<String> = groups.iter().filter_map(|g| g.metadata.name.clone()).collect();
    let (name, spec) = check_person(form, None, &usernames, &group_names).map_err(PeopleError::Form)?;
    if users.iter().any(|u| u.metadata.name.as_deref() == Some(name.as_str())) {
        return Err(PeopleError::Form(BTreeMap::from([("username", "taken")])));
    }
    let object = format!("person {}", spec.username);
    let detail = describe(&spec);
    actor.audit(context, Some(agency), "add_person", &object, "started", &detail).await?;
    let first_password = makonis_identity::password::generate()
        .map_err(|e| ActionError::ClusterUnavailable(format!("no random numbers: {e}")))?;
    let client = client(context)?;
    let namespace = namespace_for_code(agency);
    let username = spec.username.clone();
    let result = async {
        let secret = cluster::create_first_password(client, &namespace, &name, &first_password).await?;
        cluster::apply_person(client, &namespace, &name, spec, Some(secret)).await
    }
    .await;
    finish(context, actor, agency, "add_person", &object, result, &detail).await?;
    Ok(Added { name, username, first_password })
}

/// Changes the person `name` of `agency` as `form` says (the username stays; `enabled`
/// from the form's checkbox).
pub async fn change_person(
    context: &Context,
    actor: &Actor,
    agency: &str,
    name: &str,
    form: &PersonForm,
) -> Result<(), PeopleError> {
    let object = format!("person {name}");
    admitted(context, actor, agency, "change_person", &object).await?;
    let (users, groups, _) = read(context, agency).await?;
    let current =
        users.iter().find(|u| u.metadata.name.as_deref() == Some(name)).ok_or(ActionError::NotFound)?.spec.clone();
    let group_names: BTreeSet<String> = groups.iter().filter_map(|g| g.metadata.name.clone()).collect();
    let (_, spec) = check_person(form, Some(&current), &BTreeSet::new(), &group_names).map_err(PeopleError::Form)?;
    let object = format!("person {}", spec.username);
    let detail = describe(&spec);
    actor.audit(context, Some(agency), "change_person", &object, "started", &detail).await?;
    let result = cluster::apply_person(client(context)?, &namespace_for_code(agency), name, spec, None).await;
    finish(context, actor, agency, "change_person", &object, result, &detail).await?;
    Ok(())
}

/// Adds the group `form` describes to `agency`.
pub async fn add_group(context: &Context, actor: &Actor, agency: &str, form: &GroupForm) -> Result<(), PeopleError> {
    let object = format!("group {}", form.name.trim());
    admitted(context, actor, agency, "add_group", &object).await?;
    let (_, groups, _) = read(context, agency).await?;
    let names: BTreeSet<String> = groups.iter().filter_map(|g| g.metadata.name.clone()).collect();
    let (name, spec) = check_group(form, &names).map_err(PeopleError::Form)?;
    let detail = format!("{:?}", spec.kind);
    actor.audit(context, Some(agency), "add_group", &object, "started", &detail).await?;
    let result = cluster::apply_group(client(context)?, &namespace_for_code(agency), &name, spec).await;
    finish(context, actor, agency, "add_group", &object, result, &detail).await?;
    Ok(())
}

/// Whether `actor` may change `agency`'s people; a refusal is audited as `denied`.
async fn admitted(
    context: &Context,
    actor: &Actor,
    agency: &str,
    action: &str,
    object: &str,
) -> Result<(), PeopleError> {
    if let Err(error) = administers(actor, agency, WHAT) {
        actor.audit(context, Some(agency), action, object, "denied", error.code()).await?;
        return Err(error.into());
    }
    Ok(())
}

/// Audits how a change sent to the cluster ended, and turns a refusal into the action's.
async fn finish(
    context: &Context,
    actor: &Actor,
    agency: &str,
    action: &str,
    object: &str,
    result: Result<(), kube::Error>,
    detail: &str,
) -> Result<(), PeopleError> {
    match result {
        Ok(()) => {
            actor.audit(context, Some(agency), action, object, "success", detail).await?;
            Ok(())
        }
        Err(error) => {
            let words = api_message(&error);
            actor.audit(context, Some(agency), action, object, "failure", &words).await?;
            tracing::warn!(action, object, error = words, "the cluster refused a change of an agency's people");
            Err(refused(error).into())
        }
    }
}

/// What the audit trail says about a person's spec: enabled, roles and groups (names and
/// contact details are the person's data, kept out of the trail).
fn describe(spec: &DirectoryUserSpec) -> String {
    let roles: Vec<String> = spec.roles.iter().map(role_name).collect();
    format!("enabled={} roles=[{}] groups=[{}]", spec.enabled, roles.join(","), spec.groups.join(","))
}
