//! JSON exactly as JavaScript's `JSON.stringify(JSON.parse(text))` writes
//! it, so the worker stores the bytes Node would store for the same data:
//! numbers read to the nearest double and spelled as
//! `Number.prototype.toString` spells them (`1` not `1.0`, `1e+21`, `0` for
//! `-0`, integers past 2^53 rounded to a double), objects with integer-like
//! keys first in ascending order and the rest in insertion order (a repeated
//! key keeps its first position and its last value), and strings escaped as
//! the well-formed JSON.stringify escapes them, lone surrogates included
//! (`"\ud800"`).
//!
//! Numbers are read and written as `crate::builtins` does it (Rust's
//! correctly rounded parser and `ryu-js` natively, the runtime's own on
//! wasm32). Typed reads go through [`de`], a serde `Deserializer` over the
//! parsed value: the worker's one JSON reader. What remains hand-written
//! here, and why:
//! - the reader ([`parse`]): serde_json refuses a lone surrogate escape in
//!   any string it decodes, keys included, while `JSON.parse` accepts it and
//!   keeps the code unit; a JavaScript string is UTF-16, which no Rust JSON
//!   crate models. Strings are therefore held as their JSON.stringify
//!   literal ([`JsStr`]), which is exact for every UTF-16 string.
//! - the string escaper ([`quote`]): the same lone surrogates must be
//!   written back as `\udXXX` (lowercase hex), which serde_json cannot hold
//!   in a `String` to begin with.
//! - the property order ([`property_order`]): ECMAScript's
//!   OrdinaryOwnPropertyKeys, which no crate implements.

pub mod de;

use serde::Serialize;
use serde_json::Value;

/// How deep arrays and objects may nest before a text is refused (V8 goes
/// deeper, but a session document never does; this keeps the stack safe).
const MAX_DEPTH: usize = 512;

/// A JavaScript string as its JSON.stringify literal, quotes included
/// (`"a\ud800"`). Two strings are equal exactly when their literals are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsStr(String);

impl JsStr {
    /// The literal of a Rust string.
    pub fn new(s: &str) -> Self {
        JsStr(quote(s))
    }

    /// The literal, quotes included.
    pub fn literal(&self) -> &str {
        &self.0
    }

    /// The string itself; a lone surrogate becomes U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        let units = decode_literal(&self.0);
        String::from_utf16_lossy(&units)
    }

    /// The string itself, when it holds no lone surrogate.
    pub fn to_str(&self) -> Option<String> {
        // A literal without escapes is the string between its quotes.
        match self.0.contains('\\') {
            false => Some(unquoted(&self.0).to_owned()),
            true => String::from_utf16(&decode_literal(&self.0)).ok(),
        }
    }
}

/// A value as `JSON.parse` leaves it.
#[derive(Debug, Clone, PartialEq)]
pub enum Js {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// Every number is a double.
    Number(f64),
    /// A string, lone surrogates included.
    String(JsStr),
    /// An array.
    Array(Vec<Js>),
    /// An object's own properties in the order JSON.parse created them
    /// (not yet in ECMAScript's property order; [`write_js`] applies it).
    Object(Vec<(JsStr, Js)>),
}

/// `JSON.parse(text)`; `None` when the text is not JSON (or nests deeper
/// than 512 levels).
pub fn parse(text: &str) -> Option<Js> {
    parse_at(text).ok()
}

/// [`parse`], or the byte offset at which the text stopped being JSON
/// (where the reader gave up, for an error message).
pub(crate) fn parse_at(text: &str) -> Result<Js, usize> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let Some(v) = p.value(0) else { return Err(p.i) };
    p.ws();
    match p.i == p.s.len() {
        true => Ok(v),
        false => Err(p.i),
    }
}

/// Objects up to this many members find a repeated key by a scan.
const SMALL_OBJECT: usize = 16;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self, w: &str, v: Js) -> Option<Js> {
        self.s[self.i..].starts_with(w.as_bytes()).then(|| {
            self.i += w.len();
            v
        })
    }

    fn value(&mut self, depth: usize) -> Option<Js> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'n' => self.word("null", Js::Null),
            b't' => self.word("true", Js::Bool(true)),
            b'f' => self.word("false", Js::Bool(false)),
            b'"' => self.string().map(Js::String),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Some(Js::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Some(Js::Array(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut members: Vec<(JsStr, Js)> = Vec::new();
                if self.eat(b'}') {
                    return Some(Js::Object(members));
                }
                // Where each key is in `members`: a lookup per key keeps an
                // object of n members O(n), not O(n²) (a document of 80 000
                // members once took seconds). Built only past
                // SMALL_OBJECT members: below, a scan is cheaper than hashing.
                // A serde_json `Map` (an IndexMap) of positions: the wasm
                // has its hash table code anyway, where a `HashMap` of
                // positions would be a second instance (issue 14).
                let mut at: Option<serde_json::Map<String, Value>> = None;
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return None;
                    }
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    let value = self.value(depth + 1)?;
                    // JSON.parse: a repeated key keeps its first position
                    // and takes the last value.
                    if members.len() == SMALL_OBJECT {
                        let index =
                            members.iter().enumerate().map(|(i, (k, _))| (k.literal().to_owned(), Value::from(i)));
                        at = Some(index.collect());
                    }
                    let seen = match &at {
                        Some(at) => at.get(key.literal()).and_then(Value::as_u64).map(|i| i as usize),
                        None => members.iter().position(|(k, _)| k == &key),
                    };
                    match seen {
                        Some(i) => members[i].1 = value,
                        None => {
                            if let Some(at) = &mut at {
                                at.insert(key.literal().to_owned(), Value::from(members.len()));
                            }
                            members.push((key, value));
                        }
                    }
                    if self.eat(b'}') {
                        return Some(Js::Object(members));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<Js> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return None,
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        // The grammar is checked above.
        let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        Some(Js::Number(crate::builtins::parse_number(text)))
    }

    /// A string literal, decoded to UTF-16 and re-escaped as JSON.stringify
    /// escapes it.
    fn string(&mut self) -> Option<JsStr> {
        // The common case, taken as it is: a literal without escapes or
        // control characters is already what JSON.stringify writes (the
        // input is UTF-8, so it holds no lone surrogate). Anything else is
        // decoded to UTF-16 and written again, below.
        let start = self.i;
        let plain = self.s[start + 1..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        if let Some(len) = plain.filter(|&len| self.s[start + 1 + len] == b'"') {
            self.i = start + len + 2;
            return std::str::from_utf8(&self.s[start..self.i]).ok().map(|l| JsStr(l.to_owned()));
        }
        self.i += 1; // the opening quote
        let mut units: Vec<u16> = Vec::new();
        loop {
            let b = *self.s.get(self.i)?;
            match b {
                b'"' => {
                    self.i += 1;
                    return Some(JsStr(quote_units(&units)));
                }
                b'\\' => {
                    let e = *self.s.get(self.i + 1)?;
                    self.i += 2;
                    let unit = match e {
                        b'"' => 0x22,
                        b'\\' => 0x5c,
                        b'/' => 0x2f,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => 0x0a,
                        b'r' => 0x0d,
                        b't' => 0x09,
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                                return None;
                            }
                            self.i += 4;
                            u16::from_str_radix(hex, 16).ok()?
                        }
                        _ => return None,
                    };
                    units.push(unit);
                }
                0x00..=0x1f => return None,
                _ => {
                    // One UTF-8 character (the input is a &str).
                    let len = match b {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let ch = std::str::from_utf8(self.s.get(self.i..self.i + len)?).ok()?;
                    let mut buf = [0u16; 2];
                    for c in ch.chars() {
                        units.extend_from_slice(c.encode_utf16(&mut buf));
                    }
                    self.i += len;
                }
            }
        }
    }
}

/// A Rust string as JSON.stringify writes it.
pub fn quote(s: &str) -> String {
    // The common case: nothing to escape (a Rust string has no lone
    // surrogate), so the literal is the text in quotes.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return out;
    }
    let units: Vec<u16> = s.encode_utf16().collect();
    quote_units(&units)
}

/// UTF-16 code units as JSON.stringify writes them: `"` `\` and control
/// characters escaped (`\n`-style where JSON has one, else `\u00xx`), lone
/// surrogates as `\udxxx`, everything else as UTF-8.
fn quote_units(units: &[u16]) -> String {
    let mut out = String::with_capacity(units.len() + 2);
    out.push('"');
    for r in char::decode_utf16(units.iter().copied()) {
        match r {
            Ok('"') => out.push_str("\\\""),
            Ok('\\') => out.push_str("\\\\"),
            Ok('\u{8}') => out.push_str("\\b"),
            Ok('\u{c}') => out.push_str("\\f"),
            Ok('\n') => out.push_str("\\n"),
            Ok('\r') => out.push_str("\\r"),
            Ok('\t') => out.push_str("\\t"),
            Ok(c) if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            Ok(c) => out.push(c),
            Err(e) => out.push_str(&format!("\\u{:04x}", e.unpaired_surrogate())),
        }
    }
    out.push('"');
    out
}

/// The UTF-16 code units of a literal written by [`quote_units`].
fn decode_literal(literal: &str) -> Vec<u16> {
    let inner = unquoted(literal);
    let mut units = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    let mut buf = [0u16; 2];
    while let Some(c) = chars.next() {
        if c != '\\' {
            units.extend_from_slice(c.encode_utf16(&mut buf));
            continue;
        }
        let unit = match chars.next() {
            Some('b') => 0x08,
            Some('f') => 0x0c,
            Some('n') => 0x0a,
            Some('r') => 0x0d,
            Some('t') => 0x09,
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                u16::from_str_radix(&hex, 16).unwrap_or(0xfffd)
            }
            Some(other) => other as u16, // `"` or `\`
            None => break,
        };
        units.push(unit);
    }
    units
}

/// `JSON.stringify(JSON.parse(text))`; `None` when the text is not JSON
/// `JSON.parse` reads (callers keep such text as it is).
pub fn canonical(text: &str) -> Option<String> {
    let value = parse(text)?;
    let mut out = String::with_capacity(text.len());
    write_js(&value, &mut out);
    Some(out)
}

/// Writes a parsed value as JSON.stringify would.
pub fn write_js(value: &Js, out: &mut String) {
    match value {
        Js::Null => out.push_str("null"),
        Js::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Js::Number(x) => out.push_str(&number(*x)),
        Js::String(s) => out.push_str(s.literal()),
        Js::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_js(item, out);
            }
            out.push(']');
        }
        Js::Object(members) => {
            out.push('{');
            // The property order of the members' positions, so that each
            // is written without looking its key up again.
            let order = index_order(members.iter().map(|(k, _)| array_index(unquoted(k.literal()))));
            for (n, i) in order.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                let (key, value) = &members[i];
                out.push_str(key.literal());
                out.push(':');
                write_js(value, out);
            }
            out.push('}');
        }
    }
}

/// The text between a literal's quotes (an array index is digits only, so
/// this is the key itself whenever it matters).
fn unquoted(literal: &str) -> &str {
    literal.get(1..literal.len().saturating_sub(1)).unwrap_or("")
}

/// `JSON.stringify` of any serializable value, numbers spelled as
/// [`number`] spells them: serde's data model goes into a
/// `serde_json::Value` (which spells no number) and [`write()`] writes it.
/// The worker's JSON answers and stored records go through here, so they
/// read as an Express app's `res.json` would write them, and serde_json's
/// float formatter stays out of the wasm (issue 14). As in JavaScript, every
/// number is a double (an `f32` is written as the double it widens to, an
/// integer past 2^53 rounded), integer-like keys come first, and a key
/// written twice (`#[serde(flatten)]`) is kept once with its last value; an
/// integer past `u64::MAX` is an error, as in `serde_json::to_value`.
///
/// # Errors
///
/// serde_json's, when `value` is no JSON value (a map whose keys are not
/// strings, a `Serialize` that fails).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = String::new();
    write(&value, &mut out);
    Ok(out)
}

/// Writes a serde_json value as JSON.stringify would.
pub fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // `as_f64` is `Some` for every number serde_json holds (without
        // `arbitrary_precision`, and with it for every valid number).
        Value::Number(n) => out.push_str(&number(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => out.push_str(&quote(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, key) in property_order(map.keys().map(String::as_str), |k| k).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quote(key));
                out.push(':');
                write(&map[key], out);
            }
            out.push('}');
        }
    }
}

/// ECMAScript's own-property order: array-index keys ("0" to "4294967294",
/// no leading zeros) ascending, then the others as inserted. `name` gives
/// the key's text from an item.
pub fn property_order<'a>(keys: impl Iterator<Item = &'a str>, name: impl Fn(&'a str) -> &'a str) -> Vec<&'a str> {
    let keys: Vec<&str> = keys.collect();
    index_order(keys.iter().map(|k| array_index(name(k)))).into_iter().map(|i| keys[i]).collect()
}

/// The positions of items in ECMAScript's own-property order, given each
/// item's array index (if its key is one): the indexes ascending, then the
/// others as they come. Every property order of the crate is sorted here, so
/// the wasm carries one sort of `(u32, usize)` instead of one per item type
/// (issue 14). (Unstable is stable here: no two pairs are equal.)
pub(crate) fn index_order(indexes: impl Iterator<Item = Option<u32>>) -> Vec<usize> {
    // u32::MAX is never an array index (they end at 4294967294).
    let mut order: Vec<(u32, usize)> = indexes.enumerate().map(|(i, n)| (n.unwrap_or(u32::MAX), i)).collect();
    order.sort_unstable();
    order.into_iter().map(|(_, i)| i).collect()
}

/// The key's value as an array index, if it is one.
pub fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|&n| n != u32::MAX)
}

/// `JSON.stringify` of a number: `Number.prototype.toString()` for a
/// finite double, `null` for NaN and the infinities.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    if x == 0.0 {
        return "0".into(); // -0 too
    }
    crate::builtins::number_to_string(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(input: &str) -> String {
        let mut out = String::new();
        write_js(&parse(input).expect(input), &mut out);
        out
    }

    /// `to_string` of typed values writes what `JSON.stringify` of the
    /// same object writes in Node 20 (numbers as JavaScript spells them),
    /// where serde_json writes `1e21`, `-0.0` and `1e-7`.
    #[test]
    fn to_string_writes_as_json_stringify() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            session_expire_time: f64,
            zero: f64,
            small: f64,
            views: Value,
            name: Option<&'static str>,
        }
        let answer = Answer { session_expire_time: 1e21, zero: -0.0, small: 1e-7, views: Value::from(2.5), name: None };
        assert_eq!(
            to_string(&answer).unwrap(),
            r#"{"sessionExpireTime":1e+21,"zero":0,"small":1e-7,"views":2.5,"name":null}"#
        );
        assert_eq!(
            to_string(&serde_json::json!({ "b": 1, "2": [0.5, "\u{2028}"], "a": null })).unwrap(),
            "{\"2\":[0.5,\"\u{2028}\"],\"b\":1,\"a\":null}"
        );
        let mut keys = std::collections::HashMap::new();
        keys.insert(vec![1u8], 1);
        assert!(to_string(&keys).is_err(), "a map whose keys are not strings");
    }

    /// Each pair: input JSON, what `JSON.stringify(JSON.parse(input))`
    /// prints in Node 20.
    #[test]
    fn matches_node() {
        let cases = [
            (
                "[1.50,1e21,5e-7,0.1,-0,12345678901234567890,1.0,2e2]",
                "[1.5,1e+21,5e-7,0.1,0,12345678901234567000,1,200]",
            ),
            (
                "[123e-20,1e-7,0.000001,1e20,-1.5e300,4294967296,0.5]",
                "[1.23e-18,1e-7,0.000001,100000000000000000000,-1.5e+300,4294967296,0.5]",
            ),
            ("[9007199254740993,-9007199254740993,2.5e-324]", "[9007199254740992,-9007199254740992,5e-324]"),
            (
                "[123456789012345680000,0.20153987407684326,1E2,1e400]",
                "[123456789012345680000,0.20153987407684326,100,null]",
            ),
            (
                r#"{"b":1,"2":2,"a":3,"1":4,"01":5,"4294967295":6,"4294967294":7}"#,
                r#"{"1":4,"2":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}"#,
            ),
            (
                r#"{ "s" : "\u00fc\/\u00e9\n\u0001\u2028" , "x":[ 1 , 2 ] }"#,
                "{\"s\":\"ü/é\\n\\u0001\u{2028}\",\"x\":[1,2]}",
            ),
            (r#"{"a":1,"a":2}"#, r#"{"a":2}"#),
            (r#"{"a":1,"b":0,"a":2}"#, r#"{"a":2,"b":0}"#),
            (
                r#"["\ud800","\uDC00x","\uD83D\uDE00","😀","\ud83d",{"k\uD800":"\udfff"}]"#,
                "[\"\\ud800\",\"\\udc00x\",\"😀\",\"😀\",\"\\ud83d\",{\"k\\ud800\":\"\\udfff\"}]",
            ),
            (r#"{"__proto__":1}"#, r#"{"__proto__":1}"#),
        ];
        for (input, expected) in cases {
            assert_eq!(node(input), expected, "{input}");
            assert_eq!(canonical(input).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn refuses_what_json_parse_refuses() {
        for bad in [
            "",
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "[1,]",
            "{\"a\":1,}",
            "\"\\x\"",
            "\"a\n\"",
            "nul",
            "[1] 2",
            "{a:1}",
            "\"\\u12\"",
            "NaN",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        assert!(parse(&"[".repeat(MAX_DEPTH + 2)).is_none());
    }

    #[test]
    fn strings_round_trip() {
        for s in ["", "a\"b\\c\u{1}\u{7f}\u{2028}é😀", "\u{8}\u{c}\n\r\t"] {
            let lit = JsStr::new(s);
            assert_eq!(lit.literal(), serde_json::to_string(s).unwrap());
            assert_eq!(lit.to_str().as_deref(), Some(s));
        }
        let Some(Js::String(lone)) = parse(r#""k\ud800""#) else { panic!() };
        assert_eq!(lone.to_str(), None);
        assert_eq!(lone.to_string_lossy(), "k\u{fffd}");
    }

    /// `tests/vectors/numbers.json`: `[input, JSON.stringify(JSON.parse(input))]`
    /// pairs recorded in Node by `tests/vectors/numbers.mjs`.
    #[test]
    fn numbers_match_the_node_table() {
        let table: Vec<(String, String)> =
            serde_json::from_str(include_str!("../../../../tests/vectors/numbers.json")).unwrap();
        assert!(table.len() >= 1000);
        let mut failures = Vec::new();
        for (input, expected) in &table {
            let got = parse(input).map(|v| {
                let mut out = String::new();
                write_js(&v, &mut out);
                out
            });
            if got.as_deref() != Some(expected.as_str()) {
                failures.push(format!("{input} → {got:?}, Node {expected}"));
            }
        }
        assert!(failures.is_empty(), "{} of {}:\n{}", failures.len(), table.len(), failures.join("\n"));
    }
}
