//! Every option of the worker, read from wrangler vars and secrets once and
//! validated: a bad value stops the worker with a message naming the
//! variable instead of silently falling back to a default.

use std::time::Duration;

use crate::accounts::AccountsConfig;
use crate::session::cookie::Secrets;
use crate::session::decide::Policy;
use crate::session::document::{SameSite, SessionCookie, DEFAULT_TTL_SECONDS};
use crate::session::{SessionConfig, Unset};

/// A configuration problem, naming the variable.
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

/// The worker's whole configuration.
#[derive(Debug, Clone)]
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
        let get = |name: &'static str| var(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing { name });

        let secret_list = required("SESSION_SECRET")?;
        let secrets = Secrets::new(secret_list.split(',').map(|s| s.trim().to_owned()).collect()).ok_or(
            ConfigError::Invalid {
                name: "SESSION_SECRET",
                value: "(hidden)".into(),
                expected: "one or more non-empty secrets separated by commas",
            },
        )?;

        let upstash_url = required("UPSTASH_REDIS_REST_URL")?;
        if !(upstash_url.starts_with("https://") || upstash_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "UPSTASH_REDIS_REST_URL",
                value: upstash_url,
                expected: "an http(s) URL such as https://<region>.upstash.io",
            });
        }
        let upstash_token = required("UPSTASH_REDIS_REST_TOKEN")?;

        let max_age = match get("SESSION_MAX_AGE_MS") {
            None => Some(60_000.0),
            Some(v) if v.eq_ignore_ascii_case("none") => None,
            Some(v) => Some(parse_number(
                "SESSION_MAX_AGE_MS",
                &v,
                "milliseconds (a positive integer) or `none` for a browser-session cookie",
            )? as f64),
        };

        let (secure, secure_auto) = match get("SESSION_COOKIE_SECURE").as_deref() {
            None => (Some(false), false),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" => (Some(true), false),
                "false" => (Some(false), false),
                "auto" => (None, true),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SESSION_COOKIE_SECURE",
                        value: v.into(),
                        expected: "true, false or auto",
                    })
                }
            },
        };

        let same_site = match get("SESSION_COOKIE_SAMESITE") {
            None => None,
            Some(v) => Some(match v.to_ascii_lowercase().as_str() {
                "true" => SameSite::Flag(true),
                "false" => SameSite::Flag(false),
                "lax" | "strict" | "none" => SameSite::Text(v.to_ascii_lowercase()),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SESSION_COOKIE_SAMESITE",
                        value: v,
                        expected: "lax, strict, none, true or false",
                    })
                }
            }),
        };

        let priority = match get("SESSION_COOKIE_PRIORITY") {
            None => None,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "low" | "medium" | "high" => Some(v.to_ascii_lowercase()),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SESSION_COOKIE_PRIORITY",
                        value: v,
                        expected: "low, medium or high",
                    })
                }
            },
        };

        let cookie = SessionCookie {
            original_max_age: max_age,
            partitioned: get("SESSION_COOKIE_PARTITIONED")
                .map(|v| parse_bool("SESSION_COOKIE_PARTITIONED", &v))
                .transpose()?,
            priority,
            expires: None,
            secure,
            http_only: Some(parse_bool_or("SESSION_COOKIE_HTTP_ONLY", get("SESSION_COOKIE_HTTP_ONLY"), true)?),
            domain: get("SESSION_COOKIE_DOMAIN"),
            path: Some(get("SESSION_COOKIE_PATH").unwrap_or_else(|| "/".into())),
            same_site,
        };

        let cookie_name = get("SESSION_COOKIE_NAME").unwrap_or_else(|| "_redisDemo".into());
        if !cookie_name.bytes().all(is_token_byte) {
            return Err(ConfigError::Invalid {
                name: "SESSION_COOKIE_NAME",
                value: cookie_name,
                expected: "a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
            });
        }

        let session = SessionConfig {
            cookie_name,
            secrets,
            prefix: var("SESSION_PREFIX").unwrap_or_else(|| "sess:".into()),
            cookie,
            secure_auto,
            policy: Policy {
                resave: parse_bool_or("SESSION_RESAVE", get("SESSION_RESAVE"), false)?,
                save_uninitialized: parse_bool_or(
                    "SESSION_SAVE_UNINITIALIZED",
                    get("SESSION_SAVE_UNINITIALIZED"),
                    true,
                )?,
                rolling: parse_bool_or("SESSION_ROLLING", get("SESSION_ROLLING"), false)?,
            },
            default_ttl: match get("SESSION_TTL_SECONDS") {
                None => DEFAULT_TTL_SECONDS,
                Some(v) => parse_number("SESSION_TTL_SECONDS", &v, "seconds (a positive integer)")? as i64,
            },
            unset: match get("SESSION_UNSET").map(|v| v.to_ascii_lowercase()).as_deref() {
                None | Some("keep") => Unset::Keep,
                Some("destroy") => Unset::Destroy,
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        name: "SESSION_UNSET",
                        value: get("SESSION_UNSET").unwrap_or_default(),
                        expected: "keep or destroy",
                    })
                }
            },
            disable_touch: parse_bool_or("SESSION_DISABLE_TOUCH", get("SESSION_DISABLE_TOUCH"), false)?,
            disable_ttl: parse_bool_or("SESSION_DISABLE_TTL", get("SESSION_DISABLE_TTL"), false)?,
        };
        let trust_proxy = parse_bool_or("SESSION_PROXY", get("SESSION_PROXY"), false)?;

        let store_timeout = Duration::from_millis(match get("SESSION_STORE_TIMEOUT_MS") {
            None => 5_000,
            Some(v) => parse_number("SESSION_STORE_TIMEOUT_MS", &v, "milliseconds (a positive integer)")?,
        });

        let iterations = match get("AUTH_PBKDF2_ITERATIONS") {
            None => DEFAULT_PBKDF2_ITERATIONS,
            Some(v) => match parse_number("AUTH_PBKDF2_ITERATIONS", &v, "1 to 100000 iterations")? {
                n @ 1..=100_000 => n as u32,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "AUTH_PBKDF2_ITERATIONS",
                        value: v,
                        expected: "1 to 100000 iterations (the Workers runtime refuses more)",
                    })
                }
            },
        };
        let accounts = AccountsConfig {
            iterations,
            max_failures_per_user: match get("AUTH_MAX_FAILURES_PER_USER") {
                None => 5,
                Some(v) => parse_number("AUTH_MAX_FAILURES_PER_USER", &v, "a positive integer")? as i64,
            },
            max_failures_per_ip: match get("AUTH_MAX_FAILURES_PER_IP") {
                None => 20,
                Some(v) => parse_number("AUTH_MAX_FAILURES_PER_IP", &v, "a positive integer")? as i64,
            },
            failure_window: match get("AUTH_FAILURE_WINDOW_SECONDS") {
                None => 900,
                Some(v) => parse_number("AUTH_FAILURE_WINDOW_SECONDS", &v, "seconds (a positive integer)")?,
            },
            user_prefix: var("AUTH_USER_PREFIX").unwrap_or_else(|| "user:".into()),
        };

        Ok(Self { session, upstash_url, upstash_token, store_timeout, trust_proxy, accounts })
    }
}

fn parse_number(name: &'static str, value: &str, expected: &'static str) -> Result<u64, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::Invalid { name, value: value.into(), expected }),
    }
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid { name, value: value.into(), expected: "true or false" }),
    }
}

fn parse_bool_or(name: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    value.map_or(Ok(default), |v| parse_bool(name, &v))
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
        ] {
            let err = with(&[(name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
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
