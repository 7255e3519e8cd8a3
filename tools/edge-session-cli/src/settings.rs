//! The configuration, read as the worker reads it: the same variables
//! (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`, `SESSION_SECRET`,
//! `SESSION_PREFIX`, `SESSION_COOKIE_*`, `AUTH_*`, …) through the library's
//! own readers (`edge_session::config`), from the process environment or a
//! dotenv file such as wrangler's `.dev.vars` (`--env-file`).

use std::collections::BTreeMap;
use std::path::Path;

use edge_session::accounts::AccountsConfig;
use edge_session::config::{UpstashConfig, Vars};
use edge_session::session::SessionConfig;

use crate::error::CliError;

/// The variables in effect: the file's, with the process environment's
/// on top (a variable set in the environment wins, as dotenv tools do, so
/// one value can be overridden for one run).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    vars: BTreeMap<String, String>,
}

impl Settings {
    /// Reads `env_file` (dotenv syntax) when given, then the environment.
    ///
    /// # Errors
    ///
    /// [`CliError::Config`] when the file cannot be read or parsed.
    pub fn load(env_file: Option<&Path>) -> Result<Self, CliError> {
        let mut vars = BTreeMap::new();
        if let Some(path) = env_file {
            let items = dotenvy::from_path_iter(path)
                .map_err(|e| CliError::Config(format!("--env-file {}: {e}", path.display())))?;
            for item in items {
                let (k, v) = item.map_err(|e| CliError::Config(format!("--env-file {}: {e}", path.display())))?;
                vars.insert(k, v);
            }
        }
        vars.extend(std::env::vars());
        Ok(Self { vars })
    }

    /// Settings from explicit pairs (tests).
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self { vars: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    /// One variable.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    /// Runs `f` with the library's view of these variables.
    pub fn with_vars<T>(&self, f: impl FnOnce(&Vars<'_>) -> T) -> T {
        let read = |name: &str| self.get(name);
        f(&Vars::new(&read))
    }

    /// The store's URL, token and time limit.
    ///
    /// # Errors
    ///
    /// [`CliError::ConfigVar`] naming the missing or invalid variable.
    pub fn upstash(&self) -> Result<UpstashConfig, CliError> {
        self.with_vars(UpstashConfig::from_vars).map_err(CliError::ConfigVar)
    }

    /// The session options (prefix, cookie name and options, secrets).
    ///
    /// # Errors
    ///
    /// [`CliError::ConfigVar`] as the worker would refuse to start.
    pub fn session(&self) -> Result<SessionConfig, CliError> {
        self.with_vars(SessionConfig::from_vars).map_err(CliError::ConfigVar)
    }

    /// The account options (user prefix, login limits).
    ///
    /// # Errors
    ///
    /// [`CliError::ConfigVar`] as the worker would refuse to start.
    pub fn accounts(&self) -> Result<AccountsConfig, CliError> {
        self.with_vars(AccountsConfig::from_vars).map_err(CliError::ConfigVar)
    }

    /// `SESSION_PREFIX` as connect-redis's `prefix` (default `sess:`),
    /// without the rest of the session options: listing sessions needs no
    /// secret.
    pub fn prefix(&self) -> String {
        self.get("SESSION_PREFIX").unwrap_or_else(|| edge_session::keys::DEFAULT_SESSION_PREFIX.to_owned())
    }

    /// `SESSION_PASSPORT_USER_FIELD`, when `passport.user` is an object.
    pub fn passport_user_field(&self) -> Option<String> {
        self.get("SESSION_PASSPORT_USER_FIELD").filter(|f| !f.is_empty())
    }

    /// `SESSION_SECRET` as its list (`config::secret_list`: comma-separated,
    /// the first signs).
    pub fn secrets(&self) -> Vec<String> {
        self.with_vars(edge_session::config::secret_list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_lists() {
        let s = Settings::from_pairs(&[("SESSION_SECRET", "new one , old one")]);
        assert_eq!(s.prefix(), "sess:");
        assert_eq!(s.secrets(), ["new one", "old one"]);
        assert_eq!(s.passport_user_field(), None);
        assert!(matches!(s.upstash(), Err(CliError::ConfigVar(_))));
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let dir = std::env::temp_dir().join(format!("edge-session-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".dev.vars");
        std::fs::write(&file, "SESSION_PREFIX=\"file:\"\nEDGE_SESSION_CLI_TEST_ONLY=from-file\n").unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.get("EDGE_SESSION_CLI_TEST_ONLY").as_deref(), Some("from-file"));
        assert!(s.get("PATH").is_some(), "the environment is read too");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(Settings::load(Some(&dir.join("missing"))), Err(CliError::Config(_))));
    }
}
