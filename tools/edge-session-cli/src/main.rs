//! `edge-session`: the operator's command line. Finds, inspects and ends
//! the sessions of a deployment, lists its accounts, counts, and checks a
//! deployment's configuration against its database, over the same Upstash
//! REST API and with the same configuration as the worker.
//!
//! Nothing is written except by `sessions end` (and not with `--dry-run`).
//! Exit codes: 0 done, 1 a check failed, 2 usage, 3 not found, 4 the store
//! is unreachable, 5 the token was refused, 6 a document would not load,
//! 7 configuration, 8 not confirmed (`error::CliError::exit_code`).

mod cookie;
mod db;
mod doctor;
mod error;
mod output;
mod report;
mod sessions;
mod settings;
mod stats;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser, Subcommand};

use crate::db::Db;
use crate::error::CliError;
use crate::output::Out;
use crate::settings::Settings;

/// Find, inspect and end edge-session sessions; check a deployment.
///
/// Configured like the worker: UPSTASH_REDIS_REST_URL,
/// UPSTASH_REDIS_REST_TOKEN, SESSION_SECRET, SESSION_PREFIX, SESSION_COOKIE_*,
/// AUTH_* from the environment or --env-file (e.g. .dev.vars). Nothing is
/// written except by `sessions end`.
#[derive(Debug, Parser)]
#[command(name = "edge-session", version, after_help = EXIT_CODES)]
struct Cli {
    /// Read variables from this dotenv file (e.g. .dev.vars); the
    /// environment's values win.
    #[arg(long, global = true, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// One JSON object per line on stdout, for scripts.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// The exit codes, as README "Operating it" lists them.
const EXIT_CODES: &str = "Exit codes: 0 done, 1 a check failed or the store answered an error, 2 usage, \
3 not found (unknown id or user, no sessions under the prefix), 4 the store is unreachable or timed out, \
5 the store refused the token, 6 a document would not load, 7 configuration, 8 not confirmed.";

#[derive(Debug, Subcommand)]
enum Command {
    /// List, show and end sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// List and show accounts (never their password hashes).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Count sessions, logins, users, dangling index entries, corrupt
    /// documents; sizes and TTLs.
    Stats,
    /// Check the configuration against the database (never writes).
    Doctor,
    /// Sign and verify session cookie values.
    #[command(subcommand)]
    Cookie(CookieCommand),
}

#[derive(Debug, Subcommand)]
enum SessionsCommand {
    /// One line per session: id, user, seconds left, beers viewed, size,
    /// writer, whether it loads.
    List {
        /// Only this user's sessions, from its index (user-sessions:NAME).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// At most this many (1 or more): the scan stops once it found them
        /// (so not the first ids of the whole keyspace); listed sorted by id.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
    },
    /// One session: its document, cookie expiry, key TTL, user and whether
    /// it would load (a corrupt one is explained, never changed).
    Show {
        /// The session id (the key without SESSION_PREFIX).
        id: String,
    },
    /// End sessions as logging out does, cleaning the per-user index.
    #[command(group(ArgGroup::new("target").required(true).args(["ids", "user", "all_expired_index_entries"])))]
    End {
        /// Session ids.
        ids: Vec<String>,
        /// Every session of this user: its index, plus sessions found by a
        /// scan (e.g. made by an Express app) that the index does not list.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Remove the index entries that point at no session.
        #[arg(long)]
        all_expired_index_entries: bool,
        /// Say what would be ended; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// One line per account: verified, lifetime beers, live sessions,
    /// rate limited.
    List,
    /// One account in detail.
    Show {
        /// The username.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum CookieCommand {
    /// The cookie value express-session would set for a session id.
    Sign {
        /// The session id.
        id: String,
    },
    /// What a cookie value holds and whether SESSION_SECRET signed it.
    Verify {
        /// `s:…`, its URL-encoded form `s%3A…`, or `name=value`.
        value: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = Out::new(cli.json);
    match run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`edge-session … | head`): what it wanted
        // was written; as with other command-line tools that is no failure.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edge-session: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli, out: &mut Out) -> Result<(), CliError> {
    let settings = Settings::load(cli.env_file.as_deref())?;
    // The library's client is single-threaded (it is the worker's), so one
    // thread runs everything.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Config(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(dispatch(cli.command, &settings, out))
}

async fn dispatch(command: Command, settings: &Settings, out: &mut Out) -> Result<(), CliError> {
    let db = || -> Result<Db, CliError> {
        let u = settings.upstash()?;
        Ok(Db::new(&u.url, &u.token, u.timeout))
    };
    match command {
        Command::Sessions(SessionsCommand::List { user, limit }) => {
            let limit = limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            sessions::list(&db()?, settings, out, user.as_deref(), limit).await
        }
        Command::Sessions(SessionsCommand::Show { id }) => sessions::show(&db()?, settings, out, &id).await,
        Command::Sessions(SessionsCommand::End { ids, user, all_expired_index_entries, dry_run, yes }) => {
            let target = match (user, all_expired_index_entries) {
                (Some(name), _) => sessions::Target::User(name),
                (None, true) => sessions::Target::DanglingIndexEntries,
                (None, false) => sessions::Target::Ids(ids),
            };
            sessions::end(&db()?, settings, out, target, dry_run, yes).await
        }
        Command::Users(UsersCommand::List) => users::list(&db()?, settings, out).await,
        Command::Users(UsersCommand::Show { name }) => users::show(&db()?, settings, out, &name).await,
        Command::Stats => stats::stats(&db()?, settings, out).await,
        Command::Doctor => doctor::doctor(settings, out).await,
        Command::Cookie(CookieCommand::Sign { id }) => cookie::sign(settings, out, &id),
        Command::Cookie(CookieCommand::Verify { value }) => cookie::verify(settings, out, &value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn end_needs_exactly_one_target() {
        assert!(Cli::try_parse_from(["edge-session", "sessions", "end"]).is_err());
        assert!(Cli::try_parse_from(["edge-session", "sessions", "end", "a", "--user", "bob"]).is_err());
        assert!(Cli::try_parse_from(["edge-session", "sessions", "end", "a", "b", "--dry-run"]).is_ok());
        assert!(
            Cli::try_parse_from(["edge-session", "--json", "sessions", "end", "--all-expired-index-entries"]).is_ok()
        );
        assert!(Cli::try_parse_from(["edge-session", "sessions", "list", "--json", "--limit", "5"]).is_ok());
        assert!(Cli::try_parse_from(["edge-session", "sessions", "list", "--limit", "0"]).is_err());
    }
}
