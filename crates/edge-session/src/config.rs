//! Configuration from variables, read and validated once: a bad value is an
//! error naming the variable instead of a silent fallback to a default.
//! Each part of the configuration is built by its own reader
//! ([`SessionConfig::from_vars`], [`UpstashConfig::from_vars`],
//! `AccountsConfig::from_vars`); the names are those of
//! express-session's and connect-redis's options, upper-cased with a
//! `SESSION_` prefix (README "Configuration" lists them all).

use std::time::Duration;

#[cfg(feature = "accounts")]
use crate::accounts::AccountsConfig;
use crate::keys;
use crate::session::cookie::{is_token_byte, Secrets};
use crate::session::decide::{self, Policy};
use crate::session::document::{Millis, SameSite, SessionCookie, DEFAULT_TTL_SECONDS};
use crate::session::{SessionConfig, Unset};
use crate::store::script::Ttl;

/// A configuration problem, naming the variable. `Display` includes the
/// bad value, for the log; [`ConfigError::public_message`] leaves it out,
/// for HTTP answers.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{name} is required but not set")]
    Missing {
        /// The variable.
        name: &'static str,
    },
    /// A `[vars]` value of a JSON type the option does not take: a table
    /// or array anywhere, a number or boolean where the option is text or a
    /// word (`SESSION_COOKIE_NAME = true` is a typo, not a name).
    #[error("{name} is {got} in [vars]; it takes {expected}")]
    WrongType {
        /// The variable.
        name: String,
        /// What it was: `a number`, `a boolean`, `a table` or `an array`.
        got: &'static str,
        /// What it takes.
        expected: &'static str,
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
crate::debug_is_display!(ConfigError);

impl ConfigError {
    /// What a visitor may be told: the variable and what it accepts.
    pub fn public_message(&self) -> String {
        match self {
            ConfigError::Missing { .. } | ConfigError::WrongType { .. } => self.to_string(),
            ConfigError::Invalid { name, expected, .. } => format!("{name} is invalid: {expected}"),
        }
    }
}

/// Where the store is: an Upstash (or Upstash-compatible) REST endpoint.
#[derive(Clone)]
pub struct UpstashConfig {
    /// `UPSTASH_REDIS_REST_URL`, e.g. `https://eu1-xyz.upstash.io`.
    pub url: String,
    /// `UPSTASH_REDIS_REST_TOKEN`: a credential, never logged.
    pub token: String,
    /// `SESSION_STORE_TIMEOUT_MS`: how long one store call may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for UpstashConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never in a log line.
        f.debug_struct("UpstashConfig")
            .field("url", &self.url)
            .field("token", &"(redacted)")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl UpstashConfig {
    /// Reads `UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN` and
    /// `SESSION_STORE_TIMEOUT_MS` (default 5000, at most 60000).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first variable that is missing or invalid.
    pub fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        let url = v.required("UPSTASH_REDIS_REST_URL")?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "UPSTASH_REDIS_REST_URL",
                value: url,
                expected: "an http(s) URL such as https://<region>.upstash.io",
            });
        }
        let token = v.required("UPSTASH_REDIS_REST_TOKEN")?;

        let timeout_ms = v.number("SESSION_STORE_TIMEOUT_MS", 5_000, 60_000, "milliseconds, at most 60000")?;
        Ok(Self { url, token, timeout: Duration::from_millis(timeout_ms) })
    }
}

/// A `[vars]` value as the platform hands it over: wrangler passes a TOML
/// string, number, boolean, table or array through as that JSON type, so
/// `SESSION_MAX_AGE_MS = 3600000` and `SESSION_COOKIE_SECURE = true`,
/// written unquoted, arrive as a number and a boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    /// A string (every secret, and quoted `[vars]`).
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A table (`{…}`) or an array (`[…]`): no option takes one; says
    /// which (`a table`, `an array`).
    Other(&'static str),
}

/// What an option holds, which decides the unquoted `[vars]` it takes
/// ([`VarValue::into_text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    /// Text: a string only (a name, URL, secret, list, path).
    Text,
    /// A number (or a word such as `none`): a string or a number.
    Number,
    /// A boolean (`true`/`false`/`1`/`0`/`yes`/`no`): a string, a boolean or 0/1.
    Flag,
    /// One of some words: a string only.
    Word,
    /// One of some words, `true` and `false` among them: a string or a boolean.
    WordOrFlag,
}

impl VarType {
    /// What the type takes, for messages.
    pub fn expected(self) -> &'static str {
        match self {
            VarType::Text => "a string (quote it)",
            VarType::Number => "a number or a string",
            VarType::Flag => "true or false",
            VarType::Word | VarType::WordOrFlag => "one of its words, as a string",
        }
    }
}

/// Every variable the library reads, with its type: the configuration
/// table of the README, and what [`VarValue::into_text`] checks. A worker
/// adds its own (the demo's `DEMO_ROUTES`…).
pub const VARIABLES: &[(&str, VarType)] = &[
    ("SESSION_SECRET", VarType::Text),
    ("SESSION_ENVIRONMENT", VarType::Word),
    ("UPSTASH_REDIS_REST_URL", VarType::Text),
    ("UPSTASH_REDIS_REST_TOKEN", VarType::Text),
    ("SESSION_STORE_TIMEOUT_MS", VarType::Number),
    ("SESSION_COOKIE_NAME", VarType::Text),
    ("SESSION_MAX_AGE_MS", VarType::Number),
    ("SESSION_COOKIE_PATH", VarType::Text),
    ("SESSION_COOKIE_DOMAIN", VarType::Text),
    ("SESSION_COOKIE_HTTP_ONLY", VarType::Flag),
    ("SESSION_COOKIE_SECURE", VarType::WordOrFlag),
    ("SESSION_COOKIE_SAMESITE", VarType::WordOrFlag),
    ("SESSION_COOKIE_PARTITIONED", VarType::Flag),
    ("SESSION_COOKIE_PRIORITY", VarType::Word),
    ("SESSION_ROLLING", VarType::Flag),
    ("SESSION_RESAVE", VarType::Flag),
    ("SESSION_SAVE_UNINITIALIZED", VarType::Flag),
    ("SESSION_UNSET", VarType::Word),
    ("SESSION_PROXY", VarType::Flag),
    ("SESSION_PREFIX", VarType::Text),
    ("SESSION_TTL_SECONDS", VarType::Number),
    ("SESSION_DISABLE_TOUCH", VarType::Flag),
    ("SESSION_TOUCH_AFTER_SECONDS", VarType::Number),
    ("SESSION_ABSOLUTE_TIMEOUT_SECONDS", VarType::Number),
    ("SESSION_DISABLE_TTL", VarType::Flag),
    ("SESSION_PASSPORT_USER_FIELD", VarType::Text),
    ("ORIGIN_URL", VarType::Text),
    ("GATEWAY_SECRET", VarType::Text),
    ("GATEWAY_REQUIRE_LOGIN", VarType::Text),
    ("GATEWAY_LOGIN_URL", VarType::Text),
    ("GATEWAY_ORIGIN_TIMEOUT_MS", VarType::Number),
    ("AUTH_PBKDF2_ITERATIONS", VarType::Number),
    ("AUTH_PEPPER", VarType::Text),
    ("AUTH_PEPPER_PREVIOUS", VarType::Text),
    ("AUTH_MAX_FAILURES_PER_USER", VarType::Number),
    ("AUTH_MAX_FAILURES_PER_USER_AND_IP", VarType::Number),
    ("AUTH_MAX_FAILURES_PER_IP", VarType::Number),
    ("AUTH_MAX_REGISTRATIONS", VarType::Number),
    ("AUTH_MAX_REGISTRATIONS_PER_IP", VarType::Number),
    ("AUTH_CONTEXT_WORDS", VarType::Text),
    ("AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS", VarType::Number),
    ("AUTH_MAX_ATTEMPTS_WITHOUT_ADDRESS", VarType::Number),
    ("AUTH_FAILURE_WINDOW_SECONDS", VarType::Number),
    ("AUTH_USER_PREFIX", VarType::Text),
];

impl VarValue {
    /// The value as the options read it, for variable `name` of type `kind`
    /// (`None`: a variable of the worker's own, taken as it comes): a
    /// string as it is; a number as JavaScript's `String(n)` spells it
    /// (`3600000`, `1.5`) where the option is a number or a flag; a boolean
    /// as `true` or `false` where it is a flag or takes `true`/`false`. So
    /// an unquoted value means what the quoted one does, instead of being
    /// ignored.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WrongType`] naming the variable for a table or array,
    /// and for a number or boolean where the option takes neither.
    pub fn into_text(self, name: &str, kind: Option<VarType>) -> Result<String, ConfigError> {
        use VarType::{Flag, Number, WordOrFlag};
        let wrong = |got: &'static str| ConfigError::WrongType {
            name: name.to_owned(),
            got,
            expected: kind.map_or("a string, number or boolean", VarType::expected),
        };
        match self {
            VarValue::Text(text) => Ok(text),
            VarValue::Number(n) if matches!(kind, None | Some(Number | Flag)) => Ok(crate::session::js_json::number(n)),
            VarValue::Bool(b) if matches!(kind, None | Some(Flag | WordOrFlag)) => Ok(b.to_string()),
            VarValue::Number(_) => Err(wrong("a number")),
            VarValue::Bool(_) => Err(wrong("a boolean")),
            VarValue::Other(got) => Err(wrong(got)),
        }
    }
}

/// The type of variable `name` among `tables` (the library's
/// [`VARIABLES`] and a worker's own), if listed.
pub fn var_type(name: &str, tables: &[&[(&str, VarType)]]) -> Option<VarType> {
    tables.iter().flat_map(|t| t.iter()).find(|(n, _)| *n == name).map(|(_, kind)| *kind)
}

/// The session cookie's name when `SESSION_COOKIE_NAME` is unset: the
/// craft-beer demo's (express-session's own default is `connect.sid`).
pub const DEFAULT_COOKIE_NAME: &str = "_redisDemo";

/// The shortest `SESSION_SECRET` that signs cookies in production, in
/// bytes: 256 bits, the key size of the HMAC-SHA256 that signs them (a
/// shorter or guessable key can be brute-forced offline from one signed
/// cookie, after which any session id can be signed).
pub const MIN_SECRET_BYTES: usize = 32;

/// Where a configuration runs (`SESSION_ENVIRONMENT`): `production`, the
/// default, refuses a weak signing secret; `development` (local runs,
/// tests against express-session's own examples) warns instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    /// Deployed: weak secrets are refused.
    #[default]
    Production,
    /// Local runs and tests: weak secrets are logged as warnings.
    Development,
}

impl Environment {
    /// Reads `SESSION_ENVIRONMENT` (`production`, the default, or
    /// `development`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for any other value: a misspelt
    /// `production` must not fall back to the lax setting.
    pub fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        v.choice(
            "SESSION_ENVIRONMENT",
            &[("production", Environment::Production), ("development", Environment::Development)],
            Environment::Production,
            "`production` (the default) or `development`",
        )
    }
}

/// What a configuration does with a secret of `secret_bytes` bytes
/// (`signs`: the first of `SESSION_SECRET`, which signs new cookies; the
/// others only verify old ones, while a rotation lasts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretVerdict {
    /// Long enough.
    Strong,
    /// Accepted, with a warning in the log.
    Warn,
    /// Refused: the worker does not start.
    Refuse,
}

/// The secret-strength decision (OWASP ASVS V11, V7.2.3's "at least 128
/// bits" for what makes tokens unforgeable): a signing secret under
/// [`MIN_SECRET_BYTES`] is refused in production and warned about in
/// development; a verify-only one is warned about in both, since refusing
/// it would break a rotation away from a weak Express secret (its cookies
/// keep verifying until they expire, then it should go).
pub fn secret_verdict(environment: Environment, signs: bool, secret_bytes: usize) -> SecretVerdict {
    match (secret_bytes >= MIN_SECRET_BYTES, signs, environment) {
        (true, _, _) => SecretVerdict::Strong,
        (false, true, Environment::Production) => SecretVerdict::Refuse,
        (false, _, _) => SecretVerdict::Warn,
    }
}

/// `SESSION_SECRET` as its list: comma-separated, each trimmed, in order
/// (the first signs, the others only verify, as express-session's `secret`
/// array); empty when unset. Every reader of the list reads it here.
pub fn secret_list(v: &Vars<'_>) -> Vec<String> {
    v.text("SESSION_SECRET").map(|list| list.split(',').map(|s| s.trim().to_owned()).collect()).unwrap_or_default()
}

/// The warnings a configuration deserves without being refused (for the
/// log, once per isolate): weak secrets ([`secret_verdict`]). Secrets are
/// named by position, never shown.
pub fn config_warnings(v: &Vars<'_>) -> Vec<String> {
    let environment = Environment::from_vars(v).unwrap_or_default();
    secret_list(v)
        .iter()
        .enumerate()
        .filter(|(i, s)| secret_verdict(environment, *i == 0, s.len()) == SecretVerdict::Warn)
        .map(|(i, s)| {
            let which = if i == 0 { "the signing secret".to_owned() } else { format!("secret {} (verify only)", i + 1) };
            format!(
                "SESSION_SECRET: {which} has {} bytes, fewer than {MIN_SECRET_BYTES}; make a strong one with `openssl rand -base64 48`",
                s.len()
            )
        })
        .collect()
}

impl SessionConfig {
    /// The longest TTL, in seconds, a session saved under this
    /// configuration gets: `cookie.maxAge` (rounded up) or connect-redis's
    /// `ttl` for a cookie without an expiry, whichever is longer. A session
    /// index lives at least this long after each save or touch of a session
    /// it lists ([`crate::session::Session::keep_index`]).
    pub fn longest_ttl_seconds(&self) -> u64 {
        let max_age = self.cookie.original_max_age.map_or(0.0, |ms| (ms / 1000.0).ceil());
        // `as` saturates: a maxAge past u64 is "forever" enough.
        (max_age as u64).max(self.default_ttl_seconds.max(0) as u64)
    }

    /// How long a session whose cookie is `cookie` lives in the store when
    /// saved at `now` (ms since the epoch): connect-redis's `_getTTL` (the
    /// cookie's time left, rounded up to seconds, else `ttl`) and its
    /// `disableTTL`; a lifetime already over deletes the key instead
    /// (connect-redis's `set` with a TTL of 0 or less).
    pub fn store_ttl(&self, cookie: &SessionCookie, now: Millis) -> Ttl {
        match cookie.ttl_seconds(now, self.default_ttl_seconds) {
            t if t <= 0 => Ttl::Expired,
            _ if self.disable_ttl => Ttl::Persist,
            t => Ttl::Seconds(t as u64),
        }
    }

    /// Reads express-session's and connect-redis's options: `SESSION_SECRET`
    /// (required; comma-separated, the first signs), `SESSION_COOKIE_*`,
    /// `SESSION_MAX_AGE_MS`, `SESSION_PREFIX`, `SESSION_TTL_SECONDS`,
    /// `SESSION_RESAVE`, `SESSION_SAVE_UNINITIALIZED`, `SESSION_ROLLING`,
    /// `SESSION_UNSET`, `SESSION_DISABLE_TOUCH`, `SESSION_DISABLE_TTL`,
    /// `SESSION_PROXY` and `SESSION_ABSOLUTE_TIMEOUT_SECONDS`. Unset options take the seed demo's defaults.
    /// `SESSION_ENVIRONMENT` decides what a short secret gets ([`secret_verdict`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first variable that is missing or invalid, a signing secret
    /// under [`MIN_SECRET_BYTES`] in production among them.
    pub fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        v.required("SESSION_SECRET")?;
        let list = secret_list(v);
        let signing = list.first().map_or(0, String::len);
        let secrets = Secrets::new(list).ok_or(ConfigError::Invalid {
            name: "SESSION_SECRET",
            value: "(hidden)".into(),
            expected: "one or more non-empty secrets separated by commas",
        })?;
        let environment = Environment::from_vars(v)?;
        if secret_verdict(environment, true, signing) == SecretVerdict::Refuse {
            return Err(ConfigError::Invalid {
                name: "SESSION_SECRET",
                value: "(hidden)".into(),
                expected: "a signing secret (the first) of at least 32 bytes in production, e.g. `openssl rand -base64 48`; SESSION_ENVIRONMENT=development accepts a shorter one with a warning",
            });
        }

        const MAX_AGE: &str = "milliseconds (a positive integer) or `none` for a browser-session cookie";
        let max_age = match v.text("SESSION_MAX_AGE_MS") {
            Some(t) if t.trim().eq_ignore_ascii_case("none") => None,
            _ => Some(v.number("SESSION_MAX_AGE_MS", 60_000, HUNDRED_YEARS_SECONDS * 1000, MAX_AGE)? as f64),
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
        let (same_site, same_site_auto) = v.choice(
            "SESSION_COOKIE_SAMESITE",
            &[
                ("true", (Some(SameSite::Flag(true)), false)),
                ("false", (Some(SameSite::Flag(false)), false)),
                ("lax", (Some(SameSite::Text("lax".into())), false)),
                ("strict", (Some(SameSite::Text("strict".into())), false)),
                ("none", (Some(SameSite::Text("none".into())), false)),
                // express-session 1.19: `none` for a secure request, else `lax`.
                ("auto", (None, true)),
            ],
            (None, false),
            "lax, strict, none, auto, true or false",
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

        let cookie_name = v.text("SESSION_COOKIE_NAME").unwrap_or_else(|| DEFAULT_COOKIE_NAME.into());
        if !cookie_name.bytes().all(is_token_byte) {
            return Err(ConfigError::Invalid {
                name: "SESSION_COOKIE_NAME",
                value: cookie_name,
                expected: "a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
            });
        }

        let always_secure = cookie.secure == Some(true);
        if let Some(why) = decide::cookie_prefix_violation(
            &cookie_name,
            always_secure,
            cookie.path.as_deref(),
            cookie.domain.as_deref(),
        ) {
            return Err(ConfigError::Invalid { name: "SESSION_COOKIE_NAME", value: cookie_name, expected: why });
        }

        const SECONDS: &str = "seconds (a positive integer)";
        let session = SessionConfig {
            cookie_name,
            secrets,
            // An empty prefix is legal in connect-redis, so it is not dropped as blank.
            prefix: v.raw("SESSION_PREFIX").unwrap_or_else(|| keys::DEFAULT_SESSION_PREFIX.into()),
            cookie,
            secure_auto,
            same_site_auto,
            policy: Policy {
                resave: v.flag("SESSION_RESAVE", false)?,
                save_uninitialized: v.flag("SESSION_SAVE_UNINITIALIZED", true)?,
                rolling: v.flag("SESSION_ROLLING", false)?,
            },
            default_ttl_seconds: v.number(
                "SESSION_TTL_SECONDS",
                DEFAULT_TTL_SECONDS as u64,
                HUNDRED_YEARS_SECONDS,
                SECONDS,
            )? as i64,
            unset: v.choice(
                "SESSION_UNSET",
                &[("keep", Unset::Keep), ("destroy", Unset::Destroy)],
                Unset::Keep,
                "keep or destroy",
            )?,
            disable_touch: v.flag("SESSION_DISABLE_TOUCH", false)?,
            // 0 (the default) touches on every request, as connect-redis;
            // `number` takes only positive values, so 0 is read here.
            touch_after_seconds: match v.text("SESSION_TOUCH_AFTER_SECONDS").as_deref().map(str::trim) {
                Some("0") => 0,
                _ => v.number(
                    "SESSION_TOUCH_AFTER_SECONDS",
                    0,
                    HUNDRED_YEARS_SECONDS,
                    "seconds (0 or a positive integer)",
                )?,
            },
            disable_ttl: v.flag("SESSION_DISABLE_TTL", false)?,
            trust_proxy: v.flag("SESSION_PROXY", false)?,
            passport_user_field: v.text("SESSION_PASSPORT_USER_FIELD").map(|f| f.trim().to_owned()),
            absolute_timeout_seconds: match v.text("SESSION_ABSOLUTE_TIMEOUT_SECONDS") {
                None => None,
                Some(_) => Some(v.number(
                    "SESSION_ABSOLUTE_TIMEOUT_SECONDS",
                    0,
                    HUNDRED_YEARS_SECONDS,
                    "seconds (a positive integer), or unset for no absolute lifetime",
                )?),
            },
        };
        Ok(session)
    }
}

#[cfg(feature = "accounts")]
impl AccountsConfig {
    /// Reads the `AUTH_*` options: `AUTH_PBKDF2_ITERATIONS`, `AUTH_PEPPER`,
    /// `AUTH_PEPPER_PREVIOUS`,
    /// `AUTH_MAX_FAILURES_PER_USER`, `AUTH_MAX_FAILURES_PER_USER_AND_IP`,
    /// `AUTH_MAX_FAILURES_PER_IP`,
    /// `AUTH_MAX_REGISTRATIONS_PER_IP`, `AUTH_MAX_REGISTRATIONS`,
    /// `AUTH_MAX_ATTEMPTS_WITHOUT_ADDRESS`, `AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS`, `AUTH_CONTEXT_WORDS`,
    /// `AUTH_FAILURE_WINDOW_SECONDS`,
    /// `AUTH_USER_PREFIX`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first variable that is invalid.
    pub fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        const COUNT: &str = "a positive integer";
        Ok(AccountsConfig {
            iterations: v.number(
                "AUTH_PBKDF2_ITERATIONS",
                DEFAULT_PBKDF2_ITERATIONS.into(),
                100_000,
                "1 to 100000 iterations (the Workers runtime refuses more)",
            )? as u32,
            peppers: crate::accounts::password::Peppers {
                current: pepper(v, "AUTH_PEPPER")?,
                previous: pepper(v, "AUTH_PEPPER_PREVIOUS")?,
            },
            max_failures_per_user: v.number("AUTH_MAX_FAILURES_PER_USER", 10, i64::MAX as u64, COUNT)? as i64,
            max_failures_per_user_and_ip: v.number("AUTH_MAX_FAILURES_PER_USER_AND_IP", 5, i64::MAX as u64, COUNT)?
                as i64,
            max_failures_per_ip: v.number("AUTH_MAX_FAILURES_PER_IP", 20, i64::MAX as u64, COUNT)? as i64,
            max_registrations_per_ip: v.number("AUTH_MAX_REGISTRATIONS_PER_IP", 10, i64::MAX as u64, COUNT)? as i64,
            max_registrations: v.number("AUTH_MAX_REGISTRATIONS", 1000, i64::MAX as u64, COUNT)? as i64,
            unverified_ttl_seconds: match v.text("AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS").as_deref().map(str::trim) {
                // 0: accounts never expire; `number` takes only positive values.
                Some("0") => None,
                _ => Some(v.number(
                    "AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS",
                    7 * 24 * 3600,
                    HUNDRED_YEARS_SECONDS,
                    "seconds (a positive integer), or 0 for accounts that never expire",
                )?),
            },
            context_words: v
                .text("AUTH_CONTEXT_WORDS")
                .map(|list| {
                    list.split(',').map(|w| crate::builtins::lowercase(w.trim())).filter(|w| !w.is_empty()).collect()
                })
                .unwrap_or_default(),
            max_attempts_without_address: v.number("AUTH_MAX_ATTEMPTS_WITHOUT_ADDRESS", 5, i64::MAX as u64, COUNT)?
                as i64,
            failure_window_seconds: v.number(
                "AUTH_FAILURE_WINDOW_SECONDS",
                900,
                7 * 24 * 3600,
                "seconds, at most a week",
            )?,
            user_prefix: v.raw("AUTH_USER_PREFIX").unwrap_or_else(|| keys::DEFAULT_USER_PREFIX.into()),
        })
    }
}

/// A pepper variable: unset is no pepper; a value must have at least
/// [`crate::accounts::password::MIN_PEPPER_BYTES`] bytes.
#[cfg(feature = "accounts")]
fn pepper(v: &Vars<'_>, name: &'static str) -> Result<Option<crate::accounts::password::Pepper>, ConfigError> {
    use crate::accounts::password::{Pepper, MIN_PEPPER_BYTES};
    match v.raw(name) {
        None => Ok(None),
        Some(secret) if secret.len() >= MIN_PEPPER_BYTES => Ok(Some(Pepper::new(&secret))),
        // The value is a secret: never echoed.
        Some(_) => Err(ConfigError::Invalid {
            name,
            value: "(hidden)".into(),
            expected: "a secret of at least 32 bytes (e.g. openssl rand -base64 48)",
        }),
    }
}

/// The PBKDF2 iteration count for new password hashes. Chosen so that a
/// login stays well inside the Workers free plan's 10 ms of CPU (measured
/// in workerd: docs/BENCHMARKS.md); Workers refuse more than 100 000.
#[cfg(feature = "accounts")]
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 20_000;

/// Caps on durations: past them Redis refuses the TTL or dates overflow.
pub const HUNDRED_YEARS_SECONDS: u64 = 100 * 365 * 24 * 3600;

/// Typed reads of configuration variables (wrangler `[vars]` and secrets,
/// or anything else that maps a name to a value); a blank value counts as
/// unset. Each reader names the variable in its error.
pub struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> Vars<'a> {
    /// Reads through `var`, which returns a variable's value if it is set.
    pub fn new(var: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(var)
    }

    /// The value exactly as set, blank included (for options where an
    /// empty value means something, such as connect-redis's `prefix`).
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    /// The value, unless unset or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// Refuses any of `dependents` that is set: they only mean something
    /// beside a variable that is unset (gateway mode's `GATEWAY_*` without
    /// `ORIGIN_URL`), and would otherwise be ignored without a word.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the first one set, with `expected`.
    pub fn refuse_set(&self, dependents: &[&'static str], expected: &'static str) -> Result<(), ConfigError> {
        match dependents.iter().find(|name| self.text(name).is_some()) {
            Some(name) => Err(ConfigError::Invalid { name, value: "(set)".into(), expected }),
            None => Ok(()),
        }
    }

    /// A cookie attribute value: no `;`, no control characters, which would
    /// let the value smuggle other attributes or headers.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a value with `;` or a control character.
    pub fn attribute(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        match self.text(name) {
            Some(v) if v.chars().any(|c| c == ';' || c.is_control()) => {
                Err(ConfigError::Invalid { name, value: v, expected: "a value without ';' or control characters" })
            }
            other => Ok(other.map(|v| v.trim().to_owned())),
        }
    }

    /// A value that must be set.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] when it is unset or blank.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.text(name).ok_or(ConfigError::Missing { name })
    }

    /// A positive integer up to `max`, or `default` when unset.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `expected` for anything else.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        max: u64,
        expected: &'static str,
    ) -> Result<u64, ConfigError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 && n <= max => Ok(n),
                _ => Err(ConfigError::Invalid { name, value: v, expected }),
            },
        }
    }

    /// `true`/`1`/`yes` or `false`/`0`/`no` (any case), or `default`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for any other value.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.choice(
            name,
            &[("true", true), ("1", true), ("yes", true), ("false", false), ("0", false), ("no", false)],
            default,
            "true or false",
        )
    }

    /// One of `options`, matched without regard to case, or `default`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `expected` for any other value.
    pub fn choice<T: Clone>(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_vars_mean_what_quoted_ones_do() {
        let text = |v: VarValue, kind| v.into_text("X", Some(kind));
        assert_eq!(text(VarValue::Number(3_600_000.0), VarType::Number).unwrap(), "3600000");
        assert_eq!(text(VarValue::Number(1.5), VarType::Number).unwrap(), "1.5");
        assert_eq!(text(VarValue::Bool(true), VarType::Flag).unwrap(), "true");
        assert_eq!(text(VarValue::Bool(false), VarType::WordOrFlag).unwrap(), "false");
        assert_eq!(text(VarValue::Number(1.0), VarType::Flag).unwrap(), "1");
        assert_eq!(text(VarValue::Text(" lax ".into()), VarType::Word).unwrap(), " lax ");
        let read = |name: &str| match name {
            "SESSION_SECRET" => Some("a-32-byte-or-longer-random-secret".to_owned()),
            "SESSION_MAX_AGE_MS" => VarValue::Number(3_600_000.0).into_text(name, var_type(name, &[VARIABLES])).ok(),
            "SESSION_COOKIE_SECURE" => VarValue::Bool(true).into_text(name, var_type(name, &[VARIABLES])).ok(),
            _ => None,
        };
        let config = SessionConfig::from_vars(&Vars::new(&read)).unwrap();
        assert_eq!(config.cookie.original_max_age, Some(3_600_000.0));
        assert_eq!(config.cookie.secure, Some(true));
    }

    #[test]
    fn a_value_of_a_type_the_option_does_not_take_is_refused_naming_it() {
        use VarType::*;
        // (type, value) → accepted
        for (kind, value, ok) in [
            (Text, VarValue::Number(5.0), false),
            (Text, VarValue::Bool(true), false),
            (Word, VarValue::Bool(true), false),
            (Word, VarValue::Number(1.0), false),
            (WordOrFlag, VarValue::Number(1.0), false),
            (Number, VarValue::Bool(true), false),
            (Flag, VarValue::Other("a table"), false),
            (Number, VarValue::Other("an array"), false),
            (Text, VarValue::Text("x".into()), true),
            (Number, VarValue::Number(2.0), true),
            (Flag, VarValue::Bool(false), true),
            (WordOrFlag, VarValue::Bool(true), true),
        ] {
            let got = value.clone().into_text("SESSION_X", Some(kind));
            assert_eq!(got.is_ok(), ok, "{kind:?} {value:?}: {got:?}");
            if let Err(e) = got {
                assert!(e.to_string().starts_with("SESSION_X is a"), "{e}");
                assert_eq!(e.public_message(), e.to_string(), "no value in it to hide");
            }
        }
        // A worker's own variable, not in the table: numbers and booleans as text.
        assert_eq!(VarValue::Bool(true).into_text("MY_FLAG", None).unwrap(), "true");
        assert!(VarValue::Other("an array").into_text("MY_LIST", None).is_err());
    }

    #[test]
    fn secret_verdict_truth_table() {
        use Environment::{Development as Dev, Production as Prod};
        use SecretVerdict::{Refuse, Strong, Warn};
        // (environment, signs, bytes) → verdict
        for (env, signs, bytes, want) in [
            (Prod, true, 32, Strong),
            (Prod, true, 31, Refuse),
            (Prod, true, 12, Refuse),
            (Prod, false, 12, Warn),
            (Prod, false, 64, Strong),
            (Dev, true, 12, Warn),
            (Dev, false, 12, Warn),
            (Dev, true, 32, Strong),
        ] {
            assert_eq!(secret_verdict(env, signs, bytes), want, "{env:?} signs={signs} {bytes} bytes");
        }
    }

    fn session(pairs: &[(&str, &str)]) -> (Result<SessionConfig, ConfigError>, Vec<String>) {
        let read = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        let vars = Vars::new(&read);
        (SessionConfig::from_vars(&vars), config_warnings(&vars))
    }

    #[test]
    fn a_weak_signing_secret_is_refused_in_production_and_warned_about_in_development() {
        let strong = "a-32-byte-or-longer-random-secret";
        let (refused, _) = session(&[("SESSION_SECRET", "keyboard cat")]);
        let err = refused.unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "SESSION_SECRET", .. }), "{err:?}");
        assert!(!err.to_string().contains("keyboard"), "never echoed: {err}");
        assert!(err.to_string().contains("at least 32 bytes"), "{err}");
        let (dev, warnings) = session(&[("SESSION_SECRET", "keyboard cat"), ("SESSION_ENVIRONMENT", "development")]);
        assert!(dev.is_ok());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("the signing secret has 12 bytes") && !warnings[0].contains("keyboard"));
        // A rotation away from a weak secret: the old one verifies, with a warning.
        let rotating = format!("{strong},keyboard cat");
        let (prod, warnings) = session(&[("SESSION_SECRET", &rotating)]);
        assert!(prod.is_ok());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("secret 2 (verify only)"), "{warnings:?}");
        let (ok, warnings) = session(&[("SESSION_SECRET", strong), ("SESSION_ENVIRONMENT", "Production")]);
        assert!(ok.is_ok() && warnings.is_empty());
        let (misspelt, _) = session(&[("SESSION_SECRET", strong), ("SESSION_ENVIRONMENT", "prod")]);
        assert!(matches!(misspelt, Err(ConfigError::Invalid { name: "SESSION_ENVIRONMENT", .. })));
    }
}
