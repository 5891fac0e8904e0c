//! The connection metadata the audit trail keeps with every action (Regulation 442):
//! which session or API token it came through, and the client's user agent. Ids here
//! name a session or token without being able to act as one.

use crate::store::{hash_secret, tokens::TOKEN_PREFIX};

/// The longest user agent kept, in characters.
pub const MAX_USER_AGENT: usize = 256;

/// The id the trail gives the browser session whose cookie holds `token`: `s-` and the
/// first 16 hex digits of the token's SHA-256 (the sessions table's key begins with
/// them), never the token.
pub fn session_id(token: &str) -> String {
    format!("s-{}", &hash_secret(token)[..16])
}

/// The id the trail gives the API token `secret` (`mkt_<id>.<random>`): `t-<id>`, the id
/// its owner sees on the tokens page, never the secret.
pub fn token_id(secret: &str) -> String {
    let id = secret.strip_prefix(TOKEN_PREFIX).and_then(|rest| rest.split_once('.')).map_or("", |(id, _)| id);
    format!("t-{id}")
}

/// The `User-Agent` header as the trail keeps it: at most [`MAX_USER_AGENT`] characters,
/// control characters replaced (the header is the client's to choose; it must not forge
/// lines in logs or exports).
pub fn user_agent(header: Option<&[u8]>) -> String {
    let text = header.map(String::from_utf8_lossy).unwrap_or_default();
    text.chars().take(MAX_USER_AGENT).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_named_by_its_hash_never_its_token() {
        let id = session_id("secret-cookie-token");
        assert_eq!(id, format!("s-{}", &hash_secret("secret-cookie-token")[..16]));
        assert!(!id.contains("secret"));
        assert_ne!(session_id("a"), session_id("b"));
    }

    #[test]
    fn a_token_is_named_by_its_public_id() {
        assert_eq!(token_id("mkt_0a1b2c3d4e5f.9999secret"), "t-0a1b2c3d4e5f");
        assert_eq!(token_id("garbage"), "t-");
    }

    #[test]
    fn user_agents_are_bounded_and_cannot_break_lines() {
        assert_eq!(user_agent(Some(b"Mozilla/5.0 (X11)")), "Mozilla/5.0 (X11)");
        assert_eq!(
            user_agent(Some(b"curl\r\n2025-01-01 admin sign_in success")),
            "curl\u{fffd}\u{fffd}2025-01-01 admin sign_in success"
        );
        assert_eq!(user_agent(Some("ā".repeat(1000).as_bytes())).chars().count(), MAX_USER_AGENT);
        assert_eq!(user_agent(Some(b"\xff\xfe")), "\u{fffd}\u{fffd}");
        assert_eq!(user_agent(None), "");
    }
}
