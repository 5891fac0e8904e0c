//! The `MailboxMigration` kind: moving an agency's mailboxes from its old IMAP server.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::identity::{OBJECT_NAME_PATTERN, TEXT_PATTERN};

/// Copies mail from an agency's old IMAP server into its platform mailboxes, folder by
/// folder, and compares the message counts at the end.
///
/// The old server and the account that may read every mailbox on it (an IMAP master user)
/// are in a Secret of the mail system's namespace that platform administrators prepare
/// for the agency (annotated `mail.makonis.lv/agency: <code>`), so an agency can neither
/// point the platform at a server of its choosing nor use another agency's credentials.
/// A migration is resumable: a mailbox that failed or was interrupted is copied again from
/// where it stopped, and mail that arrived meanwhile in the new mailbox is kept.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "mail.makonis.lv",
    version = "v1alpha1",
    kind = "MailboxMigration",
    plural = "mailboxmigrations",
    singular = "mailboxmigration",
    category = "makonis",
    namespaced,
    status = "MailboxMigrationStatus",
    printcolumn(name = "Source", type_ = "string", json_path = ".spec.source"),
    printcolumn(name = "Done", type_ = "integer", json_path = ".status.done"),
    printcolumn(name = "Complete", type_ = "string", json_path = ".status.conditions[?(@.type==\"Complete\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct MailboxMigrationSpec {
    /// The Secret (in the mail system's namespace) that names the old server: keys `host`,
    /// `port` (993 when absent), `masterUser`, `password` and optionally `ca.crt`.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub source: String,
    /// The mailboxes to fill, each from one account of the old server.
    #[schemars(length(min = 1, max = 500))]
    pub mailboxes: Vec<MigratedMailbox>,
}

/// One mailbox to fill.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MigratedMailbox {
    /// The `Mailbox` (object name, this namespace) the mail goes into.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub mailbox: String,
    /// The account's name on the old server.
    #[schemars(length(min = 1, max = 254), regex(pattern = r"^[A-Za-z0-9._@-]+$"))]
    pub source_user: String,
}

/// How far the migration is.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct MailboxMigrationStatus {
    /// `Complete`: every mailbox was copied and holds at least as many messages as on the
    /// old server.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// How many mailboxes are done.
    #[serde(default)]
    pub done: u32,
    /// Each mailbox's progress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mailboxes: Vec<MailboxProgress>,
}

/// Where the copy of one mailbox stands.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CopyState {
    /// Not tried yet.
    #[default]
    Pending,
    /// Being copied now.
    Copying,
    /// Copied, with at least as many messages as the old server holds.
    Done,
    /// The last try failed; tried again later (the message says why).
    Failed,
}

/// One mailbox's progress.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct MailboxProgress {
    /// The `Mailbox`.
    pub mailbox: String,
    /// Where the copy of this mailbox stands.
    #[serde(default)]
    pub state: CopyState,
    /// Messages on the old server, all folders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_messages: Option<u64>,
    /// Messages in the platform mailbox after the copy, all folders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_messages: Option<u64>,
    /// What happened, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TEXT_PATTERN))]
    pub message: Option<String>,
}
