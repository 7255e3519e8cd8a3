//! The command line's errors and the exit code each one means. Turned into
//! a message on stderr and a process exit code in one place (`main`).

use edge_session::accounts::AccountError;
use edge_session::config::ConfigError;
use edge_session::store::StoreError;

/// Why a command stopped. Every variant has its own exit code
/// ([`CliError::exit_code`]), listed in the README's "Operating it".
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A variable is missing or invalid, or the `--env-file` is unreadable.
    #[error("configuration: {0}")]
    Config(String),
    /// The configuration parts of the library refused a variable.
    #[error("configuration: {}", .0.public_message())]
    ConfigVar(#[source] ConfigError),
    /// The store did not answer (connection refused, DNS, time limit).
    #[error("the store at {url} is unreachable: {}", edge_session::error_chain(.source))]
    Unreachable {
        /// `UPSTASH_REDIS_REST_URL`.
        url: String,
        /// What the transport said.
        #[source]
        source: StoreError,
    },
    /// The store refused `UPSTASH_REDIS_REST_TOKEN`.
    #[error("the store refused the token (UPSTASH_REDIS_REST_TOKEN): {}", edge_session::error_chain(.0))]
    Unauthorized(#[source] StoreError),
    /// Any other store failure (a Redis error, an answer of the wrong shape).
    #[error("the store failed: {}", edge_session::error_chain(.0))]
    Store(#[source] StoreError),
    /// An account operation failed for another reason than the store
    /// (e.g. the index kept changing while sessions were ended).
    #[error("{}", edge_session::error_chain(.0))]
    Account(#[source] AccountError),
    /// What was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A stored document would not load; the explanation was printed.
    #[error("{0}")]
    Corrupt(String),
    /// A check failed (doctor, cookie verify); the report was printed.
    #[error("{0}")]
    CheckFailed(String),
    /// `sessions end` was not confirmed.
    #[error("{0}")]
    NotConfirmed(String),
    /// Writing the output failed (a closed pipe).
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code: 1 a check failed (or the store answered an
    /// error), 3 not found, 4 the store is
    /// unreachable or timed out, 5 the token was refused, 6 a document would
    /// not load, 7 configuration, 8 not confirmed (2 is clap's usage error).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::CheckFailed(_) | CliError::Output(_) | CliError::Store(_) | CliError::Account(_) => 1,
            CliError::NotFound(_) => 3,
            CliError::Unreachable { .. } => 4,
            CliError::Unauthorized(_) => 5,
            CliError::Corrupt(_) => 6,
            CliError::Config(_) | CliError::ConfigVar(_) => 7,
            CliError::NotConfirmed(_) => 8,
        }
    }

    /// An account operation's failure: a store failure sorted as
    /// [`CliError::from_store`] does.
    pub fn from_account(url: &str, e: AccountError) -> Self {
        match e {
            AccountError::Store(e) => Self::from_store(url, e),
            other => CliError::Account(other),
        }
    }

    /// Sorts a store failure by what the operator must do about it.
    pub fn from_store(url: &str, e: StoreError) -> Self {
        match e {
            StoreError::Unreachable(_) | StoreError::TimedOut { .. } => {
                CliError::Unreachable { url: url.to_owned(), source: e }
            }
            StoreError::Unauthorized { .. } => CliError::Unauthorized(e),
            other => CliError::Store(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_session::store::wire::CommandError;

    #[test]
    fn exit_codes_are_distinct_per_cause() {
        let cases: [(CliError, u8); 8] = [
            (CliError::CheckFailed("x".into()), 1),
            (CliError::NotFound("x".into()), 3),
            (CliError::from_store("u", StoreError::TimedOut { after: std::time::Duration::from_secs(1) }), 4),
            (CliError::from_store("u", StoreError::Unauthorized { status: 401 }), 5),
            (CliError::Corrupt("x".into()), 6),
            (CliError::Config("x".into()), 7),
            (CliError::NotConfirmed("x".into()), 8),
            (CliError::from_store("u", StoreError::Protocol(CommandError::Redis("ERR".into()))), 1),
        ];
        for (e, code) in cases {
            assert_eq!(e.exit_code(), code, "{e}");
        }
    }
}
