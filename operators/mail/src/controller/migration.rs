//! Mailbox migrations: each mailbox of a `MailboxMigration` is copied from the old server
//! with `doveadm sync` (one way, pulling; resumable, and mail that arrived meanwhile in the
//! new mailbox stays), then the message counts of both sides are compared. Progress is
//! written to the status after every step, so an interrupted migration resumes where it
//! stopped.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use k8s_openapi::{ByteString, jiff::Timestamp};
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::mail::{CopyState, MailboxMigration, MailboxMigrationStatus, MailboxProgress};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    status::apply_status_if_changed,
};

use super::{
    context::{Context, MANAGER},
    doveadm::doveadm,
};
use crate::{
    error::Error,
    migration::{Source, source_config, total_messages},
};

/// The annotation by which platform administrators give a migration source to an agency.
pub const AGENCY_ANNOTATION: &str = "mail.makonis.lv/agency";

/// How long to wait before trying failed mailboxes again.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// When each migration last ran, so that a failed one is tried again after
/// [`RETRY_AFTER`] and not on every watch event its own status writes cause. A change of
/// the spec runs it at once.
#[derive(Default)]
pub struct Attempts(Mutex<HashMap<String, (Option<i64>, Instant)>>);

impl Attempts {
    /// How long the migration `uid` at `generation` must still wait, if at all.
    fn wait(&self, uid: &str, generation: Option<i64>) -> Option<Duration> {
        let attempts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tried, when) = attempts.get(uid)?;
        (*tried == generation).then(|| RETRY_AFTER.saturating_sub(when.elapsed())).filter(|w| !w.is_zero())
    }

    fn record(&self, uid: &str, generation: Option<i64>) {
        let mut attempts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        attempts.insert(uid.to_owned(), (generation, Instant::now()));
    }
}

/// Runs the migration's remaining mailboxes.
pub async fn reconcile(migration: Arc<MailboxMigration>, ctx: Arc<Context>) -> Result<Action, Error> {
    if !ctx.manages(&*migration) {
        return Ok(Action::await_change());
    }
    let namespace = migration.namespace().unwrap_or_default();
    let generation = migration.meta().generation;
    let uid = migration.uid().unwrap_or_default();
    // The status as the API server holds it, kept current as this reconcile writes.
    let mut written = migration.status.clone();
    let current = written.clone().unwrap_or_default();
    // A changed spec copies every mailbox again (the sync is incremental: only what is new).
    let same_spec = current.observed_generation == generation;
    let mut progress: Vec<MailboxProgress> = migration
        .spec
        .mailboxes
        .iter()
        .map(|wanted| {
            let earlier = current.mailboxes.iter().find(|p| same_spec && p.mailbox == wanted.mailbox).cloned();
            earlier.unwrap_or(MailboxProgress {
                mailbox: wanted.mailbox.clone(),
                state: CopyState::Pending,
                ..MailboxProgress::default()
            })
        })
        .collect();
    if progress.iter().all(|p| p.state == CopyState::Done) {
        write(&migration, &ctx, &mut written, &progress, complete(&progress)).await?;
        return Ok(Action::await_change());
    }
    if let Some(wait) = ctx.migration_attempts.wait(&uid, generation) {
        return Ok(Action::requeue(wait));
    }
    ctx.migration_attempts.record(&uid, generation);
    let source = match source(&ctx, &migration, &namespace).await {
        Ok(source) => source,
        Err(refusal) => {
            let condition = DesiredCondition::falsy("Complete", "SourceRefused", refusal.clone());
            write(&migration, &ctx, &mut written, &progress, condition).await?;
            ctx.events.warning(&migration.object_ref(&()), "SourceRefused", "Migrate", refusal).await;
            return Ok(Action::requeue(RETRY_AFTER));
        }
    };
    let files = SourceFiles::write(&ctx, &migration, &source)?;
    for index in 0..progress.len() {
        if progress[index].state == CopyState::Done {
            continue;
        }
        let wanted = &migration.spec.mailboxes[index];
        let address = ctx
            .stores
            .mailboxes
            .state()
            .into_iter()
            .find(|m| m.namespace().as_deref() == Some(namespace.as_str()) && m.name_any() == wanted.mailbox)
            .and_then(|m| m.status.as_ref().and_then(|s| s.address.clone()));
        let Some(address) = address else {
            progress[index].state = CopyState::Failed;
            progress[index].message = Some(format!("the Mailbox {} has no address yet", wanted.mailbox));
            continue;
        };
        progress[index].state = CopyState::Copying;
        progress[index].message = None;
        let copying = DesiredCondition::falsy("Complete", "Copying", copying(&progress));
        write(&migration, &ctx, &mut written, &progress, copying).await?;
        let outcome = copy(&ctx, &files, &wanted.source_user, &address).await;
        let entry = &mut progress[index];
        match outcome {
            Ok((source_messages, copied)) => {
                entry.source_messages = Some(source_messages);
                entry.copied_messages = Some(copied);
                if copied >= source_messages {
                    entry.state = CopyState::Done;
                    entry.message = Some(format!("{source_messages} messages copied from {}", wanted.source_user));
                } else {
                    entry.state = CopyState::Failed;
                    entry.message = Some(format!(
                        "the old server holds {source_messages} messages, the mailbox {copied}: copied again on the next try"
                    ));
                }
            }
            Err(error) => {
                entry.state = CopyState::Failed;
                entry.message = Some(one_line(&error.to_string()));
            }
        }
    }
    drop(files);
    let condition = complete(&progress);
    let failed = !condition.status;
    if failed {
        ctx.events.warning(&migration.object_ref(&()), condition.reason, "Migrate", condition.message.clone()).await;
    } else {
        ctx.events.normal(&migration.object_ref(&()), condition.reason, "Migrate", condition.message.clone()).await;
    }
    write(&migration, &ctx, &mut written, &progress, condition).await?;
    Ok(if failed { Action::requeue(RETRY_AFTER) } else { Action::await_change() })
}

/// `text` on one line (a status message holds no control characters), at most 1,000
/// characters: doveadm's errors span lines.
fn one_line(text: &str) -> String {
    let words: Vec<&str> =
        text.split(|c: char| c.is_control() || c.is_whitespace()).filter(|w| !w.is_empty()).collect();
    words.join(" ").chars().take(1000).collect()
}

/// The old server, from the Secret named by the migration, if it was given to this agency.
async fn source(
    ctx: &Context,
    migration: &MailboxMigration,
    namespace: &str,
) -> Result<(Source, Option<Vec<u8>>), String> {
    let name = &migration.spec.source;
    let secret =
        ctx.secrets().get_opt(name).await.map_err(|e| format!("reading the Secret {name}: {e}"))?.ok_or_else(|| {
            format!("no migration source {name}: platform administrators create it in the mail namespace")
        })?;
    let code =
        ctx.stores.agencies.state().into_iter().find(|a| a.namespace_name() == namespace).map(|a| a.spec.code.clone());
    let given_to = secret.annotations().get(AGENCY_ANNOTATION).cloned();
    if code.is_none() || given_to != code {
        return Err(format!(
            "the migration source {name} is not given to this agency (its annotation {AGENCY_ANNOTATION} must name the agency's code)"
        ));
    }
    let data = secret.data.unwrap_or_default();
    let text = |key: &str| data.get(key).map(|ByteString(b)| String::from_utf8_lossy(b).into_owned());
    let need = |key: &str| text(key).ok_or_else(|| format!("the migration source {name} has no key {key}"));
    let source = Source::new(&need("host")?, text("port").as_deref(), &need("masterUser")?, &need("password")?)
        .map_err(|e| e.to_string())?;
    Ok((source, data.get("ca.crt").map(|ByteString(b)| b.clone())))
}

/// The configuration (with the master password, mode 0600) and CA of one migration run.
struct SourceFiles {
    config: PathBuf,
    ca: PathBuf,
}

impl SourceFiles {
    fn write(
        ctx: &Context,
        migration: &MailboxMigration,
        (source, ca): &(Source, Option<Vec<u8>>),
    ) -> Result<Self, Error> {
        use std::{
            io::Write,
            os::unix::fs::{OpenOptionsExt, PermissionsExt},
        };
        let dir = ctx.config.layout.state_dir.join("migrations");
        let uid = migration.uid().unwrap_or_default();
        let files = Self { config: dir.join(format!("{uid}.conf")), ca: dir.join(format!("{uid}-ca.pem")) };
        // The configuration holds the master password and is read by doveadm as root; the
        // CA is public and read after doveadm has become the mail user.
        let write = |path: &PathBuf, content: &[u8], mode: u32| -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(path)?;
            // The mode above applies only to a new file; a left-over one gets it too.
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            file.write_all(content)
        };
        let fail = |path: &PathBuf| {
            let path = path.display().to_string();
            move |source| Error::Write { path, source }
        };
        if let Some(ca) = ca {
            write(&files.ca, ca, 0o644).map_err(fail(&files.ca))?;
        }
        let text = source_config(&ctx.config.layout.dovecot_conf(), source, ca.as_ref().map(|_| files.ca.as_path()));
        write(&files.config, text.as_bytes(), 0o600).map_err(fail(&files.config))?;
        Ok(files)
    }
}

/// The files go however the run ends (an error, a cancelled reconcile): the configuration
/// holds the master password.
impl Drop for SourceFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config);
        let _ = std::fs::remove_file(&self.ca);
    }
}

/// Copies one account into `address`'s mailbox; returns the message counts of the old
/// server and of the mailbox afterwards.
async fn copy(ctx: &Context, files: &SourceFiles, source_user: &str, address: &str) -> Result<(u64, u64), Error> {
    let source = files.config.display().to_string();
    let local = ctx.config.layout.dovecot_conf().display().to_string();
    let user = format!("imapc_user={source_user}");
    let count_source = [
        "-c",
        &source,
        "-o",
        &user,
        "-o",
        "mail_location=imapc:",
        "-f",
        "tab",
        "mailbox",
        "status",
        "-u",
        address,
        "messages",
        "*",
    ];
    let source_messages = total_messages(&doveadm(ctx, &count_source).await?).map_err(Error::Doveadm)?;
    doveadm(ctx, &["-c", &source, "-o", &user, "sync", "-1", "-R", "-u", address, "imapc:"]).await?;
    let count_local = ["-c", &local, "-f", "tab", "mailbox", "status", "-u", address, "messages", "*"];
    let copied = total_messages(&doveadm(ctx, &count_local).await?).map_err(Error::Doveadm)?;
    Ok((source_messages, copied))
}

fn copying(progress: &[MailboxProgress]) -> String {
    let done = progress.iter().filter(|p| p.state == CopyState::Done).count();
    format!("{done} of {} mailboxes copied", progress.len())
}

fn complete(progress: &[MailboxProgress]) -> DesiredCondition {
    let failed: Vec<String> = progress
        .iter()
        .filter(|p| p.state != CopyState::Done)
        .map(|p| format!("{}: {}", p.mailbox, p.message.as_deref().unwrap_or("pending")))
        .collect();
    match failed.is_empty() {
        true => {
            let messages: u64 = progress.iter().filter_map(|p| p.copied_messages).sum();
            DesiredCondition::truthy(
                "Complete",
                "Copied",
                format!("{} mailboxes copied, {messages} messages", progress.len()),
            )
        }
        false => {
            DesiredCondition::falsy("Complete", "Failed", format!("{}; tried again in a minute", failed.join("; ")))
        }
    }
}

async fn write(
    migration: &MailboxMigration,
    ctx: &Context,
    written: &mut Option<MailboxMigrationStatus>,
    progress: &[MailboxProgress],
    condition: DesiredCondition,
) -> Result<(), Error> {
    let current = written.clone().unwrap_or_default();
    let generation = migration.meta().generation;
    let desired = MailboxMigrationStatus {
        conditions: merge_conditions(&current.conditions, [condition], generation, Timestamp::now()),
        observed_generation: generation,
        done: progress.iter().filter(|p| p.state == CopyState::Done).count() as u32,
        mailboxes: progress.to_vec(),
    };
    let api: Api<MailboxMigration> = Api::namespaced(ctx.client.clone(), &migration.namespace().unwrap_or_default());
    apply_status_if_changed(&api, migration, written.as_ref(), &desired, MANAGER, &ctx.metrics).await?;
    *written = Some(desired);
    Ok(())
}
