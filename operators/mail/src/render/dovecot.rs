//! Dovecot: IMAP over TLS only, people signed in by binding to the directory as
//! themselves (AD keeps no hash anyone can read), looked up only among their own agency's
//! accounts; mailboxes and quotas from the rendered user list, the quota policy service
//! Postfix asks at RCPT, warnings at 80 % and 95 %, and shared mailboxes opened through
//! access lists (the ACL plugin; the controller keeps the lists, see [`crate::sharing`]).

use std::fmt::Write;

use super::{HEADER, RenderedFile, Server, Settings, server_dir};
use makonis_identity::plan::ownership::marker;

use crate::plan::Plan;

pub(super) fn files(plan: &Plan, settings: &Settings) -> Vec<RenderedFile> {
    let dir = server_dir(&settings.layout, Server::Dovecot);
    let file = |name: &str, content: String, mode: u32| RenderedFile {
        path: dir.join(name),
        content,
        mode,
        server: Server::Dovecot,
    };
    let mut files = vec![
        file("dovecot.conf", dovecot_conf(plan, settings), 0o644),
        file("no-one", HEADER.to_string(), 0o644),
        file("users", users(plan, settings), 0o644),
        file("quota-warning.sh", quota_warning(settings), 0o755),
        RenderedFile {
            path: settings.layout.config_dir.join("directory-ca.pem"),
            content: settings.directory.ca_pem.clone(),
            mode: 0o644,
            server: Server::Dovecot,
        },
    ];
    for domain in plan.domains.values() {
        files.push(file(&passdb_file(&domain.domain), passdb(settings, &domain.namespace), 0o600));
    }
    files
}

/// The passdb settings of one served domain.
fn passdb_file(domain: &str) -> String {
    format!("ldap-passdb-{domain}.conf.ext")
}

/// One passdb per served domain: a sign-in as `<someone>@<domain>` is looked up only among
/// the accounts the identity controller keeps for that domain's agency, so an entry of
/// another agency (or of nobody) holding the same `mail` never signs in as the owner. With
/// no domain, an empty password file: nobody signs in.
fn passdbs(plan: &Plan, dir: &std::path::Path) -> String {
    if plan.domains.is_empty() {
        return format!("passdb {{\n  driver = passwd-file\n  args = {}\n}}\n", dir.join("no-one").display());
    }
    plan.domains
        .values()
        .map(|domain| {
            format!(
                "passdb {{\n  driver = ldap\n  username_filter = *@{}\n  args = {}\n}}\n",
                domain.domain,
                dir.join(passdb_file(&domain.domain)).display()
            )
        })
        .collect()
}

fn dovecot_conf(plan: &Plan, settings: &Settings) -> String {
    let dir = server_dir(&settings.layout, Server::Dovecot);
    let passdbs = passdbs(plan, &dir);
    let dir = dir.display();
    let state = settings.layout.state_dir.join("dovecot");
    let state = state.display();
    format!(
        "{HEADER}\
base_dir = {state}/run
state_dir = {state}/state
log_path = {state}/log/dovecot.log
protocols = imap lmtp
listen = {listen}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_username_format = %Lu
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins quota acl

# A person's own folders, and under Shared/<address>/ the shared mailboxes whose access
# lists (kept by the mail controller) name them; only entries there open a mailbox.
namespace inbox {{
  inbox = yes
  separator = /
}}
namespace shared {{
  type = shared
  separator = /
  prefix = {shared}%%u/
  location = maildir:%%h/Maildir:INDEXPVT=~/Maildir/shared/%%u
  subscriptions = no
  list = children
}}

{passdbs}userdb {{
  driver = passwd-file
  args = username_format=%Lu {dir}/users
}}

service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = {listen}
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {auth}
  }}
}}
service quota-status {{
  executable = quota-status -p postfix
  inet_listener {{
    address = 127.0.0.1
    port = {quota}
  }}
  client_limit = 1
}}
service quota-warning {{
  executable = script {dir}/quota-warning.sh
  user = {mail_user}
  unix_listener quota-warning {{
    user = {mail_user}
  }}
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_quota imap_acl
}}
protocol lmtp {{
  postmaster_address = postmaster@{hostname}
}}
plugin {{
  acl = vfile
  acl_shared_dict = file:{mail_root}/shared-mailboxes.db
  quota = maildir:User quota
  quota_grace = 0
  quota_status_success = DUNNO
  quota_status_nouser = DUNNO
  quota_status_overquota = \"552 5.2.2 Mailbox is full\"
  quota_warning = storage=95%% quota-warning 95 %u
  quota_warning2 = storage=80%% quota-warning 80 %u
}}
",
        listen = settings.layout.listen,
        cert = settings.layout.tls_cert.display(),
        key = settings.layout.tls_key.display(),
        imaps = settings.layout.imaps_port,
        lmtp = settings.layout.lmtp_port,
        quota = settings.layout.quota_status_port,
        auth = settings.layout.auth_port,
        mail_user = settings.layout.mail_user,
        hostname = settings.layout.hostname,
        mail_root = settings.layout.mail_root.display(),
        shared = crate::sharing::SHARED_PREFIX,
    )
}

fn passdb(settings: &Settings, namespace: &str) -> String {
    let directory = &settings.directory;
    let tls = if directory.url.starts_with("ldap://") { "yes" } else { "no" };
    let account_filter = format!(
        "(&(objectClass=user)(mail=%u)(adminDescription={}){})",
        marker("DirectoryUser", namespace, "*"),
        super::postfix::ENABLED
    );
    format!(
        "{HEADER}\
uris = {url}
tls = {tls}
tls_ca_cert_file = {ca}
tls_require_cert = demand
dn = {bind_dn}
dnpass = {bind_password}
base = {base}
scope = subtree
deref = never
auth_bind = yes
pass_filter = {filter}
pass_attrs = mail=user
",
        url = directory.url,
        ca = settings.layout.config_dir.join("directory-ca.pem").display(),
        bind_dn = directory.bind_dn,
        bind_password = directory.bind_password,
        base = directory.base_dn,
        filter = account_filter,
    )
}

/// One line per mailbox: `address::user:group::home::quota`; the home is named by the
/// Mailbox's UID.
fn users(plan: &Plan, settings: &Settings) -> String {
    let mut out = String::from(HEADER);
    for (address, mailbox) in &plan.mailboxes {
        let home = settings.layout.mail_root.join(&mailbox.uid);
        let _ = writeln!(
            out,
            "{address}::{user}:{user}::{home}::userdb_quota_rule=*:storage={bytes}B",
            user = settings.layout.mail_user,
            home = home.display(),
            bytes = mailbox.quota_bytes,
        );
    }
    out
}

/// Delivers a bilingual warning into the mailbox itself (quota not enforced for it). The
/// script runs as the mail user, so the delivery agent logs through Dovecot's log service
/// (its stderr) and skips the statistics socket, both of which only Dovecot's own users
/// may open.
fn quota_warning(settings: &Settings) -> String {
    let config = settings.layout.dovecot_conf();
    format!(
        "#!/bin/sh
{HEADER}\
# Usage: quota-warning.sh PERCENT ADDRESS (called by Dovecot).
set -eu
percent=\"$1\"
address=\"$2\"
case \"$percent\" in 80|95) ;; *) exit 64 ;; esac
{{
  printf 'From: Mākonis <postmaster@{hostname}>\\n'
  printf 'To: %s\\n' \"$address\"
  printf 'Subject: =?UTF-8?B?%s?=\\n' \"$(printf 'Pastkaste ir %s %% pilna / Mailbox %s %% full' \"$percent\" \"$percent\" | base64 -w0)\"
  printf 'MIME-Version: 1.0\\nContent-Type: text/plain; charset=utf-8\\nContent-Transfer-Encoding: 8bit\\n\\n'
  printf 'Jūsu pastkaste ir aizpildīta par %s %%. Izdzēsiet vecas vēstules, citādi jaunas netiks pieņemtas.\\n\\n' \"$percent\"
  printf 'Your mailbox is %s %% full. Delete old mail, or new mail will be refused.\\n' \"$percent\"
}} | exec {lda} -c {config} -d \"$address\" -o 'plugin/quota=maildir:User quota:noenforcing' \\
    -o log_path=/dev/stderr -o stats_writer_socket_path=
",
        hostname = settings.layout.hostname,
        lda = settings.layout.dovecot_lda.display(),
        config = config.display(),
    )
}
