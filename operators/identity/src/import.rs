//! Bulk onboarding: a CSV file of people becomes DirectoryUser objects, but only when
//! every row is valid. Each row is checked against the same rules the API server applies
//! (the patterns come from the API crate), and against the file itself and the agency's
//! existing objects (managers, groups, duplicates), so that one run reports every bad row
//! and a file with any is not applied at all.
//!
//! Columns (a header row names them, in any order): `username`, `givenName`, `surname`
//! (required); `displayName`, `email`, `title`, `department`, `manager` (a username in the
//! file or already in the agency), `groups` and `roles` (separated by `;`), `expires`
//! (`YYYY-MM-DD`), `enabled` (`true`/`false`, default true).

use std::collections::{BTreeMap, BTreeSet};

use makonis_api::identity::{
    ACCOUNT_PATTERN, AgencyRole, DirectoryUser, DirectoryUserSpec, EMAIL_PATTERN, GROUP_NAME_PATTERN,
    OBJECT_NAME_PATTERN, TEXT_PATTERN,
};
use regex::Regex;

/// The columns a file may have.
pub const COLUMNS: [&str; 12] = [
    "username",
    "givenName",
    "surname",
    "displayName",
    "email",
    "title",
    "department",
    "manager",
    "groups",
    "roles",
    "expires",
    "enabled",
];

/// One problem with the file: the line it is on (1 is the header) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line of the file (the header is line 1).
    pub line: u64,
    /// The column, when the problem is in one.
    pub column: Option<&'static str>,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}: {column}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// What the agency already holds: usernames by object name, and group object names.
#[derive(Debug, Default, Clone)]
pub struct Existing {
    /// Object name of each existing DirectoryUser, by username.
    pub users: BTreeMap<String, String>,
    /// Names of the existing DirectoryGroups.
    pub groups: BTreeSet<String>,
}

/// The object name a username gets: `_` (not allowed in names) becomes `-`.
pub fn object_name(username: &str) -> String {
    username.replace('_', "-")
}

/// The API crate's patterns for people and groups, compiled: what the API server checks,
/// checked before anything is sent (here and by the portal's forms).
pub struct Rules {
    /// A sign-in name (`sAMAccountName`).
    pub account: Regex,
    /// Names and other text: no control characters.
    pub text: Regex,
    /// An e-mail address.
    pub email: Regex,
    /// A Kubernetes object name.
    pub name: Regex,
    /// A directory group's name.
    pub group: Regex,
}

impl Rules {
    /// Compiles the patterns.
    pub fn new() -> Self {
        let compile = |pattern: &str| Regex::new(pattern).expect("the API crate's patterns compile");
        Self {
            account: compile(ACCOUNT_PATTERN),
            text: compile(TEXT_PATTERN),
            email: compile(EMAIL_PATTERN),
            name: compile(OBJECT_NAME_PATTERN),
            group: compile(GROUP_NAME_PATTERN),
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads `csv` and returns a DirectoryUser for each row (named from its username, in
/// `namespace`), or every problem found. Nothing is returned when anything is wrong.
pub fn parse(csv: &[u8], namespace: &str, existing: &Existing) -> Result<Vec<DirectoryUser>, Vec<Problem>> {
    let rules = Rules::new();
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(csv);
    let mut problems = Vec::new();
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => return Err(vec![Problem { line: 1, column: None, message: error.to_string() }]),
    };
    for header in headers.iter().filter(|h| !COLUMNS.contains(h)) {
        problems.push(Problem {
            line: 1,
            column: None,
            message: format!("unknown column {header:?}; the columns are {}", COLUMNS.join(", ")),
        });
    }
    for required in ["username", "givenName", "surname"] {
        if !headers.iter().any(|h| h == required) {
            problems.push(Problem { line: 1, column: None, message: format!("the column {required} is missing") });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let row: BTreeMap<&str, String> =
                    headers.iter().zip(record.iter()).map(|(h, v)| (h, v.to_string())).collect();
                rows.push((line, row));
            }
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                problems.push(Problem { line, column: None, message: error.to_string() });
            }
        }
    }
    let in_file: BTreeMap<String, u64> =
        rows.iter().filter_map(|(line, row)| row.get("username").map(|u| (u.clone(), *line))).collect();
    let mut seen = BTreeMap::new();
    let mut users = Vec::new();
    for (line, row) in &rows {
        let mut problem = |column: &'static str, message: String| {
            problems.push(Problem { line: *line, column: Some(column), message })
        };
        let get = |column: &str| row.get(column).map(String::as_str).filter(|v| !v.is_empty());
        let username = get("username").unwrap_or_default().to_string();
        if username.is_empty() {
            problem("username", "is required".into());
        } else if username.chars().count() > 20 || !rules.account.is_match(&username) {
            problem(
                "username",
                format!("{username:?} must be 1 to 20 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"),
            );
        } else if !rules.name.is_match(&object_name(&username)) {
            problem("username", format!("{username:?} cannot name an object (it must end with a letter or digit)"));
        } else if let Some(first) = seen.insert(object_name(&username), *line) {
            problem("username", format!("{username:?} is already on line {first}"));
        }
        let mut text = |column: &'static str, max: usize, required: bool| -> Option<String> {
            match get(column) {
                None if required => {
                    problem(column, "is required".into());
                    None
                }
                None => None,
                Some(value) if value.chars().count() > max || !rules.text.is_match(value) => {
                    problem(column, format!("must be 1 to {max} characters without control characters"));
                    None
                }
                Some(value) => Some(value.to_string()),
            }
        };
        let given_name = text("givenName", 64, true);
        let surname = text("surname", 64, true);
        let display_name = text("displayName", 64, false);
        let title = text("title", 128, false);
        let department = text("department", 64, false);
        let email = get("email").map(str::to_string);
        if let Some(email) = &email
            && (email.len() > 254 || !rules.email.is_match(email))
        {
            problem("email", format!("{email:?} is not an e-mail address"));
        }
        let manager = get("manager").and_then(|manager| {
            if manager == username {
                problem("manager", "a person cannot be their own manager".into());
                None
            } else if in_file.contains_key(manager) {
                Some(object_name(manager))
            } else if let Some(name) = existing.users.get(manager) {
                Some(name.clone())
            } else {
                problem("manager", format!("{manager:?} is neither in the file nor in the agency"));
                None
            }
        });
        let groups: Vec<String> = split(get("groups"));
        for group in groups.iter().filter(|g| !existing.groups.contains(*g)) {
            problem("groups", format!("the DirectoryGroup {group:?} does not exist in {namespace}"));
        }
        let mut roles = Vec::new();
        for role in split(get("roles")) {
            match serde_json::from_value::<AgencyRole>(serde_json::Value::String(role.clone())) {
                Ok(role) => roles.push(role),
                Err(_) => problem(
                    "roles",
                    format!(
                        "{role:?} is not a role; the roles are admins, requesters, approvers, securityOfficers, viewers"
                    ),
                ),
            }
        }
        let expires = get("expires").map(str::to_string);
        if let Some(date) = &expires
            && (date.len() != 10 || date.parse::<k8s_openapi::jiff::civil::Date>().is_err())
        {
            problem("expires", format!("{date:?} is not a date like 2027-06-30"));
        }
        let enabled = match get("enabled").map(str::to_lowercase).as_deref() {
            None | Some("true" | "yes" | "1") => true,
            Some("false" | "no" | "0") => false,
            Some(other) => {
                problem("enabled", format!("{other:?} is not true or false"));
                true
            }
        };
        if let (Some(given_name), Some(surname)) = (given_name, surname) {
            let spec = DirectoryUserSpec {
                username: username.clone(),
                given_name,
                surname,
                display_name,
                email,
                title,
                department,
                manager,
                enabled,
                expires,
                groups,
                roles,
                password: None,
                drift: None,
            };
            let mut user = DirectoryUser::new(&object_name(&username), spec);
            user.metadata.namespace = Some(namespace.to_string());
            users.push(user);
        }
    }
    if problems.is_empty() { Ok(users) } else { Err(problems) }
}

fn split(value: Option<&str>) -> Vec<String> {
    let mut parts: Vec<String> =
        value.unwrap_or_default().split(';').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect();
    parts.sort();
    parts.dedup();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing() -> Existing {
        Existing {
            users: BTreeMap::from([("anna.berzina".to_string(), "anna".to_string())]),
            groups: BTreeSet::from(["finanses".to_string()]),
        }
    }

    #[test]
    fn a_valid_file_becomes_users() {
        let csv = "username,givenName,surname,email,manager,groups,roles,expires,enabled\n\
                   liga.ozolina,Līga,Ozoliņa,liga@vsaa.gov.lv,anna.berzina,finanses,requesters;viewers,2027-06-30,\n\
                   janis_k,Jānis,Kalniņš,,liga.ozolina,,,,false\n";
        let users = parse(csv.as_bytes(), "agency-vsaa", &existing()).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].metadata.name.as_deref(), Some("liga.ozolina"));
        assert_eq!(users[0].spec.manager.as_deref(), Some("anna"));
        assert_eq!(users[0].spec.roles, vec![AgencyRole::Requesters, AgencyRole::Viewers]);
        assert_eq!(users[1].metadata.name.as_deref(), Some("janis-k"));
        assert_eq!(users[1].spec.manager.as_deref(), Some("liga.ozolina"));
        assert!(!users[1].spec.enabled);
        assert_eq!(users[1].metadata.namespace.as_deref(), Some("agency-vsaa"));
    }

    #[test]
    fn every_bad_row_is_reported_and_nothing_is_returned() {
        let csv = "username,givenName,surname,email,manager,groups,roles,expires\n\
                   ok.one,Anna,Ozola,,,,,\n\
                   Bad Name,Anna,Ozola,,,,,\n\
                   ok.one,Anna,Ozola,,,,,\n\
                   two,,Ozola,not-mail,nobody,nogroup,bosses,2027-02-30\n";
        let problems = parse(csv.as_bytes(), "agency-vsaa", &existing()).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "line 3: username: \"Bad Name\" must be 1 to 20 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
                "line 4: username: \"ok.one\" is already on line 2",
                "line 5: givenName: is required",
                "line 5: email: \"not-mail\" is not an e-mail address",
                "line 5: manager: \"nobody\" is neither in the file nor in the agency",
                "line 5: groups: the DirectoryGroup \"nogroup\" does not exist in agency-vsaa",
                "line 5: roles: \"bosses\" is not a role; the roles are admins, requesters, approvers, securityOfficers, viewers",
                "line 5: expires: \"2027-02-30\" is not a date like 2027-06-30",
            ]
        );
    }

    #[test]
    fn the_header_is_checked_first() {
        let problems = parse(b"user,givenName,surname\nx,y,z\n", "ns", &Existing::default()).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].message.contains("unknown column \"user\""));
        assert!(problems[1].message.contains("the column username is missing"));
    }

    #[test]
    fn a_row_of_the_wrong_width_is_reported_with_its_line() {
        let problems = parse(b"username,givenName,surname\na,b,c\nd,e\n", "ns", &Existing::default()).unwrap_err();
        assert_eq!(problems[0].line, 3, "{problems:?}");
    }

    #[test]
    fn control_characters_and_long_names_are_refused() {
        let long = "x".repeat(65);
        let csv = format!("username,givenName,surname\na,\"B\u{7}\",c\nb,{long},c\n");
        let problems = parse(csv.as_bytes(), "ns", &Existing::default()).unwrap_err();
        assert_eq!(problems.iter().map(|p| p.column).collect::<Vec<_>>(), [Some("givenName"), Some("givenName")]);
    }
}
