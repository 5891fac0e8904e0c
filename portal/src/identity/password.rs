//! Local account passwords: argon2id hashes in PHC form, checked off the async workers.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use tokio::sync::Semaphore;

/// Hashes `password` with argon2id and a random salt.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random source");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 with default parameters").to_string()
}

/// Whether `password` matches the PHC string `hash` (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// [`verify_password`] on the blocking thread pool, at most as many at once as `permits`
/// allows: one check takes tens of milliseconds of CPU and 19 MiB, which must neither stall
/// the async workers that serve every other request nor pile up under a flood of sign-ins.
pub async fn verify_bounded(permits: &Semaphore, password: &str, hash: &str) -> bool {
    let Ok(_permit) = permits.acquire().await else { return false };
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false)
}

/// A hash no password matches, verified against unknown usernames so that a sign-in
/// takes as long whether or not the account exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&crate::store::random_id(16)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("Parole-123!");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("Parole-123!", &hash));
        assert!(!verify_password("parole-123!", &hash));
        assert!(!verify_password("Parole-123!", "not a hash"));
        assert_ne!(hash, hash_password("Parole-123!"), "salted");
        assert!(!verify_password("", decoy_hash()));
    }

    #[tokio::test]
    async fn bounded_checks_agree_with_direct_ones() {
        let permits = Semaphore::new(1);
        let hash = hash_password("Parole-123!");
        assert!(verify_bounded(&permits, "Parole-123!", &hash).await);
        assert!(!verify_bounded(&permits, "Parole-124!", &hash).await);
        permits.close();
        assert!(!verify_bounded(&permits, "Parole-123!", &hash).await, "no permit, no match");
    }
}
