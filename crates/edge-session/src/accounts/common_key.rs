//! The common-password filter's key of a password, shared by `build.rs`
//! (which builds the filter) and `accounts::common` (which reads it): the
//! first 8 bytes (little-endian) of the SHA-256 of its lowercase form,
//! which each caller makes (build.rs with `str::to_lowercase`, the crate
//! with `builtins::lowercase`, the runtime's on wasm32).

use sha2::{Digest, Sha256};

/// The filter's key of a password, given in lowercase (`lowercase`).
pub fn key(lowercase: &str) -> u64 {
    let digest = Sha256::digest(lowercase.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}
