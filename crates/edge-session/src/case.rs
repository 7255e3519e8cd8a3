//! Unicode lowercase: the Unicode Standard's default case conversion
//! (`toLowercase(X)`, §3.13: full mappings, the final sigma rule, no
//! locale), for usernames, password checks and configured words and paths.
//!
//! Natively `str::to_lowercase`; on wasm32 the runtime's own
//! `String.prototype.toLowerCase` (ECMA-262 §22.1.3.28, the same
//! conversion), so that the worker does not carry the standard library's
//! case-conversion tables (8.4 KB of the gzip'd module, issue 14). The two
//! can differ only where their Unicode versions do; usernames, the one
//! place a difference would be stored, are checked on both against
//! tests/vectors/usernames.json (natively in `accounts::username`'s tests,
//! in workerd by tests/e2e/usernames.test.mjs).

/// `s` in lowercase.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn lowercase(s: &str) -> String {
    s.to_lowercase()
}

/// `s` in lowercase.
#[cfg(target_arch = "wasm32")]
pub(crate) fn lowercase(s: &str) -> String {
    // A JavaScript string made from Rust text converts back without loss
    // (neither holds a lone surrogate), and lowercasing keeps it so.
    js_sys::JsString::from(s).to_lower_case().into()
}

#[cfg(test)]
mod tests {
    use super::lowercase;

    #[test]
    fn full_mappings_and_final_sigma() {
        assert_eq!(lowercase("ÀÉÎ Straße"), "àéî straße");
        // U+0130 (İ) lowercases to two code points, i + U+0307.
        assert_eq!(lowercase("İ"), "i\u{307}");
        // Σ at the end of a word is ς, elsewhere σ.
        assert_eq!(lowercase("ΟΔΟΣ ΣΑ"), "οδος σα");
    }
}
