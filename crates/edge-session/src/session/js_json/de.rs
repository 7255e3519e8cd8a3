//! Typed reads of JSON as `JSON.parse` reads it: [`from_str`] parses with
//! this module's parent ([`super::parse`]) and hands the value to a type's
//! serde `Deserialize` through a `Deserializer` over [`Js`].
//!
//! Why not serde_json's reader, which the native build could use as well:
//! every JSON read of the worker (a session field, Passport's user, a form
//! body, a store reply, the beer API's answer) goes through here, so the
//! wasm carries one JSON parser, the one that already reads documents, and
//! no second one (serde_json's reader, its decimal-to-double code and its
//! error text, which formats floats through `<f64 as Display>`: ~20 KB of
//! the gzip'd module together, issue 14). No crate offers a serde
//! `Deserializer` over a value tree it does not own. The reading is the
//! JavaScript one the documents need anyway: numbers are doubles (an
//! integer past 2^53 is rounded, as Node reads it; an integral double
//! reads as an integer, so `1.0` is a `u32` 1 as `JSON.parse` makes it 1),
//! a repeated key keeps its last value, and a string with a lone surrogate
//! escape is refused, as serde_json refuses it (no Rust `String` holds
//! one).

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Unexpected, Visitor};

use super::{parse_at, Js, JsStr};

/// Why a text did not read as a `T`.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not JSON `JSON.parse` reads (or nests deeper than 512
    /// levels): where the reader stopped, in bytes from the start.
    #[error("not JSON (at byte {at})")]
    Syntax {
        /// The byte offset at which the reader gave up.
        at: usize,
    },
    /// The JSON is not a `T`: what the type's `Deserialize` said
    /// (`invalid type: string "x", expected u32`).
    #[error("{0}")]
    Data(String),
}
crate::debug_is_display!(Error);

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Data(msg.to_string())
    }

    // serde's default texts format an `Unexpected` with its own Display,
    // whose float case pulls `<f64 as Display>` (flt2dec, ~14 KB) into the
    // wasm; these write the same words through `Unexpectedly` instead.
    fn invalid_type(unexp: Unexpected, exp: &dyn de::Expected) -> Self {
        Error::Data(format!("invalid type: {}, expected {exp}", Unexpectedly(unexp)))
    }

    fn invalid_value(unexp: Unexpected, exp: &dyn de::Expected) -> Self {
        Error::Data(format!("invalid value: {}, expected {exp}", Unexpectedly(unexp)))
    }
}

/// serde's `Unexpected` in serde's words, numbers spelled as JavaScript
/// spells them and strings as JSON literals.
struct Unexpectedly<'a>(Unexpected<'a>);

impl fmt::Display for Unexpectedly<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Unexpected::Bool(b) => write!(f, "boolean `{b}`"),
            Unexpected::Unsigned(n) => write!(f, "integer `{n}`"),
            Unexpected::Signed(n) => write!(f, "integer `{n}`"),
            Unexpected::Float(x) => write!(f, "floating point `{}`", spelled(x)),
            Unexpected::Char(c) => write!(f, "character {}", super::quote(c.encode_utf8(&mut [0; 4]))),
            Unexpected::Str(s) => write!(f, "string {}", super::quote(s)),
            Unexpected::Bytes(_) => f.write_str("byte array"),
            Unexpected::Unit => f.write_str("null"),
            Unexpected::Option => f.write_str("Option value"),
            Unexpected::NewtypeStruct => f.write_str("newtype struct"),
            Unexpected::Seq => f.write_str("sequence"),
            Unexpected::Map => f.write_str("map"),
            Unexpected::Enum => f.write_str("enum"),
            Unexpected::UnitVariant => f.write_str("unit variant"),
            Unexpected::NewtypeVariant => f.write_str("newtype variant"),
            Unexpected::TupleVariant => f.write_str("tuple variant"),
            Unexpected::StructVariant => f.write_str("struct variant"),
            Unexpected::Other(other) => f.write_str(other),
        }
    }
}

/// A double as JavaScript's `String(x)` spells it (`Infinity`, `NaN`).
fn spelled(x: f64) -> String {
    match x.is_finite() {
        true => super::number(x),
        false if x.is_nan() => "NaN".into(),
        false => (if x > 0.0 { "Infinity" } else { "-Infinity" }).into(),
    }
}

/// `text` read as `JSON.parse` reads it, then as a `T`.
///
/// # Errors
///
/// [`Error::Syntax`] when `text` is not JSON; [`Error::Data`] when it is
/// not a `T` (or holds a string with a lone surrogate).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    T::deserialize(parse_at(text).map_err(|at| Error::Syntax { at })?)
}

/// [`from_str`] of bytes, which must be UTF-8 (JSON text is, RFC 8259 §8.1).
///
/// # Errors
///
/// As [`from_str`]; [`Error::Syntax`] when `bytes` are not UTF-8.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    from_str(std::str::from_utf8(bytes).map_err(|e| Error::Syntax { at: e.valid_up_to() })?)
}

/// The string a literal holds; an error for a lone surrogate.
fn text(s: JsStr) -> Result<String, Error> {
    s.to_str().ok_or_else(|| Error::Data("a string with a lone surrogate".into()))
}

/// The largest magnitude below which every integral double is an `i64` or
/// a `u64` exactly (2^63 and 2^64).
const I64_END: f64 = 9_223_372_036_854_775_808.0;
const U64_END: f64 = 18_446_744_073_709_551_616.0;

/// A double to the visitor: an integer when it is one (as serde_json hands
/// `1` to a visitor), else a float (-0 too, as serde_json reads `-0`).
fn visit_number<'de, V: Visitor<'de>>(x: f64, visitor: V) -> Result<V::Value, Error> {
    if x == 0.0 && x.is_sign_negative() {
        visitor.visit_f64(x)
    } else if x.fract() == 0.0 && (0.0..U64_END).contains(&x) {
        visitor.visit_u64(x as u64)
    } else if x.fract() == 0.0 && (-I64_END..0.0).contains(&x) {
        visitor.visit_i64(x as i64)
    } else {
        visitor.visit_f64(x)
    }
}

impl<'de> de::Deserializer<'de> for Js {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Js::Null => visitor.visit_unit(),
            Js::Bool(b) => visitor.visit_bool(b),
            Js::Number(x) => visit_number(x, visitor),
            Js::String(s) => visitor.visit_string(text(s)?),
            Js::Array(items) => {
                let len = items.len();
                let mut seq = de::value::SeqDeserializer::new(items.into_iter());
                let value = visitor.visit_seq(&mut seq)?;
                match seq.end() {
                    Ok(()) => Ok(value),
                    Err(_) => Err(de::Error::invalid_length(len, &"fewer elements in array")),
                }
            }
            Js::Object(members) => visitor.visit_map(Members { members: members.into_iter(), value: None }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Js::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Externally tagged, as serde_json reads enums: a string is a unit
    /// variant, an object of one member a variant with its content.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Js::String(s) => visitor.visit_enum(text(s)?.into_deserializer()),
            Js::Object(mut members) if members.len() == 1 => {
                let (key, value) = members.pop().ok_or(Error::Data("an empty object".into()))?;
                visitor.visit_enum(Variant { key: text(key)?, value })
            }
            other => Err(de::Error::invalid_type(other.unexpected(), &"a string or an object of one member")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

impl<'de> IntoDeserializer<'de, Error> for Js {
    type Deserializer = Js;

    fn into_deserializer(self) -> Js {
        self
    }
}

impl Js {
    /// What the value is, in serde's words for an error.
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Js::Null => Unexpected::Unit,
            Js::Bool(b) => Unexpected::Bool(*b),
            Js::Number(x) => Unexpected::Float(*x),
            Js::String(_) => Unexpected::Other("string"),
            Js::Array(_) => Unexpected::Seq,
            Js::Object(_) => Unexpected::Map,
        }
    }
}

/// An object's members, in the order `JSON.parse` created them.
struct Members {
    members: std::vec::IntoIter<(JsStr, Js)>,
    value: Option<Js>,
}

impl<'de> de::MapAccess<'de> for Members {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.members.next() else { return Ok(None) };
        self.value = Some(value);
        seed.deserialize(Key(text(key)?)).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        // serde calls this once after each key; a value is always there.
        seed.deserialize(self.value.take().unwrap_or(Js::Null))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// An object's key, which JSON always writes as a string, read as
/// serde_json reads map keys: as the string, or as the integer, float or
/// boolean it spells (`{"1": …}` into a `HashMap<u32, _>`), through a
/// newtype or an `Option`.
struct Key(String);

impl Key {
    /// The key as the number or boolean it spells, as `JSON.parse` would
    /// read that text.
    fn scalar(&self) -> Result<Js, Error> {
        match parse_at(&self.0) {
            Ok(v @ (Js::Number(_) | Js::Bool(_))) => Ok(v),
            _ => Err(de::Error::invalid_type(Unexpected::Str(&self.0), &"a number or a boolean")),
        }
    }
}

macro_rules! key_scalars {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.scalar()?.deserialize_any(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Key {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.0)
    }

    key_scalars! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The variant of an enum written as `{"Variant": content}`.
struct Variant {
    key: String,
    value: Js,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Js;

    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Js), Error> {
        let key: de::value::StringDeserializer<Error> = self.key.into_deserializer();
        Ok((seed.deserialize(key)?, self.value))
    }
}

impl<'de> de::VariantAccess<'de> for Js {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::Value;

    use super::{from_str, Error};

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Visit {
        views: u32,
        last_beer: Option<String>,
        ratio: f64,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Shape {
        Empty,
        Count(u32),
        Pair(u8, u8),
        Named { name: String },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }

    #[test]
    fn structs_options_and_defaults() {
        let v: Visit = from_str(r#"{"views":3,"lastBeer":null,"ratio":0.5,"extra":[1,{"a":2}]}"#).unwrap();
        assert_eq!(v, Visit { views: 3, last_beer: None, ratio: 0.5, tags: vec![] });
        let v: Visit = from_str(r#"{"ratio":2,"views":1.0,"lastBeer":"Hazy \"Otter\"","tags":["a"]}"#).unwrap();
        assert_eq!(v, Visit { views: 1, last_beer: Some("Hazy \"Otter\"".into()), ratio: 2.0, tags: vec!["a".into()] });
    }

    #[test]
    fn json_parse_semantics() {
        // A repeated key: the last value (JSON.parse).
        assert_eq!(from_str::<BTreeMap<String, u8>>(r#"{"a":1,"a":2}"#).unwrap()["a"], 2);
        // Integers past 2^53 are doubles, as Node reads them.
        assert_eq!(from_str::<u64>("9007199254740993").unwrap(), 9_007_199_254_740_992);
        assert_eq!(from_str::<i64>("-5").unwrap(), -5);
        assert_eq!(from_str::<f64>("1e400").unwrap(), f64::INFINITY);
        assert_eq!(from_str::<String>(r#""caf\u00e9 \ud83c\udf7a""#).unwrap(), "café 🍺");
        assert!(matches!(from_str::<String>(r#""\ud800""#), Err(Error::Data(_))));
        assert_eq!(
            from_str::<Value>("{\"b\":[1,1.5,-2,\"x\",true,null]}").unwrap(),
            serde_json::json!({"b": [1, 1.5, -2, "x", true, null]})
        );
    }

    #[test]
    fn map_keys_as_serde_json_reads_them() {
        use std::collections::HashMap;
        #[derive(Debug, Deserialize, PartialEq, Eq, Hash)]
        struct Id(u32);
        let text = r#"{"1":"a","20":"b"}"#;
        let by_number: HashMap<u32, String> = from_str(text).unwrap();
        assert_eq!(by_number, serde_json::from_str::<HashMap<u32, String>>(text).unwrap());
        let by_id: HashMap<Id, String> = from_str(text).unwrap();
        assert_eq!(by_id[&Id(20)], "b");
        let by_flag: BTreeMap<bool, u8> = from_str(r#"{"true":1,"false":0}"#).unwrap();
        assert_eq!(by_flag[&true], 1);
        let by_float: Vec<(f64, u8)> = from_str::<HashMap<String, u8>>(r#"{"1.5":1}"#)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.parse().unwrap(), v))
            .collect();
        assert_eq!(by_float, [(1.5, 1)]);
        assert!(matches!(from_str::<HashMap<u32, u8>>(r#"{"x":1}"#), Err(Error::Data(_))));
        assert!(matches!(from_str::<HashMap<u32, u8>>(r#"{"1x":1}"#), Err(Error::Data(_))));
    }

    #[test]
    fn minus_zero_and_depth() {
        // serde_json reads `-0` as the float -0.0, not as an integer.
        assert!(from_str::<f64>("-0").unwrap().is_sign_negative());
        assert!(from_str::<u32>("-0").is_err());
        assert_eq!(from_str::<u32>("0").unwrap(), 0);
        // Nesting within the reader's limit (512 below the top) reads;
        // deeper is refused before any type sees it.
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(from_str::<Value>(&deep(513)).is_ok());
        assert_eq!(from_str::<Value>(&deep(514)), Err(Error::Syntax { at: 513 }));
    }

    #[test]
    fn enums_externally_tagged_and_untagged() {
        assert_eq!(from_str::<Shape>(r#""Empty""#).unwrap(), Shape::Empty);
        assert_eq!(from_str::<Shape>(r#"{"Count":7}"#).unwrap(), Shape::Count(7));
        assert_eq!(from_str::<Shape>(r#"{"Pair":[1,2]}"#).unwrap(), Shape::Pair(1, 2));
        assert_eq!(from_str::<Shape>(r#"{"Named":{"name":"x"}}"#).unwrap(), Shape::Named { name: "x".into() });
        assert!(from_str::<Shape>(r#"{"Count":1,"Pair":[1,2]}"#).is_err());
        assert_eq!(from_str::<Either>("12").unwrap(), Either::Number(12));
        assert_eq!(from_str::<Either>(r#""12""#).unwrap(), Either::Text("12".into()));
    }

    #[test]
    fn errors_say_what_serde_json_says() {
        assert_eq!(from_str::<u32>("x"), Err(Error::Syntax { at: 0 }));
        assert_eq!(from_str::<u32>("1 2"), Err(Error::Syntax { at: 2 }));
        assert_eq!(Error::Syntax { at: 7 }.to_string(), "not JSON (at byte 7)");
        assert_eq!(
            from_str::<u32>("1e400"),
            Err(Error::Data("invalid type: floating point `Infinity`, expected u32".into()))
        );
        // serde_json stops at the third element ("trailing characters").
        let long = from_str::<(u8, u8)>("[1,2,3]");
        assert_eq!(long, Err(Error::Data("invalid length 3, expected fewer elements in array".into())));
        let cases = [
            ("\"x\"", "u32"),
            ("1.5", "u32"),
            ("-1", "u32"),
            ("true", "String"),
            ("[1]", "Visit"),
            ("{\"views\":1}", "Visit"),
            ("{\"Nope\":1}", "Shape"),
        ];
        for (text, ty) in cases {
            let ours = match ty {
                "u32" => from_str::<u32>(text).map(|_| ()),
                "String" => from_str::<String>(text).map(|_| ()),
                "Visit" => from_str::<Visit>(text).map(|_| ()),
                _ => from_str::<Shape>(text).map(|_| ()),
            };
            let theirs = match ty {
                "u32" => serde_json::from_str::<u32>(text).map(|_| ()),
                "String" => serde_json::from_str::<String>(text).map(|_| ()),
                "Visit" => serde_json::from_str::<Visit>(text).map(|_| ()),
                _ => serde_json::from_str::<Shape>(text).map(|_| ()),
            };
            let (Err(Error::Data(ours)), Err(theirs)) = (ours, theirs) else {
                panic!("{text} as {ty}: both must fail")
            };
            // serde_json adds " at line 1 column N".
            assert!(theirs.to_string().starts_with(&ours), "{text} as {ty}: {ours} / {theirs}");
        }
    }
}
