//! DKIM keys: RSA 2048 (what every receiver verifies), the private half kept in a Secret
//! of the mail system's namespace, the public half published in DNS.

use base64::Engine;
use rsa::{
    RsaPrivateKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding},
};

/// The key size: RFC 8301 asks for at least 2048 bits.
const BITS: usize = 2048;

/// A generated key.
pub struct DkimKey {
    /// The private key, PKCS#8 PEM (what OpenDKIM and rspamd read).
    pub private_pem: String,
    /// The public key, DER SubjectPublicKeyInfo in base64: the record's `p=`.
    pub public_base64: String,
}

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
#[error("DKIM key: {0}")]
pub struct DkimError(String);

/// Generates a new key from the operating system's random generator.
pub fn generate() -> Result<DkimKey, DkimError> {
    let mut rng = rsa::rand_core::OsRng;
    let key = RsaPrivateKey::new(&mut rng, BITS).map_err(|e| DkimError(e.to_string()))?;
    let private_pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| DkimError(e.to_string()))?.to_string();
    Ok(DkimKey { public_base64: public_of_key(&key)?, private_pem })
}

/// The public half (the record's `p=`) of a stored private key.
pub fn public_of(private_pem: &str) -> Result<String, DkimError> {
    let key = RsaPrivateKey::from_pkcs8_pem(private_pem).map_err(|e| DkimError(e.to_string()))?;
    public_of_key(&key)
}

fn public_of_key(key: &RsaPrivateKey) -> Result<String, DkimError> {
    let der = key.to_public_key().to_public_key_der().map_err(|e| DkimError(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(der.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_key_gives_back_the_published_half() {
        let key = generate().unwrap();
        assert!(key.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(public_of(&key.private_pem).unwrap(), key.public_base64);
        // A 2048-bit SubjectPublicKeyInfo is 294 bytes: 392 characters of base64.
        assert_eq!(key.public_base64.len(), 392);
        assert!(public_of("not a key").is_err());
    }
}
