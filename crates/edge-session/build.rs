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
//!
//! It also writes `username-tables.rs`, the few properties of the code
//! points a username can contain that JavaScript has no built-in for (RFC
//! 8265's PRECIS class and Bidi Rule classes, UTS #39's Identifier_Status
//! and confusable prototypes, the script of each letter), taken from the
//! same crates the native build uses (build-dependencies here), so the wasm32
//! build carries a few KB of ranges instead of the crates' code and tables.
//! `accounts::username_compact` reads them; its tests check them against the
//! crates over every code point.
//!
//! And `script-digests.rs`: the SHA-1 (hex) of each Lua script in
//! `src/store/scripts`, the name `EVALSHA` calls it by, so that no request
//! hashes a script's source again (`store::script::Script::sha1`; its tests
//! check each digest against the source).

use std::{env, fs, path::PathBuf};

use xorf::{BinaryFuse16, DmaSerializable};

#[path = "src/accounts/common_key.rs"]
mod common_key;
use common_key::key;

fn main() {
    write_script_digests();
    println!("cargo:rerun-if-changed=data/common-passwords.txt");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/accounts/common_key.rs");
    if env::var_os("CARGO_FEATURE_ACCOUNTS").is_none() {
        return;
    }
    let list = fs::read_to_string("data/common-passwords.txt").expect("data/common-passwords.txt");
    let mut keys: Vec<u64> = list.lines().filter(|l| !l.is_empty()).map(|l| key(&l.to_lowercase())).collect();
    keys.sort_unstable();
    keys.dedup();
    let filter = BinaryFuse16::try_from(&keys).expect("a binary fuse filter of the common passwords");
    let mut descriptor = vec![0u8; BinaryFuse16::DESCRIPTOR_LEN];
    filter.dma_copy_descriptor_to(&mut descriptor);
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("common-passwords.descriptor"), descriptor).expect("write the descriptor");
    fs::write(out.join("common-passwords.fingerprints"), filter.dma_fingerprints()).expect("write the fingerprints");
    #[cfg(feature = "accounts")]
    fs::write(out.join("username-tables.rs"), username_tables::generate()).expect("write the username tables");
}

/// `script-digests.rs`: `<NAME>_SHA1`, the lowercase hex SHA-1 of
/// `src/store/scripts/<name>.lua`, for each script.
fn write_script_digests() {
    use sha1::{Digest, Sha1};
    use std::fmt::Write;
    let mut out = String::new();
    for name in ["save", "end_sessions", "prune_index", "register"] {
        let path = format!("src/store/scripts/{name}.lua");
        println!("cargo:rerun-if-changed={path}");
        let source = fs::read(&path).expect("a Lua script");
        let hex: String = Sha1::digest(&source).iter().map(|b| format!("{b:02x}")).collect();
        writeln!(out, "/// SHA-1 (hex) of `{path}`, by build.rs.").unwrap();
        writeln!(out, "pub(crate) const {}_SHA1: &str = \"{hex}\";", name.to_uppercase()).unwrap();
    }
    let dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(dir.join("script-digests.rs"), out).expect("write the script digests");
}

/// The tables of `accounts::username_compact`; the value layout is its
/// `Entry`'s (bits named there).
#[cfg(feature = "accounts")]
mod username_tables {
    use std::collections::BTreeMap;
    use std::fmt::Write;

    use precis_core::{DerivedPropertyValue, IdentifierClass, StringClass};
    use unicode_bidi::BidiClass;
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    use unicode_script::{Script, UnicodeScript};
    use unicode_security::GeneralSecurityProfile;

    const NOT_CANDIDATE: u16 = 0;
    const DISALLOWED: u16 = 1;
    const VALID: u16 = 2;

    /// `username::normalize`'s character check: letters, digits, marks of a
    /// script of their own, `.`, `_`, `-`.
    fn candidate(c: char) -> bool {
        c.is_alphanumeric() || (is_combining_mark(c) && c.script() != Script::Inherited) || matches!(c, '.' | '_' | '-')
    }

    /// Only what a canonical (NFKC) name can hold needs a value.
    fn nfkc_stable(c: char) -> bool {
        let s = c.to_string();
        s.nfkc().eq(s.chars())
    }

    /// The classes RFC 5893's Bidi Rule tells apart (precis-profiles' rule).
    fn bidi(c: char) -> u16 {
        use BidiClass::*;
        match unicode_bidi::bidi_class(c) {
            L => 0,
            R | AL => 1,
            AN => 2,
            EN => 3,
            NSM => 4,
            ES | CS | ET | ON | BN => 5,
            _ => 6,
        }
    }

    fn context(c: char) -> u16 {
        match c {
            '\u{660}'..='\u{669}' => 1,
            '\u{6f0}'..='\u{6f9}' => 2,
            _ => 0,
        }
    }

    fn value(c: char, scripts: &mut BTreeMap<&'static str, u16>) -> Option<u16> {
        if !nfkc_stable(c) {
            return None;
        }
        if !candidate(c) {
            return Some(NOT_CANDIDATE);
        }
        match IdentifierClass::default().get_value_from_char(c) {
            DerivedPropertyValue::PValid | DerivedPropertyValue::SpecClassPval => {}
            DerivedPropertyValue::ContextO => assert!(context(c) != 0, "a new contextual letter or digit: {c:?}"),
            DerivedPropertyValue::ContextJ => panic!("a new CONTEXTJ letter or digit: {c:?}"),
            _ => return Some(DISALLOWED),
        }
        let allowed = GeneralSecurityProfile::identifier_allowed(c);
        let script = match c.script() {
            _ if !allowed => 0,
            Script::Common | Script::Inherited => 0,
            s => {
                let next = scripts.len() as u16 + 1;
                *scripts.entry(s.full_name()).or_insert(next)
            }
        };
        assert!(script < 256, "script ids fit a byte");
        Some(VALID | bidi(c) << 2 | context(c) << 5 | u16::from(allowed) << 7 | script << 8)
    }

    pub fn generate() -> String {
        let mut scripts = BTreeMap::new();
        let mut starts = Vec::new();
        let mut values = Vec::new();
        let mut skeleton_domain = Vec::new();
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            let Some(v) = value(c, &mut scripts) else { continue };
            if v & 3 == VALID && v & (1 << 7) != 0 {
                skeleton_domain.extend(c.to_string().nfd());
            }
            if values.last() != Some(&v) {
                starts.push(c as u32);
                values.push(v);
            }
        }
        skeleton_domain.sort_unstable();
        skeleton_domain.dedup();
        let mut keys = Vec::new();
        let mut ends = Vec::new();
        let mut text = String::new();
        for c in skeleton_domain {
            let s = c.to_string();
            let skeleton: String = unicode_security::skeleton(&s).collect();
            if skeleton != s {
                keys.push(c as u32);
                text.push_str(&skeleton);
                ends.push(u16::try_from(text.len()).expect("skeleton text under 64 KB"));
            }
        }
        let mut out = String::new();
        let _ = writeln!(out, "// @generated by build.rs from precis-core, unicode-bidi, unicode-normalization, unicode-script, unicode-security");
        // Range starts as the distance from the previous one (u16), with
        // every 64th start in full to search: ~4 KB less gzip in the wasm
        // than u32 starts.
        let deltas: Vec<u16> = std::iter::once(0)
            .chain(starts.windows(2).map(|w| u16::try_from(w[1] - w[0]).expect("ranges under 65 536 code points")))
            .collect();
        let checkpoints: Vec<u32> = starts.iter().step_by(64).copied().collect();
        let _ = writeln!(out, "static DELTAS: [u16; {}] = {:?};", deltas.len(), deltas);
        let _ = writeln!(out, "static CHECKPOINTS: [u32; {}] = {:?};", checkpoints.len(), checkpoints);
        let _ = writeln!(out, "static VALUES: [u16; {}] = {:?};", values.len(), values);
        let _ = writeln!(out, "static SKELETON_KEYS: [u32; {}] = {:?};", keys.len(), keys);
        let _ = writeln!(out, "static SKELETON_ENDS: [u16; {}] = {:?};", ends.len(), ends);
        let _ = writeln!(out, "static SKELETON_TEXT: &str = {text:?};");
        out
    }
}
