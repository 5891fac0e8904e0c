//! Running `doveadm` against the mail server's storage (migrations, shared mailboxes).

use tokio::process::Command;

use super::context::Context;
use crate::error::Error;

/// Runs `doveadm ARGS`; returns what it printed, or what it said when it failed.
pub async fn doveadm(ctx: &Context, args: &[&str]) -> Result<String, Error> {
    let output = Command::new(&ctx.config.doveadm)
        .args(args)
        .output()
        .await
        .map_err(|e| Error::Doveadm(format!("{}: {e}", ctx.config.doveadm.display())))?;
    match output.status.success() {
        true => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
        false => Err(Error::Doveadm(String::from_utf8_lossy(&output.stderr).trim().to_owned())),
    }
}
