//! Catalog items compiled once per generation and shared by every reader (the
//! controller's reconciles, the webhook, the portal's pages).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use makonis_api::catalog::CatalogItem;

use crate::{CompiledItem, FieldError};

/// An item compiled, or the problems that stop it from compiling.
pub type Compiled = Result<Arc<CompiledItem>, Arc<Vec<FieldError>>>;

/// One cached compilation: the item's uid and generation, and the result.
struct Entry {
    uid: String,
    generation: Option<i64>,
    compiled: Compiled,
}

/// Compiled items keyed by name, valid for one `(uid, generation)`.
#[derive(Default)]
pub struct CompiledItems {
    entries: Mutex<HashMap<String, Entry>>,
}

impl CompiledItems {
    /// The compiled form of `item`, compiling it if this generation was not seen yet.
    pub fn get(&self, item: &CatalogItem) -> Compiled {
        let name = item.metadata.name.clone().unwrap_or_default();
        let uid = item.metadata.uid.clone().unwrap_or_default();
        let generation = item.metadata.generation;
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = entries.get(&name)
            && entry.uid == uid
            && entry.generation == generation
        {
            return entry.compiled.clone();
        }
        let compiled = CompiledItem::compile(&name, &item.spec).map(Arc::new).map_err(Arc::new);
        entries.insert(name, Entry { uid, generation, compiled: compiled.clone() });
        compiled
    }
}
