//! Postfix: the domains' MX. It accepts mail only for served domains, only for addresses
//! that are mailboxes of enabled directory accounts (asked of the directory at RCPT time)
//! or routes (aliases, lists, forwarding), refuses what would not fit the mailbox before
//! the data is sent, relays for nobody, and hands mail to Dovecot over LMTP.
//!
//! Submission is where people send from: only over TLS, only signed in (Dovecot checks
//! the password against the directory), and only as an address the person may send as.

use std::fmt::Write;

use super::{HEADER, RenderedFile, Server, Settings, server_dir};
use crate::{address::Address, plan::Plan};

/// Not disabled: `userAccountControl` without bit 2, matched bitwise.
pub(super) const ENABLED: &str = "(!(userAccountControl:1.2.840.113556.1.4.803:=2))";

pub(super) fn files(plan: &Plan, settings: &Settings) -> Vec<RenderedFile> {
    let dir = server_dir(&settings.layout, Server::Postfix);
    let file = |name: &str, content: String, mode: u32| RenderedFile {
        path: dir.join(name),
        content,
        mode,
        server: Server::Postfix,
    };
    vec![
        file("main.cf", main_cf(plan, settings), 0o644),
        file("master.cf", master_cf(settings), 0o644),
        file("ldap-mailbox.cf", ldap_cf(settings), 0o640),
        file("mailboxes", mailboxes(plan), 0o644),
        file("routes", routes(plan), 0o644),
        file("senders", senders(plan), 0o644),
    ]
}

fn main_cf(plan: &Plan, settings: &Settings) -> String {
    let dir = server_dir(&settings.layout, Server::Postfix);
    let dir = dir.display();
    let state = settings.layout.state_dir.join("postfix");
    let state = state.display();
    let domains: Vec<&str> = plan.domains.keys().map(String::as_str).collect();
    format!(
        "{HEADER}\
compatibility_level = 3.6
myhostname = {hostname}
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.1/32
inet_interfaces = {interfaces}
inet_protocols = ipv4
queue_directory = {state}/spool
data_directory = {state}/data
maillog_file = {state}/log/postfix.log
maillog_file_prefixes = {state}, /dev/stdout
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
disable_vrfy_command = yes
smtpd_banner = $myhostname ESMTP
smtpd_helo_required = yes
message_size_limit = 36700160

# Served domains, mailboxes (rendered with their account, then asked of the directory:
# that account, enabled) and routes (aliases, lists, forwarding).
virtual_mailbox_domains = {domains}
virtual_mailbox_maps = pipemap:{{texthash:{dir}/mailboxes, ldap:{dir}/ldap-mailbox.cf}}
virtual_alias_maps = texthash:{dir}/routes
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}

# No relaying for anyone, localhost included; unknown recipients and full mailboxes are
# refused at RCPT, before the data.
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = reject_unlisted_recipient, check_policy_service inet:127.0.0.1:{quota}

smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_received_header = yes
smtp_tls_security_level = may
relayhost = {relayhost}
",
        hostname = settings.layout.hostname,
        interfaces = if settings.layout.listen == "0.0.0.0" { "all" } else { settings.layout.listen.as_str() },
        domains = domains.join(", "),
        lmtp = settings.layout.lmtp_port,
        quota = settings.layout.quota_status_port,
        relayhost = settings.layout.relayhost.as_deref().unwrap_or_default(),
        cert = settings.layout.tls_cert.display(),
        key = settings.layout.tls_key.display(),
    )
}

/// Debian's services, none chrooted (the queue lives outside `/var/spool`), and smtpd
/// on the MX address only.
fn master_cf(settings: &Settings) -> String {
    let dir = server_dir(&settings.layout, Server::Postfix);
    let services = [
        ("pickup", "unix", "n", "-", "60", "1", "pickup"),
        ("cleanup", "unix", "n", "-", "-", "0", "cleanup"),
        ("qmgr", "unix", "n", "-", "300", "1", "qmgr"),
        ("tlsmgr", "unix", "-", "-", "1000?", "1", "tlsmgr"),
        ("rewrite", "unix", "-", "-", "-", "-", "trivial-rewrite"),
        ("bounce", "unix", "-", "-", "-", "0", "bounce"),
        ("defer", "unix", "-", "-", "-", "0", "bounce"),
        ("trace", "unix", "-", "-", "-", "0", "bounce"),
        ("verify", "unix", "-", "-", "-", "1", "verify"),
        ("flush", "unix", "n", "-", "1000?", "0", "flush"),
        ("proxymap", "unix", "-", "-", "-", "-", "proxymap"),
        ("proxywrite", "unix", "-", "-", "-", "1", "proxymap"),
        ("smtp", "unix", "-", "-", "-", "-", "smtp"),
        ("relay", "unix", "-", "-", "-", "-", "smtp"),
        ("showq", "unix", "n", "-", "-", "-", "showq"),
        ("error", "unix", "-", "-", "-", "-", "error"),
        ("retry", "unix", "-", "-", "-", "-", "error"),
        ("discard", "unix", "-", "-", "-", "-", "discard"),
        ("lmtp", "unix", "-", "-", "-", "-", "lmtp"),
        ("anvil", "unix", "-", "-", "-", "1", "anvil"),
        ("scache", "unix", "-", "-", "-", "1", "scache"),
        ("postlog", "unix-dgram", "n", "-", "-", "1", "postlogd"),
    ];
    let mut out = String::from(HEADER);
    let _ = writeln!(out, "{}:{} inet n - n - - smtpd", settings.layout.listen, settings.layout.smtp_port);
    // Submission: TLS before anything else, a sign-in before any mail, and the envelope
    // sender one the person may send as (`senders`); then local and outside recipients.
    // OpenDKIM signs it; when it cannot, the mail is deferred rather than sent unsigned.
    let _ = write!(
        out,
        "{listen}:{port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=inet:127.0.0.1:{auth}
  -o smtpd_sasl_security_options=noanonymous
  -o smtpd_sender_login_maps=texthash:{dir}/senders
  -o smtpd_milters=inet:127.0.0.1:{dkim}
  -o milter_macro_daemon_name=ORIGINATING
  -o milter_default_action=tempfail
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_restrictions=reject_sender_login_mismatch,permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o {{smtpd_recipient_restrictions = reject_unlisted_recipient, check_policy_service inet:127.0.0.1:{quota}, permit_sasl_authenticated, reject}}
",
        listen = settings.layout.listen,
        port = settings.layout.submission_port,
        auth = settings.layout.auth_port,
        dir = dir.display(),
        quota = settings.layout.quota_status_port,
        dkim = settings.layout.dkim_port,
    );
    for (name, kind, private, unprivileged, wakeup, limit, command) in services {
        let _ = writeln!(out, "{name} {kind} {private} {unprivileged} n {wakeup} {limit} {command}");
    }
    out
}

fn ldap_cf(settings: &Settings) -> String {
    let directory = &settings.directory;
    let start_tls = if directory.url.starts_with("ldap://") { "yes" } else { "no" };
    let account_filter = format!("(&(objectClass=user)(adminDescription=%s){ENABLED})");
    format!(
        "{HEADER}\
server_host = {url}
version = 3
start_tls = {start_tls}
tls_ca_cert_file = {ca}
tls_require_cert = yes
bind = yes
bind_dn = {bind_dn}
bind_pw = {bind_password}
search_base = {base}
scope = sub
query_filter = {filter}
result_attribute = mail
",
        url = directory.url,
        ca = settings.layout.config_dir.join("directory-ca.pem").display(),
        bind_dn = directory.bind_dn,
        bind_password = directory.bind_password,
        base = directory.base_dn,
        filter = account_filter,
    )
}

/// Each mailbox's address with the marker of the one account it belongs to: `pipemap`
/// hands the marker to the directory lookup, which must find that account, enabled.
fn mailboxes(plan: &Plan) -> String {
    let mut out = String::from(HEADER);
    for (address, mailbox) in &plan.mailboxes {
        let _ = writeln!(out, "{address} {}", mailbox.account_marker);
    }
    out
}

/// Who may send as each address: the sign-in names (mailbox addresses) Postfix takes that
/// envelope sender from. An address not listed is nobody's to send as.
fn senders(plan: &Plan) -> String {
    address_map(&plan.senders)
}

fn routes(plan: &Plan) -> String {
    address_map(&plan.routes)
}

/// A map file: each address with its values, comma separated.
fn address_map<'a, V>(entries: impl IntoIterator<Item = (&'a Address, V)>) -> String
where
    V: IntoIterator<Item = &'a Address>,
{
    let mut out = String::from(HEADER);
    for (address, values) in entries {
        let values: Vec<&str> = values.into_iter().map(Address::as_str).collect();
        let _ = writeln!(out, "{address} {}", values.join(", "));
    }
    out
}
