//! Usernames, after RFC 8265 (PRECIS `UsernameCaseMapped`) and Unicode's
//! UTS #39 (confusable skeletons).
//!
//! A name is mapped first: trimmed, NFKC, lowercased, NFKC again. NFKC folds
//! more than RFC 8265's width mapping (ligatures and other compatibility
//! forms too), so "Ａｌｉｃｅ", "ALICE" and "alice" are one account and a
//! compatibility form cannot register a second one. The canonical name must
//! then be a valid `UsernameCaseMapped` string that its enforcement leaves
//! as it is (precis-profiles): no default-ignorable or invisible characters
//! (U+200B, U+3164 HANGUL FILLER, soft hyphens, variation selectors…), no
//! unassigned, control or Old Hangul Jamo characters, the Bidi Rule kept.
//! On top of the profile: letters, digits, `.`, `_`, `-` only; at least one
//! letter or digit (no `...`); letters from one script, since NFKC does not
//! fold Cyrillic "а" into Latin "a".
//!
//! Two names that look alike in one script each (`scope` and an all-Cyrillic
//! `ѕсоре`, `ping` and `pıng`) pass all that; [`skeleton`] is what tells them
//! apart: registration refuses a name whose skeleton is another user's.
//!
//! The native build applies these rules with the crates that define them
//! (precis-profiles, unicode-normalization, unicode-script,
//! unicode-security); the wasm32 build, where those crates would be most of
//! the worker's size, with the runtime's normalization and tables build.rs
//! takes from the same crates (`username_compact`, which says why and how
//! both are checked to agree).

#[cfg(not(target_arch = "wasm32"))]
use precis_core::profile::PrecisFastInvocation;
#[cfg(not(target_arch = "wasm32"))]
use precis_profiles::UsernameCaseMapped;
#[cfg(not(target_arch = "wasm32"))]
use unicode_normalization::char::is_combining_mark;
#[cfg(not(target_arch = "wasm32"))]
use unicode_normalization::UnicodeNormalization;
#[cfg(not(target_arch = "wasm32"))]
use unicode_script::{Script, UnicodeScript};
#[cfg(not(target_arch = "wasm32"))]
use unicode_security::GeneralSecurityProfile;

/// Why a username is refused.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Too short or too long (after normalization).
    #[error("a username has 3 to 32 characters")]
    Length,
    /// A character outside letters, digits, `.`, `_` and `-`.
    #[error("a username may contain letters, digits, '.', '_' and '-' only")]
    Characters,
    /// A character RFC 8265's `UsernameCaseMapped` profile refuses: an
    /// invisible (default-ignorable) one, an unassigned one, Old Hangul
    /// Jamo, or a right-to-left name breaking the Bidi Rule.
    #[error("a username may not contain invisible, unassigned or other characters RFC 8265 disallows, or mix writing directions")]
    Disallowed,
    /// A character UTS #39's General Security Profile does not recommend
    /// for identifiers (Identifier_Status Restricted: obsolete, technical
    /// or limited-use characters such as U+02B9, small capitals, Cherokee).
    #[error("a username may only use characters Unicode recommends for identifiers")]
    Restricted,
    /// Only `.`, `_` and `-`.
    #[error("a username needs at least one letter or digit")]
    NoLetterOrDigit,
    /// Letters from more than one script.
    #[error("a username's letters must all come from one script")]
    MixedScripts,
}
crate::debug_is_display!(UsernameError);

/// The canonical form of `raw`: trimmed, NFKC, lowercase; validated.
///
/// # Errors
///
/// [`UsernameError`] for a name of the wrong length, with other characters than letters, digits,
/// `.`, `_`, `-`, with characters RFC 8265 disallows, without a letter or digit, or with letters
/// from more than one script.
#[cfg(not(target_arch = "wasm32"))]
pub fn normalize(raw: &str) -> Result<String, UsernameError> {
    let name: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    // to_lowercase can leave a string that is no longer NFKC (rare); settle it.
    let name: String = name.nfkc().collect();
    let len = name.chars().count();
    if !(3..=32).contains(&len) {
        return Err(UsernameError::Length);
    }
    // Letters and digits, the marks of a script's own (a Devanagari virama,
    // a Tamil vowel sign: marks, not letters), and three punctuation
    // characters. Marks of no script of their own (Inherited: U+0300–036F
    // and the like) stay out: after NFKC, a letter that has a precomposed
    // form uses it, and a stray accent would make a look-alike (`i̇stanbul`).
    let script_mark = |c: char| is_combining_mark(c) && c.script() != Script::Inherited;
    if !name.chars().all(|c| c.is_alphanumeric() || script_mark(c) || matches!(c, '.' | '_' | '-')) {
        return Err(UsernameError::Characters);
    }
    // The profile's enforcement must accept the name and change nothing:
    // the stored name is then one RFC 8265 would store.
    match UsernameCaseMapped::enforce(name.as_str()) {
        Ok(enforced) if enforced == name => {}
        _ => return Err(UsernameError::Disallowed),
    }
    if !name.chars().all(GeneralSecurityProfile::identifier_allowed) {
        return Err(UsernameError::Restricted);
    }
    if !name.chars().any(char::is_alphanumeric) {
        return Err(UsernameError::NoLetterOrDigit);
    }
    let mut scripts = name.chars().map(|c| c.script()).filter(|s| !matches!(s, Script::Common | Script::Inherited));
    if let Some(first) = scripts.next() {
        if scripts.any(|s| s != first) {
            return Err(UsernameError::MixedScripts);
        }
    }
    Ok(name)
}

/// UTS #39's skeleton of a canonical name (section 4, "Confusable
/// Detection"): NFD, default-ignorables removed, each character replaced by
/// its prototype from Unicode's confusables table, NFD again. Two names
/// with one skeleton can be mistaken for each other (`scope` and `ѕсоре`,
/// `ping` and `pıng`, `alice` and `a1ice`); the skeleton is a key, never
/// shown.
#[cfg(not(target_arch = "wasm32"))]
pub fn skeleton(name: &str) -> String {
    unicode_security::skeleton(name).collect()
}

/// The canonical form of `raw`: trimmed, NFKC, lowercase; validated.
///
/// # Errors
///
/// [`UsernameError`] for a name of the wrong length, with other characters than letters, digits,
/// `.`, `_`, `-`, with characters RFC 8265 disallows, without a letter or digit, or with letters
/// from more than one script.
#[cfg(target_arch = "wasm32")]
pub fn normalize(raw: &str) -> Result<String, UsernameError> {
    super::username_compact::normalize(raw, super::normal_forms::nfkc)
}

/// UTS #39's skeleton of a canonical name (section 4, "Confusable
/// Detection"): NFD, default-ignorables removed, each character replaced by
/// its prototype from Unicode's confusables table, NFD again. Two names
/// with one skeleton can be mistaken for each other (`scope` and `ѕсоре`,
/// `ping` and `pıng`, `alice` and `a1ice`); the skeleton is a key, never
/// shown. Only a canonical name (one [`normalize`] returned) has its full
/// skeleton here: the tables keep the characters such names can contain.
#[cfg(target_arch = "wasm32")]
pub fn skeleton(name: &str) -> String {
    super::username_compact::skeleton(name, super::normal_forms::nfd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed table of username vectors, shared with the JavaScript
    /// Express fixture (tests/unit/usernames.test.mjs), so both sides keep
    /// one set of rules.
    const VECTORS: &str = include_str!("../../../../tests/vectors/usernames.json");

    #[derive(serde::Deserialize)]
    struct Vector {
        input: String,
        normalized: Option<String>,
        error: Option<String>,
        /// UTS #39's skeleton of `normalized`, where the vector shows one.
        skeleton: Option<String>,
    }

    #[test]
    fn shared_vectors() {
        let vectors: Vec<Vector> = serde_json::from_str(VECTORS).expect("tests/vectors/usernames.json is valid");
        assert!(vectors.len() > 50, "the table is there");
        for v in vectors {
            let got = match normalize(&v.input) {
                Ok(name) => (Some(name), None),
                Err(UsernameError::Length) => (None, Some("length")),
                Err(UsernameError::Characters) => (None, Some("characters")),
                Err(UsernameError::MixedScripts) => (None, Some("mixed_scripts")),
                Err(UsernameError::Disallowed) => (None, Some("disallowed")),
                Err(UsernameError::Restricted) => (None, Some("restricted")),
                Err(UsernameError::NoLetterOrDigit) => (None, Some("no_letter_or_digit")),
            };
            assert_eq!(got, (v.normalized.clone(), v.error.as_deref()), "{:?}", v.input);
            if let (Some(name), Some(skeleton)) = (&v.normalized, &v.skeleton) {
                assert_eq!(&super::skeleton(name), skeleton, "skeleton of {name:?}");
            }
        }
    }

    #[test]
    fn one_account_per_canonical_name() {
        for raw in ["alice", "ALICE", " Alice ", "Ａｌｉｃｅ"] {
            assert_eq!(normalize(raw).as_deref(), Ok("alice"), "{raw}");
        }
        assert_eq!(normalize("Zoë").as_deref(), Ok("zoë"));
        // "e" + combining diaeresis composes to the same name.
        assert_eq!(normalize("Zoe\u{308}").as_deref(), Ok("zoë"));
        assert_eq!(normalize("ﬁsh").as_deref(), Ok("fish"), "ligature folds");
    }

    #[test]
    fn refused() {
        assert_eq!(normalize("ab"), Err(UsernameError::Length));
        assert_eq!(normalize(&"a".repeat(33)), Err(UsernameError::Length));
        assert_eq!(normalize("a b c"), Err(UsernameError::Characters));
        assert_eq!(normalize("al:ice"), Err(UsernameError::Characters));
        assert_eq!(normalize("<script>"), Err(UsernameError::Characters));
        // Cyrillic "а" (U+0430) among Latin letters.
        assert_eq!(normalize("\u{430}lice"), Err(UsernameError::MixedScripts));
        assert_eq!(normalize("аня").as_deref(), Ok("аня"), "all Cyrillic is fine");
        assert_eq!(normalize("山田-42").as_deref(), Ok("山田-42"));
    }
}
