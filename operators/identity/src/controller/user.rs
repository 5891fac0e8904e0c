//! The DirectoryUser reconcile: create the account (password set over TLS, to be changed at
//! the first sign-in), keep its attributes and place as declared, hand the initial
//! password over once, and see it out when the object is deleted.

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::identity::{DirectoryUser, DirectoryUserStatus, DriftPolicy, Leaving};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    error::ErrorCategory,
    finalizers::{add_finalizer, has_finalizer, remove_finalizer},
    status::apply_status_merged,
};

use super::{
    accounts::{self, ACCOUNT_ATTRIBUTES, Departure, Leave},
    context::{Context, MANAGER, Place},
    secrets,
};
use crate::{
    error::Error,
    layout::{LEAVERS, PEOPLE, cn_rdn, same_dn},
    ldap::{DirectoryError, Entry},
    password::unicode_pwd,
    plan::{
        attributes::{Difference, changes, differences, names, present},
        ownership::{Ownership, marker, ownership},
        user::{Linked, new_user_uac, principal_name, proxy_addresses, user_attributes, user_cn, user_dn},
    },
};

/// The finalizer that keeps a DirectoryUser until its account has left the directory.
pub const FINALIZER: &str = "identity.makonis.lv/leaver";

/// The attributes read from a person's account.
const USER_ATTRIBUTES: [&str; 15] = [
    ACCOUNT_ATTRIBUTES[0],
    ACCOUNT_ATTRIBUTES[1],
    ACCOUNT_ATTRIBUTES[2],
    ACCOUNT_ATTRIBUTES[3],
    "givenName",
    "sn",
    "displayName",
    "userPrincipalName",
    "mail",
    "proxyAddresses",
    "title",
    "department",
    "manager",
    "accountExpires",
    "pwdLastSet",
];

/// The name of the Secret a person's generated initial password is handed over in.
pub fn initial_password_secret(user: &DirectoryUser) -> String {
    format!("{}-initial-password", user.name_any())
}

/// What one reconcile found, for the status.
#[derive(Default)]
struct Report {
    /// Whether the object's spec was carried out (its generation counts as observed).
    settled: bool,
    ready: Option<DesiredCondition>,
    in_sync: Option<DesiredCondition>,
    password: Option<DesiredCondition>,
    dn: Option<String>,
    guid: Option<String>,
    initial_secret: Option<Option<String>>,
    leaving: Option<Option<Leaving>>,
}

/// One reconcile of a DirectoryUser.
pub async fn reconcile(user: &DirectoryUser, ctx: &Context) -> Result<Action, Error> {
    let namespace = user.namespace().unwrap_or_default();
    if !ctx.manages(&namespace) {
        return Ok(Action::await_change());
    }
    announce(user, ctx, &namespace);
    let place = match ctx.place(&namespace).await {
        Ok(place) => place,
        Err(Error::Waiting(_)) if user.metadata.deletion_timestamp.is_some() && ctx.unmanaged(&namespace) => {
            // Nothing to leave: the agency or its directory is gone.
            remove_finalizer(&api(ctx, &namespace), user, FINALIZER, MANAGER, &ctx.metrics).await?;
            return Ok(Action::await_change());
        }
        Err(error) => {
            write_status(user, ctx, failed(&error)).await?;
            return Err(error);
        }
    };
    let result = if user.metadata.deletion_timestamp.is_some() {
        depart(user, ctx, &place).await
    } else {
        keep(user, ctx, &place).await
    };
    if let Err(error) = &result {
        ctx.forget_if_broken(&place.directory_name, error).await;
        write_status(user, ctx, failed(error)).await?;
        if let Error::Directory(DirectoryError::PasswordPolicy(words)) = error {
            ctx.events.warning(&user.object_ref(&()), "PasswordRefused", "SetPassword", words.clone()).await;
        } else if !matches!(error, Error::Waiting(_)) {
            // Waiting resolves by itself; the condition says what for.
            ctx.events.warn(&user.object_ref(&()), "Reconcile", error).await;
        }
    }
    result
}

fn api(ctx: &Context, namespace: &str) -> Api<DirectoryUser> {
    Api::namespaced(ctx.client.clone(), namespace)
}

fn failed(error: &Error) -> Report {
    let mut report = Report {
        ready: Some(DesiredCondition::falsy("Ready", error.category(), error.to_string())),
        ..Report::default()
    };
    if let Error::Directory(DirectoryError::PasswordPolicy(words)) = error {
        report.password = Some(DesiredCondition::falsy(
            "PasswordSet",
            "PasswordPolicy",
            format!("the directory refused the password: {words}"),
        ));
    }
    report
}

/// Tells the person's groups and the agency's role groups when what they derive from the
/// person changed.
fn announce(user: &DirectoryUser, ctx: &Context, namespace: &str) {
    let key = format!("{namespace}/{}", user.name_any());
    let dn = user.status.as_ref().and_then(|s| s.dn.clone());
    let leaving = user.metadata.deletion_timestamp.is_some();
    let groups = &user.spec.groups;
    if let Some(before) =
        ctx.nudges.changed_groups(&format!("groups:{key}"), &(&dn, groups, leaving), groups.is_empty(), groups)
    {
        // The groups the person names now or named before, and those that list them.
        let name = user.name_any();
        let mut targets: std::collections::BTreeSet<String> =
            before.into_iter().chain(groups.iter().cloned()).collect();
        for group in ctx.stores.groups.state().iter().filter(|g| g.namespace().as_deref() == Some(namespace)) {
            if group.spec.members.iter().any(|m| m.user.as_deref() == Some(name.as_str())) {
                targets.insert(group.name_any());
            }
        }
        ctx.nudges.groups(targets.iter().map(|g| kube::runtime::reflector::ObjectRef::new(g).within(namespace)));
    }
    if ctx.nudges.changed(&format!("roles:{key}"), &(&dn, &user.spec.roles, leaving), user.spec.roles.is_empty())
        && let Some(agency) = ctx.agency_of(namespace)
        && let Some(directory) = ctx.directory_of(&agency)
    {
        ctx.nudges.directory(&directory.name_any());
    }
}

/// What the account takes from other objects: the manager's DN and the mailbox's
/// addresses.
fn linked(user: &DirectoryUser, ctx: &Context, namespace: &str) -> Result<Linked, Error> {
    let manager_dn = manager_dn(user, ctx, namespace)?;
    let mailbox = ctx.mailbox_of(namespace, &user.name_any());
    let status = mailbox.as_ref().and_then(|m| m.status.as_ref());
    let proxy_addresses =
        proxy_addresses(status.and_then(|s| s.address.as_deref()), status.map_or(&[][..], |s| &s.aliases));
    Ok(Linked { manager_dn, proxy_addresses })
}

/// The manager's DN, from their DirectoryUser's status.
fn manager_dn(user: &DirectoryUser, ctx: &Context, namespace: &str) -> Result<Option<String>, Error> {
    let Some(manager) = &user.spec.manager else { return Ok(None) };
    let found = ctx
        .stores
        .users
        .state()
        .into_iter()
        .find(|u| u.namespace().as_deref() == Some(namespace) && &u.name_any() == manager)
        .and_then(|u| u.status.as_ref().and_then(|s| s.dn.clone()));
    found.map(Some).ok_or_else(|| Error::Waiting(format!("manager: the DirectoryUser {manager} has no account yet")))
}

/// Creates or keeps the account as declared.
async fn keep(user: &DirectoryUser, ctx: &Context, place: &Place) -> Result<Action, Error> {
    let namespace = user.namespace().unwrap_or_default();
    add_finalizer(&api(ctx, &namespace), user, FINALIZER, MANAGER, &ctx.metrics).await?;
    let marker = marker("DirectoryUser", &namespace, &user.name_any());
    let people = place.unit(PEOPLE);
    let dn = user_dn(&user.spec, &people);
    let status = user.status.clone().unwrap_or_default();
    let linked = linked(user, ctx, &namespace)?;
    let base = &place.directory.spec.base_dn;
    let entry = accounts::find(&place.connection, base, status.object_guid.as_deref(), &dn, &USER_ATTRIBUTES).await?;
    let report = match entry {
        None => create(user, ctx, place, &dn, &marker, &linked).await?,
        Some(entry) => match ownership(&entry, &marker, status.object_guid.as_deref()) {
            Ownership::Theirs(owner) => {
                let whose = owner.map_or_else(|| "someone outside the platform".to_string(), |m| format!("{m:?}"));
                return Err(Error::NotOurs(format!(
                    "{} already exists and was created by {whose}; the platform never changes it. Choose another \
                     displayName, or have the directory's administrators remove that entry",
                    entry.dn
                )));
            }
            Ownership::Ours => update(user, ctx, place, entry, &dn, &marker, &linked).await?,
        },
    };
    write_status(user, ctx, report).await?;
    Ok(Action::requeue(ctx.config.resync))
}

/// Creates the account, with the password and the must-change flag in the same add.
async fn create(
    user: &DirectoryUser,
    ctx: &Context,
    place: &Place,
    dn: &str,
    marker: &str,
    linked: &Linked,
) -> Result<Report, Error> {
    let namespace = user.namespace().unwrap_or_default();
    let upn = principal_name(&user.spec.username, &place.upn_suffix());
    let (password, secret) = match &user.spec.password {
        Some(source) => {
            // A one-time Secret is deleted like a generated one once the person has set
            // their own password; any other stays the agency's.
            let (password, one_time) = secrets::referenced_password(ctx, &namespace, &source.secret_ref).await?;
            (password, one_time.then(|| source.secret_ref.clone()))
        }
        None => {
            let name = initial_password_secret(user);
            let fields = [("username", user.spec.username.clone()), ("userPrincipalName", upn.clone())];
            (secrets::initial_password(ctx, user, &name, &fields).await?, Some(name))
        }
    };
    let wanted = user_attributes(&user.spec, &place.upn_suffix(), linked, marker, new_user_uac(&user.spec))
        .map_err(Error::InvalidSpec)?;
    let mut attributes = present(&wanted);
    attributes.push(("objectClass".into(), vec![b"user".to_vec()]));
    attributes.push(("sAMAccountName".into(), vec![user.spec.username.clone().into_bytes()]));
    attributes.push(("unicodePwd".into(), vec![unicode_pwd(&password)]));
    attributes.push(("pwdLastSet".into(), vec![b"0".to_vec()]));
    place.connection.add(dn, attributes).await?;
    let entry = place.connection.read(dn, &["objectGUID"]).await?;
    tracing::info!(%dn, "created the account");
    ctx.events.normal(&user.object_ref(&()), "Created", "CreateAccount", format!("created {dn}")).await;
    let handed = match &secret {
        Some(name) => format!("the initial password is in the Secret {name} until the person changes it"),
        None => "the initial password came from password.secretRef".to_string(),
    };
    Ok(Report {
        settled: true,
        ready: Some(DesiredCondition::truthy("Ready", "Created", format!("{dn} created; {handed}"))),
        in_sync: Some(DesiredCondition::truthy("InSync", "AsDeclared", "the account is as declared")),
        password: Some(DesiredCondition::truthy(
            "PasswordSet",
            "MustChangeAtSignIn",
            "the initial password was accepted; the person must change it at the first sign-in",
        )),
        dn: Some(dn.to_string()),
        guid: entry.and_then(|e| e.guid),
        initial_secret: Some(secret),
        leaving: Some(None),
    })
}

/// Keeps an existing account as declared: spec changes are applied; direct changes are
/// put back or reported, as the drift policy says.
async fn update(
    user: &DirectoryUser,
    ctx: &Context,
    place: &Place,
    entry: Entry,
    dn: &str,
    marker: &str,
    linked: &Linked,
) -> Result<Report, Error> {
    let namespace = user.namespace().unwrap_or_default();
    let status = user.status.clone().unwrap_or_default();
    let live_uac = entry.number("userAccountControl").unwrap_or(0) as u32;
    let wanted =
        user_attributes(&user.spec, &place.upn_suffix(), linked, marker, live_uac).map_err(Error::InvalidSpec)?;
    let found = differences(&wanted, &entry);
    let moved = !same_dn(&entry.dn, dn);
    let spec_changed = status.observed_generation != user.metadata.generation;
    let policy = user.spec.drift.unwrap_or(place.directory.spec.drift);
    let reference = user.object_ref(&());
    let in_sync = if found.is_empty() && !moved {
        DesiredCondition::truthy("InSync", "AsDeclared", "the account is as declared")
    } else if spec_changed || policy == DriftPolicy::Correct {
        if moved {
            place.connection.rename(&entry.dn, &cn_rdn(&user_cn(&user.spec)), &place.unit(PEOPLE)).await?;
        }
        place.connection.modify(dn, changes(&found)).await?;
        let what = describe(&found, moved.then_some(entry.dn.as_str()));
        if spec_changed {
            ctx.events.normal(&reference, "Updated", "UpdateAccount", format!("{dn}: {what}")).await;
        } else {
            ctx.events.warning(&reference, "DriftCorrected", "PutBack", format!("put back on {dn}: {what}")).await;
        }
        DesiredCondition::truthy("InSync", "AsDeclared", "the account is as declared")
    } else {
        let what = describe(&found, moved.then_some(entry.dn.as_str()));
        ctx.events.warning(&reference, "DriftReported", "Compare", format!("{}: {what}", entry.dn)).await;
        DesiredCondition::falsy(
            "InSync",
            "DriftReported",
            format!("changed in the directory, not put back (drift: Report): {}", names(&found)),
        )
    };
    let mut report = Report {
        settled: true,
        ready: Some(DesiredCondition::truthy("Ready", "Reconciled", format!("{dn} is as declared"))),
        in_sync: Some(in_sync),
        dn: Some(if policy == DriftPolicy::Report && moved && !spec_changed {
            entry.dn.clone()
        } else {
            dn.to_string()
        }),
        guid: entry.guid.clone().or(status.object_guid.clone()),
        leaving: Some(None),
        ..Report::default()
    };
    // The person changed the initial password: the Secret has done its job.
    if entry.first("pwdLastSet").is_some_and(|v| v != "0") && !changed_by_person(&status) {
        if let Some(secret) = one_time_secret(user, ctx, &namespace, &status).await?
            && secrets::delete(ctx, &namespace, &secret).await?
        {
            ctx.events
                .normal(
                    &reference,
                    "PasswordChanged",
                    "DeleteInitialPassword",
                    format!("the person set their own password; the Secret {secret} with the initial one was deleted"),
                )
                .await;
        }
        report.initial_secret = Some(None);
        report.password =
            Some(DesiredCondition::truthy("PasswordSet", CHANGED_BY_PERSON, "the person has set their own password"));
    }
    Ok(report)
}

/// The `PasswordSet` reason once the person has set their own password.
const CHANGED_BY_PERSON: &str = "ChangedByPerson";

/// Whether the status already records that the person set their own password.
fn changed_by_person(status: &DirectoryUserStatus) -> bool {
    status.conditions.iter().any(|c| c.type_ == "PasswordSet" && c.reason == CHANGED_BY_PERSON)
}

/// The Secret holding the person's initial password for one use: the one the status names
/// or, when the status does not (it was written from a copy of the object older than the
/// controller's own last write, which a cache can hand a reconcile), the one the spec leads
/// to: the generated Secret, or a referenced Secret labelled for one use. A Secret the
/// agency keeps for itself is never one.
async fn one_time_secret(
    user: &DirectoryUser,
    ctx: &Context,
    namespace: &str,
    status: &DirectoryUserStatus,
) -> Result<Option<String>, Error> {
    if let Some(name) = &status.initial_password_secret {
        return Ok(Some(name.clone()));
    }
    Ok(match &user.spec.password {
        None => Some(initial_password_secret(user)),
        Some(source) => secrets::read(ctx, namespace, &source.secret_ref)
            .await?
            .filter(secrets::is_one_time)
            .map(|_| source.secret_ref.clone()),
    })
}

/// The differences (and a move from `moved_from`) in words, each attribute named.
fn describe(found: &[Difference], moved_from: Option<&str>) -> String {
    let mut parts: Vec<String> = found.iter().map(ToString::to_string).collect();
    if let Some(from) = moved_from {
        parts.insert(0, format!("the entry was at {from}"));
    }
    parts.join("; ")
}

/// Sees the account out: disable and move to the leavers OU, delete after the grace period.
async fn depart(user: &DirectoryUser, ctx: &Context, place: &Place) -> Result<Action, Error> {
    let namespace = user.namespace().unwrap_or_default();
    if !has_finalizer(user, FINALIZER) {
        return Ok(Action::await_change());
    }
    let status = user.status.clone().unwrap_or_default();
    let marker = marker("DirectoryUser", &namespace, &user.name_any());
    let dn = status.dn.clone().unwrap_or_else(|| user_dn(&user.spec, &place.unit(PEOPLE)));
    let base = &place.directory.spec.base_dn;
    let entry = accounts::find(&place.connection, base, status.object_guid.as_deref(), &dn, &USER_ATTRIBUTES).await?;
    let grace = SignedDuration::from_hours(24 * i64::from(place.directory.spec.leaver_grace_days));
    let now = Timestamp::now();
    let leavers = place.unit(LEAVERS);
    let departure = Departure {
        marker: &marker,
        guid: status.object_guid.as_deref(),
        leavers_ou: &leavers,
        leaving: status.leaving.as_ref(),
        grace,
        held_by: ctx.mailbox_of(&namespace, &user.name_any()).map(|m| format!("Mailbox {}", m.name_any())),
    };
    let step = accounts::leave(&place.connection, entry, departure, now).await?;
    match step {
        Leave::Gone => {
            ctx.events
                .normal(&user.object_ref(&()), "Deleted", "DeleteAccount", format!("{dn} left the directory"))
                .await;
            remove_finalizer(&api(ctx, &namespace), user, FINALIZER, MANAGER, &ctx.metrics).await?;
            Ok(Action::await_change())
        }
        Leave::Waiting(leaving) => {
            let message = match &leaving.held_by {
                None => format!(
                    "disabled and moved to {}; deleted from the directory after {}",
                    place.unit(LEAVERS),
                    leaving.delete_after
                ),
                Some(holder) => format!(
                    "disabled and moved to {}; kept in the directory while {holder} keeps the person's mail \
                     (delete the Mailbox when its retention allows)",
                    place.unit(LEAVERS)
                ),
            };
            if status.leaving.is_none() {
                ctx.events.normal(&user.object_ref(&()), "Leaving", "DisableAccount", message.clone()).await;
            }
            let due: Timestamp = leaving.delete_after.parse().unwrap_or(now);
            // A held account waits for its Mailbox to go (whose deletion wakes this reconcile).
            let wait = match leaving.held_by {
                Some(_) => ctx.config.resync,
                None => now.duration_until(due).unsigned_abs().min(ctx.config.resync),
            };
            write_status(
                user,
                ctx,
                Report {
                    ready: Some(DesiredCondition::falsy("Ready", "Leaving", message)),
                    leaving: Some(Some(leaving)),
                    ..Report::default()
                },
            )
            .await?;
            Ok(Action::requeue(wait.max(std::time::Duration::from_secs(1))))
        }
    }
}

/// Writes the status: the report's parts over the current status (read fresh before the
/// write, so what an earlier reconcile recorded is kept even when this one ran on an
/// older cached copy).
async fn write_status(user: &DirectoryUser, ctx: &Context, report: Report) -> Result<(), Error> {
    let generation = user.metadata.generation;
    let now = Timestamp::now();
    let merge = |current: Option<&DirectoryUserStatus>| {
        let current = current.cloned().unwrap_or_default();
        let conditions = [&report.ready, &report.in_sync, &report.password].into_iter().flatten().cloned();
        DirectoryUserStatus {
            conditions: merge_conditions(&current.conditions, conditions, generation, now),
            observed_generation: if report.settled { generation } else { current.observed_generation },
            dn: report.dn.clone().or(current.dn),
            object_guid: report.guid.clone().or(current.object_guid),
            initial_password_secret: report.initial_secret.clone().unwrap_or(current.initial_password_secret),
            leaving: report.leaving.clone().unwrap_or(current.leaving),
        }
    };
    let api = api(ctx, &user.namespace().unwrap_or_default());
    apply_status_merged(&api, user, user.status.as_ref(), merge, MANAGER, &ctx.metrics).await?;
    Ok(())
}
