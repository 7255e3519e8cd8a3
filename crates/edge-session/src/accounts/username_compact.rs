//! [`super::username`]'s rules without the Unicode crates, for wasm32.
//!
//! Why: precis-core, precis-profiles, unicode-security, unicode-script and
//! unicode-normalization put ~160 KB gzip of tables and code into the worker
//! (issue 14), most of the wasm's size. The runtime already has Unicode
//! normalization (`String.prototype.normalize`, passed in here as `nfkc` and
//! `nfd`) and lowercase (`crate::builtins`), and the core library has the
//! letter, digit and case properties (`char::is_alphanumeric`,
//! `char::is_lowercase`). What JavaScript has no
//! built-in for, RFC 8265's PRECIS class and the Bidi classes of its Bidi
//! Rule, UTS #39's Identifier_Status and confusable prototypes, and the
//! script of each letter, comes from tables that build.rs generates from the
//! very crates the native build uses, kept to the code points a canonical
//! username can contain: a few KB.
//!
//! The rules are applied in the order `username::normalize` applies them, so
//! every input gets the same result or the same error: the tests below run
//! both over every code point, and tests/vectors/usernames.json through both
//! (natively here, and in workerd through the lab worker's
//! `/lab/username` route, tests/e2e/usernames.test.mjs).

use super::username::UsernameError;

include!(concat!(env!("OUT_DIR"), "/username-tables.rs"));

/// One code point's properties, as build.rs packs them in `VALUES`: bits
/// 0-1 the kind, 2-4 the Bidi class, 5-6 the digit context, 7
/// Identifier_Status Allowed, 8-15 the script.
#[derive(Clone, Copy)]
struct Entry(u16);

/// What `username::normalize`'s character check and PRECIS class say.
#[derive(PartialEq, Eq)]
enum Kind {
    /// Not a letter, digit, script mark, `.`, `_` or `-`.
    NotCandidate,
    /// A candidate that RFC 8265's IdentifierClass disallows.
    Disallowed,
    /// A candidate the class allows (maybe by a context rule).
    Valid,
}

/// RFC 5893's Bidi classes as precis-profiles' Bidi Rule tells them apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bidi {
    L,
    /// R or AL.
    Rtl,
    An,
    En,
    Nsm,
    /// ES, CS, ET, ON or BN: allowed inside a label of either direction.
    Neutral,
    /// Any other class: refused wherever the rule applies.
    Other,
}

impl Entry {
    /// The value of the range `c` is in: the last range whose start is at
    /// most `c`. `CHECKPOINTS[k]` is range 64·k's start; `DELTAS[i]` the
    /// distance from range i-1's start to range i's.
    fn of(c: char) -> Self {
        let cp = u32::from(c);
        // The first range starts at U+0000, so k >= 0.
        let k = CHECKPOINTS.partition_point(|&start| start <= cp).saturating_sub(1);
        let (mut i, mut start) = (k * 64, CHECKPOINTS[k]);
        while let Some(&delta) = DELTAS.get(i + 1) {
            let next = start + u32::from(delta);
            if next > cp {
                break;
            }
            (i, start) = (i + 1, next);
        }
        Entry(VALUES[i])
    }

    fn kind(self) -> Kind {
        match self.0 & 3 {
            0 => Kind::NotCandidate,
            1 => Kind::Disallowed,
            _ => Kind::Valid,
        }
    }

    fn bidi(self) -> Bidi {
        match (self.0 >> 2) & 7 {
            0 => Bidi::L,
            1 => Bidi::Rtl,
            2 => Bidi::An,
            3 => Bidi::En,
            4 => Bidi::Nsm,
            5 => Bidi::Neutral,
            _ => Bidi::Other,
        }
    }

    /// RFC 5892 A.8 (1) and A.9 (2): Arabic-Indic and Extended
    /// Arabic-Indic digits never in one name.
    fn digit_context(self) -> u16 {
        (self.0 >> 5) & 3
    }

    /// UTS #39 Identifier_Status Allowed.
    fn identifier_allowed(self) -> bool {
        self.0 & (1 << 7) != 0
    }

    /// An id of the letter's script; 0 for Common and Inherited.
    fn script(self) -> u16 {
        self.0 >> 8
    }
}

/// `username::normalize`, with the runtime's NFKC.
pub(crate) fn normalize(raw: &str, nfkc: impl Fn(&str) -> String) -> Result<String, UsernameError> {
    let name = nfkc(&crate::builtins::lowercase(&nfkc(raw.trim())));
    let len = name.chars().count();
    if !(3..=32).contains(&len) {
        return Err(UsernameError::Length);
    }
    let entries: Vec<Entry> = name.chars().map(Entry::of).collect();
    if entries.iter().any(|e| e.kind() == Kind::NotCandidate) {
        return Err(UsernameError::Characters);
    }
    if !precis_keeps(&name, &entries) {
        return Err(UsernameError::Disallowed);
    }
    if !entries.iter().all(|e| e.identifier_allowed()) {
        return Err(UsernameError::Restricted);
    }
    if !name.chars().any(char::is_alphanumeric) {
        return Err(UsernameError::NoLetterOrDigit);
    }
    let mut scripts = entries.iter().map(|e| e.script()).filter(|&s| s != 0);
    if let Some(first) = scripts.next() {
        if scripts.any(|s| s != first) {
            return Err(UsernameError::MixedScripts);
        }
    }
    Ok(name)
}

/// Whether `UsernameCaseMapped::enforce(name)` accepts the (NFKC, hence
/// NFC and width-mapped) name and returns it unchanged.
fn precis_keeps(name: &str, entries: &[Entry]) -> bool {
    if entries.iter().any(|e| e.kind() == Kind::Disallowed) {
        return false;
    }
    let digits = |d| entries.iter().any(|e| e.digit_context() == d);
    if digits(1) && digits(2) {
        return false;
    }
    // precis-profiles' case mapping: from the first uppercase character on,
    // every character that is not lowercase is replaced by its lowercase.
    let changed_by_case = |c: char| {
        let mut utf8 = [0; 4];
        let one = &*c.encode_utf8(&mut utf8);
        !c.is_lowercase() && crate::builtins::lowercase(one) != one
    };
    if name.find(char::is_uppercase).is_some_and(|at| name[at..].chars().any(changed_by_case)) {
        return false;
    }
    let classes: Vec<Bidi> = entries.iter().map(|e| e.bidi()).collect();
    !has_rtl(&classes) || bidi_rule(&classes)
}

fn has_rtl(classes: &[Bidi]) -> bool {
    classes.iter().any(|&b| matches!(b, Bidi::Rtl | Bidi::An))
}

/// RFC 5893's Bidi Rule as precis-profiles applies it: a label starts with
/// L (left-to-right) or R/AL (right-to-left); non-spacing marks only as a
/// final run after a character that may end the label.
fn bidi_rule(classes: &[Bidi]) -> bool {
    let Some((&first, rest)) = classes.split_first() else { return true };
    let rtl = match first {
        Bidi::Rtl => true,
        Bidi::L => false,
        _ => return false,
    };
    let may_end =
        |b: Bidi| if rtl { matches!(b, Bidi::Rtl | Bidi::En | Bidi::An) } else { matches!(b, Bidi::L | Bidi::En) };
    let (mut prev, mut marks, mut en, mut an) = (first, false, false, false);
    for &class in rest {
        match class {
            Bidi::Nsm if may_end(prev) => marks = true,
            Bidi::Nsm => return false,
            _ if marks => return false,
            Bidi::Rtl | Bidi::An | Bidi::En if rtl => {
                an |= class == Bidi::An;
                en |= class == Bidi::En;
                if an && en {
                    return false;
                }
                prev = class;
            }
            Bidi::L | Bidi::En if !rtl => prev = class,
            Bidi::Neutral => prev = class,
            _ => return false,
        }
    }
    marks || may_end(prev)
}

/// `username::skeleton` of a canonical name, with the runtime's NFD: the
/// table holds the prototypes of the code points a canonical name's NFD can
/// contain (other code points are kept as they are).
pub(crate) fn skeleton(name: &str, nfd: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(name.len());
    for c in nfd(name).chars() {
        match SKELETON_KEYS.binary_search(&u32::from(c)) {
            Ok(i) => {
                let start = if i == 0 { 0 } else { usize::from(SKELETON_ENDS[i - 1]) };
                out.push_str(&SKELETON_TEXT[start..usize::from(SKELETON_ENDS[i])]);
            }
            Err(_) => out.push(c),
        }
    }
    nfd(&out)
}

#[cfg(test)]
mod tests {
    use super::super::normal_forms::{nfd, nfkc};
    use super::super::username;

    fn compact(raw: &str) -> Result<String, super::UsernameError> {
        super::normalize(raw, nfkc)
    }

    /// The same results as the crates for `raw`, and the same skeleton when
    /// it is a name.
    fn agree(raw: &str) {
        let want = username::normalize(raw);
        assert_eq!(compact(raw), want, "{raw:?} ({:x?})", raw.chars().map(u32::from).collect::<Vec<_>>());
        if let Ok(name) = want {
            assert_eq!(super::skeleton(&name, nfd), username::skeleton(&name), "skeleton of {name:?}");
        }
    }

    #[test]
    fn shared_vectors_agree_with_the_crates() {
        #[derive(serde::Deserialize)]
        struct Vector {
            input: String,
        }
        let vectors: Vec<Vector> =
            serde_json::from_str(include_str!("../../../../tests/vectors/usernames.json")).expect("valid JSON");
        for v in vectors {
            agree(&v.input);
        }
    }

    /// Every code point alone (three times, so the length passes), after
    /// Latin letters, and in the contexts where the Bidi Rule, the digit
    /// context rules, the case rule and the script rule tell it apart.
    /// (The contexts only for code points that can be in a name: a code
    /// point that is neither NFKC-changed nor a candidate fails the
    /// character check in any context, which the first two show.)
    #[test]
    fn every_code_point_agrees_with_the_crates() {
        const ALONE: [&str; 2] = ["{}{}{}", "ab{}"];
        const CONTEXTS: [&str; 8] = [
            "{}{}{}",
            "ab{}",
            "{}ab",
            "\u{5d0}\u{5d1}{}",
            "{}\u{5d0}\u{5d1}",
            "\u{661}\u{5d0}{}",
            "\u{6f1}a{}",
            "1\u{627}{}",
        ];
        let mut buf = String::new();
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            let may_be_in_a_name =
                super::Entry::of(c).kind() != super::Kind::NotCandidate || nfkc(&c.to_string()) != c.to_string();
            let templates: &[&str] = if may_be_in_a_name { &CONTEXTS } else { &ALONE };
            for template in templates {
                buf.clear();
                for (i, part) in template.split("{}").enumerate() {
                    if i > 0 {
                        buf.push(c);
                    }
                    buf.push_str(part);
                }
                agree(&buf);
            }
        }
    }
}
