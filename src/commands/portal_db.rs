//! `makonis portal verify-audit` and `makonis portal migrate`: maintenance of the
//! portal's database, run instead of serving.

use anyhow::Context as _;
use makonis_portal::store::Store;

use crate::cli::{MigrateArgs, PortalTask, VerifyAuditArgs};

/// The exit status of a check that found the trail broken (1 is for a check that could
/// not run).
const BROKEN: i32 = 2;

/// Runs `task`.
pub async fn run(task: PortalTask) -> anyhow::Result<()> {
    match task {
        PortalTask::VerifyAudit(args) => verify_audit(args).await,
        PortalTask::Migrate(args) => migrate(args).await,
    }
}

async fn verify_audit(args: VerifyAuditArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.database_url).await.context("opening the portal's database")?;
    let verdict = store
        .verify_audit(args.anchor)
        .await
        .context("reading the audit trail (is the schema up to date? see `makonis portal migrate`)")?;
    match verdict {
        Ok(summary) if summary.rows == 0 => {
            println!("the audit trail is intact and empty");
            Ok(())
        }
        Ok(summary) => {
            println!(
                "the audit trail is intact: {} rows; anchor for later checks: {}:{}",
                summary.rows, summary.rows, summary.head_hash
            );
            Ok(())
        }
        Err(broken) => {
            tracing::error!(category = broken.category(), row = broken.seq(), "the audit trail is broken: {broken}");
            eprintln!("the audit trail is broken: {broken}");
            std::process::exit(BROKEN);
        }
    }
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    crate::commands::portal::ensure_sqlite_directory(&args.database_url)?;
    Store::connect(&args.database_url).await.context("bringing the portal's database up to date")?;
    println!("the portal's database schema is up to date");
    Ok(())
}
