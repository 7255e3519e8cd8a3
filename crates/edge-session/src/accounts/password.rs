//! Password hashes as stored in a user record:
//! `pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>`, or, with a
//! pepper, `pbkdf2-sha256-pepper$<pepper id>$<iterations>$<salt>$<hash>`:
//! PBKDF2 of the HMAC-SHA256 of the password keyed with the pepper, a secret
//! only the worker holds (`AUTH_PEPPER`), so that a copy of the database
//! alone cracks nothing (OWASP Password Storage: peppering). The record
//! names its algorithm, pepper and cost, so the iteration count can rise
//! and the pepper can be rotated (`AUTH_PEPPER_PREVIOUS`) while old hashes
//! still verify; they are rehashed at the next login.

use base64ct::{Base64Unpadded, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::kdf::{pbkdf2_sha256, KdfError};

const SCHEME: &str = "pbkdf2-sha256";
const PEPPERED: &str = "pbkdf2-sha256-pepper";
const SALT_BYTES: usize = 16;
/// The shortest pepper accepted, in bytes: a pepper is a key, and a short
/// one could be guessed along with the password.
pub const MIN_PEPPER_BYTES: usize = 32;

/// A pepper: a secret key the password is keyed with before hashing, and
/// the id a hash records it by (the first 8 hex digits of its SHA-256:
/// enough to tell the configured peppers apart, nothing to recover it).
#[derive(Clone, PartialEq, Eq)]
pub struct Pepper {
    id: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A secret: never in a log line.
        f.debug_struct("Pepper").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Pepper {
    /// The pepper `secret` (`AUTH_PEPPER`'s value).
    pub fn new(secret: &str) -> Self {
        let id = hex::encode(&Sha256::digest(secret.as_bytes())[..4]);
        Self { id, key: secret.as_bytes().to_vec() }
    }

    /// The id hashes record.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// HMAC-SHA256(pepper, password): what PBKDF2 hashes.
    fn key_password(&self, password: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The peppers a worker knows: the one new hashes use, and the one before
/// it, whose hashes still verify (and are rehashed at the next login).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peppers {
    /// `AUTH_PEPPER`: new hashes are made with it; `None`: no pepper.
    pub current: Option<Pepper>,
    /// `AUTH_PEPPER_PREVIOUS`: hashes made with it still verify.
    pub previous: Option<Pepper>,
}

impl Peppers {
    fn find(&self, id: &str) -> Option<&Pepper> {
        [&self.current, &self.previous].into_iter().flatten().find(|p| p.id == id)
    }
}

/// A parsed password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// The id of the pepper it was made with, if any.
    pub pepper: Option<String>,
    salt: Vec<u8>,
    hash: [u8; 32],
}

/// Why a stored hash could not be used.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum HashError {
    /// The stored text is not `pbkdf2-sha256$N$salt$hash` (or its peppered form).
    #[error("stored password hash has an unknown format")]
    Format,
    /// The hash was made with a pepper this worker does not have (neither
    /// `AUTH_PEPPER` nor `AUTH_PEPPER_PREVIOUS`): it cannot be checked.
    #[error("stored password hash was made with pepper {0}, which is neither AUTH_PEPPER nor AUTH_PEPPER_PREVIOUS")]
    UnknownPepper(String),
    /// The key derivation failed.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// No randomness for a salt.
    #[error("no randomness for a salt")]
    Random,
}
crate::debug_is_display!(HashError);

impl PasswordHash {
    /// Hashes `password` with a fresh random salt, keyed with `pepper` when
    /// there is one.
    ///
    /// # Errors
    ///
    /// [`HashError`] when the key derivation fails.
    pub async fn create(password: &str, iterations: u32, pepper: Option<&Pepper>) -> Result<Self, HashError> {
        let mut salt = vec![0u8; SALT_BYTES];
        getrandom::fill(&mut salt).map_err(|_| HashError::Random)?;
        let hash = derive(password, pepper, &salt, iterations).await?;
        Ok(Self { iterations, pepper: pepper.map(|p| p.id.clone()), salt, hash })
    }

    /// Reads the stored form.
    ///
    /// # Errors
    ///
    /// [`HashError`] when `text` is not `pbkdf2-sha256$<iterations>$<salt>$<hash>` or
    /// `pbkdf2-sha256-pepper$<id>$<iterations>$<salt>$<hash>`.
    pub fn parse(text: &str) -> Result<Self, HashError> {
        let mut parts = text.split('$');
        let pepper = match parts.next() {
            Some(SCHEME) => None,
            Some(PEPPERED) => Some(parts.next().filter(|id| is_pepper_id(id)).ok_or(HashError::Format)?.to_owned()),
            _ => return Err(HashError::Format),
        };
        let (Some(iter), Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HashError::Format);
        };
        let iterations = iter.parse().ok().filter(|&n| n > 0).ok_or(HashError::Format)?;
        let salt = Base64Unpadded::decode_vec(salt).map_err(|_| HashError::Format)?;
        let hash = Base64Unpadded::decode_vec(hash).ok().and_then(|h| h.try_into().ok()).ok_or(HashError::Format)?;
        Ok(Self { iterations, pepper, salt, hash })
    }

    /// The stored form.
    pub fn to_text(&self) -> String {
        let (salt, hash) = (Base64Unpadded::encode_string(&self.salt), Base64Unpadded::encode_string(&self.hash));
        match &self.pepper {
            None => format!("{SCHEME}${}${salt}${hash}", self.iterations),
            Some(id) => format!("{PEPPERED}${id}${}${salt}${hash}", self.iterations),
        }
    }

    /// Whether `password` matches, compared in constant time, keyed with
    /// the pepper the hash names (found among `peppers`).
    ///
    /// # Errors
    ///
    /// [`HashError::UnknownPepper`] when the hash names a pepper `peppers` does not have,
    /// [`HashError::Kdf`] when the key derivation fails (a wrong password is `Ok(false)`).
    pub async fn verify(&self, password: &str, peppers: &Peppers) -> Result<bool, HashError> {
        let pepper = match &self.pepper {
            None => None,
            Some(id) => Some(peppers.find(id).ok_or_else(|| HashError::UnknownPepper(id.clone()))?),
        };
        let candidate = derive(password, pepper, &self.salt, self.iterations).await?;
        Ok(bool::from(candidate.ct_eq(&self.hash)))
    }

    /// Whether this hash is weaker than the current policy (fewer
    /// iterations) or made with another pepper than the current one, and
    /// should be replaced after a successful login.
    pub fn needs_rehash(&self, iterations: u32, peppers: &Peppers) -> bool {
        self.iterations < iterations || self.pepper.as_deref() != peppers.current.as_ref().map(Pepper::id)
    }
}

/// PBKDF2 of the password, or of its HMAC with the pepper.
async fn derive(password: &str, pepper: Option<&Pepper>, salt: &[u8], iterations: u32) -> Result<[u8; 32], HashError> {
    Ok(match pepper {
        Some(p) => pbkdf2_sha256(&p.key_password(password), salt, iterations).await?,
        None => pbkdf2_sha256(password.as_bytes(), salt, iterations).await?,
    })
}

fn is_pepper_id(id: &str) -> bool {
    id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;

    #[test]
    fn round_trip_and_verify() {
        let none = Peppers::default();
        let h = block_on(PasswordHash::create("correct horse", 1000, None)).unwrap();
        let text = h.to_text();
        assert!(text.starts_with("pbkdf2-sha256$1000$"));
        let parsed = PasswordHash::parse(&text).unwrap();
        assert_eq!(parsed, h);
        assert!(block_on(parsed.verify("correct horse", &none)).unwrap());
        assert!(!block_on(parsed.verify("correct horsf", &none)).unwrap());
        assert!(parsed.needs_rehash(2000, &none));
        assert!(!parsed.needs_rehash(1000, &none));
    }

    #[test]
    fn peppered_hashes_verify_only_with_their_pepper_and_rotate() {
        let (old, new) = (Pepper::new(&"o".repeat(32)), Pepper::new(&"n".repeat(32)));
        let with_old = Peppers { current: Some(old.clone()), previous: None };
        let h = block_on(PasswordHash::create("correct horse", 1000, Some(&old))).unwrap();
        let text = h.to_text();
        assert_eq!(text.split('$').take(3).collect::<Vec<_>>(), ["pbkdf2-sha256-pepper", old.id(), "1000"]);
        let parsed = PasswordHash::parse(&text).unwrap();
        assert!(block_on(parsed.verify("correct horse", &with_old)).unwrap());
        assert!(!block_on(parsed.verify("correct horsf", &with_old)).unwrap());
        assert!(!parsed.needs_rehash(1000, &with_old));
        // Without its pepper the hash cannot be checked at all, and the
        // bytes differ from an unpeppered hash of the same password and salt.
        let unknown = block_on(parsed.verify("correct horse", &Peppers::default())).unwrap_err();
        assert!(matches!(unknown, HashError::UnknownPepper(ref id) if id == old.id()));
        let plain = PasswordHash { pepper: None, ..parsed.clone() };
        assert!(!block_on(plain.verify("correct horse", &Peppers::default())).unwrap());
        // Rotated: the old pepper verifies as the previous one, and the
        // hash asks to be remade with the new.
        let rotated = Peppers { current: Some(new.clone()), previous: Some(old) };
        assert!(block_on(parsed.verify("correct horse", &rotated)).unwrap());
        assert!(parsed.needs_rehash(1000, &rotated));
        // An unpeppered hash asks for the pepper once there is one.
        assert!(block_on(PasswordHash::create("pw", 10, None)).unwrap().needs_rehash(10, &rotated));
        assert!(!format!("{new:?}").contains("nnnn"), "a pepper is never printed");
    }

    #[test]
    fn salts_differ() {
        let a = block_on(PasswordHash::create("pw", 10, None)).unwrap();
        let b = block_on(PasswordHash::create("pw", 10, None)).unwrap();
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
            "pbkdf2-sha256-pepper$10$AAAA$AAAA",
            "pbkdf2-sha256-pepper$zzzzzzzz$10$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(PasswordHash::parse(text).is_err(), "{text}");
        }
    }
}
