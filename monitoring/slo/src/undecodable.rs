//! Reporting the watched objects the engine cannot decode: one Warning Event per object
//! and version (reason `InvalidObject`, naming the decoding error), a log line, and the
//! gauge `makonis_slo_undecodable_objects{kind}`. The engine goes on with the others: a
//! Probe it cannot read keeps the task it had, an objective keeps its ledger record.

use std::collections::HashSet;

use kube::{Resource, ResourceExt, core::DeserializeGuard};

use crate::{caches::Guarded, context::Context};

/// The objects already reported, by kind, namespace, name and resource version.
#[derive(Default)]
pub struct UndecodableReport {
    reported: HashSet<(&'static str, String, String, String)>,
}

impl UndecodableReport {
    /// Reports the objects of `store` (of `kind`) that are undecodable and were not
    /// reported at their current version, and sets the gauge of `kind`.
    pub async fn check<K>(&mut self, ctx: &Context, kind: &'static str, store: &Guarded<K>)
    where
        K: Resource<DynamicType = ()> + Clone,
    {
        let invalid: Vec<_> = store.state().into_iter().filter(|guarded| guarded.0.is_err()).collect();
        ctx.metrics.set_undecodable(kind, invalid.len());
        let mut current = HashSet::new();
        for guarded in &invalid {
            let key = (
                kind,
                guarded.namespace().unwrap_or_default(),
                guarded.name_any(),
                guarded.resource_version().unwrap_or_default(),
            );
            if !self.reported.contains(&key)
                && let Err(error) = &guarded.0
            {
                announce(ctx, kind, guarded, &error.error).await;
            }
            current.insert(key);
        }
        self.reported.retain(|key| key.0 != kind || current.contains(key));
        self.reported.extend(current);
    }
}

async fn announce<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    kind: &str,
    guarded: &DeserializeGuard<K>,
    error: &str,
) {
    let (namespace, name) = (guarded.namespace().unwrap_or_default(), guarded.name_any());
    tracing::warn!(kind, namespace, name, error, "cannot decode a watched object; skipping it");
    let note = format!(
        "the SLO engine cannot decode this {kind}: {error}. Fix the object (or restore the schema it was written \
         for); meanwhile the engine skips it and measures the others"
    );
    ctx.events.warning(&guarded.object_ref(&()), "InvalidObject", "Decode", note).await;
}
