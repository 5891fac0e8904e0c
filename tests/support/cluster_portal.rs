//! The portal against a catalog run's cluster, as its own ServiceAccount: its watch of the
//! cluster, a fresh SQLite store and, when asked, its worker (which applies granted
//! requests). Its tasks stop when it is dropped.

use std::sync::Arc;

use makonis_portal::{
    actions::Actor,
    cluster::ClusterView,
    context::{Context, PortalConfig},
    identity::{Identity, IdentitySource},
    store::{Store, random_id},
    worker,
};
use tokio::task::JoinHandle;

use super::{CONVERGE, agencies::TEST_LABEL, catalog::CatalogRun, cluster::portal_client, wait_until};

/// A portal whose view and worker act on one catalog run's objects.
pub struct ClusterPortal {
    /// What its pages and API would use.
    pub context: Arc<Context>,
    tasks: Vec<JoinHandle<()>>,
}

impl ClusterPortal {
    /// Starts the portal's watch of the cluster (and its worker, when `with_worker`), with
    /// instances labelled for `run`.
    pub async fn start(run: &CatalogRun, with_worker: bool) -> Self {
        let client = portal_client().await;
        let (view, drive) = ClusterView::watch(&client);
        let mut tasks = vec![tokio::spawn(drive)];
        let dir = std::env::temp_dir().join(format!("makonis-cluster-portal-{}", random_id(4)));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let store = Store::connect(&format!("sqlite://{}/portal.db", dir.display())).await.expect("an SQLite store");
        let config = PortalConfig {
            instance_labels: [(TEST_LABEL.to_string(), run.run.clone())].into(),
            ..PortalConfig::default()
        };
        let context = Arc::new(Context::new(store, view, Some(client), config));
        if with_worker {
            tasks.push(tokio::spawn(worker::run(Arc::clone(&context))));
        }
        Self { context, tasks }
    }

    /// Waits until the portal sees agency `code` and can order `item`.
    pub async fn wait_for_item(&self, code: &str, item: &str) {
        wait_until("the portal to see the agency and the item", CONVERGE, || async {
            match (self.context.view.agency(code), self.context.view.compiled(item)) {
                (Some(_), Some(Ok(_))) => Ok(()),
                _ => Err("not yet".to_string()),
            }
        })
        .await;
    }

    /// The local user `username` in the directory group `group`, signed in from 127.0.0.1.
    pub fn actor(&self, username: &str, group: String) -> Actor {
        let identity = Identity {
            username: username.into(),
            display_name: username.into(),
            email: None,
            groups: vec![group],
            source: IdentitySource::Local,
        };
        Actor::new(&self.context, identity, "127.0.0.1".into(), "makonis-tests".into())
    }
}

impl Drop for ClusterPortal {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
