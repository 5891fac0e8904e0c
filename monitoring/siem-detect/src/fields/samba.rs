//! Samba AD's JSON audit as the Windows Security events it stands for, so that rules
//! written for a Windows domain controller's Security log (SigmaHQ's and ours) see a Samba
//! domain controller the same way.
//!
//! `Authentication` becomes 4624/4625 (Samba writes the number) with `TargetUserName`,
//! `IpAddress`, `LogonType` and the NTSTATUS as Windows' `Status` and `SubStatus` codes;
//! `groupChange` 4728/4729/4732/… with the group in `TargetUserName` and the member in
//! `MemberName`; `passwordChange` 4723/4724; `dsdbChange` 5137/5136/5141 (created,
//! modified, deleted) with `ObjectDN`. The acting account is `SubjectUserSid`. Each record
//! also keeps Samba's own fields under `samba.<field>`. Logsource: `product: windows`,
//! `service: security`.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{Logsource, Record, put};

/// Whether a JSON object is a Samba audit record: `{"timestamp", "type": T, T: {…}}`.
pub fn recognises(object: &Map<String, Value>) -> bool {
    object.contains_key("timestamp")
        && object.get("type").and_then(Value::as_str).is_some_and(|t| object.get(t).is_some_and(Value::is_object))
}

/// The JSON after the `JSON <type>: ` older Samba releases write before a record.
pub fn without_prefix(text: &str) -> &str {
    text.strip_prefix("JSON ")
        .and_then(|rest| rest.split_once(": "))
        .filter(|(kind, record)| {
            !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric()) && record.starts_with('{')
        })
        .map_or(text, |(_, record)| record)
}

/// Builds the record of a Samba audit record; one without a readable time takes
/// `received`.
pub fn record(object: &Map<String, Value>, received: Timestamp) -> Record {
    let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
    let empty = Map::new();
    let body = object.get(kind).and_then(Value::as_object).unwrap_or(&empty);
    let time = object.get("timestamp").and_then(Value::as_str).and_then(parse_time).unwrap_or(received);
    let mut fields = Map::new();
    fields.insert("TimeCreated".to_owned(), Value::String(time.to_string()));
    fields.insert("Channel".to_owned(), Value::String("Security".to_owned()));
    fields.insert("Provider_Name".to_owned(), Value::String("Samba".to_owned()));
    fields.insert("SambaType".to_owned(), Value::String(kind.to_owned()));
    if let Some(id) = body.get("eventId").filter(|v| v.is_number()) {
        fields.insert("EventID".to_owned(), id.clone());
    }
    if let Some((ip, port)) = body.get("remoteAddress").and_then(Value::as_str).and_then(address) {
        put(&mut fields, "IpAddress", ip);
        put(&mut fields, "IpPort", port);
    }
    if let Some(sid) = text(body, "userSid") {
        put(&mut fields, "SubjectUserSid", &sid);
    }
    match kind {
        "Authentication" => authentication(body, &mut fields),
        "groupChange" => {
            if let Some(g) = text(body, "group") {
                put(&mut fields, "TargetUserName", common_name(&g));
            }
            if let Some(u) = text(body, "user") {
                put(&mut fields, "MemberName", &u);
            }
        }
        "passwordChange" => {
            if let Some(dn) = text(body, "dn") {
                put(&mut fields, "TargetUserName", common_name(&dn));
            }
        }
        "dsdbChange" => {
            let id = match body.get("operation").and_then(Value::as_str) {
                Some("Add") => Some(5137),
                Some("Modify") => Some(5136),
                Some("Delete") => Some(5141),
                _ => None,
            };
            if let Some(id) = id {
                fields.insert("EventID".to_owned(), Value::from(id));
            }
            if let Some(dn) = text(body, "dn") {
                put(&mut fields, "ObjectDN", &dn);
            }
            if let Some(attributes) = body.get("attributes").and_then(Value::as_object) {
                let names = attributes.keys().map(|k| Value::String(k.clone())).collect();
                fields.insert("AttributeLDAPDisplayName".to_owned(), Value::Array(names));
            }
        }
        _ => {
            if let Some(a) = text(body, "account") {
                put(&mut fields, "TargetUserName", &a);
            }
        }
    }
    for (name, value) in body {
        fields.insert(format!("samba.{name}"), value.clone());
    }
    let logsource =
        Logsource { product: vec!["windows".to_owned()], service: vec!["security".to_owned()], category: Vec::new() };
    Record { time, fields: Value::Object(fields), logsource }
}

/// A sign-in: the account as Samba found it, the logon type and the NTSTATUS as Windows'
/// codes (`Status` the general one, `SubStatus` the reason).
fn authentication(body: &Map<String, Value>, fields: &mut Map<String, Value>) {
    let account = ["mappedAccount", "becameAccount"]
        .iter()
        .find_map(|k| text(body, k))
        .or_else(|| text(body, "clientAccount").map(|a| common_name(&a).to_owned()));
    if let Some(account) = account {
        put(fields, "TargetUserName", &account);
    }
    if let Some(domain) = ["mappedDomain", "becameDomain", "clientDomain"].iter().find_map(|k| text(body, k)) {
        put(fields, "TargetDomainName", &domain);
    }
    if let Some(sid) = text(body, "becameSid") {
        put(fields, "TargetUserSid", &sid);
    }
    if let Some(w) = text(body, "workstation") {
        put(fields, "WorkstationName", &w);
    }
    if let Some(s) = text(body, "serviceDescription") {
        put(fields, "LogonProcessName", &s);
    }
    if let Some(a) = text(body, "authDescription") {
        put(fields, "AuthenticationPackageName", &a);
    }
    if let Some(logon_type) = body.get("logonType").filter(|v| v.is_number()) {
        fields.insert("LogonType".to_owned(), logon_type.clone());
    }
    if let Some(status) = text(body, "status").filter(|s| s != "NT_STATUS_OK")
        && let Some(code) = status_code(&status)
    {
        let (general, reason) = match code {
            0xc000_0234 => (code, 0),
            0xc000_006a | 0xc000_0064 | 0xc000_006d => (0xc000_006d, code),
            _ => (0xc000_006e, code),
        };
        put(fields, "Status", &format!("{general:#010x}"));
        put(fields, "SubStatus", &format!("{reason:#010x}"));
    }
}

/// NTSTATUS codes of the names Samba writes for failed sign-ins.
fn status_code(name: &str) -> Option<u32> {
    Some(match name {
        "NT_STATUS_NO_SUCH_USER" => 0xc000_0064,
        "NT_STATUS_WRONG_PASSWORD" => 0xc000_006a,
        "NT_STATUS_PASSWORD_RESTRICTION" => 0xc000_006c,
        "NT_STATUS_LOGON_FAILURE" => 0xc000_006d,
        "NT_STATUS_ACCOUNT_RESTRICTION" => 0xc000_006e,
        "NT_STATUS_INVALID_LOGON_HOURS" => 0xc000_006f,
        "NT_STATUS_INVALID_WORKSTATION" => 0xc000_0070,
        "NT_STATUS_PASSWORD_EXPIRED" => 0xc000_0071,
        "NT_STATUS_ACCOUNT_DISABLED" => 0xc000_0072,
        "NT_STATUS_ACCOUNT_EXPIRED" => 0xc000_0193,
        "NT_STATUS_PASSWORD_MUST_CHANGE" => 0xc000_0224,
        "NT_STATUS_ACCOUNT_LOCKED_OUT" => 0xc000_0234,
        _ => return None,
    })
}

/// The first RDN's value of a DN (`CN=Domain Admins,CN=Users,…` → `Domain Admins`); any
/// other text as it is.
fn common_name(dn: &str) -> &str {
    let first = dn.split(',').next().unwrap_or(dn);
    match first.split_once('=') {
        Some((kind, value)) if dn.contains(',') && kind.eq_ignore_ascii_case("CN") => value,
        _ => dn,
    }
}

/// `ipv4:10.1.2.3:52100` or `ipv6:fe80::1:52100` as the address and the port.
fn address(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("ipv4:").or_else(|| text.strip_prefix("ipv6:"))?;
    let (ip, port) = rest.rsplit_once(':')?;
    Some((ip, port))
}

/// A non-empty text field.
fn text(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Samba's time: `2026-12-06T10:20:30.123456+0200`.
fn parse_time(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>()
        .ok()
        .or_else(|| jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%.f%z", text).and_then(|p| p.to_timestamp()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields_of(value: Value) -> Map<String, Value> {
        record(value.as_object().unwrap(), Timestamp::UNIX_EPOCH).fields.as_object().unwrap().clone()
    }

    #[test]
    fn a_failed_sign_in_is_a_4625_with_windows_status_codes() {
        let f = fields_of(
            json!({"timestamp": "2026-12-07T00:02:42.549218+0200", "type": "Authentication", "Authentication": {
            "eventId": 4625, "logonType": 3, "status": "NT_STATUS_ACCOUNT_DISABLED", "remoteAddress": "ipv4:10.0.0.7:33888",
            "clientAccount": "CN=Jānis Bērziņš,OU=People,DC=lm,DC=test", "clientDomain": "LM", "mappedAccount": null,
            "serviceDescription": "LDAP", "authDescription": "simple bind/TLS"}}),
        );
        assert_eq!(f["EventID"], 4625);
        assert_eq!(f["TargetUserName"], "Jānis Bērziņš");
        assert_eq!(f["TargetDomainName"], "LM");
        assert_eq!(f["IpAddress"], "10.0.0.7");
        assert_eq!(f["IpPort"], "33888");
        assert_eq!(f["Status"], "0xc000006e");
        assert_eq!(f["SubStatus"], "0xc0000072");
        assert_eq!(f["LogonType"], 3);
        assert_eq!(f["TimeCreated"], "2026-12-06T22:02:42.549218Z");
        assert_eq!(f["samba.status"], "NT_STATUS_ACCOUNT_DISABLED");
    }

    #[test]
    fn group_password_and_directory_changes_take_windows_numbers_and_names() {
        let group = fields_of(json!({"timestamp": "2026-12-07T00:02:42Z", "type": "groupChange", "groupChange": {
            "eventId": 4728, "action": "Added", "group": "CN=Domain Admins,CN=Users,DC=lm,DC=test",
            "user": "CN=mallory,CN=Users,DC=lm,DC=test", "userSid": "S-1-5-21-1-2-3-1105", "remoteAddress": "ipv6:fe80::1:389"}}));
        assert_eq!(group["EventID"], 4728);
        assert_eq!(group["TargetUserName"], "Domain Admins");
        assert_eq!(group["MemberName"], "CN=mallory,CN=Users,DC=lm,DC=test");
        assert_eq!(group["SubjectUserSid"], "S-1-5-21-1-2-3-1105");
        assert_eq!(group["IpAddress"], "fe80::1");
        let reset =
            fields_of(json!({"timestamp": "2026-12-07T00:02:42Z", "type": "passwordChange", "passwordChange": {
            "eventId": 4724, "dn": "CN=Administrator,CN=Users,DC=lm,DC=test", "action": "Reset"}}));
        assert_eq!((reset["EventID"].as_u64(), reset["TargetUserName"].as_str()), (Some(4724), Some("Administrator")));
        let change = fields_of(json!({"timestamp": "2026-12-07T00:02:42Z", "type": "dsdbChange", "dsdbChange": {
            "operation": "Modify", "dn": "CN=x,DC=lm,DC=test", "attributes": {"userAccountControl": {}}}}));
        assert_eq!(change["EventID"], 5136);
        assert_eq!(change["AttributeLDAPDisplayName"], json!(["userAccountControl"]));
    }

    #[test]
    fn the_prefix_of_older_releases_comes_off() {
        assert_eq!(without_prefix("JSON Authentication: {\"a\": 1}"), "{\"a\": 1}");
        assert_eq!(without_prefix("JSON nothing"), "JSON nothing");
    }
}
