//! What the commands conclude from stored bytes, without the network: a
//! session document's summary, histograms, the doctor's cookie checks and
//! the reading of a cookie value. Each is a small function with unit tests;
//! the commands only fetch and print.

use edge_session::session::cookie::{find_cookie, Secrets};
use edge_session::session::document::{format_iso, Millis, SameSite, SessionCookie, SessionDocument};
use serde_json::{json, Value};

/// What a stored session document says, as far as an operator cares.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// `passport.user` as text (a string as it is, anything else as JSON),
    /// or `None` for an anonymous session.
    pub user: Option<String>,
    /// The demo's `views` ("beers viewed") when it is a number, as stored.
    pub views: Option<serde_json::Number>,
    /// `"worker"` when the document has the worker's `device` field
    /// (docs/PROTOCOL.md §14.1), written only by the worker's logins;
    /// `None` otherwise: the worker and express-session write the same
    /// bytes for the same session, so nothing else tells them apart.
    pub writer: Option<&'static str>,
    /// `cookie.expires`, ms since the epoch.
    pub expires: Option<Millis>,
    /// `cookie.originalMaxAge`, ms.
    pub original_max_age: Option<f64>,
}

/// Reads a stored document as the worker would load it
/// ([`SessionDocument::parse`]) and summarizes it; `user_field` is
/// `SESSION_PASSPORT_USER_FIELD` (a member of an object `passport.user`).
///
/// # Errors
///
/// The reason the worker would not load it (and express-session would
/// fail on it too), as one line with its causes.
pub fn summarize(bytes: &[u8], user_field: Option<&str>) -> Result<Summary, String> {
    let doc = SessionDocument::parse(bytes).map_err(|e| explain(&e))?;
    let passport: Option<Value> = doc.get("passport").ok().flatten();
    let user = passport.as_ref().and_then(|p| p.get("user")).and_then(|u| user_text(u, user_field));
    let views = match doc.get::<Value>("views").ok().flatten() {
        Some(Value::Number(n)) => Some(n),
        _ => None,
    };
    let device: Option<Value> = doc.get("device").ok().flatten();
    Ok(Summary {
        user,
        views,
        writer: device.as_ref().filter(|d| is_worker_device(d)).map(|_| "worker"),
        expires: doc.cookie.expires,
        original_max_age: doc.cookie.original_max_age,
    })
}

/// An error and its sources, joined with ": " as
/// [`edge_session::error_chain`] does, leaving out a source whose text the
/// message already says ("not a JSON object: not a JSON object").
fn explain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}

/// `passport.user` as a name: a string as it is; with `field`, that member
/// of an object; other values (a number id, say) as their JSON text.
/// `null`, `false` and empty strings are no user (Passport's own reading).
fn user_text(user: &Value, field: Option<&str>) -> Option<String> {
    let user = match (field, user) {
        (Some(f), Value::Object(map)) => map.get(f)?,
        _ => user,
    };
    match user {
        Value::Null | Value::Bool(false) => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The worker's `device` field: an object with a string `label` and a
/// number `signedInAt` (docs/PROTOCOL.md §14.1).
fn is_worker_device(device: &Value) -> bool {
    device.get("label").is_some_and(Value::is_string) && device.get("signedInAt").is_some_and(Value::is_number)
}

/// The key's TTL as Redis's `PTTL` gives it (ms; -1 no TTL, -2 no key) in
/// whole seconds, rounded up: `None` for a key without a TTL.
pub fn ttl_seconds(pttl_ms: i64) -> Option<i64> {
    (pttl_ms >= 0).then(|| (pttl_ms + 999) / 1000)
}

/// One `sessions list` / `sessions show` line's members shared by both.
pub fn session_json(id: &str, bytes: usize, pttl_ms: i64, summary: &Result<Summary, String>) -> Value {
    let (user, views, writer, loads, problem) = match summary {
        Ok(s) => (json!(s.user), json!(s.views), json!(s.writer), true, Value::Null),
        Err(why) => (Value::Null, Value::Null, Value::Null, false, json!(why)),
    };
    json!({
        "id": id,
        "user": user,
        "ttl_seconds": ttl_seconds(pttl_ms),
        "views": views,
        "bytes": bytes,
        "writer": writer,
        "loads": loads,
        "problem": problem,
    })
}

/// The cookie's expiry as ISO 8601 (`Date.prototype.toISOString`).
pub fn expires_iso(summary: &Summary) -> Option<String> {
    summary.expires.map(format_iso)
}

/// Counts values into buckets with upper bounds (`le`, inclusive) and one
/// last bucket for everything above them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    bounds: Vec<u64>,
    counts: Vec<u64>,
}

impl Histogram {
    /// Buckets up to each of `bounds` (ascending), plus one above them.
    pub fn new(bounds: &[u64]) -> Self {
        Self { bounds: bounds.to_vec(), counts: vec![0; bounds.len() + 1] }
    }

    /// Counts `value` in the first bucket whose bound is at least it.
    pub fn add(&mut self, value: u64) {
        let at = self.bounds.iter().position(|&b| value <= b).unwrap_or(self.bounds.len());
        self.counts[at] += 1;
    }

    /// `[{"le": bound or null, "count": n}, …]`.
    pub fn to_json(&self) -> Value {
        let bounds = self.bounds.iter().map(|&b| json!(b)).chain([Value::Null]);
        Value::Array(bounds.zip(&self.counts).map(|(le, count)| json!({"le": le, "count": count})).collect())
    }

    /// `(label, count)` rows for people: `≤ 256`, …, `> 16384`.
    pub fn rows(&self) -> Vec<(String, u64)> {
        let mut labels: Vec<String> = self.bounds.iter().map(|b| format!("≤ {b}")).collect();
        labels.push(self.bounds.last().map_or_else(|| "all".to_owned(), |b| format!("> {b}")));
        labels.into_iter().zip(self.counts.iter().copied()).collect()
    }
}

/// A doctor check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Works, but should be changed.
    Warn,
    /// Broken: the worker fails, or browsers refuse the cookie.
    Fail,
    /// Not checked, because an earlier check failed.
    Skip,
}

impl Status {
    /// `ok`, `warn`, `fail`, `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// The session cookie's options as browsers will judge them (RFC 6265bis
/// §4.1.3 cookie prefixes, §5.4.7 SameSite=None requires Secure; CHIPS:
/// Partitioned requires Secure). `secure_auto` is express-session's
/// `cookie.secure: 'auto'` (`SESSION_COOKIE_SECURE=auto`): Secure on https
/// requests only. Each problem is a verdict and what to change.
pub fn cookie_problems(name: &str, cookie: &SessionCookie, secure_auto: bool) -> Vec<(Status, String)> {
    let secure = cookie.secure == Some(true);
    let mut out = Vec::new();
    let no_secure = |what: &str| {
        if secure_auto {
            (
                Status::Warn,
                format!("{what} with SESSION_COOKIE_SECURE=auto: browsers refuse the cookie over plain http"),
            )
        } else {
            (Status::Fail, format!("{what} without Secure: browsers refuse the cookie; set SESSION_COOKIE_SECURE=true"))
        }
    };
    if cookie.same_site.as_ref().and_then(SameSite::attribute) == Some("None") && !secure {
        out.push(no_secure("SameSite=None"));
    }
    if cookie.partitioned == Some(true) && !secure {
        out.push(no_secure("Partitioned"));
    }
    if (name.starts_with("__Secure-") || name.starts_with("__Host-")) && !secure {
        out.push(no_secure(&format!("the name {name}")));
    }
    if name.starts_with("__Host-") {
        if cookie.domain.is_some() {
            out.push((
                Status::Fail,
                format!("the name {name} with a Domain: browsers refuse it; unset SESSION_COOKIE_DOMAIN"),
            ));
        }
        if cookie.path.as_deref().unwrap_or("/") != "/" {
            out.push((Status::Fail, format!("the name {name} with a Path other than /: browsers refuse it")));
        }
    }
    out
}

/// What a cookie value holds and whether one of `secrets` signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieReading {
    /// The value after URL-decoding (`s:<id>.<signature>`).
    pub value: String,
    /// The session id when the value has the `s:` form.
    pub id: Option<String>,
    /// The position in `SESSION_SECRET` of the secret that signed it.
    pub secret_index: Option<usize>,
}

/// Reads `input`, which may be the value (`s:…`), its URL-encoded form as
/// browsers store it (`s%3A…`), one `name=value` pair (any name), or a
/// whole `Cookie` header (`a=1; <cookie name>=…`, where the session
/// cookie's name picks the pair), and checks its signature with each
/// secret in turn (as express-session's `unsigncookie` does with its
/// secret list).
pub fn read_cookie(input: &str, cookie_name: &str, secrets: &[String]) -> CookieReading {
    let input = input.trim();
    let input = input.strip_prefix("Cookie:").or_else(|| input.strip_prefix("cookie:")).map_or(input, str::trim);
    let header = if input.starts_with("s:") || input.starts_with("s%3A") || input.starts_with("s%3a") {
        format!("{cookie_name}={input}")
    } else if input.contains(';') {
        input.to_owned()
    } else if let Some((name, _)) = input.split_once('=') {
        format!("{}={}", cookie_name, &input[name.len() + 1..])
    } else {
        format!("{cookie_name}={input}")
    };
    let value = find_cookie(&header, cookie_name).unwrap_or_default();
    let signed = value.strip_prefix("s:");
    let id = signed.and_then(|s| s.rfind('.').map(|dot| s[..dot].to_owned()));
    let secret_index = signed.and_then(|s| {
        secrets
            .iter()
            .position(|secret| Secrets::new(vec![secret.clone()]).and_then(|one| one.unsign(s).map(|_| ())).is_some())
    });
    CookieReading { value, id, secret_index }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPRESS_DOC: &str = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-30T12:01:00.000Z","httpOnly":true,"path":"/"},"views":3}"#;

    #[test]
    fn summarizes_what_an_operator_asks() {
        let s = summarize(EXPRESS_DOC.as_bytes(), None).unwrap();
        assert_eq!(s.user, None);
        assert_eq!(s.views.as_ref().map(ToString::to_string).as_deref(), Some("3"));
        assert_eq!(s.writer, None);
        assert_eq!(expires_iso(&s).as_deref(), Some("2026-11-30T12:01:00.000Z"));
        let worker = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-30T12:01:00.000Z","httpOnly":true,"path":"/"},"passport":{"user":"alice"},"device":{"label":"Firefox on Linux","signedInAt":1764500000000}}"#;
        let s = summarize(worker.as_bytes(), None).unwrap();
        assert_eq!((s.user.as_deref(), s.writer), (Some("alice"), Some("worker")));
    }

    #[test]
    fn passport_user_truth_table() {
        for (user, field, want) in [
            (json!("alice"), None, Some("alice")),
            (json!(42), None, Some("42")),
            (json!(""), None, None),
            (json!(null), None, None),
            (json!(false), None, None),
            (json!({"id": "bob", "n": 1}), Some("id"), Some("bob")),
            (json!({"n": 1}), Some("id"), None),
            (json!({"id": "bob"}), None, Some(r#"{"id":"bob"}"#)),
        ] {
            assert_eq!(user_text(&user, field).as_deref(), want, "{user} {field:?}");
        }
    }

    #[test]
    fn device_must_be_the_workers_shape() {
        for (device, want) in [
            (json!({"label": "Chrome", "signedInAt": 1}), true),
            (json!({"label": "Chrome"}), false),
            (json!({"label": 1, "signedInAt": 1}), false),
            (json!("Chrome"), false),
        ] {
            assert_eq!(is_worker_device(&device), want, "{device}");
        }
    }

    #[test]
    fn corrupt_documents_are_explained() {
        for (bytes, needle) in [
            (&b"not json"[..], "not a JSON object"),
            (&b"{\"cookie\":"[..], "not a JSON object"),
            (&br#"{"views":1}"#[..], "cookie"),
            (&br#"{"cookie":{"expires":"soon"}}"#[..], "expires"),
        ] {
            let why = summarize(bytes, None).unwrap_err();
            assert!(why.contains(needle), "{why}");
            assert_eq!(
                why.matches("not a JSON object").count(),
                usize::from(why.contains("not a JSON object")),
                "{why}"
            );
        }
    }

    #[test]
    fn ttl_rounds_up_and_keeps_no_ttl_apart() {
        for (pttl, want) in [(-1, None), (-2, None), (0, Some(0)), (1, Some(1)), (1000, Some(1)), (1001, Some(2))] {
            assert_eq!(ttl_seconds(pttl), want, "{pttl}");
        }
    }

    #[test]
    fn histogram_buckets_are_inclusive() {
        let mut h = Histogram::new(&[10, 100]);
        for v in [0, 10, 11, 100, 101, 5000] {
            h.add(v);
        }
        assert_eq!(h.to_json(), json!([{"le": 10, "count": 2}, {"le": 100, "count": 2}, {"le": null, "count": 2}]));
        assert_eq!(h.rows()[2], ("> 100".to_owned(), 2));
    }

    fn cookie(same_site: Option<SameSite>, secure: Option<bool>) -> SessionCookie {
        let doc = SessionDocument::parse(EXPRESS_DOC.as_bytes()).unwrap();
        SessionCookie { same_site, secure, ..doc.cookie }
    }

    #[test]
    fn cookie_checks_truth_table() {
        let statuses = |name: &str, c: &SessionCookie, auto: bool| {
            cookie_problems(name, c, auto).into_iter().map(|(s, _)| s).collect::<Vec<_>>()
        };
        let none_insecure = cookie(Some(SameSite::Text("none".into())), None);
        assert_eq!(statuses("connect.sid", &none_insecure, false), [Status::Fail]);
        assert_eq!(statuses("connect.sid", &none_insecure, true), [Status::Warn]);
        assert!(statuses("connect.sid", &cookie(Some(SameSite::Text("none".into())), Some(true)), false).is_empty());
        assert!(statuses("connect.sid", &cookie(Some(SameSite::Text("lax".into())), None), false).is_empty());
        assert_eq!(statuses("__Host-sid", &cookie(None, None), false), [Status::Fail]);
        let mut host = cookie(None, Some(true));
        assert!(statuses("__Host-sid", &host, false).is_empty());
        host.domain = Some("example.com".into());
        assert_eq!(statuses("__Host-sid", &host, false), [Status::Fail]);
        assert_eq!(statuses("__Secure-sid", &cookie(None, None), false), [Status::Fail]);
    }

    #[test]
    fn reads_every_spelling_of_a_cookie() {
        let secrets = vec!["old secret".to_owned(), "keyboard cat".to_owned()];
        let signed = Secrets::new(vec!["keyboard cat".into()]).unwrap().sign("abc");
        for input in [
            format!("s:{signed}"),
            format!("s%3A{signed}"),
            format!("connect.sid=s%3A{signed}"),
            format!("other.name=s:{signed}"),
            format!("a=1; connect.sid=s%3A{signed}; b=2"),
            format!("Cookie: a=1; connect.sid=s%3A{signed}"),
        ] {
            let r = read_cookie(&input, "connect.sid", &secrets);
            assert_eq!(r.value, format!("s:{signed}"), "{input}");
            assert_eq!(r.id.as_deref(), Some("abc"), "{input}");
            assert_eq!(r.secret_index, Some(1), "{input}");
        }
        let tampered = read_cookie(&format!("s:{}", signed.replace("abc", "abd")), "connect.sid", &secrets);
        assert_eq!((tampered.id.as_deref(), tampered.secret_index), (Some("abd"), None));
        let plain = read_cookie("hello", "connect.sid", &secrets);
        assert_eq!((plain.id, plain.secret_index), (None, None));
    }
}
