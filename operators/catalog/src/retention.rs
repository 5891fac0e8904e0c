//! Which of an instance's resources the instance owns, and what happens to each one when
//! the instance retires or stops rendering it (pure).
//!
//! Ownership is the garbage collector's business: whatever carries the instance's owner
//! reference is deleted with it — during a foreground deletion even while the catalog's
//! finalizer still holds the instance, and with an orphaning deletion not at all. So what
//! must outlive the instance never carries that reference: resources of the item's
//! `retainOnRetire` templates, and every resource of a kind that holds data (claims and
//! compute volumes), whose fate only the controller decides, after reading the item.
//! Whatever a client chooses (foreground, background or orphan; portal, kubectl or
//! Terraform), the garbage collector then cannot reach the data.

/// Kinds whose objects hold an agency's data.
pub const DATA_KINDS: [&str; 2] = ["PersistentVolumeClaim", "Volume"];

/// Whether a rendered object of `kind` from `template` carries the instance's owner
/// reference, given the item's `retainOnRetire` templates.
pub fn owned_by_instance(kind: &str, template: &str, retained_templates: &[String]) -> bool {
    !DATA_KINDS.contains(&kind) && !retained_templates.iter().any(|t| t == template)
}

/// What becomes of one of the instance's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Kept: released from the instance (no owner, no `managed-by`), marked retained.
    Keep,
    /// Deleted by the controller.
    Delete,
    /// Left to the garbage collector, which follows the owner reference (or, after an
    /// orphaning deletion, leaves it in place).
    Collect,
}

/// One of the instance's live resources, as retiring sees it.
#[derive(Debug, Clone, Copy)]
pub struct Child<'a> {
    /// Its kind.
    pub kind: &'a str,
    /// The template it was rendered from (its annotation), if it says.
    pub template: Option<&'a str>,
    /// Whether it carries the instance's owner reference.
    pub owned: bool,
}

/// What retiring does to `child`. `retained_templates` is the item's `retainOnRetire`,
/// or `None` when the item is gone: then data and whatever the instance does not own are
/// kept, since data is never destroyed on a guess.
pub fn on_retire(child: Child<'_>, retained_templates: Option<&[String]>) -> Disposition {
    match retained_templates {
        Some(retained) if child.template.is_some_and(|t| retained.iter().any(|r| r == t)) => Disposition::Keep,
        Some(_) if child.owned => Disposition::Collect,
        Some(_) => Disposition::Delete,
        None if DATA_KINDS.contains(&child.kind) || !child.owned => Disposition::Keep,
        None => Disposition::Collect,
    }
}

/// What happens to `child` when the instance no longer renders it (a changed plan,
/// parameters or item): kept if its template is retained, deleted otherwise.
pub fn on_prune(child: Child<'_>, retained_templates: &[String]) -> Disposition {
    if child.template.is_some_and(|t| retained_templates.iter().any(|r| r == t)) {
        Disposition::Keep
    } else {
        Disposition::Delete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retained() -> Vec<String> {
        vec!["data".into()]
    }

    fn child<'a>(kind: &'a str, template: &'a str, owned: bool) -> Child<'a> {
        Child { kind, template: Some(template), owned }
    }

    #[test]
    fn data_and_retained_resources_never_carry_the_owner_reference() {
        assert!(!owned_by_instance("PersistentVolumeClaim", "cache", &retained()), "every claim");
        assert!(!owned_by_instance("Volume", "disk", &retained()), "every compute volume");
        assert!(!owned_by_instance("ConfigMap", "data", &retained()), "a retained template, whatever its kind");
        assert!(owned_by_instance("Deployment", "app", &retained()));
    }

    #[test]
    fn retiring_keeps_what_the_item_retains_and_deletes_unretained_data() {
        let item = Some(&retained()[..]);
        assert_eq!(on_retire(child("PersistentVolumeClaim", "data", false), item), Disposition::Keep);
        assert_eq!(on_retire(child("PersistentVolumeClaim", "data", true), item), Disposition::Keep, "legacy owned");
        assert_eq!(on_retire(child("PersistentVolumeClaim", "cache", false), item), Disposition::Delete);
        assert_eq!(on_retire(child("Deployment", "app", true), item), Disposition::Collect);
    }

    #[test]
    fn without_the_item_nothing_that_may_hold_data_goes() {
        assert_eq!(on_retire(child("PersistentVolumeClaim", "cache", false), None), Disposition::Keep);
        assert_eq!(on_retire(child("PersistentVolumeClaim", "cache", true), None), Disposition::Keep);
        assert_eq!(on_retire(child("Volume", "disk", false), None), Disposition::Keep);
        assert_eq!(on_retire(child("ConfigMap", "settings", false), None), Disposition::Keep, "not ours to judge");
        assert_eq!(on_retire(child("Deployment", "app", true), None), Disposition::Collect);
        let unknown = Child { kind: "Service", template: None, owned: true };
        assert_eq!(on_retire(unknown, None), Disposition::Collect);
    }

    #[test]
    fn pruning_keeps_retained_templates() {
        assert_eq!(on_prune(child("PersistentVolumeClaim", "data", false), &retained()), Disposition::Keep);
        assert_eq!(on_prune(child("PersistentVolumeClaim", "cache", false), &retained()), Disposition::Delete);
        assert_eq!(on_prune(child("PodDisruptionBudget", "disruption", true), &retained()), Disposition::Delete);
    }
}
