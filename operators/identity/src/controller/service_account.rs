//! The DirectoryServiceAccount reconcile: the account exists in the agency's `Service
//! Accounts` OU, its credentials are in its Secret, and a new `rotation` value sets a new
//! password. The next password is written to the Secret (as `next-password`) before the
//! directory gets it, so a failure in between never leaves a password nobody knows.

use std::collections::BTreeMap;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::identity::{DirectoryServiceAccount, DirectoryServiceAccountStatus};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    error::ErrorCategory,
    finalizers::{add_finalizer, has_finalizer, remove_finalizer},
    status::apply_status_if_changed,
};

use super::{
    accounts::{self, ACCOUNT_ATTRIBUTES, Departure, Leave},
    context::{Context, MANAGER, Place},
    secrets::{self, NEXT_PASSWORD_KEY, PASSWORD_KEY},
};
use crate::{
    error::Error,
    layout::{LEAVERS, SERVICE_ACCOUNTS, child_dn},
    ldap::{Change, Entry},
    password::unicode_pwd,
    plan::{
        attributes::{changes, differences, present},
        ownership::{Ownership, marker, ownership},
        user::{NEW_SERVICE_UAC, principal_name, service_account_attributes},
    },
};

/// The finalizer that keeps a DirectoryServiceAccount until its account has left.
pub const FINALIZER: &str = "identity.makonis.lv/leaver";

const ATTRIBUTES: [&str; 7] = [
    ACCOUNT_ATTRIBUTES[0],
    ACCOUNT_ATTRIBUTES[1],
    ACCOUNT_ATTRIBUTES[2],
    ACCOUNT_ATTRIBUTES[3],
    "displayName",
    "userPrincipalName",
    "description",
];

fn api(ctx: &Context, namespace: &str) -> Api<DirectoryServiceAccount> {
    Api::namespaced(ctx.client.clone(), namespace)
}

/// The Secret the account's credentials are written to.
pub fn secret_name(account: &DirectoryServiceAccount) -> String {
    account.spec.secret_name.clone().unwrap_or_else(|| format!("{}-directory", account.name_any()))
}

/// One reconcile of a DirectoryServiceAccount.
pub async fn reconcile(account: &DirectoryServiceAccount, ctx: &Context) -> Result<Action, Error> {
    let namespace = account.namespace().unwrap_or_default();
    if !ctx.manages(&namespace) {
        return Ok(Action::await_change());
    }
    let place = match ctx.place(&namespace).await {
        Ok(place) => place,
        Err(Error::Waiting(_)) if account.metadata.deletion_timestamp.is_some() && ctx.unmanaged(&namespace) => {
            remove_finalizer(&api(ctx, &namespace), account, FINALIZER, MANAGER, &ctx.metrics).await?;
            return Ok(Action::await_change());
        }
        Err(error) => {
            write_status(account, ctx, Err(&error)).await?;
            return Err(error);
        }
    };
    let result = if account.metadata.deletion_timestamp.is_some() {
        depart(account, ctx, &place).await
    } else {
        keep(account, ctx, &place).await
    };
    if let Err(error) = &result {
        ctx.forget_if_broken(&place.directory_name, error).await;
        write_status(account, ctx, Err(error)).await?;
        if !matches!(error, Error::Waiting(_)) {
            ctx.events.warn(&account.object_ref(&()), "Reconcile", error).await;
        }
    }
    result
}

async fn keep(account: &DirectoryServiceAccount, ctx: &Context, place: &Place) -> Result<Action, Error> {
    let namespace = account.namespace().unwrap_or_default();
    add_finalizer(&api(ctx, &namespace), account, FINALIZER, MANAGER, &ctx.metrics).await?;
    let marker = marker("DirectoryServiceAccount", &namespace, &account.name_any());
    let dn = child_dn(&account.spec.username, &place.unit(SERVICE_ACCOUNTS));
    let status = account.status.clone().unwrap_or_default();
    let base = &place.directory.spec.base_dn;
    let entry = accounts::find(&place.connection, base, status.object_guid.as_deref(), &dn, &ATTRIBUTES).await?;
    let upn = principal_name(&account.spec.username, &place.upn_suffix());
    let name = secret_name(account);
    let existing = secrets::read(ctx, &namespace, &name).await?;
    let rotation = account.spec.rotation.clone();
    let mut next = DirectoryServiceAccountStatus {
        dn: Some(dn.clone()),
        secret: Some(name.clone()),
        rotation: status.rotation.clone(),
        password_set_at: status.password_set_at.clone(),
        ..DirectoryServiceAccountStatus::default()
    };
    let fields = |password: &str, pending: Option<&str>| {
        let mut data = BTreeMap::from([
            ("username".to_string(), secrets::bytes(&account.spec.username)),
            ("userPrincipalName".to_string(), secrets::bytes(&upn)),
            ("dn".to_string(), secrets::bytes(&dn)),
            (PASSWORD_KEY.to_string(), secrets::bytes(password)),
        ]);
        if let Some(pending) = pending {
            data.insert(NEXT_PASSWORD_KEY.to_string(), secrets::bytes(pending));
        }
        data
    };
    let current_password = existing.as_ref().and_then(|s| secrets::value(s, PASSWORD_KEY)).unwrap_or_default();
    let pending = existing.as_ref().and_then(|s| secrets::value(s, NEXT_PASSWORD_KEY));
    let reference = account.object_ref(&());
    match entry {
        None => {
            let password = match pending {
                Some(pending) => pending,
                None => secrets::generated()?,
            };
            secrets::apply(ctx, account, &name, fields(&current_password, Some(&password))).await?;
            let mut attributes =
                present(&service_account_attributes(&account.spec, &place.upn_suffix(), &marker, NEW_SERVICE_UAC));
            attributes.push(("objectClass".into(), vec![b"user".to_vec()]));
            attributes.push(("sAMAccountName".into(), vec![account.spec.username.clone().into_bytes()]));
            attributes.push(("unicodePwd".into(), vec![unicode_pwd(&password)]));
            place.connection.add(&dn, attributes).await?;
            secrets::apply(ctx, account, &name, fields(&password, None)).await?;
            ctx.events
                .normal(&reference, "Created", "CreateAccount", format!("created {dn}; credentials in {name}"))
                .await;
            next.object_guid = place.connection.read(&dn, &["objectGUID"]).await?.and_then(|e| e.guid);
            next.rotation = rotation;
            next.password_set_at = Some(Timestamp::now().to_string());
        }
        Some(entry) => {
            if let Ownership::Theirs(_) = ownership(&entry, &marker, status.object_guid.as_deref()) {
                return Err(Error::NotOurs(format!(
                    "{} already exists and was not created for this DirectoryServiceAccount; the platform never changes it",
                    entry.dn
                )));
            }
            put_back(account, ctx, place, &entry, &marker).await?;
            next.dn = Some(entry.dn.clone());
            next.object_guid = entry.guid.clone();
            let lost = existing.is_none() || current_password.is_empty();
            if lost || pending.is_some() || status.rotation != rotation {
                let password = match pending {
                    Some(pending) => pending,
                    None => secrets::generated()?,
                };
                secrets::apply(ctx, account, &name, fields(&current_password, Some(&password))).await?;
                place
                    .connection
                    .modify(&entry.dn, vec![Change::Replace("unicodePwd".into(), vec![unicode_pwd(&password)])])
                    .await?;
                secrets::apply(ctx, account, &name, fields(&password, None)).await?;
                let why = if lost { "its Secret had no password" } else { "rotation changed" };
                ctx.events
                    .normal(&reference, "Rotated", "SetPassword", format!("new password for {} ({why})", entry.dn))
                    .await;
                next.rotation = rotation;
                next.password_set_at = Some(Timestamp::now().to_string());
            }
        }
    }
    next.conditions = merge_conditions(
        &status.conditions,
        [DesiredCondition::truthy("Ready", "Reconciled", format!("the account is as declared; credentials in {name}"))],
        account.metadata.generation,
        Timestamp::now(),
    );
    next.observed_generation = account.metadata.generation;
    write_status(account, ctx, Ok(next)).await?;
    Ok(Action::requeue(ctx.config.resync))
}

/// Applies a spec change, or puts the managed attributes back (service accounts are the
/// platform's alone: they are always corrected).
async fn put_back(
    account: &DirectoryServiceAccount,
    ctx: &Context,
    place: &Place,
    entry: &Entry,
    marker: &str,
) -> Result<(), Error> {
    let live_uac = entry.number("userAccountControl").unwrap_or(0) as u32;
    let found = differences(&service_account_attributes(&account.spec, &place.upn_suffix(), marker, live_uac), entry);
    if found.is_empty() {
        return Ok(());
    }
    place.connection.modify(&entry.dn, changes(&found)).await?;
    let words = found.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    let reference = account.object_ref(&());
    let status = account.status.clone().unwrap_or_default();
    if status.observed_generation == account.metadata.generation {
        ctx.events.warning(&reference, "DriftCorrected", "PutBack", format!("put back on {}: {words}", entry.dn)).await;
    } else {
        ctx.events.normal(&reference, "Updated", "UpdateAccount", format!("{}: {words}", entry.dn)).await;
    }
    Ok(())
}

async fn depart(account: &DirectoryServiceAccount, ctx: &Context, place: &Place) -> Result<Action, Error> {
    let namespace = account.namespace().unwrap_or_default();
    if !has_finalizer(account, FINALIZER) {
        return Ok(Action::await_change());
    }
    let status = account.status.clone().unwrap_or_default();
    let marker = marker("DirectoryServiceAccount", &namespace, &account.name_any());
    let dn = status.dn.clone().unwrap_or_else(|| child_dn(&account.spec.username, &place.unit(SERVICE_ACCOUNTS)));
    let base = &place.directory.spec.base_dn;
    let entry = accounts::find(&place.connection, base, status.object_guid.as_deref(), &dn, &ATTRIBUTES).await?;
    let grace = SignedDuration::from_hours(24 * i64::from(place.directory.spec.leaver_grace_days));
    let now = Timestamp::now();
    let leavers = place.unit(LEAVERS);
    let guid = status.object_guid.as_deref();
    let departure = Departure {
        marker: &marker,
        guid,
        leavers_ou: &leavers,
        leaving: status.leaving.as_ref(),
        grace,
        held_by: None,
    };
    match accounts::leave(&place.connection, entry, departure, now).await? {
        Leave::Gone => {
            remove_finalizer(&api(ctx, &namespace), account, FINALIZER, MANAGER, &ctx.metrics).await?;
            Ok(Action::await_change())
        }
        Leave::Waiting(leaving) => {
            let wait = now.duration_until(leaving.delete_after.parse().unwrap_or(now)).unsigned_abs();
            let message = format!("disabled in {leavers}; deleted after {}", leaving.delete_after);
            let mut next = status.clone();
            next.leaving = Some(leaving);
            next.conditions = merge_conditions(
                &status.conditions,
                [DesiredCondition::falsy("Ready", "Leaving", message)],
                account.metadata.generation,
                now,
            );
            write_status(account, ctx, Ok(next)).await?;
            Ok(Action::requeue(wait.min(ctx.config.resync).max(std::time::Duration::from_secs(1))))
        }
    }
}

/// Writes `desired`, or on a failure the current status with `Ready` false and why.
async fn write_status(
    account: &DirectoryServiceAccount,
    ctx: &Context,
    desired: Result<DirectoryServiceAccountStatus, &Error>,
) -> Result<(), Error> {
    let current = account.status.clone().unwrap_or_default();
    let desired = match desired {
        Ok(desired) => desired,
        Err(error) => DirectoryServiceAccountStatus {
            conditions: merge_conditions(
                &current.conditions,
                [DesiredCondition::falsy("Ready", error.category(), error.to_string())],
                account.metadata.generation,
                Timestamp::now(),
            ),
            ..current.clone()
        },
    };
    let api = api(ctx, &account.namespace().unwrap_or_default());
    apply_status_if_changed(&api, account, account.status.as_ref(), &desired, MANAGER, &ctx.metrics).await?;
    Ok(())
}
