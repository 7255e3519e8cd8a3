//! The session cookie on the wire: reading the `Cookie` request header,
//! `s:<sid>.<sig>` signing and verification compatible with the npm package
//! `cookie-signature`, and the `Set-Cookie` line express-session writes
//! (through jshttp/cookie's `serialize`).

use base64ct::{Base64Unpadded, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::document::{format_http_date, Millis, SameSite, SessionCookie};

/// The longest `Cookie` request header read, in bytes. Browsers cap a
/// cookie at 4 KiB and Node's whole header block at 16 KiB; anything longer
/// is an attack or a bug, answered with 400 before any parsing.
pub const MAX_COOKIE_HEADER_BYTES: usize = 8192;

/// The most cookies read from one `Cookie` header. Chromium and Firefox
/// keep at most 180 cookies per domain (RFC 6265 §6.1 asks for at least
/// 50), so a browser that talks to one site sends at most about that many;
/// a header with more is made by hand, answered with 400 before any
/// parsing. (A site whose parent domains set cookies too could in theory
/// push a browser past it; the demo's one cookie never does.)
pub const MAX_COOKIES_PER_HEADER: usize = 180;

/// The longest single cookie read, in bytes of its name and value together
/// (the `=` and the spaces around the pair not counted). RFC 6265 §6.1 asks
/// browsers to store cookies of at least 4096 bytes, and Chromium and
/// Firefox refuse to store a longer name and value, so no browser sends a
/// longer one; a session cookie is about 100 bytes. Over this: 400 before
/// any parsing.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// Why a `Cookie` request header is refused unread (each limit is also a
/// deliberate difference from express-session, which has none).
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum CookieHeaderError {
    /// The whole header is longer than [`MAX_COOKIE_HEADER_BYTES`].
    #[error("the Cookie header is {0} bytes long; at most {MAX_COOKIE_HEADER_BYTES} are accepted")]
    TooLong(usize),
    /// The header holds more than [`MAX_COOKIES_PER_HEADER`] cookies (the
    /// number it holds).
    #[error("the Cookie header holds {0} cookies; at most {MAX_COOKIES_PER_HEADER} are accepted")]
    TooManyCookies(usize),
    /// One cookie's name and value are longer than [`MAX_COOKIE_BYTES`]
    /// (that length, in bytes).
    #[error("a cookie in the Cookie header is {0} bytes long; at most {MAX_COOKIE_BYTES} are accepted")]
    CookieTooLong(usize),
}
crate::debug_is_display!(CookieHeaderError);

/// Checks a `Cookie` request header against the three limits before it is
/// read: its length ([`MAX_COOKIE_HEADER_BYTES`]), its number of cookies
/// ([`MAX_COOKIES_PER_HEADER`]) and the size of each cookie
/// ([`MAX_COOKIE_BYTES`]). A cookie is what [`find_cookie`] reads as one:
/// a `name=value` pair between `;` (or a `, ` that joined two header
/// fields); a piece without `=` is no cookie and is not counted.
///
/// # Errors
///
/// [`CookieHeaderError`]: the first limit the header is over, in the order
/// length, count, size of one cookie (the longest one's size).
pub fn check_cookie_header(header: &str) -> Result<(), CookieHeaderError> {
    if header.len() > MAX_COOKIE_HEADER_BYTES {
        return Err(CookieHeaderError::TooLong(header.len()));
    }
    let cookies = || cookie_pairs(header).filter_map(|pair| pair.split_once('='));
    let count = cookies().count();
    if count > MAX_COOKIES_PER_HEADER {
        return Err(CookieHeaderError::TooManyCookies(count));
    }
    match cookies().map(|(name, value)| name.trim().len() + value.trim().len()).max() {
        Some(bytes) if bytes > MAX_COOKIE_BYTES => Err(CookieHeaderError::CookieTooLong(bytes)),
        _ => Ok(()),
    }
}

/// The prefix express-session puts in front of a signed value.
const SIGNED_PREFIX: &str = "s:";

/// Characters `encodeURIComponent` leaves alone: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
/// Everything else is percent-encoded, exactly as Node does when it writes
/// the cookie value.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// JavaScript's `encodeURIComponent(text)`: UTF-8, every byte outside
/// [`URI_COMPONENT`]'s set as `%XX`; `decodeURIComponent` undoes it.
pub(crate) fn encode_uri_component(text: &str) -> String {
    utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// The secrets that sign and verify session cookies.
///
/// The first secret signs new cookies; a cookie verifies if any secret's
/// signature matches, which is how express-session rotates secrets.
#[derive(Clone)]
pub struct Secrets(Vec<HmacKey>);

impl Secrets {
    /// Builds the set from secrets in priority order. Returns `None` when
    /// there is no secret or one of them is empty: an empty HMAC key would
    /// make every signature forgeable.
    pub fn new(secrets: Vec<String>) -> Option<Self> {
        if secrets.is_empty() || secrets.iter().any(|s| s.is_empty()) {
            return None;
        }
        Some(Self(secrets.iter().map(|s| HmacKey::new(s.as_bytes())).collect()))
    }

    /// `cookie-signature`'s `sign(value, secret)` with the first secret:
    /// `value + "." + base64(HMAC-SHA256(secret, value))` without `=` padding.
    pub fn sign(&self, value: &str) -> String {
        format!("{value}.{}", self.0[0].signature(value))
    }

    /// `cookie-signature`'s `unsign` tried with every secret: returns the
    /// value when the part after the last `.` is a valid signature of the
    /// part before it, `None` otherwise.
    pub fn unsign<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let dot = signed.rfind('.')?;
        let (value, given) = (&signed[..dot], &signed[dot + 1..]);
        // Trust boundary: the client chose `given`. Compare it with what we
        // would have produced, in constant time, so that timing tells an
        // attacker nothing about how many leading characters were right.
        // Comparing the encoded strings (not decoded bytes) also rejects
        // non-canonical base64 spellings, as cookie-signature does.
        let mut ok = subtle::Choice::from(0u8);
        for key in &self.0 {
            let expected = key.signature(value);
            ok |= expected.as_bytes().ct_eq(given.as_bytes());
        }
        bool::from(ok).then_some(value)
    }

    /// An opaque, stable name for session `sid` that its user may be
    /// shown (the list of signed-in devices) and send back to end it,
    /// without the id itself: the first 16 bytes of
    /// HMAC-SHA256(signing secret, [`DEVICE_HANDLE_CONTEXT`] + `sid`) in
    /// lowercase hex, 32 characters (lowercase, so that case-insensitive
    /// routing leaves it as it is).
    ///
    /// It cannot be turned into a session cookie: a cookie is `s:` + sid +
    /// `.` + base64(HMAC-SHA256(secret, sid)), so it needs the id, which an
    /// HMAC does not give back (and the 122 random bits of a UUID v4 id
    /// cannot be guessed); nor is the handle the signature half of any
    /// cookie, since it MACs another message (the context prefix, whose
    /// newline no session id holds) and is cut to half the tag. It is the
    /// same across requests and changes only when the signing secret (the
    /// first of `SESSION_SECRET`) does.
    pub fn device_handle(&self, sid: &str) -> String {
        let tag = self.0[0].tag(format!("{DEVICE_HANDLE_CONTEXT}{sid}").as_bytes());
        hex::encode(&tag[..16])
    }
}

/// The domain-separation prefix of [`Secrets::device_handle`]'s message,
/// versioned: a MAC made for it is never a MAC of a session id.
pub const DEVICE_HANDLE_CONTEXT: &str = "edge-session-device-handle/1\n";

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret, not even in a debug log.
        write!(f, "Secrets({} redacted)", self.0.len())
    }
}

/// An HMAC-SHA256 key (RFC 2104) made ready once: the key's inner and
/// outer pad blocks are hashed when it is made, so each [`HmacKey::tag`]
/// hashes only its message (two SHA-256 blocks fewer per signature). The
/// session secrets are made into keys once per isolate, with the
/// configuration, not on every request. The one MAC of the crate:
/// cookie-signature's, the device handles' and the gateway's headers.
#[derive(Clone)]
pub(crate) struct HmacKey(Hmac<Sha256>);

impl HmacKey {
    /// The key `key`, of any length (RFC 2104 §2: a longer one is hashed first).
    pub(crate) fn new(key: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        Self(<Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length"))
    }

    /// HMAC-SHA256 of `message` under this key: the 32-byte tag.
    pub(crate) fn tag(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// cookie-signature's signature of `value`: the tag in standard base64
    /// without `=` padding.
    fn signature(&self, value: &str) -> String {
        Base64Unpadded::encode_string(&self.tag(value.as_bytes()))
    }
}

/// The value of the first cookie called `name` in a `Cookie` header, read the
/// way jshttp/cookie's `parse` reads it: pairs split on `;`, names and values
/// trimmed, the first occurrence wins, surrounding double quotes removed, and
/// percent-decoding applied only when the value contains `%` (an invalid
/// escape keeps the raw value).
///
/// A `Cookie` header sent as several fields arrives joined: workerd (as the
/// Fetch standard says) joins repeated fields with `, `, HTTP/2 peers split
/// cookies into fields that are joined with `; ` (RFC 9113 §8.2.3), and Node
/// joins repeated `Cookie` lines with `; `. So `, ` followed by a cookie name
/// and `=` also separates pairs; a single well-formed
/// header never has it inside a value (RFC 6265 §4.1.1: a cookie-octet is
/// neither a comma nor a space), so it is read exactly as before.
pub fn find_cookie(header: &str, name: &str) -> Option<String> {
    for pair in cookie_pairs(header) {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        if key.trim() != name {
            continue;
        }
        let mut value = value.trim();
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = &value[1..value.len() - 1];
        }
        if !value.contains('%') {
            return Some(value.to_owned());
        }
        return Some(match percent_decode_str(value).decode_utf8() {
            Ok(decoded) => decoded.into_owned(),
            Err(_) => value.to_owned(),
        });
    }
    None
}

/// A session id read from a cookie whose signature verified with one of our
/// secrets. [`verified_session_id`] is the only way to make one, and the
/// session layer's one store read keyed by client input takes nothing else:
/// "never look up an unverified id" is checked by the compiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSessionId(String);

impl VerifiedSessionId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for VerifiedSessionId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// The `name=value` pairs of a `Cookie` header in order: split on `;`
/// (jshttp/cookie's `parse`), and also at each `, ` that a join of several
/// header fields put before the next `name=` (see [`find_cookie`]).
fn cookie_pairs(header: &str) -> impl Iterator<Item = &str> {
    header.split(';').flat_map(split_joined_fields)
}

/// `pair` cut at every `, ` that is followed by a cookie name (an RFC 6265
/// token) and `=`: where two header fields were joined.
fn split_joined_fields(pair: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut search = 0;
    while let Some(found) = pair[search..].find(", ") {
        let at = search + found;
        let rest = &pair[at + 2..];
        let name_len = rest.bytes().take_while(|&b| is_token_byte(b)).count();
        if name_len > 0 && rest.as_bytes().get(name_len) == Some(&b'=') {
            parts.push(&pair[start..at]);
            start = at + 2;
        }
        search = at + 2;
    }
    parts.push(&pair[start..]);
    parts
}

/// RFC 6265 cookie-name characters (an HTTP token, RFC 9110 §5.6.2).
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The session id carried by a request's `Cookie` header, if it is there
/// and validly signed.
///
/// Trust boundary: anything that is not `s:` + a value signed by one of our
/// secrets counts as no cookie at all, so the store is never asked about an
/// id a client made up. Even a validly signed id is only a key to look up;
/// it is never adopted for a new session (see `session::Session::load`).
pub fn verified_session_id(header: Option<&str>, name: &str, secrets: &Secrets) -> Option<VerifiedSessionId> {
    let raw = find_cookie(header?, name)?;
    let signed = raw.strip_prefix(SIGNED_PREFIX)?;
    let sid = secrets.unsign(signed)?;
    // A signed empty id can only come from someone holding the secret; it
    // names no session express-session would ever generate.
    (!sid.is_empty()).then(|| VerifiedSessionId(sid.to_owned()))
}

/// The `Set-Cookie` value express-session sends for `sid`:
/// `name=encodeURIComponent("s:" + signed)` followed by the attributes in
/// jshttp/cookie's order (Domain, Path, Expires, HttpOnly, Secure,
/// Partitioned, Priority, SameSite). Max-Age is never sent.
pub fn set_cookie_header(name: &str, sid: &str, secrets: &Secrets, cookie: &SessionCookie) -> String {
    cookie_header(name, &format!("{SIGNED_PREFIX}{}", secrets.sign(sid)), cookie, cookie.expires)
}

/// A `Set-Cookie` value that makes the browser drop the cookie: same name
/// and attributes (a browser only replaces a cookie with the same Domain,
/// Path and, for CHIPS, Partitioned), empty value, an Expires in 1970.
pub fn clear_cookie_header(name: &str, cookie: &SessionCookie) -> String {
    cookie_header(name, "", cookie, Some(0))
}

/// A `Set-Cookie` value as jshttp/cookie's `serialize` writes it:
/// `name=encodeURIComponent(value)`, then `cookie`'s attributes in its
/// order with `expires` (Unix milliseconds; `None`: a browser-session
/// cookie) as Expires. The session cookie's own lines, and any cookie sent
/// beside it with the same attributes, are written here.
pub fn cookie_header(name: &str, value: &str, cookie: &SessionCookie, expires: Option<Millis>) -> String {
    let mut out = format!("{name}={}", encode_uri_component(value));
    write_attributes(&mut out, cookie, expires);
    out
}

/// The attributes, in jshttp/cookie's order.
fn write_attributes(out: &mut String, cookie: &SessionCookie, expires: Option<Millis>) {
    if let Some(domain) = &cookie.domain {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
    if let Some(path) = &cookie.path {
        out.push_str("; Path=");
        out.push_str(path);
    }
    if let Some(expires) = expires {
        out.push_str("; Expires=");
        out.push_str(&format_http_date(expires));
    }
    if cookie.http_only == Some(true) {
        out.push_str("; HttpOnly");
    }
    if cookie.secure == Some(true) {
        out.push_str("; Secure");
    }
    if cookie.partitioned == Some(true) {
        out.push_str("; Partitioned");
    }
    if let Some(priority) = cookie.priority.as_deref().and_then(priority_attribute) {
        out.push_str("; Priority=");
        out.push_str(priority);
    }
    if let Some(same_site) = cookie.same_site.as_ref().and_then(SameSite::attribute) {
        out.push_str("; SameSite=");
        out.push_str(same_site);
    }
}

fn priority_attribute(priority: &str) -> Option<&'static str> {
    match priority.to_ascii_lowercase().as_str() {
        "low" => Some("Low"),
        "medium" => Some("Medium"),
        "high" => Some("High"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyboard_cat() -> Secrets {
        Secrets::new(vec!["keyboard cat".into()]).unwrap()
    }

    /// Vectors computed with Node's crypto (`createHmac("sha256", secret)
    /// .update("edge-session-device-handle/1\n" + sid)`, first 16 bytes, hex).
    #[test]
    fn device_handle_vectors() {
        let sid = "sid2AAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let handle = keyboard_cat().device_handle(sid);
        assert_eq!(handle, "ecf58fa943e464f7eb88e82d2170922e");
        // Stable; lowercase (routing lowercases paths); not the cookie's MAC
        // of the id (its first 16 bytes: 2c3ce796…); signed with the first
        // secret of a rotated list.
        assert_eq!(keyboard_cat().device_handle(sid), handle);
        assert_eq!(handle, handle.to_ascii_lowercase());
        assert_ne!(handle, "2c3ce796fc37f8e7c0a899c2c033724c");
        assert!(!keyboard_cat().sign(sid).contains(&handle));
        let rotated = Secrets::new(vec!["new secret".into(), "keyboard cat".into()]).unwrap();
        assert_eq!(rotated.device_handle(sid), "55fefbcd444c3103f022edcc2a7880fa");
        assert_ne!(keyboard_cat().device_handle("sid2AAAAAAAAAAAAAAAAAAAAAAAAAAAB"), handle);
    }

    #[test]
    fn spec_vector() {
        let sid = "sid2AAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let cookie = SessionCookie::default();
        let header = set_cookie_header("_redisDemo", sid, &keyboard_cat(), &cookie);
        assert_eq!(
            header.split(';').next().unwrap(),
            "_redisDemo=s%3Asid2AAAAAAAAAAAAAAAAAAAAAAAAAAAA.LDznlvw3%2BOfAqJnCwDNyTE8ZRnYUklK6KHH11tXDAN4"
        );
    }

    /// Vectors computed with the real npm `cookie-signature` 1.2.2:
    /// `node -e "console.log(require('cookie-signature').sign(SID, SECRET))"`.
    #[test]
    fn vectors_from_cookie_signature() {
        let cases = [
            (
                "keyboard cat",
                "0b1c1d7e-6a3e-4c1f-9d0e-2f6a8b7c5d4e",
                "0b1c1d7e-6a3e-4c1f-9d0e-2f6a8b7c5d4e.LsmkujbnonH4Mblf9COy8vni1HU//t8sTsDvJU/A5IY",
            ),
            ("s3cr3t, with comma-free ünïcode", "hello", "hello.+G0yAOnuiCHUjYNShPOC8fAurtLuxH4+v2Knt1ouF+A"),
            (
                "tobiiscool",
                "Uo7J7u6xVgJ3pYkH0k5kUXl9yL3oQ2mN",
                "Uo7J7u6xVgJ3pYkH0k5kUXl9yL3oQ2mN.Udt/dVOnvZSvR1uIGhjSDJimbjCnszDXcI4Nwl54nRs",
            ),
        ];
        for (secret, value, signed) in cases {
            let secrets = Secrets::new(vec![secret.into()]).unwrap();
            assert_eq!(secrets.sign(value), signed, "secret {secret:?}");
            assert_eq!(secrets.unsign(signed), Some(value));
        }
    }

    #[test]
    fn unsign_rejects_tampering() {
        let s = keyboard_cat();
        let good = s.sign("abc");
        assert_eq!(s.unsign(&good), Some("abc"));
        assert_eq!(s.unsign("abc"), None, "no signature");
        assert_eq!(s.unsign(&good.replace("abc", "abd")), None, "value changed");
        assert_eq!(s.unsign(&format!("{good}x")), None, "signature lengthened");
        assert_eq!(s.unsign(&good[..good.len() - 1]), None, "signature shortened");
        assert_eq!(s.unsign(&format!("{good}=")), None, "padding is not accepted");
    }

    #[test]
    fn signature_is_after_the_last_dot() {
        let s = keyboard_cat();
        let signed = s.sign("a.b.c");
        assert_eq!(s.unsign(&signed), Some("a.b.c"));
    }

    #[test]
    fn several_secrets_first_signs_any_verifies() {
        let old = Secrets::new(vec!["old".into()]).unwrap();
        let rotated = Secrets::new(vec!["new".into(), "old".into()]).unwrap();
        let new_only = Secrets::new(vec!["new".into()]).unwrap();
        let by_old = old.sign("sid");
        assert_eq!(rotated.unsign(&by_old), Some("sid"));
        assert_eq!(rotated.sign("sid"), new_only.sign("sid"));
        assert_eq!(new_only.unsign(&by_old), None);
    }

    #[test]
    fn empty_secrets_are_refused() {
        assert!(Secrets::new(vec![]).is_none());
        assert!(Secrets::new(vec!["a".into(), String::new()]).is_none());
    }

    #[test]
    fn parse_first_cookie_wins() {
        assert_eq!(find_cookie("a=1; a=2", "a").as_deref(), Some("1"));
        // Several header fields, joined by workerd with ", " (the first
        // occurrence still wins, as with Node's "; " join).
        assert_eq!(find_cookie("theme=dark, a=s%3Ax.y", "a").as_deref(), Some("s:x.y"));
        assert_eq!(find_cookie("theme=dark; x=1, a=2, b=3", "a").as_deref(), Some("2"));
        assert_eq!(find_cookie("a=1, a=2", "a").as_deref(), Some("1"));
        assert_eq!(find_cookie("theme=dark, b=2", "theme").as_deref(), Some("dark"));
        // Not a join: ", " without a following name= stays in the value.
        assert_eq!(find_cookie("a=x, y", "a").as_deref(), Some("x, y"));
        assert_eq!(find_cookie("a=x, =y", "a").as_deref(), Some("x, =y"));
        assert_eq!(find_cookie("b=1;a=2 ; a=3", "a").as_deref(), Some("2"));
        assert_eq!(find_cookie("ab=1; b=2", "a"), None);
        assert_eq!(find_cookie("novalue; a=1", "a").as_deref(), Some("1"));
    }

    #[test]
    fn parse_decoding_and_quotes() {
        assert_eq!(find_cookie("a=s%3Ax.y", "a").as_deref(), Some("s:x.y"));
        assert_eq!(find_cookie("a=s:x.y", "a").as_deref(), Some("s:x.y"), "unencoded value");
        assert_eq!(find_cookie("a=\"s%3Ax\"", "a").as_deref(), Some("s:x"));
        assert_eq!(find_cookie("a=%E0%A4%A", "a").as_deref(), Some("%E0%A4%A"), "bad escape kept raw");
        assert_eq!(find_cookie("a=%FF", "a").as_deref(), Some("%FF"), "not UTF-8 kept raw");
    }

    /// Deliberate difference: a stored sameSite or priority value that
    /// jshttp/cookie rejects (Node throws while answering) is left out.
    #[test]
    fn unknown_same_site_and_priority_values_send_no_attribute() {
        let cookie = SessionCookie {
            same_site: Some(SameSite::Text("foo".into())),
            priority: Some("urgent".into()),
            ..SessionCookie::default()
        };
        let line = set_cookie_header("_redisDemo", "x", &keyboard_cat(), &cookie);
        assert!(line.ends_with("; Path=/; HttpOnly"), "{line}");
        assert!(!line.contains("SameSite") && !line.contains("Priority"), "{line}");
    }

    #[test]
    fn verified_id_cases() {
        let s = keyboard_cat();
        let sid = "0b1c1d7e-6a3e-4c1f-9d0e-2f6a8b7c5d4e";
        let good = set_cookie_header("_redisDemo", sid, &s, &SessionCookie::default());
        let good_pair = good.split(';').next().unwrap();
        let check = |h: &str| verified_session_id(Some(h), "_redisDemo", &s);
        assert_eq!(check(good_pair).as_deref(), Some(sid));
        assert_eq!(check(&format!("x=1; {good_pair}")).as_deref(), Some(sid));
        // Unencoded form verifies too (Node decodes only when `%` is present).
        let raw = format!("_redisDemo=s:{}", s.sign(sid));
        assert_eq!(check(&raw).as_deref(), Some(sid));
        // Missing `s:` prefix: not a session cookie.
        assert_eq!(check(&format!("_redisDemo={}", s.sign(sid))), None);
        // Bad signature.
        assert_eq!(check(&good_pair.replace("0b1c", "0b1d")), None);
        // The first cookie wins even when a later one would verify.
        assert_eq!(check(&format!("_redisDemo=garbage; {good_pair}")), None);
        // Another secret.
        let other = Secrets::new(vec!["other".into()]).unwrap();
        assert_eq!(verified_session_id(Some(good_pair), "_redisDemo", &other), None);
        assert_eq!(verified_session_id(None, "_redisDemo", &s), None);
        // Signed empty id.
        assert_eq!(check(&format!("_redisDemo=s:{}", s.sign(""))), None);
    }

    /// Deliberate differences (README): the Cookie header's limits,
    /// express-session has none.
    #[test]
    fn cookie_header_limits() {
        let many = |n: usize| (0..n).map(|i| format!("c{i}=1")).collect::<Vec<_>>().join("; ");
        assert_eq!(check_cookie_header(&many(MAX_COOKIES_PER_HEADER)), Ok(()));
        assert_eq!(
            check_cookie_header(&many(MAX_COOKIES_PER_HEADER + 1)),
            Err(CookieHeaderError::TooManyCookies(MAX_COOKIES_PER_HEADER + 1))
        );
        // Pieces without `=` are no cookies; `, name=` joins count.
        let padded = format!("{}; ;;novalue; x", many(MAX_COOKIES_PER_HEADER));
        assert_eq!(check_cookie_header(&padded), Ok(()));
        assert!(check_cookie_header(&format!("{}, z=1", many(MAX_COOKIES_PER_HEADER))).is_err());
        // One cookie: name and value, without `=` and the spaces around.
        let name_and_value = |n: usize| format!("a=1; pad={} ; b=2", "x".repeat(n - 3));
        assert_eq!(check_cookie_header(&name_and_value(MAX_COOKIE_BYTES)), Ok(()));
        assert_eq!(
            check_cookie_header(&name_and_value(MAX_COOKIE_BYTES + 1)),
            Err(CookieHeaderError::CookieTooLong(MAX_COOKIE_BYTES + 1))
        );
        // The whole header first.
        let long = "x".repeat(MAX_COOKIE_HEADER_BYTES + 1);
        assert_eq!(check_cookie_header(&long), Err(CookieHeaderError::TooLong(MAX_COOKIE_HEADER_BYTES + 1)));
        assert_eq!(check_cookie_header(""), Ok(()));
        for err in
            [CookieHeaderError::TooLong(1), CookieHeaderError::TooManyCookies(1), CookieHeaderError::CookieTooLong(1)]
        {
            assert!(err.to_string().contains("Cookie header"), "{err}");
        }
    }

    #[test]
    fn attributes_in_jshttp_order() {
        let cookie = SessionCookie {
            original_max_age: Some(1000.0),
            expires: Some(1_795_415_007_103),
            secure: Some(true),
            http_only: Some(true),
            domain: Some("example.com".into()),
            path: Some("/".into()),
            same_site: Some(SameSite::Text("lax".into())),
            partitioned: Some(true),
            priority: Some("high".into()),
        };
        let header = set_cookie_header("n", "id", &keyboard_cat(), &cookie);
        let attrs: Vec<&str> = header.split("; ").skip(1).collect();
        assert_eq!(
            attrs,
            [
                "Domain=example.com",
                "Path=/",
                "Expires=Mon, 23 Nov 2026 06:23:27 GMT",
                "HttpOnly",
                "Secure",
                "Partitioned",
                "Priority=High",
                "SameSite=Lax"
            ]
        );
    }

    #[test]
    fn clear_cookie_expires_in_the_past() {
        let header = clear_cookie_header("_redisDemo", &SessionCookie::default());
        assert_eq!(header, "_redisDemo=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly");
    }
}
