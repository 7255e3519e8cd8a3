//! The demo worker's whole configuration, read from wrangler vars and
//! secrets once: the library's parts (session, store, accounts), each
//! validated by its own reader, so a bad value stops the worker with a
//! message naming the variable instead of silently falling back to a
//! default.

use edge_session::accounts::AccountsConfig;
use edge_session::config::{ConfigError, UpstashConfig, Vars};
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
