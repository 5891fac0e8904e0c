//! Text shown to people, in the two languages of the platform.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// A short title in Latvian and English (a name, a heading).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct LocalizedTitle {
    /// The title in Latvian.
    #[schemars(length(min = 1, max = 200))]
    pub lv: String,
    /// The title in English.
    #[schemars(length(min = 1, max = 200))]
    pub en: String,
}

/// A longer text in Latvian and English (a description, a paragraph or two).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct LocalizedText {
    /// The text in Latvian.
    #[schemars(length(min = 1, max = 4000))]
    pub lv: String,
    /// The text in English.
    #[schemars(length(min = 1, max = 4000))]
    pub en: String,
}
