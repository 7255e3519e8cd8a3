//! JSON exactly as JavaScript's `JSON.stringify(JSON.parse(text))` writes
//! it, so the worker stores the bytes Node would store for the same data:
//! numbers as `Number.prototype.toString` spells them (`1` not `1.0`,
//! `1e+21`, `0` for `-0`, integers past 2^53 rounded to a double), objects
//! with integer-like keys first in ascending order and the rest in insertion
//! order, and strings escaped as JSON.stringify escapes them.
//!
//! Hand-written because no crate reproduces ECMAScript's number-to-string
//! and property-order rules; serde_json's own output differs on all three.

use serde_json::value::RawValue;
use serde_json::Value;

/// `JSON.stringify(JSON.parse(raw))`; `None` when serde_json cannot read
/// the text as a value JavaScript could (e.g. a lone surrogate escape or a
/// number beyond f64), in which case callers keep the text as it is.
pub fn canonical(raw: &RawValue) -> Option<Box<RawValue>> {
    let value: Value = serde_json::from_str(raw.get()).ok()?;
    let mut out = String::with_capacity(raw.get().len());
    write(&value, &mut out)?;
    RawValue::from_string(out).ok()
}

/// Writes `value` as JSON.stringify would.
pub fn write(value: &Value, out: &mut String) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n.as_f64()?)),
        Value::String(s) => out.push_str(&serde_json::to_string(s).ok()?),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, key) in property_order(map.keys().map(String::as_str)).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).ok()?);
                out.push(':');
                write(&map[key], out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

/// ECMAScript's own-property order: array-index keys ("0" to "4294967294",
/// no leading zeros) ascending, then the others as inserted.
pub fn property_order<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let (mut indexes, others): (Vec<&str>, Vec<&str>) = keys.partition(|k| array_index(k).is_some());
    indexes.sort_by_key(|k| array_index(k));
    indexes.extend(others);
    indexes
}

/// The key's value as an array index, if it is one.
pub fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|&n| n != u32::MAX)
}

/// `Number.prototype.toString()` for a finite double (JSON.stringify
/// writes `null` for NaN and infinities).
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    if x == 0.0 {
        return "0".into(); // -0 too
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, like
    // ECMAScript's algorithm: "d.ddde±x".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp.parse::<i32>().unwrap_or(0) + 1; // value = 0.digits × 10^n
    let sign = if x < 0.0 { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 { format!("+{e}") } else { e.to_string() };
        if k == 1 {
            format!("{digits}e{e}")
        } else {
            format!("{}.{}e{e}", &digits[..1], &digits[1..])
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
                r#"{"b":1,"2":2,"a":3,"1":4,"01":5,"4294967295":6,"4294967294":7}"#,
                r#"{"1":4,"2":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}"#,
            ),
            (
                r#"{ "s" : "\u00fc\/\u00e9\n\u0001\u2028" , "x":[ 1 , 2 ] }"#,
                "{\"s\":\"ü/é\\n\\u0001\u{2028}\",\"x\":[1,2]}",
            ),
            (r#"{"a":1,"a":2}"#, r#"{"a":2}"#),
        ];
        for (input, node) in cases {
            let raw = RawValue::from_string(input.into()).unwrap();
            assert_eq!(canonical(&raw).unwrap().get(), node, "{input}");
        }
    }

    #[test]
    fn unreadable_text_is_left_to_the_caller() {
        let raw = RawValue::from_string(r#""\ud800""#.into()).unwrap();
        assert!(canonical(&raw).is_none());
    }
}
