//! Shared mailboxes on the mail server: every folder's access list of each mailbox that
//! the plan shares, or whose status still names delegates (access to take back), is read
//! with `doveadm acl get` and changed to what the plan says ([`crate::sharing`]). Dovecot
//! keeps the lists in the mailbox's storage and the index of who can open what in
//! `shared-mailboxes.db` under the mail root, updating both as the lists change.

use std::collections::{BTreeMap, BTreeSet};

use makonis_api::mail::MailboxAccess;

use super::{context::Context, doveadm::doveadm, reload::is_running};
use crate::{
    address::Address,
    error::Error,
    plan::Plan,
    render::Server,
    sharing::{AclChange, acl_changes, parse_acl, parse_folders},
};

/// How applying one mailbox's access lists went: `Ok` with the number of entries
/// changed, or what `doveadm` said.
pub type Outcomes = BTreeMap<Address, Result<usize, String>>;

/// Applies the access lists of the plan's shared mailboxes and of `previously_shared`
/// (addresses whose statuses name delegates); a mailbox the plan no longer serves is left
/// alone (its storage stays as it is, and nobody can sign in to open it). The lists change
/// through Dovecot (it looks the owner up), so nothing is applied while it is not running.
pub async fn apply_all(ctx: &Context, plan: &Plan, previously_shared: BTreeSet<Address>) -> Outcomes {
    let owners: BTreeSet<Address> = plan.shares.keys().cloned().chain(previously_shared).collect();
    let owners = owners.into_iter().filter(|owner| plan.mailboxes.contains_key(owner));
    if !is_running(&ctx.config, Server::Dovecot) {
        let waiting = || Err("Dovecot is not running; the access lists change once it runs".to_owned());
        return owners.map(|owner| (owner, waiting())).collect();
    }
    let none = BTreeMap::new();
    let mut outcomes = Outcomes::new();
    for owner in owners {
        let delegates: BTreeMap<String, MailboxAccess> = plan
            .shares
            .get(&owner)
            .unwrap_or(&none)
            .iter()
            .map(|(address, access)| (address.to_string(), *access))
            .collect();
        let outcome = apply(ctx, &owner, &delegates).await.map_err(|error| error.to_string());
        match &outcome {
            Ok(0) => {}
            Ok(changed) => tracing::info!(mailbox = %owner, changed, "shared mailbox access changed"),
            Err(error) => tracing::warn!(mailbox = %owner, %error, "shared mailbox access not applied"),
        }
        outcomes.insert(owner, outcome);
    }
    outcomes
}

/// Makes every folder of `owner` open to exactly `delegates`; returns how many entries
/// changed.
async fn apply(ctx: &Context, owner: &Address, delegates: &BTreeMap<String, MailboxAccess>) -> Result<usize, Error> {
    let config = ctx.config.layout.dovecot_conf().display().to_string();
    let owner = owner.to_string();
    let listed = doveadm(ctx, &["-c", &config, "mailbox", "list", "-u", &owner]).await?;
    let mut folders = parse_folders(&listed);
    if !folders.iter().any(|f| f == "INBOX") {
        folders.insert(0, "INBOX".to_owned());
    }
    let mut changed = 0;
    for folder in &folders {
        let printed = doveadm(ctx, &["-c", &config, "-f", "tab", "acl", "get", "-u", &owner, folder]).await?;
        let current = parse_acl(&printed).map_err(Error::Doveadm)?;
        for change in acl_changes(&current, delegates) {
            match &change {
                AclChange::Set { id, rights } => {
                    let mut args = vec!["-c", &config, "acl", "set", "-u", &owner, folder, id];
                    args.extend(rights.iter().copied());
                    doveadm(ctx, &args).await?;
                }
                AclChange::Delete { id } => {
                    doveadm(ctx, &["-c", &config, "acl", "delete", "-u", &owner, folder, id]).await?;
                }
            }
            changed += 1;
        }
    }
    Ok(changed)
}
