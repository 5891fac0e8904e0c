//! Reloading Postfix and Dovecot after their files changed. A server that is not running
//! yet is left alone: it reads the files when it starts.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::{
    config::MailConfig,
    error::Error,
    render::{Server, server_dir},
};

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloaded {
    /// The server reread its configuration.
    Reloaded,
    /// The server is not running; nothing to do.
    NotRunning,
}

/// Reloads `server` when it runs.
pub async fn reload(config: &MailConfig, server: Server) -> Result<Reloaded, Error> {
    let name = server.name();
    let (pid_file, command, args): (PathBuf, &Path, Vec<String>) = match server {
        Server::Postfix => (
            config.layout.state_dir.join("postfix/spool/pid/master.pid"),
            &config.postfix,
            vec!["-c".into(), server_dir(&config.layout, Server::Postfix).display().to_string(), "reload".into()],
        ),
        Server::Dovecot => (
            config.layout.state_dir.join("dovecot/run/master.pid"),
            &config.doveadm,
            vec!["-c".into(), config.layout.dovecot_conf().display().to_string(), "reload".into()],
        ),
    };
    if !running(&pid_file) {
        return Ok(Reloaded::NotRunning);
    }
    let output = Command::new(command)
        .args(&args)
        .output()
        .await
        .map_err(|e| Error::Reload { server: name, detail: format!("{}: {e}", command.display()) })?;
    match output.status.success() {
        true => Ok(Reloaded::Reloaded),
        false => Err(Error::Reload { server: name, detail: String::from_utf8_lossy(&output.stderr).trim().to_owned() }),
    }
}

/// Whether the process named in `pid_file` is alive.
fn running(pid_file: &Path) -> bool {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}
