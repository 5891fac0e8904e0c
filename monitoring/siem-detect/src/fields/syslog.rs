//! Syslog messages as fields: the header (`timestamp`, `hostname`, `appname`, `procid`,
//! `msgid`, `facility`, `severity`, `message`) and what sshd, PAM and sudo write in the
//! text, each field absent when its pattern does not match.
//!
//! Logsource: `product: linux`, `service` the lower-cased `appname` without a `(…)` suffix.

use std::sync::LazyLock;

use jiff::Timestamp;
use makonis_siem_core::syslog::Message;
use regex::Regex;
use serde_json::{Map, Value};

use super::{Logsource, Record, put, rfc3339};

/// `Accepted|Failed <method> for [invalid user ]<user> from <ip> port <port>`: the user
/// may hold spaces, so it runs to the last ` from <ip> port <digits>`.
static SSHD_AUTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(Accepted|Failed) (\S+) for (?:invalid user )?(.*) from (\S+) port (\d+)").expect("sshd pattern")
});

/// `Invalid user <user> from <ip>[ port <port>]`.
static SSHD_INVALID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Invalid user (.*) from (\S+?)(?: port (\d+))?(?: \S.*)?$").expect("sshd pattern"));

/// `pam_unix(<service>:<type>): <text>[; k=v …]`.
static PAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^pam_unix\(([^:()]*):([^()]*)\): ([^;]*)(?:;(.*))?$").expect("pam pattern"));

/// Builds the record of a syslog message; `had_priority` says whether the line began
/// with `<PRI>` (without one there is no facility and severity). A message without a
/// time takes `received`.
pub fn record(message: &Message, had_priority: bool, received: Timestamp) -> Record {
    let time = message.timestamp.unwrap_or(received);
    let mut fields = Map::new();
    fields.insert("timestamp".to_owned(), Value::String(rfc3339(time)));
    for (name, value) in [
        ("hostname", &message.hostname),
        ("appname", &message.app_name),
        ("procid", &message.proc_id),
        ("msgid", &message.msg_id),
    ] {
        if let Some(value) = value {
            put(&mut fields, name, value);
        }
    }
    if had_priority {
        fields.insert("facility".to_owned(), Value::from(message.facility));
        fields.insert("severity".to_owned(), Value::from(message.severity));
    }
    fields.insert("message".to_owned(), Value::String(message.msg.clone()));
    extract(&message.msg, &mut fields);
    let mut logsource = Logsource::default();
    logsource.product.push("linux".to_owned());
    if let Some(service) = message.app_name.as_deref().map(service_of).filter(|s| !s.is_empty()) {
        logsource.service.push(service);
    }
    Record { time, fields: Value::Object(fields), logsource }
}

/// The service an application name stands for: lower-cased, a `(…)` suffix dropped.
pub fn service_of(app_name: &str) -> String {
    let name = match app_name.find('(') {
        Some(open) if app_name.ends_with(')') => &app_name[..open],
        _ => app_name,
    };
    name.to_lowercase()
}

/// Adds the fields the text's pattern gives, if any.
fn extract(text: &str, fields: &mut Map<String, Value>) {
    if let Some(c) = SSHD_AUTH.captures(text) {
        let outcome = if &c[1] == "Accepted" { "success" } else { "failure" };
        put(fields, "user.name", &c[3]);
        put(fields, "source.ip", &c[4]);
        put(fields, "source.port", &c[5]);
        put(fields, "event.outcome", outcome);
    } else if let Some(c) = SSHD_INVALID.captures(text) {
        put(fields, "user.name", &c[1]);
        put(fields, "source.ip", &c[2]);
        if let Some(port) = c.get(3) {
            put(fields, "source.port", port.as_str());
        }
        put(fields, "event.outcome", "failure");
    } else if let Some(c) = PAM.captures(text) {
        put(fields, "pam_service", &c[1]);
        put(fields, "pam_type", &c[2]);
        put(fields, "pam_message", c[3].trim());
        if let Some(pairs) = c.get(4) {
            for pair in pairs.as_str().split_whitespace() {
                if let Some((key, value)) = pair.split_once('=')
                    && !key.is_empty()
                    && !value.is_empty()
                {
                    put(fields, &format!("pam_{key}"), value);
                }
            }
        }
    } else {
        sudo(text, fields);
    }
}

/// `<user> : [<error> ; ]TTY=… ; PWD=… ; USER=… ; [GROUP=… ; ]COMMAND=…`.
fn sudo(text: &str, fields: &mut Map<String, Value>) {
    let Some((user, rest)) = text.split_once(" : ") else {
        return;
    };
    let user = user.trim();
    if user.is_empty() || user.contains(char::is_whitespace) || !rest.contains("COMMAND=") {
        return;
    }
    let (items, command) = match rest.split_once("COMMAND=") {
        Some((items, command)) => (items, command),
        None => return,
    };
    let mut found = Map::new();
    for (index, item) in items.split(" ; ").map(str::trim).filter(|i| !i.is_empty()).enumerate() {
        match item.split_once('=') {
            Some((key @ ("TTY" | "PWD" | "USER" | "GROUP"), value)) => put(&mut found, key, value),
            Some(_) => {}
            None if index == 0 => put(&mut found, "sudo.error", item.trim_end_matches(';').trim()),
            None => return,
        }
    }
    if !found.contains_key("USER") {
        return;
    }
    put(fields, "user.name", user);
    fields.extend(found);
    put(fields, "COMMAND", command);
}

#[cfg(test)]
mod tests;
