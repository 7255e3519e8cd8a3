//! Builds the common-password filter (`accounts::common`) from
//! `data/common-passwords.txt` (made by `scripts/common-passwords.mjs`): a
//! binary fuse filter with 16-bit fingerprints (xorf's `BinaryFuse16`,
//! about 18 bits per password, a false positive for about 1 in 65 536 other
//! passwords), written to `OUT_DIR` as xorf's own descriptor and
//! fingerprint bytes, which the crate embeds and reads in place. The list
//! itself (68 KB of text) never reaches the wasm, only the filter (about
//! 16 KB).
//!
//! A password's key is `src/accounts/common_key.rs`'s, the same file the
//! crate reads the filter with.

use std::{env, fs, path::PathBuf};

use xorf::{BinaryFuse16, DmaSerializable};

#[path = "src/accounts/common_key.rs"]
mod common_key;
use common_key::key;

fn main() {
    println!("cargo:rerun-if-changed=data/common-passwords.txt");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/accounts/common_key.rs");
    if env::var_os("CARGO_FEATURE_ACCOUNTS").is_none() {
        return;
    }
    let list = fs::read_to_string("data/common-passwords.txt").expect("data/common-passwords.txt");
    let mut keys: Vec<u64> = list.lines().filter(|l| !l.is_empty()).map(key).collect();
    keys.sort_unstable();
    keys.dedup();
    let filter = BinaryFuse16::try_from(&keys).expect("a binary fuse filter of the common passwords");
    let mut descriptor = vec![0u8; BinaryFuse16::DESCRIPTOR_LEN];
    filter.dma_copy_descriptor_to(&mut descriptor);
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("common-passwords.descriptor"), descriptor).expect("write the descriptor");
    fs::write(out.join("common-passwords.fingerprints"), filter.dma_fingerprints()).expect("write the fingerprints");
}
