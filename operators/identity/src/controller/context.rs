//! What every identity reconcile shares: the client, the watch caches, the directory
//! connections, the Event publisher and metrics.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{Api, Client, ResourceExt, runtime::reflector::Store};
use makonis_api::{
    identity::{Directory, DirectoryGroup, DirectoryServiceAccount, DirectoryUser},
    mail::Mailbox,
    tenancy::Agency,
};
use makonis_operator_kit::{apply::ApiCallError, events::EventPublisher, metrics::ReconcileMetrics};

use super::nudge::Nudges;
use crate::{
    config::IdentityConfig,
    error::Error,
    layout,
    ldap::{Connection, DirectoryError, LdapMetrics, Pool, Settings},
};

/// How long a Directory's settings (its Secrets) are used before they are read again.
const SETTINGS_TTL: Duration = Duration::from_secs(30);

/// The field manager and Event source of the identity controllers.
pub const MANAGER: &str = "makonis-identity";

/// The watch caches the controllers read each other's objects from.
#[derive(Clone)]
pub struct Stores {
    /// Every Agency.
    pub agencies: Store<Agency>,
    /// Every Directory.
    pub directories: Store<Directory>,
    /// Every DirectoryUser.
    pub users: Store<DirectoryUser>,
    /// Every DirectoryGroup.
    pub groups: Store<DirectoryGroup>,
    /// Every DirectoryServiceAccount.
    pub accounts: Store<DirectoryServiceAccount>,
    /// Every Mailbox: a person's `proxyAddresses` come from it, and it keeps a leaver's
    /// account from deletion.
    pub mailboxes: Store<Mailbox>,
}

/// Everything a reconcile needs, passed explicitly.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Settings from flags.
    pub config: IdentityConfig,
    /// The watch caches.
    pub stores: Stores,
    /// Open directory connections.
    pub pool: Pool,
    /// Events on the objects.
    pub events: EventPublisher,
    /// Reconcile metrics.
    pub metrics: ReconcileMetrics,
    /// Reconciles to run because another object changed.
    pub nudges: Nudges,
    settings: Mutex<HashMap<String, (Instant, Settings)>>,
    caches_loaded: std::sync::atomic::AtomicBool,
}

/// The agency a namespace belongs to, the Directory that holds its OU, and a connection.
pub struct Place {
    /// The agency.
    pub agency: std::sync::Arc<Agency>,
    /// The Directory's name.
    pub directory_name: String,
    /// The Directory.
    pub directory: std::sync::Arc<Directory>,
    /// The agency's OU, as its spec writes it.
    pub agency_ou: String,
    /// A signed-in connection.
    pub connection: Connection,
}

impl Place {
    /// The `userPrincipalName` suffix of the directory.
    pub fn upn_suffix(&self) -> String {
        self.directory
            .spec
            .user_principal_suffix
            .clone()
            .unwrap_or_else(|| layout::domain_of(&self.directory.spec.base_dn))
    }

    /// The DN of the agency's sub-OU `unit`.
    pub fn unit(&self, unit: &str) -> String {
        layout::sub_unit(&self.agency_ou, unit)
    }
}

impl Context {
    /// A context over `stores`.
    pub fn new(
        client: Client,
        config: IdentityConfig,
        stores: Stores,
        events: EventPublisher,
        metrics: ReconcileMetrics,
        nudges: Nudges,
        ldap_metrics: LdapMetrics,
    ) -> Self {
        Self {
            client,
            config,
            stores,
            pool: Pool::new(ldap_metrics),
            events,
            metrics,
            nudges,
            settings: Mutex::default(),
            caches_loaded: Default::default(),
        }
    }

    /// Whether every watch cache has had its first complete listing. A reconcile that
    /// read another kind's cache before then would see people missing from their groups
    /// and remove them (it did, right after a restart). Checked, not awaited: a reconcile
    /// that waited inside a controller whose concurrency was used up could keep that
    /// controller from reading its own watch.
    pub fn caches_ready(&self) -> bool {
        self.caches_loaded.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks the caches loaded once every first listing is done (run once at start-up).
    pub async fn watch_caches(&self) {
        let stores = &self.stores;
        let _ = futures::join!(
            stores.agencies.wait_until_ready(),
            stores.directories.wait_until_ready(),
            stores.users.wait_until_ready(),
            stores.groups.wait_until_ready(),
            stores.accounts.wait_until_ready(),
        );
        self.caches_loaded.store(true, std::sync::atomic::Ordering::Release);
        tracing::info!("every watch cache has its first listing");
    }

    /// Whether this instance manages the objects of `namespace`: always, unless it was
    /// started with a selector and the namespace's agency is not among those it selects.
    pub fn manages(&self, namespace: &str) -> bool {
        self.config.selector.is_none() || self.agency_of(namespace).is_some()
    }

    /// Whether nothing manages the directory of `namespace` any more (its Agency is gone,
    /// or no Directory holds the agency's OU): a leaving object may then go without
    /// touching the directory. Not when the domain is only unreachable or the agency's
    /// OUs are not in place yet: then it waits, so that no account is left enabled behind
    /// a deleted object.
    pub fn unmanaged(&self, namespace: &str) -> bool {
        self.agency_of(namespace).and_then(|agency| self.directory_of(&agency)).is_none()
    }

    /// The Mailbox of the DirectoryUser `user` in `namespace`, unless it is being deleted:
    /// the one the mail controller gave an address when several name the person.
    pub fn mailbox_of(&self, namespace: &str, user: &str) -> Option<std::sync::Arc<Mailbox>> {
        let mut mailboxes: Vec<_> = self
            .stores
            .mailboxes
            .state()
            .into_iter()
            .filter(|m| {
                m.namespace().as_deref() == Some(namespace)
                    && m.spec.user == user
                    && m.metadata.deletion_timestamp.is_none()
            })
            .collect();
        mailboxes.sort_by_key(|m| m.status.as_ref().and_then(|s| s.address.as_ref()).is_none());
        mailboxes.into_iter().next()
    }

    /// The agency whose namespace is `namespace`.
    pub fn agency_of(&self, namespace: &str) -> Option<std::sync::Arc<Agency>> {
        self.stores.agencies.state().into_iter().find(|a| a.namespace_name() == namespace)
    }

    /// The Directory that holds `agency`'s OU.
    pub fn directory_of(&self, agency: &Agency) -> Option<std::sync::Arc<Directory>> {
        holding_directory(&self.stores.directories, agency)
    }

    /// Where the objects of `namespace` live, with a connection to their directory.
    pub async fn place(&self, namespace: &str) -> Result<Place, Error> {
        let agency = self
            .agency_of(namespace)
            .ok_or_else(|| Error::Waiting(format!("no Agency has the namespace {namespace}")))?;
        let directory = self.directory_of(&agency).ok_or_else(|| {
            Error::Waiting(format!(
                "no Directory's baseDn holds the agency's organizational unit {}; create one (kubectl get directories)",
                agency.spec.directory.organizational_unit
            ))
        })?;
        let in_place =
            directory.status.as_ref().is_some_and(|s| s.agencies.iter().any(|a| a.code == agency.spec.code && a.ready));
        if !in_place {
            return Err(Error::Waiting(format!(
                "the agency's organizational units in {} are not in place yet (kubectl get directory {} -o yaml)",
                directory.spec.base_dn,
                directory.name_any()
            )));
        }
        let connection = self.connect(&directory).await?;
        Ok(Place {
            agency_ou: agency.spec.directory.organizational_unit.clone(),
            directory_name: directory.name_any(),
            directory,
            agency,
            connection,
        })
    }

    /// A signed-in connection to `directory`.
    pub async fn connect(&self, directory: &Directory) -> Result<Connection, Error> {
        let name = directory.name_any();
        let settings = self.settings(directory).await?;
        match self.pool.get(&name, &settings).await {
            Ok(connection) => Ok(connection),
            Err(error) => {
                self.pool.forget_if_broken(&name, &error).await;
                if matches!(error, DirectoryError::Credentials(_)) {
                    self.settings.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
                }
                Err(error.into())
            }
        }
    }

    /// Forgets the connection of `directory` when `error` says it broke.
    pub async fn forget_if_broken(&self, directory: &str, error: &Error) {
        if let Error::Directory(error) = error {
            self.pool.forget_if_broken(directory, error).await;
        }
    }

    /// The settings of `directory`: its URL and the contents of its Secrets, cached for
    /// [`SETTINGS_TTL`].
    async fn settings(&self, directory: &Directory) -> Result<Settings, Error> {
        let name = directory.name_any();
        if let Some((read, settings)) = self.settings.lock().unwrap_or_else(|p| p.into_inner()).get(&name)
            && read.elapsed() < SETTINGS_TTL
            && settings.url == directory.spec.url
        {
            return Ok(settings.clone());
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.config.platform_namespace);
        let ca = secret_key(&secrets, &directory.spec.ca_secret, "ca.crt").await?;
        let username = secret_key(&secrets, &directory.spec.bind_secret, "username").await?;
        let password = secret_key(&secrets, &directory.spec.bind_secret, "password").await?;
        let settings = Settings {
            url: directory.spec.url.clone(),
            ca_pem: ca,
            username: String::from_utf8_lossy(&username).trim().to_string(),
            password: String::from_utf8(password)
                .map_err(|_| Error::Secret(format!("{}: password is not UTF-8", directory.spec.bind_secret)))?,
            timeout: self.config.ldap_timeout,
        };
        self.settings.lock().unwrap_or_else(|p| p.into_inner()).insert(name, (Instant::now(), settings.clone()));
        Ok(settings)
    }
}

/// The Directory in `directories` whose base holds `agency`'s OU (the longest one).
pub fn holding_directory(directories: &Store<Directory>, agency: &Agency) -> Option<std::sync::Arc<Directory>> {
    let directories = directories.state();
    let pairs: Vec<(String, String)> = directories.iter().map(|d| (d.name_any(), d.spec.base_dn.clone())).collect();
    let name = layout::directory_for(
        &agency.spec.directory.organizational_unit,
        pairs.iter().map(|(n, b)| (n.as_str(), b.as_str())),
    )?;
    directories.into_iter().find(|d| d.name_any() == name)
}

/// The value of `key` in the Secret `name`.
async fn secret_key(secrets: &Api<Secret>, name: &str, key: &str) -> Result<Vec<u8>, Error> {
    let secret = secrets
        .get_opt(name)
        .await
        .map_err(|error| ApiCallError { action: "reading", kind: "Secret".into(), name: name.into(), error })?
        .ok_or_else(|| Error::Secret(format!("the Secret {name} does not exist in the platform's namespace")))?;
    secret
        .data
        .and_then(|mut data| data.remove(key))
        .map(|ByteString(bytes)| bytes)
        .ok_or_else(|| Error::Secret(format!("the Secret {name} has no key {key}")))
}
