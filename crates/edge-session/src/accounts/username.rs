//! Usernames are compared after Unicode NFKC normalization and lowercasing,
//! so "Ａｌｉｃｅ", "ALICE" and "alice" are one account and look-alike
//! compatibility forms cannot register a second one. Letters must also all
//! come from one script: NFKC does not fold Cyrillic "а" into Latin "a", so
//! a mixed name like "аlice" would otherwise pass for "alice".

use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};

/// Why a username is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Too short or too long (after normalization).
    #[error("a username has 3 to 32 characters")]
    Length,
    /// A character outside letters, digits, `.`, `_` and `-`.
    #[error("a username may contain letters, digits, '.', '_' and '-' only")]
    Characters,
    /// Letters from more than one script.
    #[error("a username's letters must all come from one script")]
    MixedScripts,
}

/// The canonical form of `raw`: trimmed, NFKC, lowercase; validated.
///
/// # Errors
///
/// [`UsernameError`] for a name of the wrong length, with other characters than letters, digits,
/// `.`, `_`, `-`, or with letters from more than one script.
pub fn normalize(raw: &str) -> Result<String, UsernameError> {
    let name: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    // to_lowercase can leave a string that is no longer NFKC (rare); settle it.
    let name: String = name.nfkc().collect();
    let len = name.chars().count();
    if !(3..=32).contains(&len) {
        return Err(UsernameError::Length);
    }
    if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(UsernameError::Characters);
    }
    let mut scripts = name.chars().map(|c| c.script()).filter(|s| !matches!(s, Script::Common | Script::Inherited));
    if let Some(first) = scripts.next() {
        if scripts.any(|s| s != first) {
            return Err(UsernameError::MixedScripts);
        }
    }
    Ok(name)
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
            };
            assert_eq!(got, (v.normalized.clone(), v.error.as_deref()), "{:?}", v.input);
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
