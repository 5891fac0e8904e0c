//! The Directory reconcile: sign in, read the domain's level and password policy, and
//! give every agency the domain holds its OU, sub-OUs and role groups, with the people
//! who hold each role as members.

use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::{
    identity::{AgencyRole, AgencyUnit, Directory, DirectoryStatus, PasswordPolicy},
    tenancy::Agency,
};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    error::ErrorCategory,
    status::apply_status_if_changed,
};

use super::context::{Context, MANAGER};
use crate::{
    account::functional_level,
    error::Error,
    layout::{self, GROUPS, SUB_UNITS},
    ldap::{Change, Connection, Entry, Scope},
    plan::{
        attributes::{differences, present},
        group::{member_changes, role_group_attributes},
        ownership::{MARKER_ATTRIBUTE, Ownership, agency_marker, ownership},
    },
};

/// One reconcile of a Directory.
pub async fn reconcile(directory: &Directory, ctx: &Context) -> Result<Action, Error> {
    let name = directory.name_any();
    let connection = match ctx.connect(directory).await {
        Ok(connection) => connection,
        Err(error) => {
            write_status(directory, ctx, Err(&error), None, None, Vec::new()).await?;
            return Err(error);
        }
    };
    let read = async {
        let root = connection.read("", &["domainFunctionality"]).await?;
        let domain = connection.read(&directory.spec.base_dn, &PasswordPolicy::DOMAIN_ATTRIBUTES).await?;
        Ok::<_, Error>((root, domain))
    };
    let (root, domain) = match read.await {
        Ok(found) => found,
        Err(error) => {
            ctx.forget_if_broken(&name, &error).await;
            write_status(directory, ctx, Err(&error), None, None, Vec::new()).await?;
            return Err(error);
        }
    };
    let Some(domain) = domain else {
        let error = Error::InvalidSpec(format!("baseDn: {} does not exist in the directory", directory.spec.base_dn));
        write_status(directory, ctx, Err(&error), None, None, Vec::new()).await?;
        return Err(error);
    };
    let level = root.and_then(|r| r.number("domainFunctionality")).map(|l| functional_level(l as u32));
    let policy = PasswordPolicy::from_domain(|name| domain.number(name));

    let mut units = Vec::new();
    let mut agencies: Vec<Arc<Agency>> = ctx
        .stores
        .agencies
        .state()
        .into_iter()
        .filter(|a| a.metadata.deletion_timestamp.is_none())
        .filter(|a| ctx.directory_of(a).is_some_and(|d| d.name_any() == name))
        .collect();
    agencies.sort_by_key(|a| a.spec.code.clone());
    for agency in agencies {
        let unit = match ensure_agency(directory, &agency, &connection, ctx).await {
            Ok(message) => AgencyUnit {
                code: agency.spec.code.clone(),
                organizational_unit: agency.spec.directory.organizational_unit.clone(),
                ready: true,
                message,
            },
            Err(error) => {
                ctx.forget_if_broken(&name, &error).await;
                tracing::warn!(agency = %agency.spec.code, category = error.category(), %error, "the agency's OU is not in place");
                AgencyUnit {
                    code: agency.spec.code.clone(),
                    organizational_unit: agency.spec.directory.organizational_unit.clone(),
                    ready: false,
                    message: error.to_string(),
                }
            }
        };
        units.push(unit);
    }
    write_status(directory, ctx, Ok(()), level, Some(policy), units).await?;
    Ok(Action::requeue(ctx.config.resync))
}

/// Makes the agency's OU (and the OUs above it, up to the base), its sub-OUs and its role
/// groups exist, and the role groups the platform created hold exactly the people who
/// hold the role. Returns a note for the status (empty when all is as declared).
async fn ensure_agency(
    directory: &Directory,
    agency: &Agency,
    connection: &Connection,
    ctx: &Context,
) -> Result<String, Error> {
    let ou = &agency.spec.directory.organizational_unit;
    let chain = layout::unit_chain(ou, &directory.spec.base_dn).ok_or_else(|| {
        Error::InvalidSpec(format!(
            "the Agency's organizationalUnit {ou} must be a chain of OUs under {}",
            directory.spec.base_dn
        ))
    })?;
    let marker = agency_marker(&agency.spec.code);
    let groups = &agency.spec.directory.groups;
    let roles = [
        (AgencyRole::Admins, &groups.admins),
        (AgencyRole::Requesters, &groups.requesters),
        (AgencyRole::Approvers, &groups.approvers),
        (AgencyRole::SecurityOfficers, &groups.security_officers),
        (AgencyRole::Viewers, &groups.viewers),
    ];
    // One search finds the agency's OUs and its role groups (a domain controller answers
    // one request at a time per worker; this runs whenever someone's roles change).
    let names: String = roles.iter().map(|(_, name)| format!("(cn={})", ldap3::ldap_escape(name.as_str()))).collect();
    let filter = format!("(|(objectClass=organizationalUnit)(&(objectClass=group)(|{names})))");
    let attributes = ["objectClass", "cn", "member", "groupType", MARKER_ATTRIBUTE, "objectGUID"];
    let found = connection.search(ou, Scope::Subtree, &filter, &attributes).await?;
    let is_unit = |e: &&Entry| e.values("objectClass").iter().any(|c| c.eq_ignore_ascii_case("organizationalUnit"));
    let units: Vec<&Entry> = found.iter().filter(is_unit).collect();
    let exists = |dn: &str| units.iter().any(|u| layout::same_dn(&u.dn, dn));
    // The OUs above the agency's are read only when the agency's own is missing.
    let mut wanted_units: Vec<String> = if exists(ou) { Vec::new() } else { chain };
    wanted_units.extend(SUB_UNITS.iter().map(|unit| layout::sub_unit(ou, unit)).filter(|unit| !exists(unit)));
    for unit in &wanted_units {
        if connection.read(unit, &["objectClass"]).await?.is_none() {
            connection
                .add(
                    unit,
                    vec![
                        ("objectClass".into(), vec![b"organizationalUnit".to_vec()]),
                        (MARKER_ATTRIBUTE.into(), vec![marker.clone().into_bytes()]),
                    ],
                )
                .await?;
            tracing::info!(agency = %agency.spec.code, unit, "created an organizational unit");
            ctx.events.normal(&directory.object_ref(&()), "Created", "CreateUnit", format!("created {unit}")).await;
        }
    }

    let namespace = agency.namespace_name();
    let users = ctx.stores.users.state();
    let mut notes = Vec::new();
    for (role, group_name) in roles {
        let mut members: Vec<String> = users
            .iter()
            .filter(|u| u.namespace().as_deref() == Some(namespace.as_str()))
            .filter(|u| u.metadata.deletion_timestamp.is_none() && u.spec.roles.contains(&role))
            .filter_map(|u| u.status.as_ref().and_then(|s| s.dn.clone()))
            .collect();
        members.sort();
        let same: Vec<&Entry> = found
            .iter()
            .filter(|e| !is_unit(e) && e.first("cn").is_some_and(|cn| cn.eq_ignore_ascii_case(group_name)))
            .collect();
        match same.as_slice() {
            [] => {
                let dn = layout::child_dn(group_name, &layout::sub_unit(ou, GROUPS));
                let mut attributes = present(&role_group_attributes(&marker));
                attributes.push(("objectClass".into(), vec![b"group".to_vec()]));
                attributes.push(("sAMAccountName".into(), vec![group_name.clone().into_bytes()]));
                connection.add(&dn, attributes).await?;
                ctx.events
                    .normal(
                        &directory.object_ref(&()),
                        "Created",
                        "CreateRoleGroup",
                        format!("created the role group {dn}"),
                    )
                    .await;
                notes.extend(write_members(connection, &dn, Vec::new(), &members).await?.1);
            }
            [group] => match ownership(group, &marker, None) {
                Ownership::Ours => {
                    let drift = differences(&role_group_attributes(&marker), group);
                    let mut changes = crate::plan::attributes::changes(&drift);
                    let member_diff = member_changes(group.values("member"), &members);
                    let report_only = directory.spec.drift == makonis_api::identity::DriftPolicy::Report;
                    if !member_diff.remove.is_empty() && !report_only {
                        changes.push(Change::Delete("member".into(), bytes(&member_diff.remove)));
                    } else if !member_diff.remove.is_empty() {
                        notes.push(format!(
                            "{group_name} has members the platform did not declare: {}",
                            member_diff.remove.join("; ")
                        ));
                    }
                    if !changes.is_empty() || !member_diff.add.is_empty() {
                        let (added, missing) = write_members(connection, &group.dn, changes, &member_diff.add).await?;
                        notes.extend(missing);
                        let note = format!(
                            "{}: added {added}, removed {}",
                            group.dn,
                            if report_only { 0 } else { member_diff.remove.len() }
                        );
                        ctx.events.normal(&directory.object_ref(&()), "Updated", "UpdateRoleGroup", note).await;
                    }
                }
                Ownership::Theirs(_) => {
                    if !members.is_empty() {
                        notes.push(format!(
                            "the {} role group {} was not created by the platform: its members are managed in the directory, \
                             not through roles",
                            role_name(role),
                            group.dn
                        ));
                    }
                }
            },
            several => {
                let dns: Vec<&str> = several.iter().map(|g| g.dn.as_str()).collect();
                notes.push(format!("more than one group is called {group_name} in {ou}: {}", dns.join("; ")));
            }
        }
    }
    Ok(notes.join(" "))
}

/// Writes `changes` to the group at `dn` together with adding the members `add`. When the
/// directory refuses because a member is not there (a person's account is being made
/// again, say after the domain was restored from a backup), the members that exist are
/// added without them and a note names the others: the agency's OU stays usable, so their
/// accounts can be made, and a later reconcile adds them. Returns how many members were
/// added, and the note.
async fn write_members(
    connection: &Connection,
    dn: &str,
    changes: Vec<Change>,
    add: &[String],
) -> Result<(usize, Option<String>), Error> {
    let with = |members: &[String]| {
        let mut all = changes.clone();
        if !members.is_empty() {
            all.push(Change::Add("member".into(), bytes(members)));
        }
        all
    };
    match connection.modify(dn, with(add)).await {
        Err(crate::ldap::DirectoryError::NoSuchObject(_)) if !add.is_empty() => {
            let mut present = Vec::new();
            let mut missing = Vec::new();
            for member in add {
                match connection.read(member, &["objectClass"]).await? {
                    Some(_) => present.push(member.clone()),
                    None => missing.push(member.clone()),
                }
            }
            connection.modify(dn, with(&present)).await?;
            let note = format!("{dn}: not yet added, their accounts are not in the directory: {}", missing.join("; "));
            Ok((present.len(), (!missing.is_empty()).then_some(note)))
        }
        result => result.map(|()| (add.len(), None)).map_err(Error::from),
    }
}

fn bytes(values: &[String]) -> Vec<Vec<u8>> {
    values.iter().map(|v| v.clone().into_bytes()).collect()
}

fn role_name(role: AgencyRole) -> &'static str {
    match role {
        AgencyRole::Admins => "admins",
        AgencyRole::Requesters => "requesters",
        AgencyRole::Approvers => "approvers",
        AgencyRole::SecurityOfficers => "securityOfficers",
        AgencyRole::Viewers => "viewers",
    }
}

/// Writes the Directory's status for the outcome of a reconcile.
async fn write_status(
    directory: &Directory,
    ctx: &Context,
    outcome: Result<(), &Error>,
    level: Option<String>,
    policy: Option<PasswordPolicy>,
    agencies: Vec<AgencyUnit>,
) -> Result<(), Error> {
    let current = directory.status.clone().unwrap_or_default();
    let ready = match outcome {
        Ok(()) => {
            let waiting: Vec<&str> = agencies.iter().filter(|a| !a.ready).map(|a| a.code.as_str()).collect();
            if waiting.is_empty() {
                DesiredCondition::truthy(
                    "Ready",
                    "Reconciled",
                    format!("signed in over TLS; {} agencies in place", agencies.len()),
                )
            } else {
                DesiredCondition::falsy(
                    "Ready",
                    "AgencyNotInPlace",
                    format!("the OUs or role groups of {} are not in place: see status.agencies", waiting.join(", ")),
                )
            }
        }
        Err(error) => DesiredCondition::falsy("Ready", error.category(), format!("{error}")),
    };
    let keep = outcome.is_err();
    let desired = DirectoryStatus {
        conditions: merge_conditions(&current.conditions, [ready], directory.metadata.generation, Timestamp::now()),
        observed_generation: directory.metadata.generation,
        functional_level: if keep { current.functional_level.clone() } else { level },
        password_policy: if keep { current.password_policy.clone() } else { policy },
        agencies: if keep { current.agencies.clone() } else { agencies },
    };
    let api: Api<Directory> = Api::all(ctx.client.clone());
    apply_status_if_changed(&api, directory, directory.status.as_ref(), &desired, MANAGER, &ctx.metrics).await?;
    Ok(())
}
