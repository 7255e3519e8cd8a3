//! Every option of the worker, read from wrangler vars and secrets once and
//! validated: a bad value stops the worker with a message naming the
//! variable instead of silently falling back to a default.

use std::time::Duration;

use crate::accounts::AccountsConfig;
use crate::session::cookie::Secrets;
use crate::session::decide::Policy;
use crate::session::document::{SameSite, SessionCookie, DEFAULT_TTL_SECONDS};
use crate::session::{SessionConfig, Unset};

/// A configuration problem, naming the variable. `Display` includes the
/// bad value, for the log; [`ConfigError::public_message`] leaves it out,
/// for HTTP answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{name} is required but not set")]
    Missing {
        /// The variable.
        name: &'static str,
    },
    /// A variable has a value that means nothing here.
    #[error("{name}={value:?} is invalid: {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value (secrets are never echoed).
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
}

impl ConfigError {
    /// What a visitor may be told: the variable and what it accepts.
    pub fn public_message(&self) -> String {
        match self {
            ConfigError::Missing { .. } => self.to_string(),
            ConfigError::Invalid { name, expected, .. } => format!("{name} is invalid: {expected}"),
        }
    }
}

/// The worker's whole configuration.
#[derive(Clone)]
pub struct Config {
    /// The session layer's options.
    pub session: SessionConfig,
    /// `UPSTASH_REDIS_REST_URL`.
    pub upstash_url: String,
    /// `UPSTASH_REDIS_REST_TOKEN`.
    pub upstash_token: String,
    /// `SESSION_STORE_TIMEOUT_MS`: how long one store call may take.
    pub store_timeout: Duration,
    /// `SESSION_PROXY` (express-session's `proxy`): also believe the first
    /// `X-Forwarded-Proto` value when deciding whether a request is https.
    /// Off by default: on Cloudflare the request URL already carries the
    /// visitor's scheme.
    pub trust_proxy: bool,
    /// Account options.
    pub accounts: AccountsConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never in a log line.
        f.debug_struct("Config")
            .field("session", &self.session)
            .field("upstash_url", &self.upstash_url)
            .field("upstash_token", &"(redacted)")
            .field("store_timeout", &self.store_timeout)
            .field("trust_proxy", &self.trust_proxy)
            .field("accounts", &self.accounts)
            .finish()
    }
}

/// The PBKDF2 iteration count for new password hashes. Chosen so that a
/// login stays well inside the Workers free plan's 10 ms of CPU (measured
/// in workerd: docs/BENCHMARKS.md); Workers refuse more than 100 000.
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 20_000;

/// The longest `Cookie` request header the worker reads, in bytes. Browsers
/// cap a cookie at 4 KiB and Node's whole header block at 16 KiB; anything
/// longer is an attack or a bug, answered with 400 before any parsing.
pub const MAX_COOKIE_HEADER_BYTES: usize = 8192;

impl Config {
    /// Reads the configuration through `var`, which returns a variable's or
    /// secret's value.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let v = Vars(&var);

        let secret_list = v.required("SESSION_SECRET")?;
        let secrets = Secrets::new(secret_list.split(',').map(|s| s.trim().to_owned()).collect()).ok_or(
            ConfigError::Invalid {
                name: "SESSION_SECRET",
                value: "(hidden)".into(),
                expected: "one or more non-empty secrets separated by commas",
            },
        )?;

        let upstash_url = v.required("UPSTASH_REDIS_REST_URL")?;
        if !(upstash_url.starts_with("https://") || upstash_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "UPSTASH_REDIS_REST_URL",
                value: upstash_url,
                expected: "an http(s) URL such as https://<region>.upstash.io",
            });
        }
        let upstash_token = v.required("UPSTASH_REDIS_REST_TOKEN")?;

        const MAX_AGE: &str = "milliseconds (a positive integer) or `none` for a browser-session cookie";
        let max_age = match v.text("SESSION_MAX_AGE_MS") {
            Some(t) if t.trim().eq_ignore_ascii_case("none") => None,
            _ => Some(v.number("SESSION_MAX_AGE_MS", 60_000, HUNDRED_YEARS_S * 1000, MAX_AGE)? as f64),
        };
        let (secure, secure_auto) = v.choice(
            "SESSION_COOKIE_SECURE",
            &[
                ("true", (Some(true), false)),
                ("false", (Some(false), false)),
                ("auto", (None, true)),
                // express-session without a `secure` option: the document
                // has no `secure` member (the seed demo sets it to false).
                ("unset", (None, false)),
            ],
            (Some(false), false),
            "true, false, auto or unset",
        )?;
        let same_site = v.choice(
            "SESSION_COOKIE_SAMESITE",
            &[
                ("true", Some(SameSite::Flag(true))),
                ("false", Some(SameSite::Flag(false))),
                ("lax", Some(SameSite::Text("lax".into()))),
                ("strict", Some(SameSite::Text("strict".into()))),
                ("none", Some(SameSite::Text("none".into()))),
            ],
            None,
            "lax, strict, none, true or false",
        )?;
        let priority = v.choice(
            "SESSION_COOKIE_PRIORITY",
            &[("low", Some("low".to_owned())), ("medium", Some("medium".into())), ("high", Some("high".into()))],
            None,
            "low, medium or high",
        )?;
        let partitioned = match v.text("SESSION_COOKIE_PARTITIONED") {
            None => None,
            Some(_) => Some(v.flag("SESSION_COOKIE_PARTITIONED", false)?),
        };

        let cookie = SessionCookie {
            original_max_age: max_age,
            partitioned,
            priority,
            expires: None,
            secure,
            http_only: Some(v.flag("SESSION_COOKIE_HTTP_ONLY", true)?),
            domain: v.attribute("SESSION_COOKIE_DOMAIN")?,
            path: Some(v.attribute("SESSION_COOKIE_PATH")?.unwrap_or_else(|| "/".into())),
            same_site,
        };

        let cookie_name = v.text("SESSION_COOKIE_NAME").unwrap_or_else(|| "_redisDemo".into());
        if !cookie_name.bytes().all(is_token_byte) {
            return Err(ConfigError::Invalid {
                name: "SESSION_COOKIE_NAME",
                value: cookie_name,
                expected: "a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
            });
        }

        const SECONDS: &str = "seconds (a positive integer)";
        let session = SessionConfig {
            cookie_name,
            secrets,
            // An empty prefix is legal in connect-redis, so it is not dropped as blank.
            prefix: var("SESSION_PREFIX").unwrap_or_else(|| "sess:".into()),
            cookie,
            secure_auto,
            policy: Policy {
                resave: v.flag("SESSION_RESAVE", false)?,
                save_uninitialized: v.flag("SESSION_SAVE_UNINITIALIZED", true)?,
                rolling: v.flag("SESSION_ROLLING", false)?,
            },
            default_ttl: v.number("SESSION_TTL_SECONDS", DEFAULT_TTL_SECONDS as u64, HUNDRED_YEARS_S, SECONDS)? as i64,
            unset: v.choice(
                "SESSION_UNSET",
                &[("keep", Unset::Keep), ("destroy", Unset::Destroy)],
                Unset::Keep,
                "keep or destroy",
            )?,
            disable_touch: v.flag("SESSION_DISABLE_TOUCH", false)?,
            disable_ttl: v.flag("SESSION_DISABLE_TTL", false)?,
        };

        const COUNT: &str = "a positive integer";
        let accounts = AccountsConfig {
            iterations: v.number(
                "AUTH_PBKDF2_ITERATIONS",
                DEFAULT_PBKDF2_ITERATIONS.into(),
                100_000,
                "1 to 100000 iterations (the Workers runtime refuses more)",
            )? as u32,
            max_failures_per_user: v.number("AUTH_MAX_FAILURES_PER_USER", 5, i64::MAX as u64, COUNT)? as i64,
            max_failures_per_ip: v.number("AUTH_MAX_FAILURES_PER_IP", 20, i64::MAX as u64, COUNT)? as i64,
            max_registrations_per_ip: v.number("AUTH_MAX_REGISTRATIONS_PER_IP", 10, i64::MAX as u64, COUNT)? as i64,
            failure_window: v.number("AUTH_FAILURE_WINDOW_SECONDS", 900, 7 * 24 * 3600, "seconds, at most a week")?,
            user_prefix: var("AUTH_USER_PREFIX").unwrap_or_else(|| "user:".into()),
        };

        let store_timeout_ms =
            v.number("SESSION_STORE_TIMEOUT_MS", 5_000, 60_000, "milliseconds, at most 60000")?;
        Ok(Self {
            session,
            upstash_url,
            upstash_token,
            store_timeout: Duration::from_millis(store_timeout_ms),
            trust_proxy: v.flag("SESSION_PROXY", false)?,
            accounts,
        })
    }
}

/// Caps on durations: past them Redis refuses the TTL or dates overflow.
const HUNDRED_YEARS_S: u64 = 100 * 365 * 24 * 3600;

/// Typed reads of variables; a blank value counts as unset.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn text(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// A cookie attribute value: no `;`, no control characters, which would
    /// let the value smuggle other attributes or headers.
    fn attribute(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        match self.text(name) {
            Some(v) if v.chars().any(|c| c == ';' || c.is_control()) => {
                Err(ConfigError::Invalid { name, value: v, expected: "a value without ';' or control characters" })
            }
            other => Ok(other.map(|v| v.trim().to_owned())),
        }
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.text(name).ok_or(ConfigError::Missing { name })
    }

    /// A positive integer up to `max`.
    fn number(&self, name: &'static str, default: u64, max: u64, expected: &'static str) -> Result<u64, ConfigError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 && n <= max => Ok(n),
                _ => Err(ConfigError::Invalid { name, value: v, expected }),
            },
        }
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.choice(
            name,
            &[("true", true), ("1", true), ("yes", true), ("false", false), ("0", false), ("no", false)],
            default,
            "true or false",
        )
    }

    /// One of `options`, matched without regard to case.
    fn choice<T: Clone>(
        &self,
        name: &'static str,
        options: &[(&str, T)],
        default: T,
        expected: &'static str,
    ) -> Result<T, ConfigError> {
        let Some(v) = self.text(name) else {
            return Ok(default);
        };
        let key = v.trim().to_ascii_lowercase();
        match options.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => Ok(value.clone()),
            None => Err(ConfigError::Invalid { name, value: v, expected }),
        }
    }
}

/// RFC 6265 cookie-name characters (an HTTP token).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars: HashMap<String, String> = [
            ("SESSION_SECRET", "keyboard cat"),
            ("UPSTASH_REDIS_REST_URL", "http://127.0.0.1:8079"),
            ("UPSTASH_REDIS_REST_TOKEN", "t"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            vars.insert(k.to_string(), v.to_string());
        }
        Config::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_reproduce_the_seed() {
        let c = with(&[]).unwrap();
        let s = &c.session;
        assert_eq!(s.cookie_name, "_redisDemo");
        assert_eq!(s.prefix, "sess:");
        assert_eq!(s.cookie.original_max_age, Some(60000.0));
        assert_eq!(s.cookie.secure, Some(false));
        assert_eq!(s.cookie.http_only, Some(true));
        assert_eq!(s.cookie.path.as_deref(), Some("/"));
        assert_eq!(s.policy, Policy::default());
        assert_eq!(s.default_ttl, 86_400);
        assert_eq!(c.store_timeout, Duration::from_secs(5));
    }

    #[test]
    fn missing_and_bad_values_name_the_variable() {
        let missing = Config::from_vars(|_| None).unwrap_err();
        assert_eq!(missing, ConfigError::Missing { name: "SESSION_SECRET" });
        for (name, value) in [
            ("SESSION_MAX_AGE_MS", "sixty"),
            ("SESSION_MAX_AGE_MS", "-5"),
            ("SESSION_COOKIE_SECURE", "maybe"),
            ("SESSION_COOKIE_SAMESITE", "sometimes"),
            ("SESSION_ROLLING", "perhaps"),
            ("SESSION_COOKIE_NAME", "bad name;"),
            ("UPSTASH_REDIS_REST_URL", "redis://x"),
            ("SESSION_SECRET", "a,,b"),
            ("SESSION_UNSET", "maybe"),
            ("SESSION_DISABLE_TTL", "x"),
            ("SESSION_COOKIE_PRIORITY", "urgent"),
            ("AUTH_PBKDF2_ITERATIONS", "200000"),
            ("AUTH_PBKDF2_ITERATIONS", "0"),
            ("SESSION_COOKIE_DOMAIN", "example.com; Secure"),
            ("SESSION_COOKIE_PATH", "/\r\nX-Evil: 1"),
            ("SESSION_TTL_SECONDS", "99999999999999"),
            ("SESSION_STORE_TIMEOUT_MS", "4000000000"),
        ] {
            let err = with(&[(name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn public_message_leaves_the_value_out() {
        let err = with(&[("UPSTASH_REDIS_REST_URL", "redis://user:pw@host")]).unwrap_err();
        assert!(err.to_string().contains("user:pw"), "the log keeps the value");
        assert!(!err.public_message().contains("user:pw"));
        assert!(err.public_message().starts_with("UPSTASH_REDIS_REST_URL"));
        let debug = format!("{:?}", with(&[]).unwrap());
        assert!(!debug.contains("\"t\""), "token redacted: {debug}");
    }

    #[test]
    fn several_secrets_and_options() {
        let c = with(&[
            ("SESSION_SECRET", "new, old"),
            ("SESSION_MAX_AGE_MS", "none"),
            ("SESSION_COOKIE_SECURE", "auto"),
            ("SESSION_COOKIE_SAMESITE", "Lax"),
        ])
        .unwrap();
        assert_eq!(c.session.secrets.sign("x"), Secrets::new(vec!["new".into()]).unwrap().sign("x"));
        assert_eq!(c.session.cookie.original_max_age, None);
        assert!(c.session.secure_auto);
        assert_eq!(c.session.cookie.same_site, Some(SameSite::Text("lax".into())));
    }
}
