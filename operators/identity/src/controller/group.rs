//! The DirectoryGroup reconcile: the group exists in the agency's `Groups` OU with its
//! declared attributes, and its members are exactly the declared ones and the people who
//! name it.

use k8s_openapi::jiff::Timestamp;
use kube::{Api, Resource, ResourceExt, runtime::controller::Action, runtime::reflector::ObjectRef};
use makonis_api::identity::{DirectoryGroup, DirectoryGroupStatus, DriftPolicy};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    error::ErrorCategory,
    finalizers::{add_finalizer, remove_finalizer},
    status::apply_status_if_changed,
};

use super::{
    accounts,
    context::{Context, MANAGER, Place},
};
use crate::{
    error::Error,
    layout::{GROUPS, child_dn, cn_rdn, is_inside, same_dn},
    ldap::{Change, Entry},
    plan::{
        attributes::{changes, differences, names, present},
        group::{group_attributes, member_changes},
        ownership::{MARKER_ATTRIBUTE, Ownership, marker, ownership},
    },
};

/// The finalizer that keeps a DirectoryGroup until its group is deleted from the directory.
pub const FINALIZER: &str = "identity.makonis.lv/group";

/// The attributes read from a group.
const GROUP_ATTRIBUTES: [&str; 7] =
    ["objectGUID", "member", "groupType", "description", "mail", MARKER_ATTRIBUTE, "sAMAccountName"];

fn api(ctx: &Context, namespace: &str) -> Api<DirectoryGroup> {
    Api::namespaced(ctx.client.clone(), namespace)
}

/// One reconcile of a DirectoryGroup.
pub async fn reconcile(group: &DirectoryGroup, ctx: &Context) -> Result<Action, Error> {
    let namespace = group.namespace().unwrap_or_default();
    if !ctx.manages(&namespace) {
        return Ok(Action::await_change());
    }
    announce(group, ctx, &namespace);
    let place = match ctx.place(&namespace).await {
        Ok(place) => place,
        Err(Error::Waiting(_)) if group.metadata.deletion_timestamp.is_some() && ctx.unmanaged(&namespace) => {
            remove_finalizer(&api(ctx, &namespace), group, FINALIZER, MANAGER, &ctx.metrics).await?;
            return Ok(Action::await_change());
        }
        Err(error) => {
            write_status(group, ctx, Err(&error), None, None, 0).await?;
            return Err(error);
        }
    };
    let result = if group.metadata.deletion_timestamp.is_some() {
        remove(group, ctx, &place).await
    } else {
        keep(group, ctx, &place).await
    };
    if let Err(error) = &result {
        ctx.forget_if_broken(&place.directory_name, error).await;
        write_status(group, ctx, Err(error), None, None, 0).await?;
        if !matches!(error, Error::Waiting(_)) {
            ctx.events.warn(&group.object_ref(&()), "Reconcile", error).await;
        }
    }
    result
}

/// The groups that contain this one need its DN once it has one.
fn announce(group: &DirectoryGroup, ctx: &Context, namespace: &str) {
    let dn = group.status.as_ref().and_then(|s| s.dn.clone());
    let key = format!("group:{namespace}/{}", group.name_any());
    if ctx.nudges.changed(&key, &(&dn, group.metadata.deletion_timestamp.is_some()), dn.is_none()) {
        let groups = ctx.stores.groups.state();
        ctx.nudges.groups(
            groups
                .iter()
                .filter(|g| g.namespace().as_deref() == Some(namespace))
                .filter(|g| g.spec.members.iter().any(|m| m.group.as_deref() == Some(group.name_any().as_str())))
                .map(|g| ObjectRef::from_obj(&**g)),
        );
    }
}

/// The DNs the group should hold, and the members that have no DN yet.
fn wanted_members(group: &DirectoryGroup, ctx: &Context, place: &Place) -> Result<(Vec<String>, Vec<String>), Error> {
    let namespace = group.namespace().unwrap_or_default();
    let users = ctx.stores.users.state();
    let groups = ctx.stores.groups.state();
    let in_namespace = |ns: Option<String>| ns.as_deref() == Some(namespace.as_str());
    let user_dn = |name: &str| {
        users
            .iter()
            .find(|u| in_namespace(u.namespace()) && u.name_any() == name && u.metadata.deletion_timestamp.is_none())
            .and_then(|u| u.status.as_ref().and_then(|s| s.dn.clone()))
    };
    let (mut dns, mut pending) = (Vec::new(), Vec::new());
    for (i, member) in group.spec.members.iter().enumerate() {
        if let Some(user) = &member.user {
            match user_dn(user) {
                Some(dn) => dns.push(dn),
                None => pending.push(format!("user {user}")),
            }
        } else if let Some(name) = &member.group {
            let dn = groups
                .iter()
                .find(|g| in_namespace(g.namespace()) && &g.name_any() == name)
                .and_then(|g| g.status.as_ref().and_then(|s| s.dn.clone()));
            match dn {
                Some(dn) => dns.push(dn),
                None => pending.push(format!("group {name}")),
            }
        } else if let Some(dn) = &member.dn {
            if !is_inside(dn, &place.agency_ou) {
                return Err(Error::InvalidSpec(format!(
                    "spec.members[{i}].dn: {dn} is not inside the agency's organizational unit {}",
                    place.agency_ou
                )));
            }
            dns.push(dn.clone());
        }
    }
    let name = group.name_any();
    for user in users.iter().filter(|u| in_namespace(u.namespace()) && u.spec.groups.contains(&name)) {
        if user.metadata.deletion_timestamp.is_some() {
            continue;
        }
        match user.status.as_ref().and_then(|s| s.dn.clone()) {
            Some(dn) => dns.push(dn),
            None => pending.push(format!("user {}", user.name_any())),
        }
    }
    dns.sort();
    dns.dedup();
    Ok((dns, pending))
}

async fn keep(group: &DirectoryGroup, ctx: &Context, place: &Place) -> Result<Action, Error> {
    let namespace = group.namespace().unwrap_or_default();
    add_finalizer(&api(ctx, &namespace), group, FINALIZER, MANAGER, &ctx.metrics).await?;
    let marker = marker("DirectoryGroup", &namespace, &group.name_any());
    let units = place.unit(GROUPS);
    let dn = child_dn(&group.spec.name, &units);
    let status = group.status.clone().unwrap_or_default();
    let (members, pending) = wanted_members(group, ctx, place)?;
    let base = &place.directory.spec.base_dn;
    let entry = accounts::find(&place.connection, base, status.object_guid.as_deref(), &dn, &GROUP_ATTRIBUTES).await?;
    let reference = group.object_ref(&());
    let wanted = group_attributes(&group.spec, &marker);
    let (guid, in_sync) = match entry {
        None => {
            let mut attributes = present(&wanted);
            attributes.push(("objectClass".into(), vec![b"group".to_vec()]));
            attributes.push(("sAMAccountName".into(), vec![group.spec.name.clone().into_bytes()]));
            if !members.is_empty() {
                attributes.push(("member".into(), members.iter().map(|m| m.clone().into_bytes()).collect()));
            }
            place.connection.add(&dn, attributes).await?;
            ctx.events.normal(&reference, "Created", "CreateGroup", format!("created {dn}")).await;
            let guid = place.connection.read(&dn, &["objectGUID"]).await?.and_then(|e| e.guid);
            (guid, DesiredCondition::truthy("InSync", "AsDeclared", "the group is as declared"))
        }
        Some(entry) => match ownership(&entry, &marker, status.object_guid.as_deref()) {
            Ownership::Theirs(_) => {
                return Err(Error::NotOurs(format!(
                    "{} already exists and was not created for this DirectoryGroup; the platform never changes it",
                    entry.dn
                )));
            }
            Ownership::Ours => {
                let in_sync = update(group, ctx, place, &entry, &dn, &members).await?;
                (entry.guid.clone(), in_sync)
            }
        },
    };
    let ready = if pending.is_empty() {
        Ok(())
    } else {
        Err(Error::Waiting(format!("members without an account yet: {}", pending.join(", "))))
    };
    write_status(group, ctx, ready.as_ref().map(|_| ()), Some((dn, guid)), Some(in_sync), members.len() as u32).await?;
    Ok(Action::requeue(if pending.is_empty() { ctx.config.resync } else { std::time::Duration::from_secs(5) }))
}

/// Applies spec changes and puts back (or reports) direct changes of an existing group.
async fn update(
    group: &DirectoryGroup,
    ctx: &Context,
    place: &Place,
    entry: &Entry,
    dn: &str,
    members: &[String],
) -> Result<DesiredCondition, Error> {
    let namespace = group.namespace().unwrap_or_default();
    let marker = marker("DirectoryGroup", &namespace, &group.name_any());
    let status = group.status.clone().unwrap_or_default();
    let spec_changed = status.observed_generation != group.metadata.generation;
    let correct = spec_changed || group.spec.drift.unwrap_or(place.directory.spec.drift) == DriftPolicy::Correct;
    let found = differences(&group_attributes(&group.spec, &marker), entry);
    let moved = !same_dn(&entry.dn, dn);
    let member_diff = member_changes(entry.values("member"), members);
    let reference = group.object_ref(&());
    let mut words: Vec<String> = found.iter().map(ToString::to_string).collect();
    if moved {
        words.insert(0, format!("the group was at {}", entry.dn));
    }
    if !member_diff.remove.is_empty() {
        words.push(format!("members not declared: {}", member_diff.remove.join("; ")));
    }
    if !correct {
        // Declared members are added whatever the policy: that is the spec, not drift.
        if !member_diff.add.is_empty() {
            place.connection.modify(&entry.dn, vec![Change::Add("member".into(), bytes(&member_diff.add))]).await?;
        }
        if words.is_empty() {
            return Ok(DesiredCondition::truthy("InSync", "AsDeclared", "the group is as declared"));
        }
        ctx.events.warning(&reference, "DriftReported", "Compare", format!("{}: {}", entry.dn, words.join("; "))).await;
        return Ok(DesiredCondition::falsy(
            "InSync",
            "DriftReported",
            format!("changed in the directory, not put back (drift: Report): {}", names(&found)),
        ));
    }
    if moved {
        place.connection.rename(&entry.dn, &cn_rdn(&group.spec.name), &place.unit(GROUPS)).await?;
    }
    let mut all = changes(&found);
    if !member_diff.add.is_empty() {
        all.push(Change::Add("member".into(), bytes(&member_diff.add)));
    }
    if !member_diff.remove.is_empty() {
        all.push(Change::Delete("member".into(), bytes(&member_diff.remove)));
    }
    place.connection.modify(dn, all).await?;
    let added = format!("{} member(s) added", member_diff.add.len());
    if !spec_changed && !words.is_empty() {
        let note = format!("put back on {dn}: {}", words.join("; "));
        ctx.events.warning(&reference, "DriftCorrected", "PutBack", note).await;
    } else if !words.is_empty() || !member_diff.add.is_empty() {
        let note = format!("{dn}: {added}; {}", words.join("; "));
        ctx.events.normal(&reference, "Updated", "UpdateGroup", note).await;
    }
    Ok(DesiredCondition::truthy("InSync", "AsDeclared", "the group is as declared"))
}

fn bytes(values: &[String]) -> Vec<Vec<u8>> {
    values.iter().map(|v| v.clone().into_bytes()).collect()
}

/// Deletes the group from the directory (groups hold no data; their members keep their
/// accounts) and lets the object go.
async fn remove(group: &DirectoryGroup, ctx: &Context, place: &Place) -> Result<Action, Error> {
    let namespace = group.namespace().unwrap_or_default();
    let status = group.status.clone().unwrap_or_default();
    let marker = marker("DirectoryGroup", &namespace, &group.name_any());
    let dn = status.dn.clone().unwrap_or_else(|| child_dn(&group.spec.name, &place.unit(GROUPS)));
    let base = &place.directory.spec.base_dn;
    let entry = accounts::find(&place.connection, base, status.object_guid.as_deref(), &dn, &GROUP_ATTRIBUTES).await?;
    if let Some(entry) = entry
        && ownership(&entry, &marker, status.object_guid.as_deref()) == Ownership::Ours
    {
        place.connection.delete(&entry.dn).await?;
        ctx.events.normal(&group.object_ref(&()), "Deleted", "DeleteGroup", format!("deleted {}", entry.dn)).await;
    }
    remove_finalizer(&api(ctx, &namespace), group, FINALIZER, MANAGER, &ctx.metrics).await?;
    Ok(Action::await_change())
}

async fn write_status(
    group: &DirectoryGroup,
    ctx: &Context,
    outcome: Result<(), &Error>,
    placed: Option<(String, Option<String>)>,
    in_sync: Option<DesiredCondition>,
    members: u32,
) -> Result<(), Error> {
    let current = group.status.clone().unwrap_or_default();
    let settled = placed.is_some();
    let ready = match outcome {
        Ok(()) => DesiredCondition::truthy("Ready", "Reconciled", "the group and its members are as declared"),
        Err(error) => DesiredCondition::falsy("Ready", error.category(), error.to_string()),
    };
    let (dn, guid) = placed.unwrap_or((current.dn.clone().unwrap_or_default(), current.object_guid.clone()));
    let desired = DirectoryGroupStatus {
        conditions: merge_conditions(
            &current.conditions,
            [Some(ready), in_sync].into_iter().flatten(),
            group.metadata.generation,
            Timestamp::now(),
        ),
        observed_generation: if settled { group.metadata.generation } else { current.observed_generation },
        dn: (!dn.is_empty()).then_some(dn),
        object_guid: guid,
        members: if settled { members } else { current.members },
    };
    let api = api(ctx, &group.namespace().unwrap_or_default());
    apply_status_if_changed(&api, group, group.status.as_ref(), &desired, MANAGER, &ctx.metrics).await?;
    Ok(())
}
