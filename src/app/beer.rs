//! A small generator of plausible craft-beer names and styles. The seed demo
//! asked an external API for names; that is not reachable from tests or
//! offline, so the worker makes its own, and uses an upstream API only when
//! one is configured (`BEER_API_URL`, [`super::beer_api`]).

use serde::{Deserialize, Serialize};

/// A beer to show after a pour; also one entry of the cached upstream list
/// (`{"name":…,"style":…}`, `style` null when the upstream gave none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beer {
    /// E.g. "Hazy Otter Lager".
    pub name: String,
    /// E.g. "New England IPA"; `None` for an upstream beer without a style
    /// or tagline (the generator always gives one).
    #[serde(default)]
    pub style: Option<String>,
}

const ADJECTIVES: &[&str] = &[
    "Hazy",
    "Golden",
    "Smoky",
    "Wild",
    "Midnight",
    "Crooked",
    "Foggy",
    "Rusty",
    "Velvet",
    "Hoppy",
    "Bitter",
    "Sunny",
    "Salty",
    "Lazy",
    "Electric",
    "Old",
    "Barrel-Aged",
    "Frosty",
    "Copper",
    "Dank",
];

const NOUNS: &[&str] = &[
    "Otter",
    "Lighthouse",
    "Fox",
    "Anchor",
    "Raven",
    "Harbor",
    "Pine",
    "Badger",
    "Comet",
    "Tractor",
    "Heron",
    "Bison",
    "Lantern",
    "Mammoth",
    "Walrus",
    "Cactus",
    "Ferry",
    "Owl",
    "Glacier",
    "Moose",
];

const STYLES: &[&str] = &[
    "American IPA",
    "New England IPA",
    "Double IPA",
    "Pale Ale",
    "Pilsner",
    "Helles Lager",
    "Oatmeal Stout",
    "Imperial Stout",
    "Porter",
    "Saison",
    "Hefeweizen",
    "Witbier",
    "Gose",
    "Berliner Weisse",
    "Amber Ale",
    "Brown Ale",
    "Barleywine",
    "Kölsch",
    "Märzen",
    "Sour Ale",
];

const SUFFIXES: &[&str] = &["Ale", "Lager", "IPA", "Stout", "Brew", "Reserve", "Pils", "Porter"];

/// Picks a beer from four random numbers.
pub fn pick(r: [u32; 4]) -> Beer {
    let at = |list: &[&'static str], n: u32| list[n as usize % list.len()];
    Beer {
        name: format!("{} {} {}", at(ADJECTIVES, r[0]), at(NOUNS, r[1]), at(SUFFIXES, r[2])),
        style: Some(at(STYLES, r[3]).to_owned()),
    }
}

/// A random beer, using the platform's CSPRNG (`crypto.getRandomValues` on
/// Workers). Falls back to a fixed beer if no randomness is available, which
/// only affects the name shown, never a security decision.
pub fn random() -> Beer {
    pick(random_numbers())
}

/// Four random numbers from the platform's CSPRNG, all 0 if it has none
/// (they only choose a name to show, never a security decision).
pub fn random_numbers() -> [u32; 4] {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return [0; 4];
    }
    let n = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    [n(0), n(4), n(8), n(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_deterministic_and_in_range() {
        assert_eq!(pick([0, 0, 0, 0]), Beer { name: "Hazy Otter Ale".into(), style: Some("American IPA".into()) });
        assert_eq!(pick([u32::MAX; 4]).style.as_deref(), Some(STYLES[u32::MAX as usize % STYLES.len()]));
        assert!(!random().name.is_empty());
    }
}
