//! The rows the people page lists, from the agency's objects: who each person is, what
//! they may do, and whether the directory matches (the Ready condition's words).

use makonis_api::identity::{DirectoryGroup, DirectoryUser, GroupKind};
use serde::Serialize;

/// One person on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRow {
    /// The object's name (the page's address for the person).
    pub name: String,
    /// The sign-in name.
    pub username: String,
    /// Given name and surname, or the display name.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Whether the person may sign in.
    pub enabled: bool,
    /// The agency's roles held.
    pub roles: Vec<String>,
    /// The agency's groups.
    pub groups: Vec<String>,
    /// Whether the directory matches the object (`None` until the operator has looked).
    pub ready: Option<bool>,
    /// The Ready condition's message, when not ready.
    pub message: String,
    /// When the account leaves the directory, while it is leaving.
    pub leaving: Option<String>,
}

/// One group on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRow {
    /// The object's name.
    pub name: String,
    /// The group's name in the directory.
    pub directory_name: String,
    /// Whether it grants access (`false`: mail only).
    pub security: bool,
    /// What it is for.
    pub description: Option<String>,
    /// Whether the directory matches the object.
    pub ready: Option<bool>,
}

fn ready(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> (Option<bool>, String) {
    match conditions.iter().find(|c| c.type_ == "Ready") {
        Some(c) if c.status == "True" => (Some(true), String::new()),
        Some(c) => (Some(false), c.message.clone()),
        None => (None, String::new()),
    }
}

impl PersonRow {
    /// The row of `user`.
    pub fn of(user: &DirectoryUser) -> Self {
        let spec = &user.spec;
        let status = user.status.clone().unwrap_or_default();
        let (ready, message) = ready(&status.conditions);
        Self {
            name: user.metadata.name.clone().unwrap_or_default(),
            username: spec.username.clone(),
            display_name: spec.display_name.clone().unwrap_or_else(|| format!("{} {}", spec.given_name, spec.surname)),
            email: spec.email.clone(),
            enabled: spec.enabled,
            roles: spec.roles.iter().map(super::form::role_name).collect(),
            groups: spec.groups.clone(),
            ready,
            message,
            leaving: status.leaving.map(|l| l.delete_after),
        }
    }
}

impl GroupRow {
    /// The row of `group`.
    pub fn of(group: &DirectoryGroup) -> Self {
        let (ready, _) = ready(&group.status.clone().unwrap_or_default().conditions);
        Self {
            name: group.metadata.name.clone().unwrap_or_default(),
            directory_name: group.spec.name.clone(),
            security: group.spec.kind == GroupKind::Security,
            description: group.spec.description.clone(),
            ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use makonis_api::identity::{AgencyRole, DirectoryUserSpec};

    #[test]
    fn a_row_says_who_what_and_whether_the_directory_matches() {
        let mut user = DirectoryUser::new(
            "liga",
            DirectoryUserSpec {
                username: "liga.ozolina".into(),
                given_name: "Līga".into(),
                surname: "Ozoliņa".into(),
                display_name: None,
                email: None,
                title: None,
                department: None,
                manager: None,
                enabled: true,
                expires: None,
                groups: vec!["finanses".into()],
                roles: vec![AgencyRole::SecurityOfficers],
                password: None,
                drift: None,
            },
        );
        let row = PersonRow::of(&user);
        assert_eq!((row.display_name.as_str(), row.ready), ("Līga Ozoliņa", None));
        assert_eq!(row.roles, ["securityOfficers"]);
        user.status = Some(
            serde_json::from_value(serde_json::json!({"conditions": [{
                "type": "Ready", "status": "False", "reason": "PasswordRefused", "message": "too short",
                "lastTransitionTime": "2026-12-07T10:00:00Z"
            }]}))
            .unwrap(),
        );
        let row = PersonRow::of(&user);
        assert_eq!((row.ready, row.message.as_str()), (Some(false), "too short"));
    }
}
