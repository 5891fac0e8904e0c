//! Open libvirt connections, one per host, shared by every controller.
//!
//! libvirt calls block, so each runs on a blocking thread. A connection that fails as
//! unreachable is dropped and opened again at the next call. (A test hypervisor from a
//! file, `test:///path/host.xml`, keeps its state per connection, so keeping connections
//! open is also what makes it behave like a real host across reconciles;
//! `test:///default` is shared by every connection of the process.)

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};
use makonis_api::compute::{HostPool, HostSpec};

use crate::{
    config::ComputeConfig,
    error::Error,
    hypervisor::{Credentials, Hypervisor, HypervisorError},
};

/// Secret keys of a host pool's credentials, as libvirt names the TLS files.
const TLS_FILES: [&str; 3] = ["cacert.pem", "clientcert.pem", "clientkey.pem"];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HostKey {
    pool: String,
    host: String,
    uri: String,
}

/// The open connections.
pub struct Hosts {
    client: Client,
    platform_namespace: String,
    pki_root: PathBuf,
    open: Mutex<HashMap<HostKey, Arc<Hypervisor>>>,
}

impl Hosts {
    /// No connections yet; they open on first use.
    pub fn new(client: Client, config: &ComputeConfig) -> Self {
        Self {
            client,
            platform_namespace: config.platform_namespace.clone(),
            pki_root: config.pki_root.clone(),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `call` against host `host` of `pool` on a blocking thread.
    pub async fn call<T, F>(&self, pool: &HostPool, host: &str, call: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Hypervisor) -> Result<T, HypervisorError> + Send + 'static,
    {
        let (key, hypervisor) = self.connection(pool, host).await?;
        let result = tokio::task::spawn_blocking(move || call(&hypervisor))
            .await
            .map_err(|error| Error::Task(error.to_string()))?;
        if let Err(error) = &result
            && error.category() == "unreachable"
        {
            self.open.lock().expect("hosts lock").remove(&key);
        }
        Ok(result?)
    }

    /// A connection of its own, for a long job (a backup or restore) that should not
    /// hold up the shared one.
    pub async fn dedicated(&self, pool: &HostPool, host: &str) -> Result<Arc<Hypervisor>, Error> {
        let spec = host_spec(pool, host).ok_or_else(|| unknown_host(pool, host))?;
        let credentials = self.credentials(pool).await?;
        let uri = spec.uri.clone();
        let hypervisor = tokio::task::spawn_blocking(move || Hypervisor::open(&uri, credentials.as_ref()))
            .await
            .map_err(|error| Error::Task(error.to_string()))??;
        Ok(Arc::new(hypervisor))
    }

    async fn connection(&self, pool: &HostPool, host: &str) -> Result<(HostKey, Arc<Hypervisor>), Error> {
        let spec = host_spec(pool, host).ok_or_else(|| unknown_host(pool, host))?;
        let key = HostKey { pool: pool.name_any(), host: host.to_string(), uri: spec.uri.clone() };
        if let Some(open) = self.open.lock().expect("hosts lock").get(&key) {
            return Ok((key, open.clone()));
        }
        let hypervisor = self.dedicated(pool, host).await?;
        let mut open = self.open.lock().expect("hosts lock");
        open.retain(|k, _| !(k.pool == key.pool && k.host == key.host));
        let shared = open.entry(key.clone()).or_insert(hypervisor).clone();
        Ok((key, shared))
    }

    /// The credentials of `pool`, with TLS files written where libvirt reads them.
    async fn credentials(&self, pool: &HostPool) -> Result<Option<Credentials>, Error> {
        let Some(reference) = &pool.spec.credentials_secret else {
            return Ok(None);
        };
        let fail = |message: String| Error::Credentials { pool: pool.name_any(), message };
        if reference.namespace != self.platform_namespace {
            return Err(fail(format!(
                "the Secret must be in the platform namespace {}, not {}",
                self.platform_namespace, reference.namespace
            )));
        }
        let secret = Api::<Secret>::namespaced(self.client.clone(), &reference.namespace)
            .get(&reference.name)
            .await
            .map_err(|error| fail(format!("reading Secret {}/{}: {error}", reference.namespace, reference.name)))?;
        let data = secret.data.unwrap_or_default();
        let text = |key: &str| data.get(key).map(|v| String::from_utf8_lossy(&v.0).into_owned());
        let mut credentials = Credentials { username: text("username"), password: text("password"), pki_dir: None };
        if TLS_FILES.iter().any(|file| data.contains_key(*file)) {
            let dir = self.pki_root.join(pool.name_any());
            write_private_dir(&dir, TLS_FILES.iter().filter_map(|f| Some((*f, data.get(*f)?.0.clone()))))
                .map_err(|error| fail(format!("writing the TLS files to {}: {error}", dir.display())))?;
            credentials.pki_dir = Some(dir);
        }
        Ok(Some(credentials))
    }
}

/// The spec of host `host` of `pool`.
pub fn host_spec<'a>(pool: &'a HostPool, host: &str) -> Option<&'a HostSpec> {
    pool.spec.hosts.iter().find(|h| h.name == host)
}

fn unknown_host(pool: &HostPool, host: &str) -> Error {
    Error::UnknownHost { pool: pool.name_any(), host: host.into() }
}

/// Writes `files` into `dir`, readable by this user only.
fn write_private_dir<'a>(dir: &PathBuf, files: impl Iterator<Item = (&'a str, Vec<u8>)>) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    for (name, content) in files {
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(dir.join(name))?;
        std::io::Write::write_all(&mut file, &content)?;
    }
    Ok(())
}
