//! Passwords too common to accept (NIST SP 800-63B §3.1.1.2: compare new
//! passwords with a list of commonly used or compromised ones): the top
//! 20 000 of zxcvbn's ranked list of leaked passwords with at least
//! [`super::MIN_PASSWORD_CHARS`] characters (`data/common-passwords.txt`,
//! made by `scripts/common-passwords.mjs` from a pinned npm package),
//! compared case-insensitively. `build.rs` turns the list into a binary
//! fuse filter (xorf), embedded here and read in place: about 16 KB in the
//! wasm instead of the list's 68 KB, at the price of refusing about one
//! other password in 65 536 as if it were common.

use xorf::{BinaryFuse16, BinaryFuse16Ref, DmaSerializable, Filter, FilterRef};

use super::common_key::key;

/// The filter's bytes, aligned for its 16-bit fingerprints (xorf reads them
/// in place and asks for that alignment).
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

static DESCRIPTOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/common-passwords.descriptor"));
static FINGERPRINTS: &Aligned<[u8]> =
    &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/common-passwords.fingerprints")));

/// Whether `password`, in any case, is one of the common passwords.
pub fn is_common(password: &str) -> bool {
    debug_assert_eq!(DESCRIPTOR.len(), BinaryFuse16::DESCRIPTOR_LEN);
    BinaryFuse16Ref::from_dma(DESCRIPTOR, &FINGERPRINTS.0).contains(&key(&crate::builtins::lowercase(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_password_is_common_in_any_case() {
        let list = include_str!("../../data/common-passwords.txt");
        let mut count = 0;
        for p in list.lines() {
            assert!(is_common(p), "{p}");
            assert!(is_common(&p.to_uppercase()), "{p} in capitals");
            count += 1;
        }
        assert!(count >= 7_000, "{count} listed");
        for p in ["password", "12345678", "Password", "iloveyou", "qwertyuiop", "1qaz2wsx"] {
            assert!(is_common(p), "{p}");
        }
    }

    #[test]
    fn other_passwords_are_rarely_refused() {
        for p in ["correct horse battery", "tr0ub4dor&3 staple", "ünïcödé!", "Zq8#mLp2!vR"] {
            assert!(!is_common(p), "{p}");
        }
        // 100 000 made-up passwords: the filter's false positives are about
        // 1 in 65 536, so a handful at most.
        let refused = (0..100_000u32).filter(|i| is_common(&format!("not-on-any-list-{i:08}"))).count();
        assert!(refused <= 10, "{refused} false positives in 100 000");
    }
}
