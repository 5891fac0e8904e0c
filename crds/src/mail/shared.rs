//! Patterns every mail kind shares.

/// An address the platform delivers to: a local part of letters, digits, `.`, `_` and `-`
/// (starting and ending with a letter or digit) at a lower-case DNS domain. Nothing else
/// can reach the mail server's configuration: no spaces, commas, colons or quotes.
pub const ADDRESS_PATTERN: &str = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?@([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";

/// The local part of an address (before the `@`), as [`ADDRESS_PATTERN`] allows it.
pub const LOCAL_PART_PATTERN: &str = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$";
