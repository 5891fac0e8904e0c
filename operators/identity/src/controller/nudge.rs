//! Reconciles one object asks for another: a person's groups and roles change, so their
//! groups and their agency's role groups (kept by the Directory's reconcile) must follow.

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    sync::Mutex,
};

use futures::Stream;
use kube::runtime::reflector::ObjectRef;
use makonis_api::identity::{Directory, DirectoryGroup};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// The senders, and what each object's membership looked like when last announced.
pub struct Nudges {
    directories: UnboundedSender<ObjectRef<Directory>>,
    groups: UnboundedSender<ObjectRef<DirectoryGroup>>,
    seen: Mutex<HashMap<String, (u64, Vec<String>)>>,
}

/// The receiving ends, one per controller.
pub struct Receivers {
    /// Directories to reconcile.
    pub directories: UnboundedReceiver<ObjectRef<Directory>>,
    /// Groups to reconcile.
    pub groups: UnboundedReceiver<ObjectRef<DirectoryGroup>>,
}

impl Nudges {
    /// New senders and their receivers.
    pub fn channel() -> (Self, Receivers) {
        let (directories, directories_rx) = unbounded_channel();
        let (groups, groups_rx) = unbounded_channel();
        (
            Self { directories, groups, seen: Mutex::default() },
            Receivers { directories: directories_rx, groups: groups_rx },
        )
    }

    /// Whether `membership` of the object `key` differs from what was last announced for
    /// it (and remembers it). An `empty` membership never announced before is no change:
    /// a person without roles asks nothing of the role groups.
    pub fn changed(&self, key: &str, membership: &impl Hash, empty: bool) -> bool {
        self.changed_groups(key, membership, empty, &[]).is_some()
    }

    /// Like [`Nudges::changed`], remembering the `groups` the object names: when it
    /// changed, returns the groups it named before (they may have to let it go).
    pub fn changed_groups(
        &self,
        key: &str,
        membership: &impl Hash,
        empty: bool,
        groups: &[String],
    ) -> Option<Vec<String>> {
        let mut hasher = DefaultHasher::new();
        membership.hash(&mut hasher);
        let fingerprint = hasher.finish();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get(key) {
            None if empty => None,
            Some((previous, _)) if *previous == fingerprint => None,
            _ => seen
                .insert(key.to_string(), (fingerprint, groups.to_vec()))
                .map(|(_, before)| before)
                .or(Some(Vec::new())),
        }
    }

    /// Asks for a reconcile of the Directory `name`.
    pub fn directory(&self, name: &str) {
        let _ = self.directories.send(ObjectRef::new(name));
    }

    /// Asks for a reconcile of each group in `groups`.
    pub fn groups(&self, groups: impl IntoIterator<Item = ObjectRef<DirectoryGroup>>) {
        for group in groups {
            let _ = self.groups.send(group);
        }
    }
}

/// A stream of what `receiver` receives.
pub fn stream<T: Send + 'static>(mut receiver: UnboundedReceiver<T>) -> impl Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_are_announced() {
        let (nudges, _receivers) = Nudges::channel();
        assert!(!nudges.changed("a", &("dn", Vec::<String>::new()), true), "nothing to announce yet");
        assert!(nudges.changed("a", &("dn", vec!["g"]), false));
        assert!(!nudges.changed("a", &("dn", vec!["g"]), false));
        assert!(nudges.changed("a", &("dn", Vec::<String>::new()), true), "leaving a group is a change");
    }

    #[test]
    fn the_groups_named_before_are_returned_on_a_change() {
        let (nudges, _receivers) = Nudges::channel();
        let first = vec!["finanses".to_string()];
        assert_eq!(nudges.changed_groups("u", &first, false, &first), Some(Vec::new()));
        let second = vec!["vadiba".to_string()];
        assert_eq!(nudges.changed_groups("u", &second, false, &second), Some(first));
        assert_eq!(nudges.changed_groups("u", &second, false, &second), None);
    }
}
