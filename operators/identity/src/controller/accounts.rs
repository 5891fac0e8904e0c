//! What people's and services' accounts share: finding an entry again (by its
//! `objectGUID`, wherever someone moved it), and leaving: disable, move to the leavers
//! OU, delete after the grace period.

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use makonis_api::identity::Leaving;

use crate::{
    account::with_enabled,
    error::Error,
    layout::{child_dn, cn_rdn, same_dn},
    ldap::{Change, Connection, Entry, Scope, guid_filter},
    plan::ownership::{Ownership, ownership},
};

/// The attributes every account read asks for.
pub const ACCOUNT_ATTRIBUTES: [&str; 4] = ["objectGUID", "userAccountControl", "adminDescription", "sAMAccountName"];

/// The entry recorded as `guid` (anywhere under `base`), or else the one at `dn`.
pub async fn find(
    connection: &Connection,
    base: &str,
    guid: Option<&str>,
    dn: &str,
    attributes: &[&str],
) -> Result<Option<Entry>, Error> {
    if let Some(filter) = guid.and_then(guid_filter)
        && let Some(entry) = connection.search(base, Scope::Subtree, &filter, attributes).await?.into_iter().next()
    {
        return Ok(Some(entry));
    }
    Ok(connection.read(dn, attributes).await?)
}

/// Where a leaving account is.
pub enum Leave {
    /// Deleted (or never ours, or never there): the object may go.
    Gone,
    /// Disabled in the leavers OU until the time given.
    Waiting(Leaving),
}

/// What an account's way out needs to know besides the entry.
pub struct Departure<'a> {
    /// The marker that proves the entry is ours.
    pub marker: &'a str,
    /// The `objectGUID` the status recorded.
    pub guid: Option<&'a str>,
    /// The agency's leavers OU.
    pub leavers_ou: &'a str,
    /// What the status recorded of an earlier step.
    pub leaving: Option<&'a Leaving>,
    /// How long a leaver waits before deletion.
    pub grace: SignedDuration,
    /// What keeps the account after its grace period (a mailbox whose mail is kept).
    pub held_by: Option<String>,
}

/// One step of an account's way out, for `entry` as found.
pub async fn leave(
    connection: &Connection,
    entry: Option<Entry>,
    departure: Departure<'_>,
    now: Timestamp,
) -> Result<Leave, Error> {
    let Departure { marker, guid, leavers_ou, leaving, grace, held_by } = departure;
    let Some(entry) = entry else { return Ok(Leave::Gone) };
    if ownership(&entry, marker, guid) != Ownership::Ours {
        tracing::info!(dn = %entry.dn, "the entry at the account's place is not the platform's; left untouched");
        return Ok(Leave::Gone);
    }
    let mut leaving = match leaving {
        Some(leaving) => leaving.clone(),
        None => {
            let delete_after = now.checked_add(grace).unwrap_or(now);
            Leaving { since: now.to_string(), delete_after: delete_after.to_string(), held_by: None }
        }
    };
    leaving.held_by = held_by;
    let parent_is_leavers = entry.dn.split_once(',').is_some_and(|(_, parent)| same_dn(parent, leavers_ou));
    if !parent_is_leavers {
        let uac = entry.number("userAccountControl").unwrap_or(0) as u32;
        if with_enabled(uac, false) != uac {
            connection
                .modify(
                    &entry.dn,
                    vec![Change::Replace(
                        "userAccountControl".into(),
                        vec![with_enabled(uac, false).to_string().into_bytes()],
                    )],
                )
                .await?;
        }
        // In the leavers OU the account is named by its unique sign-in name, so two
        // people of the same name can leave at once.
        let username = entry.first("sAMAccountName").unwrap_or_default().to_string();
        let leaver_dn = child_dn(&username, leavers_ou);
        connection.rename(&entry.dn, &cn_rdn(&username), leavers_ou).await?;
        tracing::info!(from = %entry.dn, to = %leaver_dn, "disabled the account and moved it to the leavers");
    }
    let due: Timestamp = leaving.delete_after.parse().unwrap_or(now);
    if now >= due && leaving.held_by.is_none() {
        let dn = if parent_is_leavers {
            entry.dn.clone()
        } else {
            child_dn(entry.first("sAMAccountName").unwrap_or_default(), leavers_ou)
        };
        connection.delete(&dn).await?;
        tracing::info!(%dn, "deleted the account after its grace period");
        return Ok(Leave::Gone);
    }
    Ok(Leave::Waiting(leaving))
}
