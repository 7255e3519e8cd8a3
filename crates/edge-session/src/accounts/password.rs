//! Password hashes as stored in a user record:
//! `pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>`. The record
//! names its algorithm and cost, so the iteration count can rise later and
//! old hashes still verify (and are rehashed at the next login).

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use super::kdf::{pbkdf2_sha256, KdfError};

const SCHEME: &str = "pbkdf2-sha256";
const SALT_BYTES: usize = 16;

/// A parsed password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    /// PBKDF2 iterations.
    pub iterations: u32,
    salt: Vec<u8>,
    hash: [u8; 32],
}

/// Why a stored hash could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The stored text is not `pbkdf2-sha256$N$salt$hash`.
    #[error("stored password hash has an unknown format")]
    Format,
    /// The key derivation failed.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// No randomness for a salt.
    #[error("no randomness for a salt")]
    Random,
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`HashError`] when the key derivation fails.
    pub async fn create(password: &str, iterations: u32) -> Result<Self, HashError> {
        let mut salt = vec![0u8; SALT_BYTES];
        getrandom::fill(&mut salt).map_err(|_| HashError::Random)?;
        let hash = pbkdf2_sha256(password.as_bytes(), &salt, iterations).await?;
        Ok(Self { iterations, salt, hash })
    }

    /// Reads the stored form.
    ///
    /// # Errors
    ///
    /// [`HashError`] when `text` is not `pbkdf2-sha256$<iterations>$<salt>$<hash>`.
    pub fn parse(text: &str) -> Result<Self, HashError> {
        let mut parts = text.split('$');
        let (Some(SCHEME), Some(iter), Some(salt), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HashError::Format);
        };
        let iterations = iter.parse().ok().filter(|&n| n > 0).ok_or(HashError::Format)?;
        let salt = STANDARD_NO_PAD.decode(salt).map_err(|_| HashError::Format)?;
        let hash = STANDARD_NO_PAD.decode(hash).ok().and_then(|h| h.try_into().ok()).ok_or(HashError::Format)?;
        Ok(Self { iterations, salt, hash })
    }

    /// The stored form.
    pub fn to_text(&self) -> String {
        format!(
            "{SCHEME}${}${}${}",
            self.iterations,
            STANDARD_NO_PAD.encode(&self.salt),
            STANDARD_NO_PAD.encode(self.hash)
        )
    }

    /// Whether `password` matches, compared in constant time.
    ///
    /// # Errors
    ///
    /// [`HashError`] when the key derivation fails (a wrong password is `Ok(false)`).
    pub async fn verify(&self, password: &str) -> Result<bool, HashError> {
        let candidate = pbkdf2_sha256(password.as_bytes(), &self.salt, self.iterations).await?;
        Ok(bool::from(candidate.ct_eq(&self.hash)))
    }

    /// Whether this hash is weaker than the current policy and should be
    /// replaced after a successful login.
    pub fn needs_rehash(&self, iterations: u32) -> bool {
        self.iterations < iterations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;

    #[test]
    fn round_trip_and_verify() {
        let h = block_on(PasswordHash::create("correct horse", 1000)).unwrap();
        let text = h.to_text();
        assert!(text.starts_with("pbkdf2-sha256$1000$"));
        let parsed = PasswordHash::parse(&text).unwrap();
        assert_eq!(parsed, h);
        assert!(block_on(parsed.verify("correct horse")).unwrap());
        assert!(!block_on(parsed.verify("correct horsf")).unwrap());
        assert!(parsed.needs_rehash(2000));
        assert!(!parsed.needs_rehash(1000));
    }

    #[test]
    fn salts_differ() {
        let a = block_on(PasswordHash::create("pw", 10)).unwrap();
        let b = block_on(PasswordHash::create("pw", 10)).unwrap();
        assert_ne!(a.to_text(), b.to_text());
    }

    #[test]
    fn bad_formats() {
        for text in [
            "",
            "bcrypt$10$x$y",
            "pbkdf2-sha256$0$AAAA$AAAA",
            "pbkdf2-sha256$x$AAAA$AAAA",
            "pbkdf2-sha256$10$!!$AAAA",
            "pbkdf2-sha256$10$AAAA$AAAA",
            "pbkdf2-sha256$10$AAAA$AAAA$extra",
        ] {
            assert!(PasswordHash::parse(text).is_err(), "{text}");
        }
    }
}
