//! OpenSSH's sign-in lines (`sshd`, at its default log level and at `VERBOSE`).
//!
//! `Accepted|Failed <method> for [invalid user ]<user> from <ip> port <port> ssh2`,
//! `Invalid user <user> from <ip> port <port>`, `maximum authentication attempts
//! exceeded for …`, `Connection closed by [authenticating user <user> ]<ip> port <port>`,
//! `Disconnected from user <user> <ip> port <port>` and PAM's `session opened|closed for
//! user <user>`. Anything else keeps only its text.

use crate::event::{Event, EventCategory, Outcome};

/// Fills the security fields of an sshd line.
pub(super) fn apply(msg: &str, event: &mut Event) {
    let msg = msg.trim();
    let (action, category, outcome, user, endpoint) = if let Some(rest) = msg.strip_prefix("Accepted ") {
        let (user, endpoint) = for_user_from(rest);
        ("ssh_login", EventCategory::Authentication, Outcome::Success, user, endpoint)
    } else if let Some(rest) = msg.strip_prefix("Failed ") {
        let (user, endpoint) = for_user_from(rest);
        ("ssh_login", EventCategory::Authentication, Outcome::Failure, user, endpoint)
    } else if let Some(rest) = msg.strip_prefix("Invalid user ") {
        let (user, endpoint) = user_from(rest);
        ("ssh_login", EventCategory::Authentication, Outcome::Failure, user, endpoint)
    } else if let Some(rest) = msg.strip_prefix("error: maximum authentication attempts exceeded ") {
        let (user, endpoint) = for_user_from(rest);
        ("ssh_login", EventCategory::Authentication, Outcome::Failure, user, endpoint)
    } else if let Some(rest) =
        msg.strip_prefix("Connection closed by ").or_else(|| msg.strip_prefix("Disconnected from "))
    {
        let (user, endpoint) = user_ip_port(rest.strip_suffix(" [preauth]").unwrap_or(rest));
        ("ssh_disconnect", EventCategory::Session, Outcome::Unknown, user, endpoint)
    } else if let Some(rest) = msg.split_once("session opened for user ").map(|(_, r)| r) {
        ("session_opened", EventCategory::Session, Outcome::Success, Some(pam_user(rest)), None)
    } else if let Some(rest) = msg.split_once("session closed for user ").map(|(_, r)| r) {
        ("session_closed", EventCategory::Session, Outcome::Success, Some(pam_user(rest)), None)
    } else {
        return;
    };
    event.action = Some(action.to_owned());
    event.category = Some(category);
    event.outcome = outcome;
    event.network_protocol = Some("ssh".to_owned());
    event.network_transport = Some("tcp".to_owned());
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        event.user_name = Some(user.to_owned());
    }
    if let Some((ip, port)) = endpoint {
        event.source_ip = Some(ip);
        event.source_port = port;
    }
}

type Endpoint = Option<(std::net::IpAddr, Option<u16>)>;

/// `<method> for [invalid user ]<user> from <ip> port <port> …`.
fn for_user_from(rest: &str) -> (Option<&str>, Endpoint) {
    let Some((_, rest)) = rest.split_once("for ") else {
        return (None, None);
    };
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    user_from(rest)
}

/// `<user> from <ip> port <port> …`; a user name may hold spaces, so the last ` from `
/// before the address is taken.
fn user_from(rest: &str) -> (Option<&str>, Endpoint) {
    match rest.rsplit_once(" from ") {
        Some((user, after)) => (Some(user), ip_port(after)),
        None => (Some(rest.split(' ').next().unwrap_or(rest)), None),
    }
}

/// `[authenticating |invalid ]user <user> <ip> port <port>` or `<ip> port <port>`, read
/// from the right: the user name is the client's and may hold spaces, even an address.
fn user_ip_port(rest: &str) -> (Option<&str>, Endpoint) {
    let Some((left, port)) = rest.rsplit_once(" port ") else {
        return (None, None);
    };
    let (before, ip) = left.rsplit_once(' ').unwrap_or(("", left));
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
        return (None, None);
    };
    let before = before.strip_prefix("authenticating ").unwrap_or(before);
    let before = before.strip_prefix("invalid ").unwrap_or(before);
    (before.strip_prefix("user "), Some((ip.to_canonical(), port.split(' ').next().and_then(|p| p.parse().ok()))))
}

/// `<ip> port <port>` at the start of `rest`.
fn ip_port(rest: &str) -> Endpoint {
    let mut words = rest.split(' ');
    let ip = words.next()?.parse::<std::net::IpAddr>().ok()?.to_canonical();
    let port = match (words.next(), words.next()) {
        (Some("port"), Some(port)) => port.parse().ok(),
        _ => None,
    };
    Some((ip, port))
}

/// PAM's `root(uid=0) by (uid=0)` or `root by (uid=0)`: the user name.
fn pam_user(rest: &str) -> &str {
    rest.split(['(', ' ']).next().unwrap_or(rest)
}
