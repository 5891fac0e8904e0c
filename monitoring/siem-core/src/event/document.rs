//! The ECS document of an event: nested objects, keys in alphabetical order, absent
//! fields left out, written straight into a string (no intermediate JSON tree: this runs
//! once per event received, and building a tree cost a third of the parse time).

use std::{fmt::Write as _, net::IpAddr};

use jiff::SignedDuration;

use super::Event;

impl Event {
    /// The ECS document the store keeps. `event.original` appears as text (invalid UTF-8
    /// replaced); its bytes are stored beside the document.
    pub fn document(&self, skew_limit: SignedDuration) -> String {
        let mut w = Writer { out: String::with_capacity(512 + 2 * self.original.len()), first: true };
        w.out.push('{');
        w.display("@timestamp", &self.timestamp);
        w.endpoint("destination", self.destination_ip, self.destination_port);
        w.open("event");
        w.text("action", self.action.as_deref());
        if let Some(category) = self.category {
            w.key("category");
            w.out.push('[');
            w.string(category.as_str());
            w.out.push(']');
        }
        w.text("code", self.code.as_deref());
        w.display("created", &self.created);
        w.text("original", Some(&String::from_utf8_lossy(&self.original)));
        w.text("outcome", Some(self.outcome.as_str()));
        w.close();
        if let Some(name) = &self.host_name {
            w.open("host");
            w.text("name", Some(name));
            w.close();
        }
        if let Some(severity) = self.severity {
            w.open("log");
            w.open("syslog");
            w.open("severity");
            w.number("code", severity);
            w.close();
            w.close();
            w.close();
        }
        let mandatory = self.mandatory();
        w.open("makonis");
        w.text("agency", self.agency.as_deref());
        if let Some(skew) = self.clock_skew(skew_limit) {
            w.number("clock_skew_seconds", skew.as_secs());
        }
        w.list("mandatory", &mandatory.present());
        if !mandatory.complete() {
            w.list("missing", &mandatory.missing());
        }
        w.text("source", Some(&self.source));
        w.close();
        w.text("message", Some(&self.message));
        if self.network_protocol.is_some() || self.network_transport.is_some() {
            w.open("network");
            w.text("protocol", self.network_protocol.as_deref());
            w.text("transport", self.network_transport.as_deref());
            w.close();
        }
        if self.process_name.is_some() || self.process_pid.is_some() {
            w.open("process");
            w.text("name", self.process_name.as_deref());
            if let Some(pid) = self.process_pid {
                w.number("pid", pid);
            }
            w.close();
        }
        w.endpoint("source", self.source_ip, self.source_port);
        if let Some(path) = &self.url_path {
            w.open("url");
            w.text("path", Some(path));
            w.close();
        }
        let user = [&self.user_domain, &self.user_id, &self.user_name, &self.target_user];
        if user.iter().any(|u| u.is_some()) {
            w.open("user");
            w.text("domain", self.user_domain.as_deref());
            w.text("id", self.user_id.as_deref());
            w.text("name", self.user_name.as_deref());
            if let Some(target) = &self.target_user {
                w.open("target");
                w.text("name", Some(target));
                w.close();
            }
            w.close();
        }
        if let Some(agent) = &self.user_agent {
            w.open("user_agent");
            w.text("original", Some(agent));
            w.close();
        }
        w.out.push('}');
        w.out
    }
}

struct Writer {
    out: String,
    /// Whether the next key is the first of its object (no comma before it).
    first: bool,
}

impl Writer {
    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.string(key);
        self.out.push(':');
    }

    fn open(&mut self, key: &str) {
        self.key(key);
        self.out.push('{');
        self.first = true;
    }

    fn close(&mut self) {
        self.out.push('}');
        self.first = false;
    }

    fn text(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.key(key);
            self.string(value);
        }
    }

    fn display(&mut self, key: &str, value: &impl std::fmt::Display) {
        self.key(key);
        let _ = write!(self.out, "\"{value}\"");
    }

    fn number(&mut self, key: &str, value: impl Into<i64>) {
        self.key(key);
        let _ = write!(self.out, "{}", value.into());
    }

    fn list(&mut self, key: &str, values: &[&str]) {
        self.key(key);
        self.out.push('[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.string(value);
        }
        self.out.push(']');
    }

    fn endpoint(&mut self, key: &str, ip: Option<IpAddr>, port: Option<u16>) {
        if ip.is_none() && port.is_none() {
            return;
        }
        self.open(key);
        if let Some(ip) = ip {
            self.display("ip", &ip);
        }
        if let Some(port) = port {
            self.number("port", port);
        }
        self.close();
    }

    /// A JSON string: quotes, backslashes and control characters escaped (RFC 8259).
    fn string(&mut self, value: &str) {
        self.out.push('"');
        let mut plain = 0;
        for (i, byte) in value.bytes().enumerate() {
            let escaped = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 => "",
                _ => continue,
            };
            self.out.push_str(&value[plain..i]);
            plain = i + 1;
            if escaped.is_empty() {
                let _ = write!(self.out, "\\u{byte:04x}");
            } else {
                self.out.push_str(escaped);
            }
        }
        self.out.push_str(&value[plain..]);
        self.out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::event::{DEFAULT_SKEW_LIMIT, EventCategory, Outcome};

    proptest! {
        #[test]
        fn any_text_makes_valid_json_that_reads_back(
            message in ".*",
            user in proptest::option::of(".*"),
            original in proptest::collection::vec(any::<u8>(), 0..64),
            pid in proptest::option::of(any::<u32>()),
        ) {
            let event = Event {
                message: message.clone(),
                user_name: user.clone(),
                original: original.clone(),
                process_pid: pid,
                category: Some(EventCategory::Web),
                outcome: Outcome::Success,
                source: "platform/portal".into(),
                ..Event::default()
            };
            let doc: Value = serde_json::from_str(&event.document(DEFAULT_SKEW_LIMIT)).unwrap();
            prop_assert_eq!(doc["message"].as_str(), Some(message.as_str()));
            prop_assert_eq!(doc["user"]["name"].as_str(), user.as_deref());
            let original_text = String::from_utf8_lossy(&original);
            prop_assert_eq!(doc["event"]["original"].as_str(), Some(original_text.as_ref()));
            prop_assert_eq!(doc["process"]["pid"].as_u64(), pid.map(u64::from));
        }
    }
}
