use makonis_api::mail::{DmarcPolicy, ExternalForwarding};

use super::*;

fn seniority(namespace: &str, name: &str, created: &str) -> Seniority {
    Seniority { created: created.into(), key: Key::new(namespace, name) }
}

fn agency(namespace: &str, domains: &[&str]) -> AgencyInput {
    AgencyInput {
        namespace: namespace.into(),
        code: namespace.trim_start_matches("agency-").into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        served: true,
    }
}

fn domain(namespace: &str, name: &str, created: &str) -> DomainInput {
    DomainInput {
        seniority: seniority(namespace, name, created),
        domain: name.into(),
        dmarc: DmarcPolicy::Quarantine,
        external_forwarding: ExternalForwarding::Deny,
        dkim_public_key: Some("MIIB".into()),
    }
}

fn user(namespace: &str, name: &str, email: &str, active: bool, groups: &[&str]) -> UserInput {
    UserInput {
        key: Key::new(namespace, name),
        email: Some(email.into()),
        active,
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

fn mailbox(namespace: &str, user: &str, created: &str) -> MailboxInput {
    MailboxInput {
        seniority: seniority(namespace, user, created),
        uid: format!("uid-{user}"),
        user: user.into(),
        quota_bytes: Ok(1 << 30),
        aliases: Vec::new(),
        forwarding: None,
        shared_with: Vec::new(),
    }
}

fn alias(namespace: &str, name: &str, address: &str, to: &[&str], created: &str) -> AliasInput {
    AliasInput {
        seniority: seniority(namespace, name, created),
        address: address.into(),
        to: to.iter().map(|t| t.to_string()).collect(),
    }
}

fn vsaa() -> Inputs {
    Inputs {
        agencies: vec![agency("agency-vsaa", &["vsaa.gov.lv"]), agency("agency-vdi", &["vdi.gov.lv"])],
        domains: vec![
            domain("agency-vsaa", "vsaa.gov.lv", "2026-01-01T00:00:00Z"),
            domain("agency-vdi", "vdi.gov.lv", "2026-01-01T00:00:00Z"),
        ],
        users: vec![
            user("agency-vsaa", "anna", "Anna.Berzina@vsaa.gov.lv", true, &["finanses"]),
            user("agency-vsaa", "janis", "janis.kalnins@vsaa.gov.lv", true, &[]),
            user("agency-vsaa", "dace", "dace.liepina@vsaa.gov.lv", false, &["finanses"]),
            user("agency-vdi", "ilze", "ilze.ozola@vdi.gov.lv", true, &[]),
        ],
        groups: Vec::new(),
        mailboxes: vec![
            mailbox("agency-vsaa", "anna", "2026-02-01T00:00:00Z"),
            mailbox("agency-vsaa", "janis", "2026-02-01T00:00:00Z"),
            mailbox("agency-vsaa", "dace", "2026-02-01T00:00:00Z"),
            mailbox("agency-vdi", "ilze", "2026-02-01T00:00:00Z"),
        ],
        aliases: Vec::new(),
        lists: Vec::new(),
    }
}

fn verdict(plan: &Plan, kind: Kind, namespace: &str, name: &str) -> Verdict {
    plan.verdicts[&(kind, Key::new(namespace, name))].clone()
}

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

#[test]
fn a_mailbox_gets_its_users_address_in_lower_case() {
    let plan = plan(&vsaa());
    let anna = verdict(&plan, Kind::Mailbox, "agency-vsaa", "anna");
    assert!(anna.ready, "{anna:?}");
    assert_eq!(anna.address.as_deref(), Some("anna.berzina@vsaa.gov.lv"));
    assert_eq!(plan.mailboxes[&address("anna.berzina@vsaa.gov.lv")].uid, "uid-anna");
    assert_eq!(verdict(&plan, Kind::Domain, "agency-vsaa", "vsaa.gov.lv").count, 3);
}

#[test]
fn a_disabled_users_mailbox_keeps_its_mail_but_is_not_ready_and_routes_nothing() {
    let mut inputs = vsaa();
    inputs.mailboxes[2].aliases = vec!["dace@vsaa.gov.lv".into()];
    let plan = plan(&inputs);
    let dace = verdict(&plan, Kind::Mailbox, "agency-vsaa", "dace");
    assert!(!dace.ready);
    assert_eq!(dace.reason, "AccountDisabled");
    assert!(plan.mailboxes.contains_key(&address("dace.liepina@vsaa.gov.lv")));
    assert!(!plan.routes.contains_key(&address("dace@vsaa.gov.lv")));
}

#[test]
fn a_domain_must_be_the_agencys_and_first_come_first_served() {
    let mut inputs = vsaa();
    // VDI declares VSAA's domain: not among its domains.
    inputs.domains.push(domain("agency-vdi", "vsaa.gov.lv", "2025-01-01T00:00:00Z"));
    // A platform mistake lists the domain for both: the older declaration wins.
    inputs.agencies[1].domains.push("shared.gov.lv".into());
    inputs.agencies[0].domains.push("shared.gov.lv".into());
    inputs.domains.push(domain("agency-vsaa", "shared.gov.lv", "2026-03-01T00:00:00Z"));
    inputs.domains.push(domain("agency-vdi", "shared.gov.lv", "2026-03-02T00:00:00Z"));
    let plan = plan(&inputs);
    let stolen = plan
        .verdicts
        .iter()
        .find(|((k, key), v)| *k == Kind::Domain && key.namespace == "agency-vdi" && v.reason == "DomainNotHeld");
    assert!(stolen.is_some());
    assert_eq!(plan.domains["vsaa.gov.lv"].namespace, "agency-vsaa");
    assert_eq!(plan.domains["shared.gov.lv"].namespace, "agency-vsaa");
    let late = plan.verdicts.values().filter(|v| v.reason == "DomainTaken").count();
    assert_eq!(late, 1);
}

#[test]
fn a_domain_outside_the_mail_systems_directory_is_refused_and_a_missing_key_is_pending() {
    let mut inputs = vsaa();
    inputs.agencies[1].served = false;
    inputs.domains[0].dkim_public_key = None;
    let plan = plan(&inputs);
    assert_eq!(verdict(&plan, Kind::Domain, "agency-vdi", "vdi.gov.lv").reason, "DirectoryNotServed");
    assert_eq!(verdict(&plan, Kind::Mailbox, "agency-vdi", "ilze").reason, "DomainNotReady");
    let pending = verdict(&plan, Kind::Domain, "agency-vsaa", "vsaa.gov.lv");
    assert_eq!((pending.ready, pending.reason), (false, "KeyPending"));
    assert!(plan.domains.contains_key("vsaa.gov.lv"), "mail is received while the key is generated");
}

#[test]
fn a_user_cannot_get_a_mailbox_in_another_agencys_domain() {
    let mut inputs = vsaa();
    inputs.users.push(user("agency-vdi", "mallory", "anna.berzina@vsaa.gov.lv", true, &[]));
    inputs.mailboxes.push(mailbox("agency-vdi", "mallory", "2025-01-01T00:00:00Z"));
    let plan = plan(&inputs);
    assert_eq!(verdict(&plan, Kind::Mailbox, "agency-vdi", "mallory").reason, "DomainNotReady");
    assert_eq!(plan.mailboxes[&address("anna.berzina@vsaa.gov.lv")].uid, "uid-anna");
}

#[test]
fn the_older_claim_keeps_an_address_whatever_its_kind() {
    let mut inputs = vsaa();
    inputs.aliases.push(alias(
        "agency-vsaa",
        "info",
        "janis.kalnins@vsaa.gov.lv",
        &["anna.berzina@vsaa.gov.lv"],
        "2026-03-01T00:00:00Z",
    ));
    inputs.mailboxes[0].aliases = vec!["info@vsaa.gov.lv".into()];
    inputs.aliases.push(alias(
        "agency-vsaa",
        "info2",
        "info@vsaa.gov.lv",
        &["janis.kalnins@vsaa.gov.lv"],
        "2026-03-01T00:00:00Z",
    ));
    let plan = plan(&inputs);
    let late = verdict(&plan, Kind::Alias, "agency-vsaa", "info");
    assert_eq!(late.reason, "AddressTaken");
    assert!(late.message.contains("Mailbox agency-vsaa/janis"), "{}", late.message);
    assert_eq!(verdict(&plan, Kind::Alias, "agency-vsaa", "info2").reason, "AddressTaken");
    assert_eq!(plan.routes[&address("info@vsaa.gov.lv")], vec![address("anna.berzina@vsaa.gov.lv")]);
    assert_eq!(verdict(&plan, Kind::Mailbox, "agency-vsaa", "anna").aliases, ["info@vsaa.gov.lv"]);
}

#[test]
fn forwarding_out_of_the_agency_needs_the_domains_consent() {
    let mut inputs = vsaa();
    inputs.mailboxes[0].forwarding =
        Some((vec!["anna@gmail.example".into(), "janis.kalnins@vsaa.gov.lv".into()], true));
    let denied = plan(&inputs);
    let anna = verdict(&denied, Kind::Mailbox, "agency-vsaa", "anna");
    assert!(anna.ready);
    assert_eq!(anna.refused_routes.len(), 1, "{:?}", anna.refused_routes);
    assert!(anna.refused_routes[0].contains("does not allow external forwarding"));
    assert_eq!(
        denied.routes[&address("anna.berzina@vsaa.gov.lv")],
        vec![address("anna.berzina@vsaa.gov.lv"), address("janis.kalnins@vsaa.gov.lv")]
    );

    inputs.domains[0].external_forwarding = ExternalForwarding::Allow;
    inputs.mailboxes[0].forwarding = Some((vec!["anna@gmail.example".into()], false));
    let allowed = plan(&inputs);
    assert_eq!(allowed.routes[&address("anna.berzina@vsaa.gov.lv")], vec![address("anna@gmail.example")]);
}

#[test]
fn forwarding_to_another_agency_counts_as_external() {
    let mut inputs = vsaa();
    inputs.mailboxes[0].forwarding = Some((vec!["ilze.ozola@vdi.gov.lv".into()], true));
    let plan = plan(&inputs);
    assert_eq!(verdict(&plan, Kind::Mailbox, "agency-vsaa", "anna").refused_routes.len(), 1);
    assert!(!plan.routes.contains_key(&address("anna.berzina@vsaa.gov.lv")));
}

#[test]
fn an_alias_to_nobody_or_outside_is_refused_whole() {
    let mut inputs = vsaa();
    inputs.aliases.push(alias(
        "agency-vsaa",
        "ghost",
        "ghost@vsaa.gov.lv",
        &["nobody@vsaa.gov.lv"],
        "2026-03-01T00:00:00Z",
    ));
    inputs.aliases.push(alias(
        "agency-vsaa",
        "out",
        "out@vsaa.gov.lv",
        &["janis.kalnins@vsaa.gov.lv", "x@example.org"],
        "2026-03-01T00:00:00Z",
    ));
    inputs.aliases.push(alias(
        "agency-vsaa",
        "ok",
        "kanceleja@vsaa.gov.lv",
        &["janis.kalnins@vsaa.gov.lv", "Anna.Berzina@vsaa.gov.lv"],
        "2026-03-01T00:00:00Z",
    ));
    let plan = plan(&inputs);
    assert_eq!(verdict(&plan, Kind::Alias, "agency-vsaa", "ghost").reason, "TargetRefused");
    assert_eq!(verdict(&plan, Kind::Alias, "agency-vsaa", "out").reason, "TargetRefused");
    assert!(!plan.routes.contains_key(&address("out@vsaa.gov.lv")));
    let ok = verdict(&plan, Kind::Alias, "agency-vsaa", "ok");
    assert!(ok.ready);
    assert_eq!(ok.count, 2);
}

#[test]
fn a_list_reaches_enabled_members_with_mailboxes_through_nested_groups() {
    let mut inputs = vsaa();
    inputs.groups = vec![
        GroupInput { key: Key::new("agency-vsaa", "finanses"), users: Vec::new(), groups: vec!["vadiba".into()] },
        GroupInput {
            key: Key::new("agency-vsaa", "vadiba"),
            users: vec!["janis".into()],
            groups: vec!["finanses".into()],
        },
    ];
    inputs.users.push(user("agency-vsaa", "no-mailbox", "nm@vsaa.gov.lv", true, &["finanses"]));
    inputs.lists.push(ListInput {
        seniority: seniority("agency-vsaa", "finanses", "2026-03-01T00:00:00Z"),
        address: "finanses@vsaa.gov.lv".into(),
        group: "finanses".into(),
    });
    let plan = plan(&inputs);
    let list = verdict(&plan, Kind::List, "agency-vsaa", "finanses");
    assert!(list.ready, "{list:?}");
    assert_eq!(list.count, 2);
    assert_eq!(
        plan.routes[&address("finanses@vsaa.gov.lv")],
        vec![address("anna.berzina@vsaa.gov.lv"), address("janis.kalnins@vsaa.gov.lv")]
    );
}

#[test]
fn a_list_of_a_missing_or_empty_group_is_refused() {
    let mut inputs = vsaa();
    inputs.groups = vec![GroupInput { key: Key::new("agency-vsaa", "empty"), users: Vec::new(), groups: Vec::new() }];
    for (name, group) in [("missing", "nope"), ("empty", "empty")] {
        inputs.lists.push(ListInput {
            seniority: seniority("agency-vsaa", name, "2026-03-01T00:00:00Z"),
            address: format!("{name}@vsaa.gov.lv"),
            group: group.into(),
        });
    }
    let plan = plan(&inputs);
    assert_eq!(verdict(&plan, Kind::List, "agency-vsaa", "missing").reason, "GroupNotFound");
    assert_eq!(verdict(&plan, Kind::List, "agency-vsaa", "empty").reason, "NoRecipients");
}

#[test]
fn a_mailbox_without_user_or_address_says_so() {
    let mut inputs = vsaa();
    inputs.mailboxes.push(mailbox("agency-vsaa", "ghost", "2026-02-01T00:00:00Z"));
    inputs.users[1].email = None;
    inputs.mailboxes[0].quota_bytes = Err("bad quota".into());
    let plan = plan(&inputs);
    assert_eq!(verdict(&plan, Kind::Mailbox, "agency-vsaa", "ghost").reason, "UserNotFound");
    assert_eq!(verdict(&plan, Kind::Mailbox, "agency-vsaa", "janis").reason, "NoAddress");
    assert_eq!(verdict(&plan, Kind::Mailbox, "agency-vsaa", "anna").reason, "InvalidQuota");
}

#[test]
fn a_shared_mailbox_opens_to_its_groups_enabled_members_with_the_most_access_any_gives() {
    use makonis_api::mail::MailboxAccess::{Full, Read};
    let mut inputs = vsaa();
    inputs.users.push(user("agency-vsaa", "info", "info@vsaa.gov.lv", true, &[]));
    inputs.users.push(user("agency-vsaa", "no-mailbox", "nm@vsaa.gov.lv", true, &["finanses"]));
    inputs.mailboxes.push(mailbox("agency-vsaa", "info", "2026-02-01T00:00:00Z"));
    inputs.groups = vec![
        GroupInput { key: Key::new("agency-vsaa", "finanses"), users: Vec::new(), groups: vec!["vadiba".into()] },
        GroupInput { key: Key::new("agency-vsaa", "vadiba"), users: vec!["janis".into()], groups: Vec::new() },
        // A group of the same name in another agency never widens the share.
        GroupInput { key: Key::new("agency-vdi", "finanses"), users: vec!["ilze".into()], groups: Vec::new() },
    ];
    let info = inputs.mailboxes.last_mut().unwrap();
    info.shared_with = vec![("finanses".into(), Read), ("vadiba".into(), Full), ("nope".into(), Full)];
    let plan = plan(&inputs);
    // Anna is a member directly, Jānis through vadiba (and so Full); Dace is disabled; the
    // member without a mailbox cannot open it; nobody of VDI does.
    assert_eq!(
        plan.shares[&address("info@vsaa.gov.lv")],
        BTreeMap::from([(address("anna.berzina@vsaa.gov.lv"), Read), (address("janis.kalnins@vsaa.gov.lv"), Full)])
    );
    assert_eq!(verdict(&plan, Kind::Mailbox, "agency-vsaa", "info").missing_groups, ["nope"]);
    assert_eq!(plan.shares.len(), 1, "only the mailbox that is shared");
}

#[test]
fn a_mailbox_is_not_shared_with_its_owner_nor_through_a_group_of_nobody() {
    let mut inputs = vsaa();
    inputs.groups =
        vec![GroupInput { key: Key::new("agency-vsaa", "finanses"), users: Vec::new(), groups: Vec::new() }];
    inputs.mailboxes[0].shared_with = vec![("finanses".into(), makonis_api::mail::MailboxAccess::Full)];
    let plan = plan(&inputs);
    assert!(plan.shares.is_empty(), "Anna is the owner and Dace is disabled: {:?}", plan.shares);
    assert!(verdict(&plan, Kind::Mailbox, "agency-vsaa", "anna").missing_groups.is_empty());
}

#[test]
fn people_send_as_their_own_addresses_and_full_delegates_as_the_shared_mailbox() {
    use makonis_api::mail::MailboxAccess::{Full, Read};
    let mut inputs = vsaa();
    inputs.mailboxes[0].aliases = vec!["anna@vsaa.gov.lv".into()];
    inputs.mailboxes[2].aliases = vec!["dace@vsaa.gov.lv".into()];
    inputs.users.push(user("agency-vsaa", "info", "info@vsaa.gov.lv", true, &[]));
    inputs.mailboxes.push(mailbox("agency-vsaa", "info", "2026-02-01T00:00:00Z"));
    inputs.groups = vec![
        GroupInput { key: Key::new("agency-vsaa", "lasa"), users: vec!["anna".into()], groups: Vec::new() },
        GroupInput { key: Key::new("agency-vsaa", "raksta"), users: vec!["janis".into()], groups: Vec::new() },
    ];
    inputs.mailboxes.last_mut().unwrap().shared_with = vec![("lasa".into(), Read), ("raksta".into(), Full)];
    inputs.aliases.push(alias(
        "agency-vsaa",
        "kopa",
        "kopa@vsaa.gov.lv",
        &["janis.kalnins@vsaa.gov.lv"],
        "2026-03-01T00:00:00Z",
    ));
    let plan = plan(&inputs);
    let senders = |sender: &str| plan.senders.get(&address(sender)).map(|s| s.iter().map(Address::as_str).collect());
    let anna = "anna.berzina@vsaa.gov.lv";
    assert_eq!(senders(anna), Some(vec![anna]));
    assert_eq!(senders("anna@vsaa.gov.lv"), Some(vec![anna]), "a mailbox's alias is its owner's");
    // Full access sends as the shared mailbox; read access does not.
    assert_eq!(senders("info@vsaa.gov.lv"), Some(vec!["info@vsaa.gov.lv", "janis.kalnins@vsaa.gov.lv"]));
    // A disabled person sends as nothing; an alias object is nobody's to send as.
    assert_eq!(senders("dace.liepina@vsaa.gov.lv"), None);
    assert_eq!(senders("dace@vsaa.gov.lv"), None);
    assert_eq!(senders("kopa@vsaa.gov.lv"), None);
}
