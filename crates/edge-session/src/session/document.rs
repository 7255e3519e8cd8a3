//! The session document express-session + connect-redis keep in Redis:
//! `{"cookie":{...},<the app's fields>}` as compact JSON, and the TTL rule.
//!
//! The document is read as `JSON.parse` reads it (`js_json`) and taken in
//! as express-session's `Store.createSession` takes it: the `cookie` member
//! becomes a `Cookie` (its defaults applied, its members written in the
//! Cookie's own order) and the other fields are copied in stored order,
//! except those a `Session` already has (`__proto__`, its methods).
//! Fields other than `cookie` are kept as JSON text in the exact form
//! `JSON.stringify` gives them, so a document written by Node survives a
//! rewrite byte for byte (the order of its fields and of `cookie` among
//! them, nested values, numbers, lone surrogates, raw UTF-8), and any
//! document is rewritten into the very bytes Node would write for it.

use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Serialize};

use super::js_json::{self, Js, JsStr};
use time::OffsetDateTime;

/// connect-redis's TTL when a session has no expiry (a browser-session
/// cookie): one day.
pub const DEFAULT_TTL_SECONDS: i64 = 86_400;

/// Milliseconds since the Unix epoch, the unit of JavaScript's `Date.now()`.
pub type Millis = i64;

/// The largest `originalMaxAge` accepted, in ms (about 3 000 years): any
/// larger and the expiry date could not be written.
pub const MAX_AGE_LIMIT_MS: f64 = 1e14;

/// The largest stored document read, in bytes (1 MiB). A session document
/// is usually well under 1 KiB; a larger one is not parsed at all, so a
/// document that grew by a bug, or was written to hurt, costs the worker
/// neither the CPU time nor the memory of parsing it (a few times its size).
/// express-session + connect-redis read any size; a document over this is
/// treated as unreadable: a new session, the stored key left as it was.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Why a stored document could not be read.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum DocumentError {
    /// The stored bytes are more than [`MAX_DOCUMENT_BYTES`]; they were not
    /// parsed.
    #[error("stored session is {bytes} bytes long; at most {limit} are read")]
    TooLarge {
        /// The stored document's length, in bytes.
        bytes: usize,
        /// [`MAX_DOCUMENT_BYTES`].
        limit: usize,
    },
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
crate::debug_is_display!(DocumentError);

/// Why a value could not be read from or written to a session field.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
#[error("session field `{field}` does not hold the expected type")]
pub struct FieldError {
    /// The top-level field name.
    pub field: String,
    /// What the reading or the writing said.
    #[source]
    pub source: ValueError,
}
crate::debug_is_display!(FieldError);

/// Why a field's value did not read or write.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum ValueError {
    /// Reading: the stored JSON is not the type asked for.
    #[error(transparent)]
    Read(#[from] js_json::de::Error),
    /// Writing: the value has no JSON form (serde_json's serializer says
    /// why, e.g. a map whose keys are not strings).
    #[error(transparent)]
    Write(#[from] serde_json::Error),
}
crate::debug_is_display!(ValueError);

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
/// Read from a stored document, a missing `path` or `httpOnly` takes the
/// `Cookie` constructor's default (`/`, `true`), as `createSession` does.
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
    #[serde(default = "default_http_only", skip_serializing_if = "Option::is_none")]
    pub http_only: Option<bool>,
    /// The cookie's Domain attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The cookie's Path attribute.
    #[serde(default = "default_path", skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The cookie's SameSite attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<SameSite>,
}

// `new Cookie(stored)` sets these before copying the stored members.
fn default_http_only() -> Option<bool> {
    Some(true)
}

fn default_path() -> Option<String> {
    Some("/".into())
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
            http_only: default_http_only(),
            domain: None,
            path: default_path(),
            same_site: None,
        }
    }
}

impl SessionCookie {
    /// express-session's `touch()`/`resetMaxAge()`: expires becomes
    /// now + originalMaxAge (stays null for a browser-session cookie).
    ///
    /// As in Node, the instant is a whole millisecond (`new Date(x)`
    /// truncates `x`), and setting it recomputes `originalMaxAge` as
    /// `expires − now` (the Cookie's `expires` setter): a stored
    /// `60000.5` becomes `60000`; whole numbers stay as they are.
    pub fn reset_expiry(&mut self, now: Millis) {
        self.expires = self.original_max_age.map(|ms| (now as f64 + ms).trunc() as Millis);
        if let Some(expires) = self.expires {
            self.original_max_age = Some((expires - now) as f64);
        }
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

    /// The `cookie` member of a stored document, from its members as
    /// `JSON.parse` left them (express-session's `new Cookie(stored)`,
    /// with the defaults the `Cookie` constructor sets first): the same
    /// reading as this type's `Deserialize`, which the tests compare it
    /// with, without parsing the member's text a second time on every
    /// load. Members it does not know are ignored.
    ///
    /// # Errors
    ///
    /// [`DocumentError::BadExpires`] when `expires` is a string that is not
    /// a date [`parse_iso`] reads; [`DocumentError::BadCookie`] when a
    /// member holds neither its own type nor `null`.
    pub(crate) fn from_members(members: &[(JsStr, Js)]) -> Result<Self, DocumentError> {
        let wrong = |name: &str, expected: &str| {
            DocumentError::BadCookie(de::Error::custom(format!("cookie.{name} is not {expected}")))
        };
        let text = |name: &str, value: &Js| match value {
            Js::Null => Ok(None),
            Js::String(s) => s.to_str().map(Some).ok_or_else(|| wrong(name, "a well-formed string")),
            _ => Err(wrong(name, "a string")),
        };
        let flag = |name: &str, value: &Js| match value {
            Js::Null => Ok(None),
            Js::Bool(b) => Ok(Some(*b)),
            _ => Err(wrong(name, "a boolean")),
        };
        // A number past a double (`1e400` reads as Infinity) is null, as
        // JSON.stringify writes it back.
        let members = members.iter().map(|(key, value)| match value {
            Js::Number(n) if !n.is_finite() => (key, &Js::Null),
            _ => (key, value),
        });
        let mut cookie = SessionCookie::default();
        // `expires` first, so that an unreadable date is named as such
        // whatever else is wrong.
        if let Some((_, value)) = members.clone().find(|(k, _)| k.literal() == "\"expires\"") {
            cookie.expires = match text("expires", value)? {
                Some(date) => Some(parse_iso(&date).ok_or(DocumentError::BadExpires(date))?),
                None => None,
            };
        }
        for (key, value) in members {
            match key.literal() {
                "\"originalMaxAge\"" => {
                    cookie.original_max_age = match value {
                        Js::Null => None,
                        Js::Number(ms) => Some(*ms),
                        _ => return Err(wrong("originalMaxAge", "a number")),
                    }
                }
                "\"partitioned\"" => cookie.partitioned = flag("partitioned", value)?,
                "\"priority\"" => cookie.priority = text("priority", value)?,
                "\"secure\"" => cookie.secure = flag("secure", value)?,
                "\"httpOnly\"" => cookie.http_only = flag("httpOnly", value)?,
                "\"domain\"" => cookie.domain = text("domain", value)?,
                "\"path\"" => cookie.path = text("path", value)?,
                "\"sameSite\"" => {
                    cookie.same_site = match value {
                        Js::Bool(b) => Some(SameSite::Flag(*b)),
                        _ => text("sameSite", value)
                            .map_err(|_| wrong("sameSite", "a boolean or a string"))?
                            .map(SameSite::Text),
                    }
                }
                _ => {}
            }
        }
        Ok(cookie)
    }

    /// The `cookie` member as express-session's `Cookie` writes it
    /// (`Cookie.prototype.data` through `JSON.stringify`): its members in
    /// [`COOKIE_MEMBERS`] order, `originalMaxAge` and `expires` always
    /// (`null` when unset) unless `without_lifetime`, the others when set,
    /// or as `null` when named in `nulls`. The same text as this type's
    /// `Serialize` gives (the tests compare them), in one pass.
    fn to_json(&self, without_lifetime: bool, nulls: &[&str]) -> String {
        enum Member<'a> {
            Null,
            Bool(bool),
            Text(&'a str),
            Number(f64),
            Date(Millis),
        }
        let lifetime = |member| (!without_lifetime).then_some(member);
        let values = [
            // A number Node could not write back is written null, as
            // JSON.stringify writes NaN and Infinity.
            lifetime(self.original_max_age.filter(|ms| ms.is_finite()).map_or(Member::Null, Member::Number)),
            self.partitioned.map(Member::Bool),
            self.priority.as_deref().map(Member::Text),
            lifetime(self.expires.map_or(Member::Null, Member::Date)),
            self.secure.map(Member::Bool),
            self.http_only.map(Member::Bool),
            self.domain.as_deref().map(Member::Text),
            self.path.as_deref().map(Member::Text),
            self.same_site.as_ref().map(|s| match s {
                SameSite::Flag(b) => Member::Bool(*b),
                SameSite::Text(t) => Member::Text(t),
            }),
        ];
        let mut out = String::with_capacity(160);
        out.push('{');
        let mut first = true;
        for (name, value) in COOKIE_MEMBERS.into_iter().zip(values) {
            let Some(value) = value.or_else(|| nulls.contains(&name).then_some(Member::Null)) else {
                continue;
            };
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            match value {
                Member::Null => out.push_str("null"),
                Member::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                Member::Text(t) => out.push_str(&js_json::quote(t)),
                // Spelled as Node spells the number: 60000, not 60000.0.
                Member::Number(ms) => out.push_str(&js_json::number(ms)),
                Member::Date(ms) => out.push_str(&js_json::quote(&format_iso(ms))),
            }
        }
        out.push('}');
        out
    }
}

/// `cookie.originalMaxAge` spelled as Node spells the number (60000, not
/// 60000.0): natively exactly, as serde_json's raw text.
#[cfg(not(target_arch = "wasm32"))]
fn ser_max_age<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(ms) if ms.is_finite() => {
            let text = js_json::number(*ms);
            let raw = serde_json::value::RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
            raw.serialize(s)
        }
        _ => s.serialize_none(),
    }
}

/// `cookie.originalMaxAge` (see the native one). The wasm32 build has no
/// serde_json `raw_value` feature (whose `Value` reader would bring
/// serde_json's parser back into the module, issue 14), so an integer up
/// to 2^53 is written as one and any other number as serde writes a float
/// (`1e16` where Node writes `10000000000000000`, `1e-6` where it writes
/// `0.000001`). The worker itself writes documents with
/// `SessionCookie::to_json`, which is exact on both; nothing in it
/// serializes a `SessionCookie` with serde.
#[cfg(target_arch = "wasm32")]
fn ser_max_age<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(ms) if ms.fract() == 0.0 && ms.abs() <= 9_007_199_254_740_992.0 => s.serialize_i64(*ms as i64),
        Some(ms) if ms.is_finite() => s.serialize_f64(*ms),
        _ => s.serialize_none(),
    }
}

/// `Date.prototype.toISOString()`: `YYYY-MM-DDTHH:MM:SS.mmmZ` (an instant
/// out of years -9999 to 9999 is written as the epoch's).
pub fn format_iso(ms: Millis) -> String {
    // Written field by field rather than with the time crate's format
    // descriptions: its formatting machinery was ~4.6 KB gzip of the wasm
    // (issue 14), for two fixed layouts. The tests compare both.
    let t = to_datetime(ms);
    let (y, mo, d) = (Year(t.year()), u8::from(t.month()), t.day());
    let (h, mi, s, milli) = (t.hour(), t.minute(), t.second(), t.millisecond());
    format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `Date.prototype.toUTCString()`, the IMF-fixdate of a cookie's Expires,
/// rounded down to the second.
pub fn format_http_date(ms: Millis) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = to_datetime(ms);
    let weekday = DAYS[usize::from(t.weekday().number_days_from_monday())];
    let month = MONTHS[usize::from(u8::from(t.month()) - 1)];
    let (y, d, h, mi, s) = (Year(t.year()), t.day(), t.hour(), t.minute(), t.second());
    format!("{weekday}, {d:02} {month} {y} {h:02}:{mi:02}:{s:02} GMT")
}

/// A year as the time crate's `[year]` writes it: four digits at least, a
/// `-` before a negative one.
struct Year(i32);

impl std::fmt::Display for Year {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 < 0 {
            f.write_str("-")?;
        }
        write!(f, "{:04}", self.0.unsigned_abs())
    }
}

/// Parses a stored `expires` into ms since the epoch: an ISO 8601 / RFC
/// 3339 instant (what `Date#toJSON` writes), or an RFC 2822 / HTTP date
/// such as `Sun, 29 Nov 2026 23:19:39 GMT` (what `Date#toUTCString`
/// writes, and what `new Date(text)` in Node also reads). Other spellings
/// V8's date parser guesses at are refused.
pub fn parse_iso(text: &str) -> Option<Millis> {
    // By hand (session::dates), the time crate's rules exactly.
    super::dates::parse(text)
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

/// Names a stored field cannot take once express-session loads it:
/// `new Session(req, data)` copies only the properties `!(prop in this)`,
/// so the names of `Session.prototype`, of `Object.prototype` and the
/// session's own `id` and `req` are dropped.
pub const SESSION_PROPERTIES: &[&str] = &[
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
    "id",
    "req",
    "touch",
    "resetMaxAge",
    "save",
    "reload",
    "destroy",
    "regenerate",
];

/// One app field: its name as JSON.stringify writes it (exact, lone
/// surrogates included), the name as a Rust string (lossy) and the value.
#[derive(Debug, Clone)]
struct Field {
    key: JsStr,
    name: String,
    /// JSON text, as JSON.stringify writes the value.
    value: String,
}

/// One session document: the cookie plus the app's fields, in order.
#[derive(Debug, Clone)]
pub struct SessionDocument {
    /// The `cookie` member, written where the stored document had it (first
    /// in a new document).
    pub cookie: SessionCookie,
    fields: Vec<Field>,
    /// How many fields come before `cookie`.
    cookie_at: usize,
    /// Whether `parse` dropped a stored field (a [`SESSION_PROPERTIES`]
    /// name): the stored document then differs from the session.
    dropped_on_load: bool,
    /// The stored cookie had no `originalMaxAge` member at all. Node then
    /// loads it as `undefined` (`createSession` keeps it "intact"), its
    /// next touch makes `expires` `undefined` too, and JSON.stringify
    /// writes neither member: a browser-session cookie without the two
    /// members, until the app sets a max age.
    pub(crate) lifetime_absent: bool,
    /// Optional `cookie` members the stored document held as `null`
    /// (`"domain":null`, say): Node's Cookie keeps a null member and
    /// JSON.stringify writes it, while a member left out stays out.
    stored_nulls: Vec<&'static str>,
}

/// The `cookie` members in the order express-session writes them
/// (`Cookie.prototype.data`).
const COOKIE_MEMBERS: [&str; 9] =
    ["originalMaxAge", "partitioned", "priority", "expires", "secure", "httpOnly", "domain", "path", "sameSite"];

impl SessionDocument {
    /// A fresh document with no fields.
    pub fn new(cookie: SessionCookie) -> Self {
        Self {
            cookie,
            fields: Vec::new(),
            cookie_at: 0,
            dropped_on_load: false,
            lifetime_absent: false,
            stored_nulls: Vec::new(),
        }
    }

    /// Reads a stored document.
    ///
    /// # Errors
    ///
    /// [`DocumentError`] when the bytes are not a JSON object with a readable `cookie` member
    /// (connect-redis would fail to load it too), or are more than
    /// [`MAX_DOCUMENT_BYTES`] ([`DocumentError::TooLarge`], not parsed).
    pub fn parse(bytes: &[u8]) -> Result<Self, DocumentError> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge { bytes: bytes.len(), limit: MAX_DOCUMENT_BYTES });
        }
        let not_json = |why: &str| DocumentError::NotJson(de::Error::custom(why));
        let text = std::str::from_utf8(bytes).map_err(|_| not_json("not UTF-8"))?;
        let Some(Js::Object(members)) = js_json::parse(text) else {
            return Err(not_json("not a JSON object"));
        };
        let cookie_key = JsStr::new("cookie");
        // The cookie's members as read (whether a member is absent or null),
        // kept from this one parse rather than parsing its text again.
        let mut cookie_members = None;
        let mut cookie_at = 0;
        let mut dropped_on_load = false;
        let mut fields = Vec::with_capacity(members.len());
        for (key, value) in members {
            if key == cookie_key {
                // `new Cookie(stored.cookie)` throws on what is not an
                // object (`createSession` already fails on null); an array
                // is an object to it, with none of the Cookie's members.
                cookie_members = Some(match value {
                    Js::Object(members) => members,
                    Js::Array(_) => Vec::new(),
                    _ => return Err(DocumentError::BadCookie(de::Error::custom("`cookie` is not an object"))),
                });
                cookie_at = fields.len();
                continue;
            }
            let name = key.to_string_lossy();
            if key.to_str().is_some() && SESSION_PROPERTIES.contains(&name.as_str()) {
                dropped_on_load = true;
                continue;
            }
            let mut json = String::new();
            js_json::write_js(&value, &mut json);
            // Valid JSON by construction (js_json wrote it): not parsed again.
            fields.push(Field { key, name, value: json });
        }
        let cookie_members =
            cookie_members.ok_or_else(|| DocumentError::BadCookie(de::Error::custom("missing `cookie`")))?;
        let mut cookie = SessionCookie::from_members(&cookie_members)?;
        // Absent or null: serde reads both as None, the member list tells.
        let lifetime_absent = !cookie_members.iter().any(|(k, _)| k.literal() == "\"originalMaxAge\"");
        // The lifetime members are written null when unset anyway (or both
        // left out, `lifetime_absent`): only the optional ones are recorded.
        let stored_nulls: Vec<&'static str> = COOKIE_MEMBERS
            .into_iter()
            .filter(|name| !matches!(*name, "originalMaxAge" | "expires"))
            .filter(|name| cookie_members.iter().any(|(k, v)| *k == JsStr::new(name) && matches!(v, Js::Null)))
            .collect();
        if lifetime_absent {
            cookie.expires = None;
        }
        // Beyond this a date can no longer be written (year 9999) and the
        // arithmetic on it could overflow; Node's Date tops out near it too.
        if cookie.original_max_age.is_some_and(|ms| !ms.is_finite() || ms.abs() > MAX_AGE_LIMIT_MS) {
            return Err(DocumentError::BadCookie(de::Error::custom("originalMaxAge out of range")));
        }
        Ok(Self { cookie, fields, cookie_at, dropped_on_load, lifetime_absent, stored_nulls })
    }

    /// Whether loading dropped a stored field that a session cannot hold
    /// (`__proto__`, `toString`, `save`, …). express-session hashes the
    /// stored object for `originalHash` and the session for the current
    /// hash, so such a session counts as modified and is saved even on a
    /// read.
    pub fn dropped_on_load(&self) -> bool {
        self.dropped_on_load
    }

    /// The document as connect-redis stores it: compact JSON, the members
    /// in JavaScript's property order (integer-like keys first, ascending,
    /// then the rest in insertion order, `cookie` where it was read), each
    /// as it was read or written.
    pub fn to_json(&self) -> String {
        let cookie = self.cookie_json();
        let mut members: Vec<(&str, &str, &str)> = Vec::with_capacity(self.fields.len() + 1);
        for (i, f) in self.fields.iter().enumerate() {
            if i == self.cookie_at {
                members.push(("cookie", "\"cookie\"", &cookie));
            }
            members.push((&f.name, f.key.literal(), &f.value));
        }
        if self.cookie_at >= self.fields.len() {
            members.push(("cookie", "\"cookie\"", &cookie));
        }
        let order = js_json::index_order(
            members.iter().map(|(name, key, _)| js_json::array_index(name).filter(|_| is_index(name, key))),
        );
        let mut out = String::with_capacity(cookie.len() + 64);
        out.push('{');
        for (i, (_, key, value)) in order.into_iter().map(|m| members[m]).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push(':');
            out.push_str(value);
        }
        out.push('}');
        out
    }

    /// The `cookie` member as express-session's Cookie writes it (see
    /// `lifetime_absent` for the one case without its lifetime members).
    fn cookie_json(&self) -> String {
        let without_lifetime = self.lifetime_absent && self.cookie.original_max_age.is_none();
        self.cookie.to_json(without_lifetime, &self.stored_nulls)
    }

    /// Reads field `key` as `T`, the JSON as `JSON.parse` reads it
    /// ([`js_json::de`]: numbers are doubles, so `1.0` is an integer 1);
    /// `Ok(None)` when absent.
    ///
    /// # Errors
    ///
    /// [`FieldError`] when the field holds JSON that is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, FieldError> {
        match self.raw(key) {
            None => Ok(None),
            // The one JSON reader of the worker (js_json::de says why).
            Some(raw) => {
                js_json::de::from_str(raw).map(Some).map_err(|e| FieldError { field: key.into(), source: e.into() })
            }
        }
    }

    /// The JSON text of field `key`, as JSON.stringify writes its value
    /// (`{"a":1}`, `"\ud800"`).
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.position(key).map(|i| self.fields[i].value.as_str())
    }

    fn position(&self, key: &str) -> Option<usize> {
        let key = JsStr::new(key);
        self.fields.iter().position(|f| f.key == key)
    }

    /// Writes field `key` in place, or appends it when new (a JavaScript
    /// object keeps a key's first position).
    ///
    /// # Errors
    ///
    /// [`FieldError`] when `value` cannot be serialized to JSON.
    pub fn insert<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), FieldError> {
        let error = |e: serde_json::Error| FieldError { field: key.into(), source: e.into() };
        if key == "cookie" {
            return Err(error(serde::ser::Error::custom("`cookie` is the session's cookie, not a field")));
        }
        let text = js_json::to_string(value).map_err(error)?;
        match self.position(key) {
            Some(i) => self.fields[i].value = text,
            None => self.fields.push(Field { key: JsStr::new(key), name: key.into(), value: text }),
        }
        Ok(())
    }

    /// Removes field `key`; returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let Some(i) = self.position(key) else { return false };
        self.fields.remove(i);
        if i < self.cookie_at {
            self.cookie_at -= 1;
        }
        true
    }

    /// The document without its cookie, in the exact form that decides
    /// whether a session was modified (express-session hashes the same
    /// thing: the session minus `cookie`).
    pub fn fields_fingerprint(&self) -> Vec<(String, String)> {
        self.fields.iter().map(|f| (f.key.literal().to_owned(), f.value.clone())).collect()
    }

    /// The field names, in order (a lone surrogate in a name shows as
    /// U+FFFD).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }
}

/// Whether a member is an array index; a name holding a lone surrogate
/// (shown lossily) never is.
fn is_index(name: &str, literal: &str) -> bool {
    js_json::array_index(name).is_some() && literal.len() == name.len() + 2
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

    /// What a stored cookie read to through this type's `Deserialize` (the
    /// reading before `from_members`): the cookie, or which error.
    /// The text is first written back as JSON.parse read it (a repeated
    /// member once, with its last value), as that reading did.
    fn read_by_serde(json: &str) -> Result<SessionCookie, &'static str> {
        let mut text = String::new();
        js_json::write_js(&js_json::parse(json).unwrap(), &mut text);
        let json = text.as_str();
        #[derive(Deserialize)]
        struct Expires {
            #[serde(default)]
            expires: Option<String>,
        }
        serde_json::from_str::<SessionCookie>(json).map_err(|_| match serde_json::from_str(json) {
            Ok(Expires { expires: Some(text) }) if parse_iso(&text).is_none() => "BadExpires",
            _ => "BadCookie",
        })
    }

    fn read_by_members(json: &str) -> Result<SessionCookie, &'static str> {
        let Some(Js::Object(members)) = js_json::parse(json) else { panic!("{json}") };
        SessionCookie::from_members(&members).map_err(|e| match e {
            DocumentError::BadExpires(_) => "BadExpires",
            DocumentError::BadCookie(_) => "BadCookie",
            other => panic!("{other}"),
        })
    }

    /// Every member, absent or holding each kind of value (its own type,
    /// null, the others, a lone surrogate), alone and beside a bad date:
    /// `from_members` reads what the serde derive read, and fails where it
    /// failed with the same error.
    #[test]
    fn cookie_members_read_as_the_serde_derive_reads_them() {
        let values = [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "60000",
            "1.5e3",
            "1e400",
            "\"\"",
            "\"lax\"",
            "\"Strict\"",
            "\"2026-11-23T06:23:27.103Z\"",
            "\"Sun, 29 Nov 2026 23:19:39 GMT\"",
            "\"not a date\"",
            "\"\\ud800\"",
            "[]",
            "[1]",
            "{}",
            "{\"a\":1}",
        ];
        let others =
            ["", r#","expires":"not a date""#, r#","secure":"yes""#, r#","expires":null"#, r#","unknown":[1]"#];
        let mut checked = 0;
        for name in COOKIE_MEMBERS {
            for value in values {
                for other in others {
                    let json = format!(r#"{{"{name}":{value}{other}}}"#);
                    let Some(Js::Object(_)) = js_json::parse(&json) else { continue };
                    let serde = read_by_serde(&json);
                    assert_eq!(read_by_members(&json), serde, "{json}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 800, "{checked}");
        assert_eq!(read_by_members("{}"), Ok(SessionCookie::default()));
    }

    /// `to_json` writes what this type's `Serialize` wrote.
    #[test]
    fn cookie_written_as_the_serde_derive_writes_it() {
        let texts = [None, Some(""), Some("lax"), Some("a\"b\\c\n\u{1}\u{7f}\u{2028}é🍺")];
        let flags = [None, Some(false), Some(true)];
        let numbers = [None, Some(0.0), Some(-0.0), Some(60000.0), Some(0.5), Some(1e-7), Some(1e21), Some(f64::NAN)];
        let dates = [None, Some(0), Some(-1), Some(1_795_415_007_103), Some(253_402_300_799_999)];
        let same_sites =
            [None, Some(SameSite::Flag(true)), Some(SameSite::Flag(false)), Some(SameSite::Text("none".into()))];
        let mut cases = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            for (j, flag) in flags.iter().enumerate() {
                for (k, number) in numbers.iter().enumerate() {
                    cases.push(SessionCookie {
                        original_max_age: *number,
                        partitioned: *flag,
                        priority: text.map(str::to_owned),
                        expires: dates[(i + j + k) % dates.len()],
                        secure: flags[(i + k) % flags.len()],
                        http_only: flags[(j + k) % flags.len()],
                        domain: texts[(i + j) % texts.len()].map(str::to_owned),
                        path: texts[(i + 2 * j + k) % texts.len()].map(str::to_owned),
                        same_site: same_sites[(i + j + 2 * k) % same_sites.len()].clone(),
                    });
                }
            }
        }
        for cookie in cases {
            let written = cookie.to_json(false, &[]);
            assert_eq!(written, serde_json::to_string(&cookie).unwrap(), "{cookie:?}");
        }
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

    /// Deliberate difference (README): Node reads a document of any size.
    #[test]
    fn a_document_over_one_mib_is_too_large_and_not_parsed() {
        let head = r#"{"cookie":{"originalMaxAge":60000,"expires":null},"pad":""#;
        let doc = |len: usize| format!("{head}{}\"}}", "x".repeat(len - head.len() - 2));
        assert!(SessionDocument::parse(doc(MAX_DOCUMENT_BYTES).as_bytes()).is_ok());
        let over = doc(MAX_DOCUMENT_BYTES + 1);
        assert!(matches!(
            SessionDocument::parse(over.as_bytes()),
            Err(DocumentError::TooLarge { bytes, limit: MAX_DOCUMENT_BYTES }) if bytes == MAX_DOCUMENT_BYTES + 1
        ));
        // Not parsed: the same length of garbage is the same error.
        let garbage = vec![b'{'; MAX_DOCUMENT_BYTES + 1];
        assert!(matches!(SessionDocument::parse(&garbage), Err(DocumentError::TooLarge { .. })));
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
        // aside (express-session writes its own cookie object, with the
        // Cookie constructor's defaults).
        assert_eq!(
            doc.to_json(),
            r#"{"1":null,"2":"x","cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"},"b":[1,200],"a":"ü"}"#
        );
        let mut doc = SessionDocument::new(SessionCookie::default());
        doc.insert("f", &1.0f64).unwrap();
        doc.insert("m", &serde_json::json!({"z": 1, "a": -0.0})).unwrap();
        assert!(doc.to_json().ends_with(r#""f":1,"m":{"z":1,"a":0}}"#), "{}", doc.to_json());
    }

    #[test]
    fn lone_surrogates_survive() {
        let text = r#"{"cookie":{"originalMaxAge":60000,"expires":null},"views":2,"k\uD800":1,"\udc00":"x\uDBFF","n":{"\ud800k":["\udfff",{"\ud83d":"\ud83d\ude00"}]}}"#;
        let mut doc = SessionDocument::parse(text.as_bytes()).unwrap();
        let expected = r#"{"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"},"views":2,"k\ud800":1,"\udc00":"x\udbff","n":{"\ud800k":["\udfff",{"\ud83d":"😀"}]}}"#;
        assert_eq!(doc.to_json(), expected);
        assert_eq!(doc.keys().collect::<Vec<_>>(), ["views", "k\u{fffd}", "\u{fffd}", "n"]);
        // The lossy name is not the key.
        assert!(doc.raw("k\u{fffd}").is_none());
        doc.insert("views", &3).unwrap();
        assert_eq!(doc.to_json(), expected.replace(r#""views":2"#, r#""views":3"#));
        assert!(doc.remove("n"));
        assert!(doc.to_json().ends_with(r#""\udc00":"x\udbff"}"#));
    }

    #[test]
    fn stored_cookie_takes_the_cookie_constructors_defaults() {
        let text = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:23:27.103Z"},"views":1}"#;
        let doc = SessionDocument::parse(text.as_bytes()).unwrap();
        assert_eq!(doc.cookie.path.as_deref(), Some("/"));
        assert_eq!(doc.cookie.http_only, Some(true));
        assert_eq!(doc.to_json(), NODE_DOC.replace(r#""secure":false,"#, ""));
        // Members in any stored order come out in Cookie's order; present
        // members keep their stored values.
        let text = r#"{"cookie":{"sameSite":"lax","path":"/p","httpOnly":false,"domain":"a.example","secure":true,"expires":null,"priority":"high","partitioned":false,"originalMaxAge":null}}"#;
        let doc = SessionDocument::parse(text.as_bytes()).unwrap();
        assert_eq!(
            doc.to_json(),
            r#"{"cookie":{"originalMaxAge":null,"partitioned":false,"priority":"high","expires":null,"secure":true,"httpOnly":false,"domain":"a.example","path":"/p","sameSite":"lax"}}"#
        );
    }

    #[test]
    fn stored_order_is_kept_as_a_session_keeps_it() {
        let cookie = r#"{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"}"#;
        let text = format!(
            r#"{{"views":1,"cookie":{cookie},"z":0,"7":"i","a":1,"__proto__":{{"x":1}},"toString":2,"a":2,"n":{{"__proto__":1}}}}"#
        );
        let mut doc = SessionDocument::parse(text.as_bytes()).unwrap();
        // Integer-like keys first; `cookie` where it was; a repeated key at
        // its first position with its last value; the names a Session
        // already has are dropped (but not in nested objects).
        let expected = format!(r#"{{"7":"i","views":1,"cookie":{cookie},"z":0,"a":2,"n":{{"__proto__":1}}}}"#);
        assert_eq!(doc.to_json(), expected);
        doc.insert("b", &true).unwrap();
        assert!(doc.to_json().ends_with(r#""n":{"__proto__":1},"b":true}"#));
        assert!(doc.remove("views"));
        assert!(doc.to_json().starts_with(&format!(r#"{{"7":"i","cookie":{cookie},"z":0"#)));
        // A repeated `cookie` too: first position, last value.
        let text = format!(r#"{{"cookie":{{"path":"/x"}},"a":1,"cookie":{cookie}}}"#);
        let doc = SessionDocument::parse(text.as_bytes()).unwrap();
        assert_eq!(doc.to_json(), format!(r#"{{"cookie":{cookie},"a":1}}"#));
    }

    #[test]
    fn a_stored_cookie_without_original_max_age_loses_both_lifetime_members() {
        // express-session: createSession keeps originalMaxAge undefined, the
        // next touch makes expires undefined, JSON.stringify drops both.
        for stored in [
            r#"{"cookie":{"httpOnly":true,"path":"/"},"a":1}"#,
            r#"{"cookie":{"expires":"2026-11-23T06:22:00.000Z","httpOnly":true,"path":"/"},"a":1}"#,
        ] {
            let mut doc = SessionDocument::parse(stored.as_bytes()).unwrap();
            doc.cookie.reset_expiry(1_795_414_947_103);
            assert_eq!(doc.cookie.expires, None);
            assert_eq!(doc.to_json(), r#"{"cookie":{"httpOnly":true,"path":"/"},"a":1}"#, "{stored}");
        }
        // A stored null is not absent: both are written as null.
        let stored = r#"{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}}"#;
        assert_eq!(SessionDocument::parse(stored.as_bytes()).unwrap().to_json(), stored);
    }

    #[test]
    fn cookie_members_stored_as_null_are_written_back_as_null_in_node_order() {
        // Node's Cookie keeps a null member and JSON.stringify writes it.
        let stored = r#"{"cookie":{"originalMaxAge":60000,"expires":null,"priority":null,"httpOnly":true,"path":"/","domain":null},"a":1}"#;
        let doc = SessionDocument::parse(stored.as_bytes()).unwrap();
        assert_eq!(doc.cookie.domain, None, "no Domain attribute");
        assert_eq!(
            doc.to_json(),
            r#"{"cookie":{"originalMaxAge":60000,"priority":null,"expires":null,"httpOnly":true,"domain":null,"path":"/"},"a":1}"#
        );
        // Without originalMaxAge a stored `"expires":null` goes too, nulls
        // of other members stay (Node: touch makes expires undefined).
        let stored = r#"{"cookie":{"expires":null,"httpOnly":true,"path":"/","domain":null},"views":2}"#;
        let mut doc = SessionDocument::parse(stored.as_bytes()).unwrap();
        doc.cookie.reset_expiry(1_795_414_947_103);
        assert_eq!(doc.to_json(), r#"{"cookie":{"httpOnly":true,"domain":null,"path":"/"},"views":2}"#);
        // A value set later replaces the null.
        let mut doc = SessionDocument::parse(stored.as_bytes()).unwrap();
        doc.cookie.domain = Some("example.com".into());
        assert!(doc.to_json().contains(r#""domain":"example.com""#));
    }

    /// Deliberate differences (README): documents Node still reads that
    /// the worker refuses, each starting a new session with the stored key
    /// left as it was.
    #[test]
    fn limits_node_does_not_have() {
        let cookie =
            r#""cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","httpOnly":true,"path":"/"}"#;
        // Nesting past 512 levels (the reader's stack bound on wasm32).
        let deep = format!("{{{cookie},\"a\":{}1{}}}", "[".repeat(600), "]".repeat(600));
        assert!(SessionDocument::parse(deep.as_bytes()).is_err());
        let shallow = format!("{{{cookie},\"a\":{}1{}}}", "[".repeat(500), "]".repeat(500));
        assert!(SessionDocument::parse(shallow.as_bytes()).is_ok());
        // originalMaxAge beyond 10^14 ms (dates past year 9999 overflow).
        let huge = r#"{"cookie":{"originalMaxAge":1e15,"expires":null}}"#;
        assert!(SessionDocument::parse(huge.as_bytes()).is_err());
        // expires spellings V8's Date guesses at: a number, a date alone, prose.
        for expires in ["1795414947103", r#""2030-01-01""#, r#""January 1, 2030 10:00:00""#] {
            let doc = format!(r#"{{"cookie":{{"originalMaxAge":60000,"expires":{expires}}}}}"#);
            assert!(SessionDocument::parse(doc.as_bytes()).is_err(), "{expires}");
        }
    }

    /// Found by tests/properties.rs (document_node_bytes_read_back_unchanged):
    /// with a `cookie` member stored as null, the cookie was rewritten
    /// through serde_json's numbers, and an `originalMaxAge` of 0.000001
    /// came back as `1e-6`.
    #[test]
    fn regression_original_max_age_keeps_nodes_spelling_beside_a_stored_null() {
        for n in ["0.000001", "0.00001", "-0.000001", "0.0001234", "60000.5"] {
            let doc = format!(
                r#"{{"cookie":{{"originalMaxAge":{n},"expires":null,"secure":null,"httpOnly":null,"path":null}}}}"#
            );
            assert_eq!(SessionDocument::parse(doc.as_bytes()).unwrap().to_json(), doc);
            let doc = format!(
                r#"{{"cookie":{{"originalMaxAge":{n},"expires":null,"httpOnly":true,"domain":null,"path":"/"}},"a":1}}"#
            );
            assert_eq!(SessionDocument::parse(doc.as_bytes()).unwrap().to_json(), doc);
        }
    }

    #[test]
    fn a_fractional_original_max_age_becomes_whole_at_the_next_touch() {
        // Node: expires = new Date(now + 60000.5) truncates, and the expires
        // setter recomputes originalMaxAge = expires - now.
        let stored =
            r#"{"cookie":{"originalMaxAge":60000.5,"expires":"2026-11-23T06:22:00.000Z","httpOnly":true,"path":"/"}}"#;
        let mut doc = SessionDocument::parse(stored.as_bytes()).unwrap();
        doc.cookie.reset_expiry(1_795_414_947_103);
        assert_eq!(doc.cookie.original_max_age, Some(60000.0));
        assert_eq!(doc.cookie.expires, Some(1_795_414_947_103 + 60_000));
    }

    #[test]
    fn numbers_are_read_and_written_as_node_does() {
        let text = r#"{"cookie":{"originalMaxAge":6e4,"expires":null},"big":123456789012345680000,"r":0.20153987407684326,"l":[5e-324,1.7976931348623157e308,-0,9007199254740993,1E2,123e-20,1e21]}"#;
        let doc = SessionDocument::parse(text.as_bytes()).unwrap();
        assert_eq!(
            doc.to_json(),
            r#"{"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"},"big":123456789012345680000,"r":0.20153987407684326,"l":[5e-324,1.7976931348623157e+308,0,9007199254740992,100,1.23e-18,1e+21]}"#
        );
        assert_eq!(doc.get::<f64>("r").unwrap(), Some(0.201_539_874_076_843_26));
    }

    #[test]
    fn dates() {
        assert_eq!(format_iso(1_795_415_007_103), "2026-11-23T06:23:27.103Z");
        assert_eq!(parse_iso("2026-11-23T06:23:27.103Z"), Some(1_795_415_007_103));
        // Date#toUTCString's spelling, which Node's Date reads too.
        assert_eq!(parse_iso("Mon, 23 Nov 2026 06:23:27 GMT"), Some(1_795_415_007_000));
        assert_eq!(parse_iso("next tuesday"), None);
        assert_eq!(format_http_date(1_795_415_007_999), "Mon, 23 Nov 2026 06:23:27 GMT");
    }

    /// The hand-written layouts write what the time crate's format
    /// descriptions wrote before them, over the whole range it has (and the
    /// epoch's date beyond it).
    #[test]
    fn dates_are_written_as_the_time_crate_writes_them() {
        use time::macros::format_description;
        let iso = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
        let http =
            format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
        let by_time = |ms: Millis| {
            let t = to_datetime(ms);
            (t.format(&iso).unwrap_or_default(), t.format(&http).unwrap_or_default())
        };
        let (min, max) = (-377_705_116_800_000_i64, 253_402_300_799_999_i64);
        let mut samples = vec![0, -1, 1, 999, 1000, -1000, -1001, min, min - 1, max, max + 1, i64::MIN, i64::MAX];
        // Every day of 1899 to 2101 at some time of day, and a spread over
        // the whole range.
        let day = 86_400_000_i64;
        samples.extend((-26_000..47_500).map(|d| d * day + (d * 7_777_777).rem_euclid(day)));
        samples.extend((0..20_000_i64).map(|i| min + i * ((max - min) / 20_000) + i * 7919));
        for ms in samples {
            assert_eq!((format_iso(ms), format_http_date(ms)), by_time(ms), "{ms}");
        }
    }
}
