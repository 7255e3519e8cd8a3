//! The session document express-session + connect-redis keep in Redis:
//! `{"cookie":{...},<the app's fields>}` as compact JSON, and the TTL rule.
//!
//! Fields other than `cookie` are kept as JSON text in the exact form
//! `JSON.stringify` gives them (`js_json`), so a document written by Node
//! survives a rewrite byte for byte (the order of its fields, nested values,
//! `null`, booleans, raw UTF-8), and any document is rewritten into the very
//! bytes Node would write for it.

use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use super::js_json;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// connect-redis's TTL when a session has no expiry (a browser-session
/// cookie): one day.
pub const DEFAULT_TTL_SECONDS: i64 = 86_400;

/// Milliseconds since the Unix epoch, the unit of JavaScript's `Date.now()`.
pub type Millis = i64;

/// The largest `originalMaxAge` accepted, in ms (about 3 000 years): any
/// larger and the expiry date could not be written.
pub const MAX_AGE_LIMIT_MS: f64 = 1e14;

/// Why a stored document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The bytes are not UTF-8 JSON with an object at the top.
    #[error("stored session is not a JSON object")]
    NotJson(#[source] serde_json::Error),
    /// The object has no usable `cookie` member; express-session itself
    /// fails on such a document.
    #[error("stored session has no valid `cookie` object")]
    BadCookie(#[source] serde_json::Error),
    /// `cookie.expires` is neither null nor an ISO 8601 date.
    #[error("stored session has an unreadable cookie.expires {0:?}")]
    BadExpires(String),
}

/// Why a value could not be read from or written to a session field.
#[derive(Debug, thiserror::Error)]
#[error("session field `{field}` does not hold the expected type")]
pub struct FieldError {
    /// The top-level field name.
    pub field: String,
    /// What serde said.
    #[source]
    pub source: serde_json::Error,
}

/// `cookie.sameSite`: `true`, `false` or one of `"lax"`, `"strict"`,
/// `"none"` (any case), as express-session accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SameSite {
    /// `true` means Strict; `false` sends no attribute.
    Flag(bool),
    /// `lax`, `strict` or `none`, kept as written.
    Text(String),
}

impl SameSite {
    /// The `SameSite=` attribute value jshttp/cookie writes, if any.
    pub fn attribute(&self) -> Option<&'static str> {
        match self {
            SameSite::Flag(true) => Some("Strict"),
            SameSite::Flag(false) => None,
            SameSite::Text(t) => match t.to_ascii_lowercase().as_str() {
                "lax" => Some("Lax"),
                "strict" => Some("Strict"),
                "none" => Some("None"),
                _ => None,
            },
        }
    }
}

/// The `cookie` member of the document, with express-session's members in
/// express-session's order (`Cookie.prototype.data`). Members that are
/// `None` are left out, as `JSON.stringify` leaves out `undefined`;
/// `originalMaxAge` and `expires` are always written (`null` when unset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCookie {
    /// The cookie's lifetime in ms as stored; drives every expiry reset.
    #[serde(default, serialize_with = "ser_max_age")]
    pub original_max_age: Option<f64>,
    /// CHIPS partitioned cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioned: Option<bool>,
    /// `low`, `medium` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// The instant the cookie expires, in ms since the epoch; `None` for a
    /// browser-session cookie.
    #[serde(default, with = "iso_millis")]
    pub expires: Option<Millis>,
    /// Whether the cookie is only sent over https.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    /// Whether scripts are kept from reading the cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_only: Option<bool>,
    /// The cookie's Domain attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The cookie's Path attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The cookie's SameSite attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<SameSite>,
}

impl Default for SessionCookie {
    /// express-session's `new Cookie()`: path `/`, httpOnly, no expiry.
    fn default() -> Self {
        Self {
            original_max_age: None,
            partitioned: None,
            priority: None,
            expires: None,
            secure: None,
            http_only: Some(true),
            domain: None,
            path: Some("/".into()),
            same_site: None,
        }
    }
}

impl SessionCookie {
    /// express-session's `touch()`/`resetMaxAge()`: expires becomes
    /// now + originalMaxAge (stays null for a browser-session cookie).
    pub fn reset_expiry(&mut self, now: Millis) {
        self.expires = self.original_max_age.map(|ms| now.saturating_add(ms as Millis));
    }

    /// Milliseconds from `now` until `expires`, like the cookie's `maxAge`
    /// getter; `None` without an expiry.
    pub fn remaining_ms(&self, now: Millis) -> Option<Millis> {
        self.expires.map(|e| e - now)
    }

    /// connect-redis's TTL: ceil((expires − now) / 1000) seconds, or
    /// `default_ttl_seconds` when the cookie has no expiry.
    pub fn ttl_seconds(&self, now: Millis, default_ttl_seconds: i64) -> i64 {
        match self.expires {
            // Math.ceil(ms / 1000), exactly as connect-redis computes it.
            Some(e) => ((e - now) as f64 / 1000.0).ceil() as i64,
            None => default_ttl_seconds,
        }
    }
}

fn ser_max_age<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        // Spelled as Node spells the number: 60000, not 60000.0.
        Some(ms) if ms.is_finite() => {
            let text = js_json::number(*ms);
            let raw = RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
            raw.serialize(s)
        }
        _ => s.serialize_none(),
    }
}

/// `Date.prototype.toISOString()`: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_iso(ms: Millis) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    to_datetime(ms).format(&fmt).unwrap_or_default()
}

/// `Date.prototype.toUTCString()`, the IMF-fixdate of a cookie's Expires,
/// rounded down to the second.
pub fn format_http_date(ms: Millis) -> String {
    let fmt = format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    to_datetime(ms).format(&fmt).unwrap_or_default()
}

/// Parses an ISO 8601 / RFC 3339 instant into ms since the epoch.
pub fn parse_iso(text: &str) -> Option<Millis> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

fn to_datetime(ms: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

mod iso_millis {
    use super::{format_iso, parse_iso, Millis};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(ms) => s.serialize_str(&format_iso(*ms)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => {
                parse_iso(&text).map(Some).ok_or_else(|| serde::de::Error::custom(format!("bad expires {text:?}")))
            }
        }
    }
}

/// One session document: the cookie plus the app's fields, in order.
#[derive(Debug, Clone)]
pub struct SessionDocument {
    /// The `cookie` member, always written first.
    pub cookie: SessionCookie,
    fields: Vec<(String, Box<RawValue>)>,
}

impl SessionDocument {
    /// A fresh document with no fields.
    pub fn new(cookie: SessionCookie) -> Self {
        Self { cookie, fields: Vec::new() }
    }

    /// Reads a stored document.
    ///
    /// # Errors
    ///
    /// [`DocumentError`] when the bytes are not a JSON object with a readable `cookie` member
    /// (connect-redis would fail to load it too).
    pub fn parse(bytes: &[u8]) -> Result<Self, DocumentError> {
        let raw: RawObject = serde_json::from_slice(bytes).map_err(DocumentError::NotJson)?;
        let mut cookie = None;
        let mut fields = Vec::with_capacity(raw.0.len());
        for (key, value) in raw.0 {
            if key == "cookie" {
                cookie = Some(value);
            } else {
                // Text JavaScript could not have produced (a lone surrogate
                // escape, say) is kept as it is rather than refused.
                let value = js_json::canonical(&value).unwrap_or(value);
                fields.push((key, value));
            }
        }
        let cookie_json = cookie.ok_or_else(|| DocumentError::BadCookie(de::Error::custom("missing `cookie`")))?;
        // `expires` first, so that an unreadable date is named as such.
        #[derive(Deserialize)]
        struct Expires {
            #[serde(default)]
            expires: Option<String>,
        }
        if let Ok(Expires { expires: Some(text) }) = serde_json::from_str(cookie_json.get()) {
            if parse_iso(&text).is_none() {
                return Err(DocumentError::BadExpires(text));
            }
        }
        let cookie: SessionCookie = serde_json::from_str(cookie_json.get()).map_err(DocumentError::BadCookie)?;
        // Beyond this a date can no longer be written (year 9999) and the
        // arithmetic on it could overflow; Node's Date tops out near it too.
        if cookie.original_max_age.is_some_and(|ms| !ms.is_finite() || ms.abs() > MAX_AGE_LIMIT_MS) {
            return Err(DocumentError::BadCookie(de::Error::custom("originalMaxAge out of range")));
        }
        Ok(Self { cookie, fields })
    }

    /// The document as connect-redis stores it: compact JSON, `cookie`
    /// first, then the fields in order, each as it was read or written.
    pub fn to_json(&self) -> String {
        let cookie = serde_json::to_string(&self.cookie).unwrap_or_else(|_| "{}".into());
        let mut out = String::with_capacity(cookie.len() + 64);
        out.push('{');
        // JavaScript puts integer-like keys before all others, `cookie`
        // included; any other field follows `cookie` in insertion order.
        let order = js_json::property_order(self.fields.iter().map(|(k, _)| k.as_str()));
        let cookie_at = order.iter().take_while(|k| js_json::array_index(k).is_some()).count();
        for (i, key) in order.iter().enumerate() {
            if i == cookie_at {
                out.push_str("\"cookie\":");
                out.push_str(&cookie);
                out.push(',');
            }
            // Keys are escaped with serde_json, which escapes exactly what
            // JSON.stringify escapes.
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push(':');
            out.push_str(self.raw(key).map_or("null", RawValue::get));
            out.push(',');
        }
        if cookie_at == order.len() {
            out.push_str("\"cookie\":");
            out.push_str(&cookie);
        } else {
            out.pop();
        }
        out.push('}');
        out
    }

    /// Reads field `key` as `T`; `Ok(None)` when absent.
    ///
    /// # Errors
    ///
    /// [`FieldError`] when the field holds JSON that is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, FieldError> {
        match self.raw(key) {
            None => Ok(None),
            Some(raw) => {
                serde_json::from_str(raw.get()).map(Some).map_err(|source| FieldError { field: key.into(), source })
            }
        }
    }

    /// The raw JSON text of field `key`.
    pub fn raw(&self, key: &str) -> Option<&RawValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// Writes field `key` in place, or appends it when new (a JavaScript
    /// object keeps a key's first position).
    ///
    /// # Errors
    ///
    /// [`FieldError`] when `value` cannot be serialized to JSON.
    pub fn insert<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), FieldError> {
        let error = |source| FieldError { field: key.into(), source };
        if key == "cookie" {
            return Err(error(serde::ser::Error::custom("`cookie` is the session's cookie, not a field")));
        }
        let value = serde_json::to_value(value).map_err(error)?;
        let mut text = String::new();
        if js_json::write(&value, &mut text).is_none() {
            text = serde_json::to_string(&value).map_err(error)?;
        }
        let raw = RawValue::from_string(text).map_err(error)?;
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = raw,
            None => self.fields.push((key.into(), raw)),
        }
        Ok(())
    }

    /// Removes field `key`; returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.fields.len();
        self.fields.retain(|(k, _)| k != key);
        before != self.fields.len()
    }

    /// The document without its cookie, in the exact form that decides
    /// whether a session was modified (express-session hashes the same
    /// thing: the session minus `cookie`).
    pub fn fields_fingerprint(&self) -> Vec<(String, String)> {
        self.fields.iter().map(|(k, v)| (k.clone(), v.get().to_owned())).collect()
    }

    /// The field names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(k, _)| k.as_str())
    }
}

/// A JSON object read as an ordered list of raw members. Like
/// `JSON.parse`, a repeated key keeps its first position and its last value.
pub(crate) struct RawObject(pub(crate) Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut out: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    match out.iter_mut().find(|(key, _)| *key == k) {
                        Some((_, slot)) => *slot = v,
                        None => out.push((k, v)),
                    }
                }
                Ok(RawObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE_DOC: &str = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:23:27.103Z","secure":false,"httpOnly":true,"path":"/"},"views":1}"#;

    #[test]
    fn node_document_round_trips() {
        let doc = SessionDocument::parse(NODE_DOC.as_bytes()).unwrap();
        assert_eq!(doc.cookie.original_max_age, Some(60000.0));
        assert_eq!(doc.cookie.expires, Some(1_795_415_007_103));
        assert_eq!(doc.get::<i64>("views").unwrap(), Some(1));
        assert_eq!(doc.to_json(), NODE_DOC);
    }

    #[test]
    fn foreign_document_survives_byte_for_byte() {
        let text = r#"{"cookie":{"originalMaxAge":59999,"expires":"2026-11-23T06:23:27.103Z","httpOnly":true,"path":"/"},"zeta":{"nested":[1,2,{"x":null}],"t":true},"name":"Zoë — 日本語 🍺","empty":null,"f":false,"n":-1.5e-7,"esc":"a\"b\\c\n\u0001","views":3}"#;
        let mut doc = SessionDocument::parse(text.as_bytes()).unwrap();
        assert_eq!(doc.to_json(), text);
        assert_eq!(doc.cookie.original_max_age, Some(59999.0));
        // Rewriting one field keeps the others and their order.
        doc.insert("views", &4).unwrap();
        assert_eq!(doc.to_json(), text.replace("\"views\":3", "\"views\":4"));
        // New fields are appended.
        doc.insert("added", "ü").unwrap();
        assert!(doc.to_json().ends_with(r#""views":4,"added":"ü"}"#));
    }

    #[test]
    fn new_document_matches_express_session() {
        let cookie = SessionCookie { original_max_age: Some(60000.0), secure: Some(false), ..SessionCookie::default() };
        let mut doc = SessionDocument::new(cookie);
        doc.cookie.reset_expiry(1_795_414_947_103);
        doc.insert("views", &1).unwrap();
        assert_eq!(doc.to_json(), NODE_DOC);
    }

    #[test]
    fn browser_session_cookie() {
        let mut doc = SessionDocument::new(SessionCookie::default());
        doc.cookie.reset_expiry(1000);
        assert_eq!(doc.to_json(), r#"{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}}"#);
        assert_eq!(doc.cookie.ttl_seconds(1000, DEFAULT_TTL_SECONDS), 86_400);
    }

    #[test]
    fn every_cookie_member_in_order() {
        let cookie = SessionCookie {
            original_max_age: Some(1000.0),
            partitioned: Some(true),
            priority: Some("high".into()),
            expires: Some(0),
            secure: Some(true),
            http_only: Some(false),
            domain: Some("a.example".into()),
            path: Some("/p".into()),
            same_site: Some(SameSite::Flag(true)),
        };
        let json = serde_json::to_string(&cookie).unwrap();
        assert_eq!(
            json,
            r#"{"originalMaxAge":1000,"partitioned":true,"priority":"high","expires":"1970-01-01T00:00:00.000Z","secure":true,"httpOnly":false,"domain":"a.example","path":"/p","sameSite":true}"#
        );
        let back: SessionCookie = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cookie);
    }

    #[test]
    fn ttl_rounds_up() {
        let mut c = SessionCookie { original_max_age: Some(60000.0), ..Default::default() };
        c.reset_expiry(0);
        assert_eq!(c.ttl_seconds(0, DEFAULT_TTL_SECONDS), 60);
        assert_eq!(c.ttl_seconds(1, DEFAULT_TTL_SECONDS), 60);
        assert_eq!(c.ttl_seconds(999, DEFAULT_TTL_SECONDS), 60);
        assert_eq!(c.ttl_seconds(1000, DEFAULT_TTL_SECONDS), 59);
        assert_eq!(c.ttl_seconds(60_000, DEFAULT_TTL_SECONDS), 0);
        assert_eq!(c.ttl_seconds(61_500, DEFAULT_TTL_SECONDS), -1);
    }

    #[test]
    fn corrupt_documents_are_errors() {
        assert!(matches!(SessionDocument::parse(b"{not json"), Err(DocumentError::NotJson(_))));
        assert!(matches!(SessionDocument::parse(b"[1,2]"), Err(DocumentError::NotJson(_))));
        assert!(matches!(SessionDocument::parse(b"{\"views\":1}"), Err(DocumentError::BadCookie(_))));
        assert!(matches!(SessionDocument::parse(b"{\"cookie\":5}"), Err(DocumentError::BadCookie(_))));
        assert!(matches!(
            SessionDocument::parse(br#"{"cookie":{"expires":"yesterday"}}"#),
            Err(DocumentError::BadExpires(_))
        ));
        assert!(matches!(
            SessionDocument::parse(br#"{"cookie":{"originalMaxAge":1e300,"expires":null}}"#),
            Err(DocumentError::BadCookie(_))
        ));
        assert!(matches!(SessionDocument::parse(&[0xff, 0xfe]), Err(DocumentError::NotJson(_))));
    }

    #[test]
    fn modified_is_about_fields_not_cookie() {
        let mut doc = SessionDocument::parse(NODE_DOC.as_bytes()).unwrap();
        let before = doc.fields_fingerprint();
        doc.cookie.reset_expiry(5);
        assert_eq!(doc.fields_fingerprint(), before);
        doc.insert("views", &1).unwrap();
        assert_eq!(doc.fields_fingerprint(), before, "same value is no modification");
        doc.insert("views", &2).unwrap();
        assert_ne!(doc.fields_fingerprint(), before);
    }

    #[test]
    fn repeated_keys_behave_like_json_parse() {
        let doc =
            SessionDocument::parse(br#"{"cookie":{"originalMaxAge":null,"expires":null},"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(doc.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(doc.get::<i64>("a").unwrap(), Some(3));
    }

    #[test]
    fn rewritten_as_node_writes_it() {
        let text =
            r#"{"cookie":{"originalMaxAge":60000,"expires":null},"b":[ 1.0 , 2e2 ],"2":"x","a":"\u00fc","1":null}"#;
        let doc = SessionDocument::parse(text.as_bytes()).unwrap();
        // What JSON.stringify(JSON.parse(text)) gives in Node, the cookie
        // aside (express-session writes its own cookie object).
        assert_eq!(
            doc.to_json(),
            r#"{"1":null,"2":"x","cookie":{"originalMaxAge":60000,"expires":null},"b":[1,200],"a":"ü"}"#
        );
        let mut doc = SessionDocument::new(SessionCookie::default());
        doc.insert("f", &1.0f64).unwrap();
        doc.insert("m", &serde_json::json!({"z": 1, "a": -0.0})).unwrap();
        assert!(doc.to_json().ends_with(r#""f":1,"m":{"z":1,"a":0}}"#), "{}", doc.to_json());
    }

    #[test]
    fn dates() {
        assert_eq!(format_iso(1_795_415_007_103), "2026-11-23T06:23:27.103Z");
        assert_eq!(parse_iso("2026-11-23T06:23:27.103Z"), Some(1_795_415_007_103));
        assert_eq!(format_http_date(1_795_415_007_999), "Mon, 23 Nov 2026 06:23:27 GMT");
    }
}
