//! The demo worker's whole configuration, read from wrangler vars and
//! secrets once: the library's parts (session, store, accounts), each
//! validated by its own reader, so a bad value stops the worker with a
//! message naming the variable instead of silently falling back to a
//! default.

use crate::app::web_url::WebUrl;
use edge_session::accounts::AccountsConfig;
use edge_session::config::{ConfigError, UpstashConfig, VarType, Vars};
use edge_session::gateway::GatewayConfig;
use edge_session::session::SessionConfig;
use std::time::Duration;

/// The worker's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The session layer's options.
    pub session: SessionConfig,
    /// Where the store is.
    pub upstash: UpstashConfig,
    /// Account options.
    pub accounts: AccountsConfig,
    /// Which of the worker's own routes it answers.
    pub routes: Routes,
    /// Gateway mode (`ORIGIN_URL`): where every other request goes.
    pub gateway: Option<GatewayConfig>,
    /// `DEMO_EXPRESS_URL`: an Express app serving the same sessions (the
    /// companion `make dev` starts), linked from the page as "Open this
    /// session in Express"; `None` hides the link.
    pub express_url: Option<String>,
    /// The upstream beer-name API (`BEER_API_URL`), if one is set: the
    /// demo's own generator names the beers otherwise.
    pub beer_api: Option<BeerApiConfig>,
}

/// The demo's own variables, beside the library's
/// ([`edge_session::config::VARIABLES`]), with their types.
pub const DEMO_VARIABLES: &[(&str, VarType)] = &[
    ("DEMO_ROUTES", VarType::Flag),
    ("ACCOUNTS_ROUTES", VarType::Flag),
    ("ACCOUNTS_REGISTRATION", VarType::Flag),
    ("DEMO_EXPRESS_URL", VarType::Text),
    ("BEER_API_URL", VarType::Text),
    ("BEER_API_TIMEOUT_MS", VarType::Number),
    ("BEER_CACHE_SECONDS", VarType::Number),
];

/// The default of `BEER_API_TIMEOUT_MS`: a pour waits at most this long for
/// the upstream before the generator names the beer.
pub const DEFAULT_BEER_API_TIMEOUT: Duration = Duration::from_millis(1_000);

/// The default of `BEER_CACHE_SECONDS`: how long the upstream's answer is
/// kept in Redis.
pub const DEFAULT_BEER_CACHE_SECONDS: u64 = 300;

/// The optional upstream beer-name API (issue 13, point 5): a JSON list of
/// beers fetched with a timeout and cached in Redis
/// (`edge_session::keys::beer_cache`).
#[derive(Clone, PartialEq, Eq)]
pub struct BeerApiConfig {
    /// `BEER_API_URL`: an http(s) URL answering a JSON array of objects
    /// with a string `name`, or one such object. It may carry an API key in
    /// its query, so it is never logged (`Debug` shows its origin only).
    pub url: String,
    /// `BEER_API_TIMEOUT_MS` (default 1000, 1 to 30000): how long a pour
    /// waits for the upstream, its body included.
    pub timeout: Duration,
    /// `BEER_CACHE_SECONDS` (default 300, 1 to 86400): the TTL of the cached
    /// answer.
    pub cache_seconds: u64,
}

impl std::fmt::Debug for BeerApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path and query may hold an API key: the origin says enough.
        let origin = WebUrl::parse(&self.url).map(|u| u.origin).unwrap_or_default();
        f.debug_struct("BeerApiConfig")
            .field("url", &format!("{origin}/(redacted)"))
            .field("timeout", &self.timeout)
            .field("cache_seconds", &self.cache_seconds)
            .finish()
    }
}

impl BeerApiConfig {
    /// Reads `BEER_API_URL`, `BEER_API_TIMEOUT_MS` and
    /// `BEER_CACHE_SECONDS`; `None` when `BEER_API_URL` is unset or empty
    /// (the generator only).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the variable: a `BEER_API_URL` that is not an
    /// http(s) URL with a host and without credentials, a timeout or TTL
    /// out of range, and either of the other two set without
    /// `BEER_API_URL` (it would otherwise be ignored without a word).
    pub fn from_vars(v: &Vars<'_>) -> Result<Option<Self>, ConfigError> {
        let Some(url) = v.text("BEER_API_URL") else {
            v.refuse_set(
                &["BEER_API_TIMEOUT_MS", "BEER_CACHE_SECONDS"],
                "only with BEER_API_URL; set BEER_API_URL or remove it",
            )?;
            return Ok(None);
        };
        let url = url.trim().to_owned();
        if !is_api_url(&url) {
            return Err(ConfigError::Invalid {
                name: "BEER_API_URL",
                // The value may hold a key: the log gets its length only.
                value: format!("({} characters)", url.len()),
                expected: "an http(s) URL with a host and no user:password@, e.g. https://api.example.com/beers",
            });
        }
        let timeout_ms = v.number(
            "BEER_API_TIMEOUT_MS",
            DEFAULT_BEER_API_TIMEOUT.as_millis() as u64,
            30_000,
            "milliseconds, 1 to 30000",
        )?;
        let cache_seconds =
            v.number("BEER_CACHE_SECONDS", DEFAULT_BEER_CACHE_SECONDS, 86_400, "seconds, 1 to 86400")?;
        Ok(Some(Self { url, timeout: Duration::from_millis(timeout_ms), cache_seconds }))
    }
}

/// Whether `url` is one `BEER_API_URL` takes: `http` or `https`, a host,
/// no credentials (the runtime's `fetch` refuses them; a key goes in the
/// query).
fn is_api_url(url: &str) -> bool {
    WebUrl::parse(url)
        .is_some_and(|u| matches!(u.scheme.as_str(), "http" | "https") && !u.host.is_empty() && !u.credentials)
}

/// Which of the worker's own routes are on. A route that is off is not the
/// worker's: it is forwarded to the origin in gateway mode, and a 404
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routes {
    /// `DEMO_ROUTES` (default true): the craft-beer demo's `/api/session`
    /// and `/api/pour`.
    pub demo: bool,
    /// `ACCOUNTS_ROUTES` (default true): `/api/register`, `/api/login`,
    /// `/api/logout`, `/api/logout-all` and `/api/password`.
    pub accounts: bool,
    /// `ACCOUNTS_REGISTRATION` (default true): whether anyone may register;
    /// when false `POST /api/register` answers 403, and accounts come from
    /// elsewhere (an Express app writing the same records, an operator).
    pub registration: bool,
}

impl Config {
    /// Reads the configuration through `var`, which returns a variable's or
    /// secret's value.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first variable that is missing or invalid.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let v = Vars::new(&var);
        Ok(Self {
            session: SessionConfig::from_vars(&v)?,
            upstash: UpstashConfig::from_vars(&v)?,
            accounts: AccountsConfig::from_vars(&v)?,
            routes: Routes {
                demo: v.flag("DEMO_ROUTES", true)?,
                accounts: v.flag("ACCOUNTS_ROUTES", true)?,
                registration: v.flag("ACCOUNTS_REGISTRATION", true)?,
            },
            gateway: GatewayConfig::from_vars(&v)?,
            express_url: express_url(&v)?,
            beer_api: BeerApiConfig::from_vars(&v)?,
        })
    }
}

/// `DEMO_EXPRESS_URL`, an absolute http(s) URL, if set.
fn express_url(v: &Vars<'_>) -> Result<Option<String>, ConfigError> {
    let Some(text) = v.text("DEMO_EXPRESS_URL") else { return Ok(None) };
    // An http(s) URL always has a host (the standard refuses one without).
    match WebUrl::parse(text.trim()) {
        Some(u) if matches!(u.scheme.as_str(), "http" | "https") && !u.host.is_empty() => Ok(Some(u.href)),
        _ => Err(ConfigError::Invalid {
            name: "DEMO_EXPRESS_URL",
            value: text,
            expected: "an http(s) URL of the Express app sharing the sessions, e.g. http://127.0.0.1:3000/",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_session::config::VarType;
    use edge_session::session::cookie::Secrets;
    use edge_session::session::decide::Policy;
    use edge_session::session::document::SameSite;
    use std::collections::HashMap;
    use std::time::Duration;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars: HashMap<String, String> = [
            ("SESSION_SECRET", "keyboard cat"),
            ("SESSION_ENVIRONMENT", "development"),
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
        assert_eq!(s.default_ttl_seconds, 86_400);
        assert_eq!(c.upstash.timeout, Duration::from_secs(5));
    }

    #[test]
    fn touch_after_takes_zero_and_seconds() {
        assert_eq!(with(&[]).unwrap().session.touch_after_seconds, 0, "every request, as connect-redis");
        assert_eq!(with(&[("SESSION_TOUCH_AFTER_SECONDS", "0")]).unwrap().session.touch_after_seconds, 0);
        assert_eq!(with(&[("SESSION_TOUCH_AFTER_SECONDS", " 30 ")]).unwrap().session.touch_after_seconds, 30);
        for bad in ["-1", "1.5", "soon"] {
            let err = with(&[("SESSION_TOUCH_AFTER_SECONDS", bad)]).unwrap_err().to_string();
            assert!(err.contains("SESSION_TOUCH_AFTER_SECONDS"), "{err}");
        }
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

    /// Every variable, written as a string, a number, a boolean, empty and
    /// garbage (issue: unquoted `[vars]` were ignored): each is honoured or
    /// refused with an error naming the variable, never dropped.
    #[test]
    fn every_variable_honours_or_refuses_every_kind_of_value() {
        use edge_session::config::{var_type, VarValue, VARIABLES};
        const STRONG: &str = "a-32-byte-or-longer-random-secret";
        let base: &[(&str, &str)] = &[
            ("SESSION_SECRET", STRONG),
            ("UPSTASH_REDIS_REST_URL", "http://127.0.0.1:8079"),
            ("UPSTASH_REDIS_REST_TOKEN", "t"),
        ];
        let gateway: &[(&str, &str)] = &[("ORIGIN_URL", "https://origin.example"), ("GATEWAY_SECRET", STRONG)];
        let pepper: &[(&str, &str)] = &[("AUTH_PEPPER", STRONG)];
        let beer: &[(&str, &str)] = &[("BEER_API_URL", "http://127.0.0.1:9/beers")];
        // (variable, extra variables it needs, a good string, a number that
        // means something to it, garbage (None: any text is valid), what an
        // empty value gives: Ok, or the variable the error names)
        type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, f64, Option<&'a str>, Result<(), &'a str>);
        let flag = |name| -> Row { (name, &[], "false", 1.0, Some("perhaps"), Ok(())) };
        let count = |name| -> Row { (name, &[], "5", 5.0, Some("0"), Ok(())) };
        let rows: Vec<Row> = vec![
            ("SESSION_SECRET", &[], "new-secret-of-at-least-32-bytes!,old", 0.0, Some("a,,b"), Err("SESSION_SECRET")),
            ("SESSION_ENVIRONMENT", &[], "development", 0.0, Some("prod"), Ok(())),
            (
                "UPSTASH_REDIS_REST_URL",
                &[],
                "https://eu1.upstash.io",
                0.0,
                Some("redis://x"),
                Err("UPSTASH_REDIS_REST_URL"),
            ),
            ("UPSTASH_REDIS_REST_TOKEN", &[], "token", 0.0, None, Err("UPSTASH_REDIS_REST_TOKEN")),
            ("SESSION_STORE_TIMEOUT_MS", &[], "2000", 2000.0, Some("soon"), Ok(())),
            ("SESSION_COOKIE_NAME", &[], "sid", 0.0, Some("bad name;"), Ok(())),
            ("SESSION_MAX_AGE_MS", &[], "none", 3_600_000.0, Some("sixty"), Ok(())),
            ("SESSION_COOKIE_PATH", &[], "/api", 0.0, Some("/\r\nX-Evil: 1"), Ok(())),
            ("SESSION_COOKIE_DOMAIN", &[], "example.com", 0.0, Some("example.com; Secure"), Ok(())),
            flag("SESSION_COOKIE_HTTP_ONLY"),
            ("SESSION_COOKIE_SECURE", &[], "auto", 0.0, Some("maybe"), Ok(())),
            ("SESSION_COOKIE_SAMESITE", &[], "lax", 0.0, Some("sometimes"), Ok(())),
            flag("SESSION_COOKIE_PARTITIONED"),
            ("SESSION_COOKIE_PRIORITY", &[], "high", 0.0, Some("urgent"), Ok(())),
            flag("SESSION_ROLLING"),
            flag("SESSION_RESAVE"),
            flag("SESSION_SAVE_UNINITIALIZED"),
            ("SESSION_UNSET", &[], "destroy", 0.0, Some("maybe"), Ok(())),
            flag("SESSION_PROXY"),
            ("SESSION_PREFIX", &[], "app:", 0.0, None, Ok(())),
            ("SESSION_TTL_SECONDS", &[], "60", 60.0, Some("99999999999999"), Ok(())),
            flag("SESSION_DISABLE_TOUCH"),
            ("SESSION_TOUCH_AFTER_SECONDS", &[], "30", 30.0, Some("-1"), Ok(())),
            ("SESSION_ABSOLUTE_TIMEOUT_SECONDS", &[], "43200", 43200.0, Some("1.5"), Ok(())),
            flag("SESSION_DISABLE_TTL"),
            ("SESSION_PASSPORT_USER_FIELD", &[], "id", 0.0, None, Ok(())),
            (
                "ORIGIN_URL",
                &[("GATEWAY_SECRET", STRONG)],
                "https://origin.example",
                0.0,
                Some("https://origin.example/app"),
                Err("GATEWAY_SECRET"),
            ),
            (
                "GATEWAY_SECRET",
                &[("ORIGIN_URL", "https://origin.example")],
                STRONG,
                0.0,
                Some("short"),
                Err("GATEWAY_SECRET"),
            ),
            ("GATEWAY_REQUIRE_LOGIN", gateway, "/account/*,/admin", 0.0, Some("account"), Ok(())),
            ("GATEWAY_LOGIN_URL", gateway, "/login", 0.0, Some("/login\n"), Ok(())),
            ("GATEWAY_ORIGIN_TIMEOUT_MS", gateway, "30000", 30000.0, Some("700000"), Ok(())),
            ("AUTH_PBKDF2_ITERATIONS", &[], "1000", 1000.0, Some("200000"), Ok(())),
            // A secret set empty is a failed `wrangler secret put`, not "none".
            ("AUTH_PEPPER", &[], STRONG, 0.0, Some("short"), Err("AUTH_PEPPER")),
            ("AUTH_PEPPER_PREVIOUS", pepper, STRONG, 0.0, Some("short"), Err("AUTH_PEPPER_PREVIOUS")),
            count("AUTH_MAX_FAILURES_PER_USER"),
            count("AUTH_MAX_FAILURES_PER_USER_AND_IP"),
            count("AUTH_MAX_FAILURES_PER_IP"),
            count("AUTH_MAX_REGISTRATIONS"),
            count("AUTH_MAX_REGISTRATIONS_PER_IP"),
            ("AUTH_CONTEXT_WORDS", &[], "shop,example", 0.0, None, Ok(())),
            ("AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS", &[], "0", 3600.0, Some("a week"), Ok(())),
            count("AUTH_MAX_ATTEMPTS_WITHOUT_ADDRESS"),
            ("AUTH_FAILURE_WINDOW_SECONDS", &[], "60", 60.0, Some("soon"), Ok(())),
            ("AUTH_USER_PREFIX", &[], "account:", 0.0, None, Ok(())),
            flag("DEMO_ROUTES"),
            flag("ACCOUNTS_ROUTES"),
            flag("ACCOUNTS_REGISTRATION"),
            ("DEMO_EXPRESS_URL", &[], "http://127.0.0.1:3000/", 0.0, Some("ftp://127.0.0.1/"), Ok(())),
            ("BEER_API_URL", &[], "https://api.example.com/beers?key=k", 0.0, Some("ftp://beer.example"), Ok(())),
            ("BEER_API_TIMEOUT_MS", beer, "1500", 1500.0, Some("30001"), Ok(())),
            ("BEER_CACHE_SECONDS", beer, "60", 60.0, Some("-5"), Ok(())),
        ];
        let mut listed: Vec<&str> = VARIABLES.iter().chain(DEMO_VARIABLES).map(|(n, _)| *n).collect();
        let mut tested: Vec<&str> = rows.iter().map(|r| r.0).collect();
        listed.sort_unstable();
        tested.sort_unstable();
        assert_eq!(tested, listed, "one row per variable");

        // Reads the configuration with `name` set to `value` as the platform
        // hands it over; Err is the variable the error names.
        let read = |name: &str, extra: &[(&str, &str)], value: VarValue| -> Result<Config, String> {
            let kind = var_type(name, &[VARIABLES, DEMO_VARIABLES]);
            let text = value.into_text(name, kind).map_err(|e| match e {
                ConfigError::WrongType { name, .. } => name,
                other => panic!("{other}"),
            })?;
            let vars: Vec<(&str, String)> = base
                .iter()
                .chain(extra)
                .map(|(k, v)| (*k, v.to_string()))
                .filter(|(k, _)| *k != name)
                .chain([(name, text)])
                .collect();
            Config::from_vars(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())).map_err(|e| match e {
                ConfigError::Missing { name } | ConfigError::Invalid { name, .. } => name.to_owned(),
                ConfigError::WrongType { name, .. } => name,
            })
        };
        for (name, extra, good, number, garbage, empty) in rows {
            let kind = var_type(name, &[VARIABLES, DEMO_VARIABLES]).unwrap();
            let named = |r: Result<Config, String>| r.map(|_| ());
            assert_eq!(named(read(name, extra, VarValue::Text(good.into()))), Ok(()), "{name} = {good:?}");
            let as_number = read(name, extra, VarValue::Number(number));
            match kind {
                VarType::Number | VarType::Flag => {
                    assert!(as_number.is_ok(), "{name} = {number}: {:?}", as_number.err())
                }
                _ => assert_eq!(as_number.err().as_deref(), Some(name), "{name} = {number} (a number) is refused"),
            }
            let as_bool = read(name, extra, VarValue::Bool(true));
            match kind {
                VarType::Flag | VarType::WordOrFlag => assert!(as_bool.is_ok(), "{name} = true: {:?}", as_bool.err()),
                _ => assert_eq!(as_bool.err().as_deref(), Some(name), "{name} = true (a boolean) is refused"),
            }
            for other in ["a table", "an array"] {
                assert_eq!(
                    read(name, extra, VarValue::Other(other)).err().as_deref(),
                    Some(name),
                    "{name} as a {other}"
                );
            }
            let blank = named(read(name, extra, VarValue::Text(String::new())));
            assert_eq!(blank, empty.map_err(str::to_owned), "{name} = \"\"");
            if let Some(garbage) = garbage {
                assert_eq!(
                    read(name, extra, VarValue::Text(garbage.into())).err().as_deref(),
                    Some(name),
                    "{name} = {garbage:?}"
                );
            }
        }
    }

    #[test]
    fn the_beer_api_is_off_by_default_and_checked_when_on() {
        let off = with(&[]).unwrap();
        assert_eq!(off.beer_api, None);
        let on = with(&[("BEER_API_URL", " https://api.example.com/beers?key=secret ")]).unwrap();
        let api = on.beer_api.unwrap();
        assert_eq!(api.url, "https://api.example.com/beers?key=secret");
        assert_eq!((api.timeout, api.cache_seconds), (DEFAULT_BEER_API_TIMEOUT, DEFAULT_BEER_CACHE_SECONDS));
        assert!(!format!("{api:?}").contains("secret"), "the key stays out of Debug: {api:?}");
        for bad in ["api.example.com/beers", "ftp://x", "https://", "https://u:p@api.example.com/", "not a url"] {
            let err = with(&[("BEER_API_URL", bad)]).unwrap_err();
            assert!(err.to_string().starts_with("BEER_API_URL"), "{bad}: {err}");
            assert!(!err.to_string().contains("u:p"), "the value stays out of the log: {err}");
        }
        for (name, value) in [("BEER_API_TIMEOUT_MS", "0"), ("BEER_CACHE_SECONDS", "86401")] {
            let err = with(&[("BEER_API_URL", "http://127.0.0.1:9/"), (name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
            let alone = with(&[(name, "5")]).unwrap_err();
            assert!(alone.to_string().starts_with(name) && alone.to_string().contains("BEER_API_URL"), "{alone}");
        }
        let set = with(&[
            ("BEER_API_URL", "http://127.0.0.1:9/"),
            ("BEER_API_TIMEOUT_MS", "250"),
            ("BEER_CACHE_SECONDS", "1"),
        ])
        .unwrap()
        .beer_api
        .unwrap();
        assert_eq!((set.timeout, set.cache_seconds), (Duration::from_millis(250), 1));
    }

    /// The README's configuration table lists every variable.
    #[test]
    fn the_readme_lists_every_variable() {
        let readme = include_str!("../README.md");
        for (name, _) in edge_session::config::VARIABLES.iter().chain(DEMO_VARIABLES) {
            assert!(readme.contains(&format!("| `{name}`")), "README's configuration table lacks {name}");
        }
    }
}
