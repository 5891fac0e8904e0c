//! OpenDKIM: signs what people send through submission with the key of the sender's
//! domain (Postfix hands it only the submission service's mail, as a milter). Each served
//! domain whose key exists gets a line in the key table and the signing table, and its
//! private key a file only the owner reads.

use std::fmt::Write;

use super::{HEADER, RenderedFile, Server, Settings, server_dir};
use crate::{dns::DKIM_SELECTOR, plan::Plan};

pub(super) fn files(plan: &Plan, settings: &Settings) -> Vec<RenderedFile> {
    let dir = server_dir(&settings.layout, Server::OpenDkim);
    let file = |name: String, content: String, mode: u32| RenderedFile {
        path: dir.join(name),
        content,
        mode,
        server: Server::OpenDkim,
    };
    let (mut key_table, mut signing_table) = (String::from(HEADER), String::from(HEADER));
    let mut files = Vec::new();
    let signed = plan.domains.keys().filter_map(|domain| Some((domain, settings.signing_keys.0.get(domain)?)));
    for (domain, key) in signed {
        let key_file = dir.join("keys").join(format!("{domain}.private"));
        let _ =
            writeln!(key_table, "{DKIM_SELECTOR}._domainkey.{domain} {domain}:{DKIM_SELECTOR}:{}", key_file.display());
        let _ = writeln!(signing_table, "*@{domain} {DKIM_SELECTOR}._domainkey.{domain}");
        files.push(file(format!("keys/{domain}.private"), key.clone(), 0o600));
    }
    files.push(file("opendkim.conf".into(), conf(settings), 0o644));
    files.push(file("key-table".into(), key_table, 0o644));
    files.push(file("signing-table".into(), signing_table, 0o644));
    files
}

/// Signs only (incoming mail is not its business), only what Postfix's submission service
/// hands it (`MTA ORIGINATING`), with relaxed canonicalisation, the `From` header signed
/// once more than it occurs so that none can be added after signing.
fn conf(settings: &Settings) -> String {
    let dir = server_dir(&settings.layout, Server::OpenDkim);
    format!(
        "{HEADER}\
Mode s
MTA ORIGINATING
Syslog no
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
OversignHeaders From
Socket inet:{port}@127.0.0.1
PidFile {pid}
KeyTable file:{dir}/key-table
SigningTable refile:{dir}/signing-table
",
        port = settings.layout.dkim_port,
        pid = settings.layout.opendkim_pid().display(),
        dir = dir.display(),
    )
}
