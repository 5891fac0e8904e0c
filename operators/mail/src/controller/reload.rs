//! Reloading Postfix, Dovecot and OpenDKIM after their files changed. A server that is not
//! running yet is left alone: it reads the files when it starts.

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
    // Read once: the signal below goes to exactly this process, never to a pid of 0 (the
    // whole process group, the controller included).
    let Some(pid) = running_pid(config, server) else {
        return Ok(Reloaded::NotRunning);
    };
    let (command, args): (&Path, Vec<String>) = match server {
        Server::Postfix => (
            &config.postfix,
            vec!["-c".into(), server_dir(&config.layout, Server::Postfix).display().to_string(), "reload".into()],
        ),
        Server::Dovecot => {
            (&config.doveadm, vec!["-c".into(), config.layout.dovecot_conf().display().to_string(), "reload".into()])
        }
        // OpenDKIM rereads its configuration, tables and keys on SIGUSR1.
        Server::OpenDkim => (Path::new("kill"), vec!["-USR1".into(), pid.to_string()]),
    };
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

/// Whether `server`'s master process runs (its pid file names a live process).
pub fn is_running(config: &MailConfig, server: Server) -> bool {
    running_pid(config, server).is_some()
}

/// The process id of `server`'s master process, when it runs.
fn running_pid(config: &MailConfig, server: Server) -> Option<u32> {
    let pid_file: PathBuf = match server {
        Server::Postfix => config.layout.state_dir.join("postfix/spool/pid/master.pid"),
        Server::Dovecot => config.layout.state_dir.join("dovecot/run/master.pid"),
        Server::OpenDkim => config.layout.opendkim_pid(),
    };
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
}
