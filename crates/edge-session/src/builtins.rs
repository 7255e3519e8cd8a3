//! Text operations the JavaScript runtime already has: natively the Rust
//! implementations, on wasm32 the runtime's own, so that the worker does
//! not carry the standard library's tables for them (issue 14): Unicode
//! lowercase (the case-conversion tables, 8.2 KB of the gzip'd module), the
//! decimal-to-double conversion of JSON numbers (its powers-of-five table
//! and code, 13.7 KB) and the double-to-shortest-decimal one (ryu-js's
//! tables, 11.7 KB). Each pair implements one specification, so
//! they agree wherever their Unicode versions do; both sides are checked
//! against the same vectors (tests/vectors/usernames.json natively and in
//! workerd by tests/e2e/usernames.test.mjs; JSON numbers by
//! tests/vectors/numbers.json natively, and in workerd by
//! tests/e2e/compat.test.mjs, which reads and rewrites the same numbers
//! through the worker and Express and compares the stored bytes).

/// `s` in lowercase: the Unicode Standard's default case conversion
/// (`toLowercase(X)`, §3.13: full mappings, the final sigma rule, no
/// locale); on wasm32 `String.prototype.toLowerCase` (ECMA-262
/// §22.1.3.28, the same conversion).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn lowercase(s: &str) -> String {
    s.to_lowercase()
}

/// `s` in lowercase (see the native one).
#[cfg(target_arch = "wasm32")]
pub(crate) fn lowercase(s: &str) -> String {
    // A JavaScript string made from Rust text converts back without loss
    // (neither holds a lone surrogate), and lowercasing keeps it so.
    js_sys::JsString::from(s).to_lower_case().into()
}

/// The double nearest to `literal`, a number literal already checked
/// against JSON's grammar (RFC 8259 §6), ties to even: what `JSON.parse`
/// gives (ECMA-262's StringToNumber); on wasm32 the runtime's own
/// `parseFloat`, the very conversion Node reads a stored document with.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn parse_number(literal: &str) -> f64 {
    // A JSON number literal always parses; NaN would show a grammar bug.
    literal.parse::<f64>().unwrap_or(f64::NAN)
}

/// The double nearest to `literal` (see the native one).
#[cfg(target_arch = "wasm32")]
pub(crate) fn parse_number(literal: &str) -> f64 {
    js_sys::Number::parse_float(literal)
}

/// A finite, nonzero double as `Number.prototype.toString()` writes it
/// (ECMA-262's Number::toString, the shortest digits that read back the
/// same): ryu-js natively, the runtime's own on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn number_to_string(x: f64) -> String {
    ryu_js::Buffer::new().format_finite(x).to_owned()
}

/// A finite, nonzero double as `Number.prototype.toString()` writes it
/// (see the native one).
#[cfg(target_arch = "wasm32")]
pub(crate) fn number_to_string(x: f64) -> String {
    // Radix 10 is always accepted (a RangeError is for 2..=36 only).
    js_sys::Number::from(x).to_string_with_radix(10).map(String::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{lowercase, number_to_string, parse_number};

    #[test]
    fn numbers_written_as_javascript_writes_them() {
        assert_eq!(number_to_string(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(number_to_string(1e21), "1e+21");
        assert_eq!(number_to_string(123e-20), "1.23e-18");
        assert_eq!(number_to_string(5e-324), "5e-324");
    }

    #[test]
    fn full_mappings_and_final_sigma() {
        assert_eq!(lowercase("ÀÉÎ Straße"), "àéî straße");
        // U+0130 (İ) lowercases to two code points, i + U+0307.
        assert_eq!(lowercase("İ"), "i\u{307}");
        // Σ at the end of a word is ς, elsewhere σ.
        assert_eq!(lowercase("ΟΔΟΣ ΣΑ"), "οδος σα");
    }

    #[test]
    fn numbers_round_to_nearest() {
        assert_eq!(parse_number("0.1"), 0.1);
        assert_eq!(parse_number("-0"), -0.0);
        assert_eq!(parse_number("1e400"), f64::INFINITY);
        // Halfway between 1 and the next double: ties to even.
        assert_eq!(parse_number("1.00000000000000011102230246251565404236316680908203125"), 1.0);
    }
}
