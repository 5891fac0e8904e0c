//! Latvian and English: the portal's texts, the language of a request, and dates,
//! amounts and durations written the way each language writes them.
//!
//! The texts live in `portal/i18n/lv.yaml` and `portal/i18n/en.yaml`, compiled into the
//! binary. Templates reach them through [`register`]: the function `t` and the filters
//! `datetime`, `date`, `money`, `number`, `duration_iso` and `percent`. Latvian is the
//! default language.

#[cfg(test)]
mod completeness;
pub mod format;
mod lang;
mod messages;
mod placeholders;
#[cfg(test)]
pub mod template_keys;
mod templates;
mod yaml;

pub use lang::Lang;
pub use messages::Messages;
pub use templates::register;
