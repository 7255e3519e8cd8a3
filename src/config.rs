//! The demo worker's whole configuration, read from wrangler vars and
//! secrets once: the library's parts (session, store, accounts), each
//! validated by its own reader, so a bad value stops the worker with a
//! message naming the variable instead of silently falling back to a
//! default.

use edge_session::accounts::AccountsConfig;
use edge_session::config::{ConfigError, UpstashConfig, VarType, Vars};
use edge_session::gateway::GatewayConfig;
use edge_session::session::SessionConfig;

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
}

/// The demo's own variables, beside the library's
/// ([`edge_session::config::VARIABLES`]), with their types.
pub const DEMO_VARIABLES: &[(&str, VarType)] = &[
    ("DEMO_ROUTES", VarType::Flag),
    ("ACCOUNTS_ROUTES", VarType::Flag),
    ("ACCOUNTS_REGISTRATION", VarType::Flag),
    ("DEMO_EXPRESS_URL", VarType::Text),
];

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
        })
    }
}

/// `DEMO_EXPRESS_URL`, an absolute http(s) URL, if set.
fn express_url(v: &Vars<'_>) -> Result<Option<String>, ConfigError> {
    let Some(text) = v.text("DEMO_EXPRESS_URL") else { return Ok(None) };
    match url::Url::parse(text.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(u.to_string())),
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

    /// The README's configuration table lists every variable.
    #[test]
    fn the_readme_lists_every_variable() {
        let readme = include_str!("../README.md");
        for (name, _) in edge_session::config::VARIABLES.iter().chain(DEMO_VARIABLES) {
            assert!(readme.contains(&format!("| `{name}`")), "README's configuration table lacks {name}");
        }
    }
}
