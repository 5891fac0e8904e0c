//! `makonis identity`: bring an agency's people in from a file.

use std::collections::BTreeSet;

use anyhow::{Context as _, bail};
use futures::{StreamExt, TryStreamExt};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use makonis_api::{
    identity::{DirectoryGroup, DirectoryUser},
    tenancy::{Agency, namespace_for_code},
};
use makonis_identity::import::{Existing, parse};

use crate::cli::{IdentityArgs, IdentityCommand, IdentityImportArgs};

/// The field manager of imported objects: a later import updates what an earlier one set.
const FIELD_MANAGER: &str = "makonis-identity-import";

/// Runs the subcommand.
pub async fn run(args: IdentityArgs) -> anyhow::Result<()> {
    match args.command {
        IdentityCommand::Import(args) => import(args).await,
    }
}

async fn import(args: IdentityImportArgs) -> anyhow::Result<()> {
    let csv = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let client = Client::try_default().await.context(
        "cannot build a Kubernetes client: set KUBECONFIG (tests/cluster/cluster.sh env prints the local one)",
    )?;
    let agencies: Api<Agency> = Api::all(client.clone());
    agencies
        .get_opt(&args.agency)
        .await
        .with_context(|| format!("reading the Agency {}", args.agency))?
        .with_context(|| format!("there is no Agency {} (kubectl get agencies)", args.agency))?;
    let namespace = namespace_for_code(&args.agency);
    let users: Api<DirectoryUser> = Api::namespaced(client.clone(), &namespace);
    let groups: Api<DirectoryGroup> = Api::namespaced(client, &namespace);
    let existing = Existing {
        users: users
            .list(&ListParams::default())
            .await
            .with_context(|| format!("listing the DirectoryUsers of {namespace}"))?
            .into_iter()
            .map(|u| (u.spec.username.clone(), u.name_any()))
            .collect(),
        groups: groups
            .list(&ListParams::default())
            .await
            .with_context(|| format!("listing the DirectoryGroups of {namespace}"))?
            .into_iter()
            .map(|g| g.name_any())
            .collect(),
    };
    let people = match parse(&csv, &namespace, &existing) {
        Ok(people) => people,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{}: {problem}", args.file.display());
            }
            bail!("{} problem(s) in {}; nothing was applied", problems.len(), args.file.display());
        }
    };
    let known: BTreeSet<&String> = existing.users.values().collect();
    let new = people.iter().filter(|p| !known.contains(&p.name_any())).count();
    if args.dry_run {
        println!("{}: {} people are valid ({new} new); nothing applied (--dry-run)", args.file.display(), people.len());
        return Ok(());
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    futures::stream::iter(people.iter().map(|person| {
        let (users, params) = (&users, &params);
        async move {
            let name = person.name_any();
            users.patch(&name, params, &Patch::Apply(person)).await.with_context(|| format!("applying {name}"))
        }
    }))
    .buffer_unordered(usize::from(args.parallel))
    .try_collect::<Vec<_>>()
    .await?;
    println!(
        "{}: applied {} DirectoryUsers in {namespace} ({new} new, {} updated); the identity operator creates their accounts",
        args.file.display(),
        people.len(),
        people.len() - new
    );
    Ok(())
}
