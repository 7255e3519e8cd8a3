//! The common-password filter's key of a password, shared by `build.rs`
//! (which builds the filter) and `accounts::common` (which reads it): the
//! first 8 bytes (little-endian) of the SHA-256 of its lowercase form.

use sha2::{Digest, Sha256};

/// The filter's key of `password`.
pub fn key(password: &str) -> u64 {
    let digest = Sha256::digest(password.to_lowercase().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}
