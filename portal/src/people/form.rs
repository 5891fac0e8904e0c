//! The person and group forms: what an administrator typed, checked against the rules the
//! API server applies (the patterns come from the API crate) and against the agency's
//! existing objects, into the spec to apply, or a code per field for the page to say in the
//! viewer's language.

use std::collections::{BTreeMap, BTreeSet};

use makonis_api::identity::{AgencyRole, DirectoryGroupSpec, DirectoryUserSpec, GroupKind};
use makonis_identity::import::{Rules, object_name};
use serde::Deserialize;

/// What is wrong with one field, as a stable code (`people.error.<code>` in the messages).
pub type FieldCode = &'static str;

/// The person form's fields as posted (checkboxes repeat their name).
#[derive(Debug, Clone, Default)]
pub struct PersonForm {
    /// The sign-in name; only on the new-person form.
    pub username: String,
    /// Given name.
    pub given_name: String,
    /// Surname.
    pub surname: String,
    /// E-mail address.
    pub email: String,
    /// Job title.
    pub title: String,
    /// Department.
    pub department: String,
    /// The agency's groups ticked.
    pub groups: Vec<String>,
    /// The agency's roles ticked.
    pub roles: Vec<String>,
    /// Whether the account may sign in (the edit form's checkbox; a new person may).
    pub enabled: Option<String>,
}

impl PersonForm {
    /// The form from its posted pairs, in order; unknown names are ignored.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = Self::default();
        for (name, value) in pairs {
            let value = value.clone();
            match name.as_str() {
                "username" => form.username = value,
                "given_name" => form.given_name = value,
                "surname" => form.surname = value,
                "email" => form.email = value,
                "title" => form.title = value,
                "department" => form.department = value,
                "groups" => form.groups.push(value),
                "roles" => form.roles.push(value),
                "enabled" => form.enabled = Some(value),
                _ => {}
            }
        }
        form
    }

    /// The form as the person is now, for the edit page.
    pub fn of(spec: &DirectoryUserSpec) -> Self {
        Self {
            username: spec.username.clone(),
            given_name: spec.given_name.clone(),
            surname: spec.surname.clone(),
            email: spec.email.clone().unwrap_or_default(),
            title: spec.title.clone().unwrap_or_default(),
            department: spec.department.clone().unwrap_or_default(),
            groups: spec.groups.clone(),
            roles: spec.roles.iter().map(role_name).collect(),
            enabled: spec.enabled.then(|| "on".to_owned()),
        }
    }
}

/// The group form's fields as posted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupForm {
    /// The group's name in the directory.
    #[serde(default)]
    pub name: String,
    /// `Security` or `Distribution`.
    #[serde(default)]
    pub kind: String,
    /// What the group is for.
    #[serde(default)]
    pub description: String,
}

/// Optional text of at most `max` characters: `None` when blank.
fn optional_text(rules: &Rules, value: &str, max: usize) -> Result<Option<String>, FieldCode> {
    let value = value.trim();
    if value.is_empty() {
        Ok(None)
    } else if value.chars().count() > max || !rules.text.is_match(value) {
        Err("invalid_text")
    } else {
        Ok(Some(value.to_owned()))
    }
}

/// The API's name of `role` (`securityOfficers`).
pub fn role_name(role: &AgencyRole) -> String {
    serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The role names of the form, as the API spells them.
pub const ROLES: [&str; 5] = ["admins", "requesters", "approvers", "securityOfficers", "viewers"];

/// Checks the person form. `current` is the person's spec when editing (the username and
/// what the form does not show are kept from it), `None` for a new person; `usernames` are
/// the agency's usernames taken, `groups` its groups' object names. Returns the object
/// name and the spec to apply, or a code per field.
pub fn check_person(
    form: &PersonForm,
    current: Option<&DirectoryUserSpec>,
    usernames: &BTreeSet<String>,
    groups: &BTreeSet<String>,
) -> Result<(String, DirectoryUserSpec), BTreeMap<&'static str, FieldCode>> {
    let rules = Rules::new();
    let mut problems = BTreeMap::new();
    let username = match current {
        Some(spec) => spec.username.clone(),
        None => {
            let username = form.username.trim().to_lowercase();
            let code = if username.is_empty() {
                Some("required")
            } else if username.chars().count() > 20
                || !rules.account.is_match(&username)
                || !rules.name.is_match(&object_name(&username))
            {
                Some("invalid_username")
            } else if usernames.contains(&username) {
                Some("taken")
            } else {
                None
            };
            if let Some(code) = code {
                problems.insert("username", code);
            }
            username
        }
    };
    let mut text =
        |field: &'static str, value: &str, max: usize, required: bool| match optional_text(&rules, value, max) {
            Ok(None) if required => {
                problems.insert(field, "required");
                None
            }
            Ok(value) => value,
            Err(code) => {
                problems.insert(field, code);
                None
            }
        };
    let given_name = text("given_name", &form.given_name, 64, true);
    let surname = text("surname", &form.surname, 64, true);
    let title = text("title", &form.title, 128, false);
    let department = text("department", &form.department, 64, false);
    let email = form.email.trim();
    let email = if email.is_empty() {
        None
    } else if email.len() > 254 || !rules.email.is_match(email) {
        problems.insert("email", "invalid_email");
        None
    } else {
        Some(email.to_owned())
    };
    let chosen: BTreeSet<String> = form.groups.iter().map(|g| g.trim().to_owned()).collect();
    if !chosen.is_subset(groups) {
        problems.insert("groups", "unknown_group");
    }
    let mut roles = Vec::new();
    for role in BTreeSet::<&String>::from_iter(&form.roles) {
        match serde_json::from_value::<AgencyRole>(serde_json::Value::String(role.clone())) {
            Ok(role) => roles.push(role),
            Err(_) => {
                problems.insert("roles", "unknown_role");
            }
        }
    }
    let (Some(given_name), Some(surname), true) = (given_name, surname, problems.is_empty()) else {
        return Err(problems);
    };
    let mut spec = current.cloned().unwrap_or_else(|| DirectoryUserSpec {
        username: username.clone(),
        given_name: String::new(),
        surname: String::new(),
        display_name: None,
        email: None,
        title: None,
        department: None,
        manager: None,
        enabled: true,
        expires: None,
        groups: Vec::new(),
        roles: Vec::new(),
        password: None,
        drift: None,
    });
    spec.given_name = given_name;
    spec.surname = surname;
    spec.email = email;
    spec.title = title;
    spec.department = department;
    spec.groups = chosen.into_iter().collect();
    spec.roles = roles;
    if current.is_some() {
        spec.enabled = form.enabled.is_some();
    }
    Ok((object_name(&username), spec))
}

/// Checks the group form against the agency's group object names `groups`. Returns the
/// object name and the spec to apply, or a code per field.
pub fn check_group(
    form: &GroupForm,
    groups: &BTreeSet<String>,
) -> Result<(String, DirectoryGroupSpec), BTreeMap<&'static str, FieldCode>> {
    let rules = Rules::new();
    let mut problems = BTreeMap::new();
    let name = form.name.trim();
    let object = name.to_lowercase().replace([' ', '_'], "-");
    if name.is_empty() {
        problems.insert("name", "required");
    } else if name.chars().count() > 64
        || !rules.group.is_match(name)
        || object.len() > 253
        || !rules.name.is_match(&object)
    {
        problems.insert("name", "invalid_group_name");
    } else if groups.contains(&object) {
        problems.insert("name", "taken");
    }
    let kind = match form.kind.as_str() {
        "" | "Security" => GroupKind::Security,
        "Distribution" => GroupKind::Distribution,
        _ => {
            problems.insert("kind", "unknown_kind");
            GroupKind::Security
        }
    };
    let description = optional_text(&rules, &form.description, 1024).unwrap_or_else(|code| {
        problems.insert("description", code);
        None
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    let spec =
        DirectoryGroupSpec { name: name.to_owned(), kind, description, email: None, members: Vec::new(), drift: None };
    Ok((object, spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(username: &str, given: &str, surname: &str) -> PersonForm {
        PersonForm {
            username: username.into(),
            given_name: given.into(),
            surname: surname.into(),
            ..PersonForm::default()
        }
    }

    fn taken() -> BTreeSet<String> {
        BTreeSet::from(["anna.berzina".to_string()])
    }

    fn groups() -> BTreeSet<String> {
        BTreeSet::from(["finanses".to_string()])
    }

    #[test]
    fn a_new_person_becomes_a_spec_with_latvian_names_kept() {
        let mut new = form(" Liga.Ozolina ", "Līga", "Ozoliņa");
        new.email = "liga.ozolina@vsaa.gov.lv".into();
        new.groups = vec!["finanses".into()];
        new.roles = vec!["requesters".into(), "requesters".into()];
        let (name, spec) = check_person(&new, None, &taken(), &groups()).unwrap();
        assert_eq!(name, "liga.ozolina");
        assert_eq!((spec.username.as_str(), spec.given_name.as_str()), ("liga.ozolina", "Līga"));
        assert_eq!(spec.groups, ["finanses"]);
        assert_eq!(spec.roles, [AgencyRole::Requesters]);
        assert!(spec.enabled, "a new person may sign in");
        assert_eq!(object_name("liga_ozolina"), "liga-ozolina");
    }

    #[test]
    fn the_form_reads_repeated_checkboxes_and_shows_a_person_as_they_are() {
        let pairs: Vec<(String, String)> = [
            ("username", "liga"),
            ("groups", "finanses"),
            ("groups", "visi"),
            ("roles", "admins"),
            ("enabled", "on"),
            ("_csrf", "x"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        let form = PersonForm::from_pairs(&pairs);
        assert_eq!(
            (form.groups.len(), form.roles.as_slice(), form.enabled.as_deref()),
            (2, ["admins".to_string()].as_slice(), Some("on"))
        );
        let mut complete = form.clone();
        complete.given_name = "Līga".into();
        complete.surname = "Ozoliņa".into();
        complete.groups = vec!["finanses".into()];
        let (_, spec) = check_person(&complete, None, &taken(), &groups()).unwrap();
        let shown = PersonForm::of(&spec);
        assert_eq!((shown.roles, shown.enabled), (vec!["admins".to_string()], Some("on".to_string())));
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = form("anna.berzina", "", "Ozoliņa\u{7}");
        bad.email = "nav-adrese".into();
        bad.groups = vec!["citu-grupa".into()];
        bad.roles = vec!["root".into()];
        let problems = check_person(&bad, None, &taken(), &groups()).unwrap_err();
        assert_eq!(
            problems,
            BTreeMap::from([
                ("username", "taken"),
                ("given_name", "required"),
                ("surname", "invalid_text"),
                ("email", "invalid_email"),
                ("groups", "unknown_group"),
                ("roles", "unknown_role"),
            ])
        );
        for username in ["", "-x", "a".repeat(21).as_str(), "līga", "liga.", "a b"] {
            let problems = check_person(&form(username, "A", "B"), None, &taken(), &groups()).unwrap_err();
            assert!(problems.contains_key("username"), "{username:?}");
        }
    }

    #[test]
    fn an_edit_keeps_the_username_and_what_the_form_does_not_show() {
        let (_, mut current) = check_person(&form("liga", "Līga", "Ozoliņa"), None, &taken(), &groups()).unwrap();
        current.manager = Some("anna".into());
        current.expires = Some("2027-06-30".into());
        let mut edit = form("someone.else", "Līga", "Kalniņa");
        edit.enabled = None;
        let (name, spec) = check_person(&edit, Some(&current), &taken(), &groups()).unwrap();
        assert_eq!((name.as_str(), spec.username.as_str()), ("liga", "liga"), "the username cannot change");
        assert_eq!(spec.surname, "Kalniņa");
        assert_eq!((spec.manager.as_deref(), spec.expires.as_deref()), (Some("anna"), Some("2027-06-30")));
        assert!(!spec.enabled, "an unticked box disables");
    }

    #[test]
    fn groups_are_named_as_the_directory_allows() {
        let ok = GroupForm { name: "VSAA Finanses".into(), kind: "Distribution".into(), description: String::new() };
        let (object, spec) = check_group(&ok, &groups()).unwrap();
        assert_eq!(
            (object.as_str(), spec.name.as_str(), spec.kind),
            ("vsaa-finanses", "VSAA Finanses", GroupKind::Distribution)
        );
        for name in ["", "a,b", "x=y", "Grupa*", "-"] {
            let bad = GroupForm { name: name.into(), ..GroupForm::default() };
            assert!(check_group(&bad, &groups()).unwrap_err().contains_key("name"), "{name:?}");
        }
        let taken = GroupForm { name: "Finanses".into(), ..GroupForm::default() };
        assert_eq!(check_group(&taken, &groups()).unwrap_err()["name"], "taken");
        let kind = GroupForm { name: "X".into(), kind: "Admin".into(), ..GroupForm::default() };
        assert_eq!(check_group(&kind, &groups()).unwrap_err()["kind"], "unknown_kind");
    }
}
