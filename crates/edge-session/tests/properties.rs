//! Hostile input, fuzzed (issue 9, point 6): property tests over the
//! `Cookie` header parser, the signature check, the document reader and
//! writer, and the Upstash reply decoder, each run over generated input
//! and over a seed corpus of real input kept in the repository.
//!
//! - The short run is part of `cargo test --workspace`: [`SHORT_RUN_CASES`]
//!   generated cases per property, plus every seed.
//! - The long run is `make fuzz` (`scripts/fuzz.sh`): the same properties
//!   with `PROPTEST_CASES` cases each (100 000 by default), in release mode.
//! - A failure is shrunk by proptest and its seed written to
//!   `proptest-regressions/properties.txt` (committed: the corpus of past
//!   failures, replayed first by every run); the shrunk input also becomes a
//!   named regression test at the end of this file.
//!
//! Seed corpus: `tests/vectors/documents.json` (stored documents and the
//! bytes express-session writes back, made by Node with
//! `tests/vectors/documents.mjs`), the documents of the golden vectors
//! (`tests/golden/vectors.json`, recorded from express-session +
//! connect-redis), the number spellings of `tests/vectors/numbers.json`
//! (Node's `JSON.stringify`), and `tests/corpus/cookie-headers.txt`,
//! `tests/corpus/upstash-replies.txt`.

use edge_session::session::cookie::{
    check_cookie_header, find_cookie, set_cookie_header, verified_session_id, Secrets,
};
use edge_session::session::document::{parse_iso, SameSite, SessionCookie, SessionDocument, SESSION_PROPERTIES};
use edge_session::session::js_json;
use edge_session::store::command::{
    Command, Decr, Del, Exists, Expire, ExpireIf, Get, Incr, PTtl, Persist, SAdd, SMembers, SRem, Set, Ttl,
};
use edge_session::store::wire::{open_envelope, Encoding, Reply};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::Value;

/// Generated cases per property in the short run (`cargo test`): the whole
/// file takes a few seconds on 2 cores in a debug build.
const SHORT_RUN_CASES: u32 = 256;

/// The short run's [`SHORT_RUN_CASES`], or `PROPTEST_CASES` when set (the
/// long run). Failures are kept in `proptest-regressions/properties.txt`.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(SHORT_RUN_CASES);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/properties.txt"))),
        ..Config::default()
    }
}

const NAME: &str = "_redisDemo";

fn keyboard_cat() -> Secrets {
    Secrets::new(vec!["keyboard cat".into()]).unwrap()
}

// ---------------------------------------------------------------------------
// The seed corpus

/// `tests/vectors/documents.json`: [stored, what express-session writes back].
fn document_vectors() -> Vec<(String, String)> {
    serde_json::from_str(include_str!("../../../tests/vectors/documents.json")).unwrap()
}

/// Every session document connect-redis wrote (`SET <key> <doc> …` as
/// Redis saw it) in the golden vectors, `expires` placeholders
/// (`"<now+60s>"`) replaced by one instant. (The vectors' `keys` snapshots
/// also hold documents the recorder stored by hand; those are left out.)
fn golden_documents() -> Vec<String> {
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Array(items) => match items.as_slice() {
                [Value::String(verb), Value::String(_), Value::String(doc), ..]
                    if verb == "SET" && doc.starts_with('{') =>
                {
                    out.push(doc.clone())
                }
                _ => items.iter().for_each(|i| collect(i, out)),
            },
            Value::Object(map) => map.values().for_each(|i| collect(i, out)),
            _ => {}
        }
    }
    let golden: Value = serde_json::from_str(include_str!("../../../tests/golden/vectors.json")).unwrap();
    let mut docs = Vec::new();
    collect(&golden["vectors"], &mut docs);
    docs.sort();
    docs.dedup();
    docs.into_iter()
        .map(|d| {
            let mut out = String::new();
            let mut rest = d.as_str();
            while let Some(at) = rest.find("\"expires\":\"<") {
                out.push_str(&rest[..at]);
                out.push_str("\"expires\":\"2026-11-23T06:23:27.103Z\"");
                let after = &rest[at + "\"expires\":\"<".len()..];
                rest = &after[after.find(">\"").expect("a placeholder ends") + 2..];
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// The number spellings Node's `JSON.stringify` wrote in
/// `tests/vectors/numbers.json` (`null` for the infinities left out).
fn node_numbers() -> Vec<String> {
    let table: Vec<(String, String)> =
        serde_json::from_str(include_str!("../../../tests/vectors/numbers.json")).unwrap();
    let mut out: Vec<String> = table.into_iter().map(|(_, node)| node).filter(|n| n != "null").collect();
    out.sort();
    out.dedup();
    out
}

/// Lines of a corpus file, `#` comments left out.
fn corpus_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().filter(|l| !l.starts_with('#') && !l.is_empty())
}

// ---------------------------------------------------------------------------
// An oracle of JSON.stringify, written from the ECMAScript text alone: a
// JavaScript value whose strings are UTF-16 (lone surrogates included) and
// whose numbers are spelled as Node spells them.

#[derive(Debug, Clone)]
enum Js {
    Null,
    Bool(bool),
    /// A number as `Number.prototype.toString` spells it.
    Number(String),
    String(Vec<u16>),
    Array(Vec<Js>),
    /// Own properties in creation order, names unique.
    Object(Vec<(Vec<u16>, Js)>),
}

/// QuoteJSONString (ECMA-262 §25.5.2.3, well-formed JSON.stringify).
fn quote(units: &[u16], out: &mut String) {
    out.push('"');
    for unit in char::decode_utf16(units.iter().copied()) {
        let code = match unit {
            Ok(c) => c as u32,
            Err(ref lone) => u32::from(lone.unpaired_surrogate()),
        };
        match (code, unit) {
            (0x08, _) => out.push_str("\\b"),
            (0x09, _) => out.push_str("\\t"),
            (0x0a, _) => out.push_str("\\n"),
            (0x0c, _) => out.push_str("\\f"),
            (0x0d, _) => out.push_str("\\r"),
            (0x22, _) => out.push_str("\\\""),
            (0x5c, _) => out.push_str("\\\\"),
            (_, Ok(c)) if code >= 0x20 => out.push(c),
            _ => out.push_str(&format!("\\u{code:04x}")),
        }
    }
    out.push('"');
}

/// An array index (CanonicalNumericIndexString below 2³² − 1).
fn is_array_index(units: &[u16]) -> Option<u64> {
    let text = String::from_utf16(units).ok()?;
    let n: u64 = text.parse().ok()?;
    (n.to_string() == text && n < u64::from(u32::MAX)).then_some(n)
}

/// OrdinaryOwnPropertyKeys: array indexes ascending, then the other names
/// in creation order.
fn own_keys<T>(members: &[(Vec<u16>, T)]) -> Vec<usize> {
    let mut indexes: Vec<(u64, usize)> =
        members.iter().enumerate().filter_map(|(i, (k, _))| is_array_index(k).map(|n| (n, i))).collect();
    indexes.sort();
    let mut order: Vec<usize> = indexes.into_iter().map(|(_, i)| i).collect();
    order.extend((0..members.len()).filter(|i| is_array_index(&members[*i].0).is_none()));
    order
}

fn stringify(v: &Js, out: &mut String) {
    match v {
        Js::Null => out.push_str("null"),
        Js::Bool(b) => out.push_str(&b.to_string()),
        Js::Number(n) => out.push_str(n),
        Js::String(units) => quote(units, out),
        Js::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i > 0 { "," } else { "" });
                stringify(item, out);
            }
            out.push(']');
        }
        Js::Object(members) => {
            out.push('{');
            for (n, i) in own_keys(members).into_iter().enumerate() {
                out.push_str(if n > 0 { "," } else { "" });
                quote(&members[i].0, out);
                out.push(':');
                stringify(&members[i].1, out);
            }
            out.push('}');
        }
    }
}

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

// ---------------------------------------------------------------------------
// Strategies

/// UTF-16 strings: mostly text, with quotes, escapes, controls, index-like
/// digits, non-BMP characters and lone surrogates.
fn js_string() -> impl Strategy<Value = Vec<u16>> {
    let unit = prop_oneof![
        4 => prop::char::range('a', 'e').prop_map(|c| vec![c as u16]),
        2 => prop::char::range('0', '9').prop_map(|c| vec![c as u16]),
        2 => prop::sample::select(vec!['"', '\\', '/', '\u{0}', '\u{1f}', '\u{7f}', '\n', '\u{8}', '\u{2028}', 'ü', ' '])
            .prop_map(|c| vec![c as u16]),
        1 => any::<char>().prop_map(|c| utf16(&c.to_string())),
        1 => (0xd800u16..=0xdfff).prop_map(|u| vec![u]),
    ];
    prop::collection::vec(unit, 0..8).prop_map(|parts| parts.concat())
}

/// Names of properties: the strings above, plus array indexes and the
/// near misses (`01`, `4294967295`).
fn js_key() -> impl Strategy<Value = Vec<u16>> {
    prop_oneof![
        3 => js_string(),
        1 => (0u64..20).prop_map(|n| utf16(&n.to_string())),
        1 => prop::sample::select(vec!["01", "4294967294", "4294967295", "-1", "1.5", "", "cookie", "__proto__"])
            .prop_map(utf16),
    ]
}

/// A number as Node spells it: from Node's own table, or a safe integer.
fn js_number(pool: &[String]) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(pool.to_vec()),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(|n| n.to_string()),
        Just("0".to_owned()),
    ]
}

fn dedup_keys(members: Vec<(Vec<u16>, Js)>) -> Vec<(Vec<u16>, Js)> {
    let mut seen = std::collections::HashSet::new();
    members.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect()
}

fn js_value(pool: &[String]) -> impl Strategy<Value = Js> {
    let leaf = prop_oneof![
        Just(Js::Null),
        any::<bool>().prop_map(Js::Bool),
        js_number(pool).prop_map(Js::Number),
        js_string().prop_map(Js::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Js::Array),
            prop::collection::vec((js_key(), inner), 0..6).prop_map(|m| Js::Object(dedup_keys(m))),
        ]
    })
}

/// Text near the two date grammars `parse_iso` reads: their pieces (digits,
/// separators, names, comments, folding white space, stray bytes) in any
/// order, and whole dates of both grammars with fields in and out of
/// range and optional spacing between the RFC 2822 fields.
fn date_text() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "0", "1", "2", "9", "00", "12", "23", "29", "31", "59", "60", "61", "99", "1899", "1900", "2026", "9999",
        "0000", "-", ":", ".", ",", "+", "T", "t", "Z", "z", "x", " ", "  ", "\t", "\r", "\n", "\r\n", "\r\n ", "(",
        ")", "\\", "(c)", "((c))", "Mon", "sun", "Xyz", "Jan", "feb", "DEC", "Nov", "GMT", "gmt", "UT", "ut", "UTC",
        "EST", "pdt", "J", "j", "A", "é", "\u{0}", "\u{7f}",
    ];
    let pieces = prop::collection::vec(prop::sample::select(PIECES), 0..16).prop_map(|v| v.concat());
    let space = prop::sample::select(vec![" ", "  ", "\t", " (c) ", "(c)", "\r\n ", "", " \r\n\t"]);
    let n = |max: u32| 0u32..=max;
    let rfc3339 = (n(9999), n(13), n(32), prop::sample::select(vec!["T", "t", " ", "x", "é"]), n(24), n(61), n(61))
        .prop_flat_map(move |(y, mo, d, sep, h, mi, s)| {
            let frac = prop::sample::select(vec!["", ".", ".5", ".123", ".999999999", ".1234567890123"]);
            let zone =
                prop::sample::select(vec!["Z", "z", "+00:00", "-00:30", "+05:30", "+23:59", "+24:00", "-12:60", ""]);
            (frac, zone).prop_map(move |(f, z)| format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{f}{z}"))
        });
    let rfc2822 = (
        prop::sample::select(vec!["", "Mon, ", "tue,", "Sun , ", "Xyz, "]),
        (n(32), n(2)),
        prop::sample::select(vec!["Jan", "feb", "MAR", "Dec", "Foo"]),
        prop::sample::select(vec!["2026", "1899", "1900", "9999", "26", "49", "50", "202"]),
        (n(24), n(61), prop::option::of(n(61))),
        prop::sample::select(vec![
            "GMT", "UT", "Z", "J", "EST", "pdt", "+0000", "-0530", "-0030", "+2559", "+2600", "+0060", "UTC",
        ]),
        prop::collection::vec(space, 6),
    )
        .prop_map(|(wd, (d, width), mo, y, (h, mi, s), zone, sp)| {
            let day = if width == 2 { format!("{d:02}") } else { d.to_string() };
            let sec = s.map_or(String::new(), |s| format!("{}:{}{s:02}", sp[4], sp[4]));
            format!("{}{wd}{day}{}{mo}{}{y}{}{h:02}:{mi:02}{sec}{}{zone}{}", sp[0], sp[1], sp[2], sp[3], sp[5], sp[0])
        });
    prop_oneof![pieces, rfc3339, rfc2822, any::<String>()]
}

/// `Date#toISOString` of an instant in years 1000–9999 (days 1–28, so
/// every date exists).
fn iso_instant() -> impl Strategy<Value = String> {
    (1000u32..=9999, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60, 0u32..60, 0u32..1000)
        .prop_map(|(y, mo, d, h, mi, s, ms)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"))
}

/// A text member value of `cookie` (express-session stores JavaScript
/// strings there; these are well-formed ones).
fn cookie_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["/", "/api", "example.com", "lax", "Strict", "none", "High", "low", "", "a\"b\\c\n"])
            .prop_map(str::to_owned),
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

/// An optional `cookie` member: absent, stored as null, or a value.
fn member(value: impl Strategy<Value = Js> + 'static) -> impl Strategy<Value = Option<Js>> {
    prop_oneof![Just(None), Just(Some(Js::Null)), value.prop_map(Some)]
}

/// The `cookie` member as express-session's Cookie writes it: its members
/// in `Cookie.prototype.data` order; `originalMaxAge` and `expires` both
/// there (a number, within the worker's 10¹⁴ ms, or null; an ISO instant or
/// null); `httpOnly` and `path` always there (the constructor's defaults),
/// possibly null; the others absent, null or a value.
fn node_cookie(pool: &[String]) -> impl Strategy<Value = Js> {
    let ages: Vec<String> = pool.iter().filter(|n| n.parse::<f64>().is_ok_and(|x| x.abs() <= 1e14)).cloned().collect();
    let text = || cookie_text().prop_map(|s| Js::String(utf16(&s)));
    let flag = || any::<bool>().prop_map(Js::Bool);
    let same_site = prop_oneof![flag(), text()];
    (
        prop_oneof![Just(Js::Null), prop::sample::select(ages).prop_map(Js::Number)],
        member(flag()),
        member(text()),
        prop_oneof![Just(Js::Null), iso_instant().prop_map(|s| Js::String(utf16(&s)))],
        member(flag()),
        prop_oneof![Just(Js::Null), flag()],
        member(text()),
        prop_oneof![Just(Js::Null), text()],
        member(same_site),
    )
        .prop_map(|(age, partitioned, priority, expires, secure, http_only, domain, path, same_site)| {
            let members = [
                ("originalMaxAge", Some(age)),
                ("partitioned", partitioned),
                ("priority", priority),
                ("expires", Some(expires)),
                ("secure", secure),
                ("httpOnly", Some(http_only)),
                ("domain", domain),
                ("path", Some(path)),
                ("sameSite", same_site),
            ];
            Js::Object(members.into_iter().filter_map(|(k, v)| Some((utf16(k), v?))).collect())
        })
}

/// A stored document as express-session + connect-redis write it: the app's
/// fields (no name a Session already has), `cookie` among them.
fn node_document(pool: &[String]) -> impl Strategy<Value = String> {
    let field_name = js_key().prop_filter("a name a Session keeps", |k| {
        String::from_utf16(k).map_or(true, |name| name != "cookie" && !SESSION_PROPERTIES.contains(&name.as_str()))
    });
    (prop::collection::vec((field_name, js_value(pool)), 0..8), node_cookie(pool), any::<prop::sample::Index>())
        .prop_map(|(fields, cookie, at)| {
            let mut members = dedup_keys(fields);
            let at = at.index(members.len() + 1);
            members.insert(at, (utf16("cookie"), cookie));
            let mut out = String::new();
            stringify(&Js::Object(members), &mut out);
            out
        })
}

/// JSON values as serde_json holds them, numbers JavaScript numbers.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(Value::from),
        any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any JSON value at all, for the reply decoder: numbers of every kind
/// (u64, i64, floats) and base64-looking strings too.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[A-Za-z0-9+/=]{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["OK", "result", "error", "QUEUED"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(vec!["result", "error", "x"]), inner), 0..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn session_cookie() -> impl Strategy<Value = SessionCookie> {
    let text = || cookie_text();
    (
        prop::option::of(any::<f64>().prop_filter("the worker's range", |x| x.is_finite() && x.abs() <= 1e14)),
        prop::option::of(any::<bool>()),
        prop::option::of(text()),
        prop::option::of(-62_135_596_800_000i64..=253_402_300_799_999),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::option::of(text()),
        text(),
        prop::option::of(prop_oneof![any::<bool>().prop_map(SameSite::Flag), text().prop_map(SameSite::Text)]),
    )
        .prop_map(|(age, partitioned, priority, expires, secure, http_only, domain, path, same_site)| {
            SessionCookie {
                original_max_age: age,
                partitioned,
                priority,
                expires,
                secure,
                http_only: Some(http_only),
                domain,
                path: Some(path),
                same_site,
            }
        })
}

/// Bytes that look like a Cookie header: separators, quotes, escapes,
/// `s:` prefixes, the session cookie's name, and any character.
fn cookie_header_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => prop::sample::select(vec![
            ";", "; ", ", ", "=", "%", "%3A", "%2", "\"", " ", "\t", "s:", "s%3A", ".", NAME, "_redisDemo=", "a=1",
        ])
        .prop_map(str::to_owned),
        3 => "[A-Za-z0-9+/._-]{0,10}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

/// `name=value` cookies as a browser sends them (RFC 6265 §4.1.1), none
/// called [`NAME`].
fn other_cookies() -> impl Strategy<Value = Vec<String>> {
    let cookie = ("[A-Za-z0-9!#$&'*+.^_`|~-]{1,8}", "[A-Za-z0-9!#$%&'()*+./:<=>?@^_`{|}~-]{0,12}")
        .prop_filter("another name", |(n, _)| n != NAME)
        .prop_map(|(n, v)| format!("{n}={v}"));
    prop::collection::vec(cookie, 0..6)
}

/// A single-character edit of `s` at a chosen place: replaced by another
/// character, deleted, or a character inserted.
#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, char),
    Delete(prop::sample::Index),
    Insert(prop::sample::Index, char),
}

fn edit(chars: impl Strategy<Value = char> + Clone) -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), chars.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        (any::<prop::sample::Index>(), chars).prop_map(|(i, c)| Edit::Insert(i, c)),
    ]
}

/// `s` with the edit applied; `None` when it changes nothing (a character
/// replaced by itself).
fn apply(s: &str, e: &Edit) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    match e {
        Edit::Replace(i, c) => {
            let i = i.index(chars.len());
            if chars[i] == *c {
                return None;
            }
            chars[i] = *c;
        }
        Edit::Delete(i) => {
            chars.remove(i.index(chars.len()));
        }
        Edit::Insert(i, c) => chars.insert(i.index(chars.len() + 1), *c),
    }
    Some(chars.into_iter().collect())
}

/// RFC 6265 cookie-octets: what a cookie value may hold unencoded.
fn cookie_octet() -> impl Strategy<Value = char> + Clone {
    prop::sample::select(
        (0x21u8..=0x7e).filter(|b| !matches!(b, b'"' | b',' | b';' | b'\\')).map(char::from).collect::<Vec<_>>(),
    )
}

// ---------------------------------------------------------------------------
// The Upstash reply decoder: every command's reading of a result

/// `C::parse` of a clone of the result, for each command `C` listed.
macro_rules! every_command {
    ($result:expr, $enc:expr; $($command:ty),+) => {
        $( let _ = <$command>::parse($result.clone(), $enc); )+
    };
}

/// Reads `reply` (a whole answer body) as the client does: one envelope, or
/// a /pipeline array of envelopes, each result then read by every command
/// in both encodings. Only panics matter here; errors are fine.
fn decode_everything(reply: Value) {
    let results = match reply {
        Value::Array(items) => items.into_iter().map(open_envelope).collect(),
        single => vec![open_envelope(single)],
    };
    for result in results.into_iter().flatten() {
        for enc in [Encoding::Plain, Encoding::Base64] {
            every_command!(result, enc; Get, Set, Expire, ExpireIf, Persist, Del, Ttl, PTtl, Incr, Decr, SAdd, SRem, SMembers, Exists);
        }
    }
}

/// serde_json values compared as JavaScript compares the parsed values:
/// numbers as doubles (`1` and `1.0` are one number).
fn same_js_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_js_value(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_js_value(v, w)))
        }
        _ => a == b,
    }
}

/// What `document::parse_iso` read with the `time` crate, before it was
/// written by hand.
fn time_parse(text: &str) -> Option<i64> {
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    let t =
        time::OffsetDateTime::parse(text, &Rfc3339).or_else(|_| time::OffsetDateTime::parse(text, &Rfc2822)).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

// ---------------------------------------------------------------------------
// The properties

proptest! {
    #![proptest_config(config())]

    /// The Cookie header parser and its limits take any text without
    /// panicking, and an arbitrary header never yields a session id: only
    /// a value signed with our secret does.
    #[test]
    fn cookie_header_any_text(header in prop_oneof![cookie_header_text(), any::<String>()]) {
        let _ = find_cookie(&header, NAME);
        let _ = check_cookie_header(&header);
        prop_assert_eq!(verified_session_id(Some(&header), NAME, &keyboard_cat()), None);
    }

    /// A correctly signed cookie among other cookies, however joined, gives
    /// back its id, whatever the id holds (it travels percent-encoded).
    #[test]
    fn cookie_header_finds_a_signed_id(
        id in any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
        before in other_cookies(),
        after in other_cookies(),
        join in prop::sample::select(vec!["; ", ";", ", "]),
    ) {
        let secrets = keyboard_cat();
        let line = set_cookie_header(NAME, &id, &secrets, &SessionCookie::default());
        let pair = line.split("; ").next().unwrap();
        let header = before.iter().map(String::as_str).chain([pair]).chain(after.iter().map(String::as_str))
            .collect::<Vec<_>>().join(join);
        let found = verified_session_id(Some(&header), NAME, &secrets);
        prop_assert_eq!(found.as_deref(), Some(id.as_str()), "{}", header);
    }

    /// One character of a signed cookie value changed, removed or added
    /// (as a cookie-octet, so the header still parses): no session.
    #[test]
    fn cookie_header_refuses_an_edited_value(id in "[A-Za-z0-9_-]{1,40}", e in edit(cookie_octet())) {
        let secrets = keyboard_cat();
        let value = format!("s:{}", secrets.sign(&id));
        let genuine = verified_session_id(Some(&format!("{NAME}={value}")), NAME, &secrets);
        prop_assert_eq!(genuine.as_deref(), Some(id.as_str()));
        if let Some(edited) = apply(&value, &e) {
            let header = format!("{NAME}={edited}");
            prop_assert_eq!(verified_session_id(Some(&header), NAME, &secrets), None, "{}", header);
        }
    }

    /// sign(id) verifies under every secret list it was signed for; any
    /// single-character change of the id or the signature fails.
    #[test]
    fn signature_check(
        id in any::<String>(),
        secrets in prop::collection::vec(any::<String>().prop_filter("non-empty", |s| !s.is_empty()), 1..4),
        signer in any::<prop::sample::Index>(),
        e in edit(any::<char>()),
    ) {
        let all = Secrets::new(secrets.clone()).unwrap();
        let by = Secrets::new(vec![signer.get(&secrets).clone()]).unwrap();
        let signed = by.sign(&id);
        prop_assert_eq!(all.unsign(&signed), Some(id.as_str()));
        if let Some(edited) = apply(&signed, &e) {
            prop_assert_eq!(all.unsign(&edited), None, "{:?}", edited);
        }
        // A secret not in the list never verifies.
        let other = Secrets::new(vec![format!("{}!", secrets.concat())]).unwrap();
        prop_assert_eq!(other.unsign(&signed), None);
    }

    /// Any text, signed or not: `unsign` never panics, and what it accepts
    /// is exactly what `sign` makes.
    #[test]
    fn signature_any_text(text in any::<String>()) {
        let secrets = keyboard_cat();
        if let Some(value) = secrets.unsign(&text) {
            prop_assert_eq!(secrets.sign(value), text);
        }
    }

    /// The document reader takes any bytes without panicking.
    #[test]
    fn document_any_bytes(bytes in prop_oneof![any::<Vec<u8>>(), cookie_header_text().prop_map(String::into_bytes)]) {
        let _ = SessionDocument::parse(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = js_json::parse(text);
        }
    }

    /// write(read(b)) == b for documents as express-session +
    /// JSON.stringify write them (generated; the oracle is the
    /// JSON.stringify above).
    #[test]
    fn document_node_bytes_read_back_unchanged(text in node_document(&node_numbers())) {
        let doc = SessionDocument::parse(text.as_bytes());
        prop_assert!(doc.is_ok(), "{:?}: {}", doc.err(), text);
        prop_assert_eq!(doc.unwrap().to_json(), text);
    }

    /// read(write(x)) == x for documents the worker makes: a cookie and
    /// fields set through the API (names a Session keeps, JavaScript
    /// values: numbers are doubles).
    #[test]
    fn document_written_reads_back(
        cookie in session_cookie(),
        fields in prop::collection::vec(
            (any::<String>().prop_filter("a name a Session keeps", |k| k != "cookie" && !SESSION_PROPERTIES.contains(&k.as_str())), json_value()),
            0..8,
        ),
    ) {
        let mut doc = SessionDocument::new(cookie.clone());
        for (key, value) in &fields {
            doc.insert(key, value).unwrap();
        }
        let written = doc.to_json();
        let read = SessionDocument::parse(written.as_bytes());
        prop_assert!(read.is_ok(), "{:?}: {}", read.err(), written);
        let read = read.unwrap();
        prop_assert_eq!(&read.cookie, &cookie);
        let mut keys: Vec<&str> = read.keys().collect();
        let mut expected: Vec<&str> = doc.keys().collect();
        keys.sort_unstable();
        expected.sort_unstable();
        prop_assert_eq!(keys, expected);
        for key in doc.keys() {
            let (a, b) = (doc.get::<Value>(key).unwrap().unwrap(), read.get::<Value>(key).unwrap().unwrap());
            prop_assert!(same_js_value(&a, &b), "{}: {} / {}", key, a, b);
        }
        prop_assert_eq!(read.to_json(), written);
    }

    /// Node's documents edited by one character: the reader never panics,
    /// and whatever it reads it writes in a form it reads back unchanged.
    #[test]
    fn document_edited_node_bytes(seed in prop::sample::select(document_vectors()), e in edit(any::<char>())) {
        if let Some(text) = apply(&seed.0, &e) {
            if let Ok(doc) = SessionDocument::parse(text.as_bytes()) {
                let once = doc.to_json();
                let again = SessionDocument::parse(once.as_bytes());
                prop_assert!(again.is_ok(), "{:?}: {}", again.err(), once);
                prop_assert_eq!(again.unwrap().to_json(), once);
            }
        }
    }

    /// The hand-written date reader reads what the `time` crate's RFC 3339
    /// and RFC 2822 parsers read, as the same instant, and refuses the rest.
    #[test]
    fn expires_dates_read_as_the_time_crate_reads_them(text in date_text()) {
        prop_assert_eq!(parse_iso(&text), time_parse(&text), "{:?}", text);
    }

    /// The Upstash reply decoder takes any JSON without panicking: one
    /// envelope or a /pipeline array, every command, both encodings.
    #[test]
    fn upstash_any_reply(reply in any_json()) {
        decode_everything(reply);
    }

    /// … and any body bytes (what does not parse as JSON is refused before).
    #[test]
    fn upstash_any_body(body in prop_oneof![any::<Vec<u8>>(), "[\\[\\]{}\",:0-9a-z ]{0,40}".prop_map(String::into_bytes)]) {
        if let Ok(reply) = serde_json::from_slice::<Value>(&body) {
            decode_everything(reply);
        }
    }

    /// A bulk string of any bytes survives upstash-local's base64 envelope
    /// and the client's GET; any UTF-8 text survives the plain one.
    #[test]
    fn upstash_bulk_round_trip(bytes in any::<Vec<u8>>(), text in any::<String>()) {
        let wire = serde_json::to_string(&Reply::Bulk(bytes.clone()).to_envelope(Encoding::Base64)).unwrap();
        let got = Get::parse(open_envelope(serde_json::from_str(&wire).unwrap()).unwrap(), Encoding::Base64).unwrap();
        prop_assert_eq!(got, Some(bytes));
        let wire = serde_json::to_string(&Reply::Bulk(text.clone().into_bytes()).to_envelope(Encoding::Plain)).unwrap();
        let got = Get::parse(open_envelope(serde_json::from_str(&wire).unwrap()).unwrap(), Encoding::Plain).unwrap();
        prop_assert_eq!(got, Some(text.into_bytes()));
    }
}

// ---------------------------------------------------------------------------
// The seed corpus, run deterministically

/// Every stored document of `tests/vectors/documents.json` is read into
/// the very bytes express-session writes back, and those bytes read back
/// unchanged: write(read(node_bytes)) == node_bytes.
#[test]
fn seed_documents_written_by_node() {
    let vectors = document_vectors();
    assert!(vectors.len() >= 30);
    for (stored, node) in vectors {
        let doc = SessionDocument::parse(stored.as_bytes()).unwrap_or_else(|e| panic!("{e}: {stored}"));
        assert_eq!(doc.to_json(), node, "stored {stored}");
        assert_eq!(SessionDocument::parse(node.as_bytes()).unwrap().to_json(), node);
    }
}

/// Every document express-session + connect-redis wrote in the golden
/// vectors reads back unchanged.
#[test]
fn seed_golden_documents() {
    let docs = golden_documents();
    assert!(docs.len() >= 100, "{}", docs.len());
    for doc in docs {
        let read = SessionDocument::parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}: {doc}"));
        assert_eq!(read.to_json(), doc);
    }
}

/// Each number Node wrote, as a field and as `originalMaxAge`, reads back
/// unchanged.
#[test]
fn seed_node_numbers_in_documents() {
    let numbers = node_numbers();
    assert!(numbers.len() >= 1000);
    for n in numbers {
        let doc = format!(
            r#"{{"cookie":{{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"}},"n":{n},"a":[{n}]}}"#
        );
        assert_eq!(SessionDocument::parse(doc.as_bytes()).unwrap().to_json(), doc);
        if n.parse::<f64>().unwrap().abs() <= 1e14 {
            let doc = format!(r#"{{"cookie":{{"originalMaxAge":{n},"expires":null,"httpOnly":true,"path":"/"}}}}"#);
            assert_eq!(SessionDocument::parse(doc.as_bytes()).unwrap().to_json(), doc);
        }
    }
}

/// Each header of `tests/corpus/cookie-headers.txt` gives the session id
/// it names, or none; and each, edited by one character anywhere, never
/// panics the parser.
#[test]
fn seed_cookie_headers() {
    let secrets = keyboard_cat();
    let mut n = 0;
    for line in corpus_lines(include_str!("corpus/cookie-headers.txt")) {
        let (expected, header) = line.split_once('\t').expect("sid<TAB>header");
        let expected = (expected != "-").then_some(expected);
        assert_eq!(verified_session_id(Some(header), NAME, &secrets).as_deref(), expected, "{header}");
        assert_eq!(check_cookie_header(header), Ok(()));
        let chars: Vec<char> = header.chars().collect();
        for i in 0..=chars.len() {
            for c in [';', ',', ' ', '=', '"', '%', '.', 'x', 'é'] {
                let edited: String = chars[..i].iter().chain([&c]).chain(&chars[i..]).collect();
                let _ = verified_session_id(Some(&edited), NAME, &secrets);
                let _ = check_cookie_header(&edited);
            }
        }
        n += 1;
    }
    assert!(n >= 30);
}

/// Each body of `tests/corpus/upstash-replies.txt` is JSON and decodes
/// without panicking.
#[test]
fn seed_upstash_replies() {
    let mut n = 0;
    for line in corpus_lines(include_str!("corpus/upstash-replies.txt")) {
        decode_everything(serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")));
        n += 1;
    }
    assert!(n >= 30);
}

// ---------------------------------------------------------------------------
// Regressions: each failure the properties found, shrunk, as a named test
// (its seed is also in proptest-regressions/properties.txt).

// - document_node_bytes_read_back_unchanged: with a `cookie` member stored
//   as null, an `originalMaxAge` of 0.000001 was written back as `1e-6`
//   (Node: `0.000001`); fixed in `SessionDocument`'s cookie writer, test
//   `session::document::tests::regression_original_max_age_keeps_nodes_spelling_beside_a_stored_null`.
