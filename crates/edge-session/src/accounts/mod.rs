//! User accounts beside the session: registration, password checks with a
//! rate limit on failures, the index of each user's live sessions (for "log
//! out everywhere") and the per-user beer count that outlives sessions.
//!
//! The Redis keys are named in [`crate::keys`]; a user record is
//! `{"username":…,"password":"pbkdf2-sha256$…"}` without TTL, and a user's
//! session index has no TTL (it is pruned at each login and deleted by
//! logout everywhere).

pub mod kdf;
pub mod password;
pub mod username;

use serde::{Deserialize, Serialize};

use crate::keys;
use crate::session::{pause_after_conflict, SAVE_ATTEMPTS};
use crate::store::{AccountStore, CounterHit, EndOutcome, EndSessions, StoreError};
use password::{HashError, PasswordHash};
use username::UsernameError;

/// Account options.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// PBKDF2 iterations for new hashes (and the rehash threshold).
    pub iterations: u32,
    /// Failed logins per username within the window before 429.
    pub max_failures_per_user: i64,
    /// Failed logins per client IP within the window before 429.
    pub max_failures_per_ip: i64,
    /// Registration attempts per client IP within the window before 429.
    pub max_registrations_per_ip: i64,
    /// The failure-counting window.
    pub failure_window_seconds: u64,
    /// Prefix of user records.
    pub user_prefix: String,
}

/// The longest password accepted, in bytes: PBKDF2 hashes any length, but
/// an unbounded input is a free CPU amplifier for an attacker.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// How many indexed ids one login checks for expiry.
pub const PRUNE_BATCH: usize = 32;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The store failed.
    #[error("account store failed")]
    Store(#[from] StoreError),
    /// The username is not acceptable.
    #[error("{0}")]
    Username(#[from] UsernameError),
    /// The password is not acceptable.
    #[error("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} bytes")]
    Password,
    /// Registration of a name that exists.
    #[error("that username is taken")]
    Taken,
    /// Wrong password or unknown user: one error for both, so the answer
    /// does not tell whether an account exists.
    #[error("invalid username or password")]
    BadCredentials,
    /// Too many attempts; try again after `retry_after_seconds` (which the
    /// HTTP answer carries in `Retry-After` and `retryAfter`, not in the
    /// message).
    #[error("too many failed logins")]
    RateLimited {
        /// What `Retry-After` says: the counter's window left, rounded up.
        retry_after_seconds: u64,
    },
    /// Hashing failed, or a stored record is unreadable.
    #[error("password check failed")]
    Hash(#[from] HashError),
    /// A stored user record is not the expected JSON.
    #[error("stored user record {0} is unreadable")]
    Record(String),
    /// The user's session index changed (logins) every time logout
    /// everywhere tried to end it; nothing was ended.
    #[error("new logins kept arriving each of the {attempts} times this request tried to end every session; nothing was ended")]
    Conflict {
        /// How many times it was tried.
        attempts: u32,
    },
}

/// A stored user.
#[derive(Debug, Serialize, Deserialize)]
struct UserRecord {
    username: String,
    password: String,
}

/// Accounts over an `AccountStore`.
pub struct Accounts<'a, S> {
    config: &'a AccountsConfig,
    store: &'a S,
}

/// A fixed salt-and-hash for users that do not exist: verifying against it
/// costs the same as against a real hash, so response times do not reveal
/// which usernames are registered.
const DECOY_SALT: &[u8] = b"edge-session-decoy-salt";

impl<'a, S: AccountStore> Accounts<'a, S> {
    /// Binds the configuration and the store.
    pub fn new(config: &'a AccountsConfig, store: &'a S) -> Self {
        Self { config, store }
    }

    fn user_key(&self, name: &str) -> String {
        keys::user(&self.config.user_prefix, name)
    }

    /// Creates an account; returns the canonical username. Every attempt
    /// counts against the client's address first: registration has to say
    /// when a name is taken, so without a limit it would be a free oracle
    /// of which accounts exist (and a free PBKDF2 and key per request).
    ///
    /// # Errors
    ///
    /// [`AccountError::RateLimited`] past the per-address registration limit,
    /// [`AccountError::Username`] or [`AccountError::Password`] for an unacceptable name or
    /// password, [`AccountError::Taken`] when the name exists, [`AccountError::Hash`] when hashing
    /// fails, [`AccountError::Store`] when the store fails.
    pub async fn register(&self, raw_name: &str, password: &str, client_ip: &str) -> Result<String, AccountError> {
        let counter = [keys::registrations_for_address(&client_bucket(client_ip))];
        let window = self.config.failure_window_seconds;
        let hits = self.store.hit_counters(&counter, window).await?;
        if let Some(wait) = retry_after(&hits, &[self.config.max_registrations_per_ip], window) {
            return Err(AccountError::RateLimited { retry_after_seconds: wait });
        }
        let name = username::normalize(raw_name)?;
        check_password(password)?;
        let hash = PasswordHash::create(password, self.config.iterations).await?;
        let record = UserRecord { username: name.clone(), password: hash.to_text() };
        let json = serde_json::to_string(&record).map_err(|_| AccountError::Record(name.clone()))?;
        // SET NX: two registrations racing for one name cannot both win.
        if !self.store.create(&self.user_key(&name), &json).await? {
            return Err(AccountError::Taken);
        }
        Ok(name)
    }

    /// Checks a login; returns the canonical username.
    ///
    /// Every attempt is counted against the name and the client IP before
    /// the password is looked at, so parallel guesses cannot slip past the
    /// limit; attempts that turn out not to be failures (refused for the
    /// limit, or successful) are taken back, so the counters hold failures.
    ///
    /// # Errors
    ///
    /// [`AccountError::BadCredentials`] for an unknown user, a wrong password or an invalid name
    /// (one answer for all three), [`AccountError::RateLimited`] past a failure limit,
    /// [`AccountError::Hash`] or [`AccountError::Record`] for an unreadable stored record,
    /// [`AccountError::Store`] when the store fails.
    pub async fn authenticate(&self, raw_name: &str, password: &str, client_ip: &str) -> Result<String, AccountError> {
        // An invalid name cannot exist: same answer as a wrong password.
        let name = username::normalize(raw_name).map_err(|_| AccountError::BadCredentials)?;
        let counters =
            [keys::login_failures_for_user(&name), keys::login_failures_for_address(&client_bucket(client_ip))];
        let limits = [self.config.max_failures_per_user, self.config.max_failures_per_ip];
        let window = self.config.failure_window_seconds;
        let hits = self.store.hit_counters(&counters, window).await?;
        if let Some(wait) = retry_after(&hits, &limits, window) {
            self.store.settle_counters(&[], &counters).await?;
            return Err(AccountError::RateLimited { retry_after_seconds: wait });
        }

        let ok = match self.load_user(&name).await? {
            Some((record, hash)) if password.len() <= MAX_PASSWORD_BYTES => {
                let ok = hash.verify(password).await?;
                if ok && hash.needs_rehash(self.config.iterations) {
                    let fresh = PasswordHash::create(password, self.config.iterations).await?;
                    let updated = UserRecord { password: fresh.to_text(), ..record };
                    let json = serde_json::to_string(&updated).map_err(|_| AccountError::Record(name.clone()))?;
                    self.store.put(&self.user_key(&name), &json).await?;
                }
                ok
            }
            _ => {
                // Unknown user (or absurd password): spend the same work.
                let _ = kdf::pbkdf2_sha256(password.as_bytes(), DECOY_SALT, self.config.iterations).await;
                false
            }
        };
        if !ok {
            return Err(AccountError::BadCredentials);
        }
        // A success forgives the name's failures and was no IP failure.
        self.store.settle_counters(&counters[..1], &counters[1..]).await?;
        Ok(name)
    }

    async fn load_user(&self, name: &str) -> Result<Option<(UserRecord, PasswordHash)>, AccountError> {
        let Some(bytes) = self.store.get(&self.user_key(name)).await? else {
            return Ok(None);
        };
        let record: UserRecord = serde_json::from_slice(&bytes).map_err(|_| AccountError::Record(name.into()))?;
        let hash = PasswordHash::parse(&record.password)?;
        Ok(Some((record, hash)))
    }

    /// Forgets ids in `name`'s session index whose sessions no longer exist
    /// (`session_prefix` + id: expired, logged out, destroyed), checking at
    /// most [`PRUNE_BATCH`] of them besides `keep` (the session just logged
    /// in): `SMEMBERS`, then a pipeline of `EXISTS`, then `SREM` when some
    /// are gone. The index is written by the save that creates a logged-in
    /// session ([`crate::session::Session::add_to_index`]), not here; this
    /// only keeps it from growing, so it can run after the answer.
    ///
    /// # Errors
    ///
    /// [`AccountError::Store`] when the store fails; nothing but dead ids is ever removed.
    pub async fn prune_index(&self, name: &str, keep: &str, session_prefix: &str) -> Result<(), AccountError> {
        let index = keys::user_sessions(name);
        // At most PRUNE_BATCH other ids are checked per login, so a user with
        // very many live sessions does not make every login slower.
        let others: Vec<String> =
            self.store.members(&index).await?.into_iter().filter(|id| id != keep).take(PRUNE_BATCH).collect();
        if others.is_empty() {
            return Ok(());
        }
        let session_keys: Vec<String> = others.iter().map(|id| keys::session(session_prefix, id)).collect();
        let alive = self.store.exist(&session_keys).await?;
        let dead: Vec<String> = others.into_iter().zip(alive).filter(|(_, a)| !a).map(|(id, _)| id).collect();
        self.store.remove_from_set(&index, &dead).await?;
        Ok(())
    }

    /// Logout everywhere: deletes every indexed session of `name`, the
    /// index itself and the sessions in `also` (the caller's own, indexed
    /// or not) in one atomic step, after reading the index: two round trips.
    /// A login that indexes a session between the read and the step makes
    /// the step find the index changed; it is then tried again with the
    /// members it found (up to [`SAVE_ATTEMPTS`] times), so no session that
    /// was indexed when the step ran survives it. Returns how many of the
    /// sessions existed.
    ///
    /// # Errors
    ///
    /// [`AccountError::Store`] when the store fails, [`AccountError::Conflict`] when the index
    /// kept changing; no session was ended then.
    pub async fn logout_everywhere(
        &self,
        name: &str,
        session_prefix: &str,
        also: &[String],
    ) -> Result<u64, AccountError> {
        let index = keys::user_sessions(name);
        let mut members = self.store.members(&index).await?;
        for attempt in 0..SAVE_ATTEMPTS {
            let call = EndSessions {
                index: index.clone(),
                member_keys: members.iter().map(|id| keys::session(session_prefix, id)).collect(),
                members,
                also: also.to_vec(),
            };
            match self.store.end_sessions(&call).await? {
                EndOutcome::Ended(n) => return Ok(n),
                EndOutcome::Changed(now) => {
                    members = now;
                    pause_after_conflict(self.store, attempt).await;
                }
            }
        }
        Err(AccountError::Conflict { attempts: SAVE_ATTEMPTS })
    }

    /// Adds one to `name`'s counter `counter` (data that outlives every
    /// session, e.g. the demo's lifetime beers, `counter = "beers"`);
    /// returns the new total.
    ///
    /// # Errors
    ///
    /// [`AccountError::Store`] when the store fails.
    pub async fn add_to_counter(&self, name: &str, counter: &str) -> Result<i64, AccountError> {
        Ok(self.store.incr(&keys::user_counter(counter, name)).await?)
    }

    /// `name`'s counter `counter`; 0 when it was never counted.
    ///
    /// # Errors
    ///
    /// [`AccountError::Store`] when the store fails.
    pub async fn counter(&self, name: &str, counter: &str) -> Result<i64, AccountError> {
        let stored = self.store.get(&keys::user_counter(counter, name)).await?;
        Ok(stored.and_then(|b| String::from_utf8(b).ok()).and_then(|t| t.parse().ok()).unwrap_or(0))
    }
}

/// The address a limit counts against: an IPv4 address as it is, an IPv6
/// address by its /64 (one subscriber usually has a whole /64, so counting
/// single addresses would give an attacker unlimited counters), anything
/// else as "unknown".
pub fn client_bucket(ip: &str) -> String {
    match ip.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => {
            v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_default()
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => "unknown".into(),
    }
}

fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::Password);
    }
    Ok(())
}

/// The rate-limit decision for this attempt: `Some(seconds to wait)` when
/// any counter, this attempt included, is past its limit. The wait is the
/// window's remaining time rounded up, so a retry after `Retry-After`
/// seconds is never early; a counter without a TTL waits a whole window.
pub fn retry_after(hits: &[CounterHit], limits: &[i64], window_seconds: u64) -> Option<u64> {
    hits.iter()
        .zip(limits)
        .filter(|(hit, limit)| hit.count > **limit)
        .map(|(hit, _)| if hit.pttl_ms > 0 { (hit.pttl_ms as u64).div_ceil(1000) } else { window_seconds })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use crate::testing::block_on;

    fn config() -> AccountsConfig {
        AccountsConfig {
            iterations: 10,
            max_failures_per_user: 3,
            max_failures_per_ip: 5,
            max_registrations_per_ip: 4,
            failure_window_seconds: 60,
            user_prefix: keys::DEFAULT_USER_PREFIX.into(),
        }
    }

    #[test]
    fn retry_after_truth_table() {
        let hits = |pairs: [(i64, i64); 2]| pairs.map(|(count, pttl_ms)| CounterHit { count, pttl_ms });
        // (hits including this attempt, PTTL ms) per counter; limits 3 and 5.
        assert_eq!(retry_after(&hits([(1, 60_000), (1, 60_000)]), &[3, 5], 60), None);
        assert_eq!(retry_after(&hits([(3, 50_000), (5, 50_000)]), &[3, 5], 60), None, "at the limit is allowed");
        assert_eq!(retry_after(&hits([(4, 42_000), (1, 60_000)]), &[3, 5], 60), Some(42));
        assert_eq!(retry_after(&hits([(1, 60_000), (6, 7_000)]), &[3, 5], 60), Some(7));
        assert_eq!(retry_after(&hits([(4, 10_000), (9, 30_000)]), &[3, 5], 60), Some(30));
        assert_eq!(retry_after(&hits([(4, 1_232), (1, 60_000)]), &[3, 5], 60), Some(2), "rounded up");
        assert_eq!(retry_after(&hits([(4, 1), (1, 60_000)]), &[3, 5], 60), Some(1));
        assert_eq!(retry_after(&hits([(4, -1), (1, 60_000)]), &[3, 5], 60), Some(60), "no TTL: a whole window");
    }

    #[test]
    fn register_login_and_limits() {
        let (cfg, store) = (config(), MemoryStore::new());
        let accounts = Accounts::new(&cfg, &store);
        assert_eq!(block_on(accounts.register("Alice", "correct horse", "1.2.3.4")).unwrap(), "alice");
        assert!(matches!(block_on(accounts.register("ALICE", "another pass", "1.2.3.4")), Err(AccountError::Taken)));
        assert!(matches!(block_on(accounts.register("bob", "short", "1.2.3.4")), Err(AccountError::Password)));
        assert_eq!(block_on(accounts.authenticate("alice", "correct horse", "1.2.3.4")).unwrap(), "alice");
        // Unknown user and wrong password look the same.
        let unknown = block_on(accounts.authenticate("nobody", "whatever1", "1.2.3.4")).unwrap_err();
        let wrong = block_on(accounts.authenticate("alice", "wrong pass", "1.2.3.4")).unwrap_err();
        assert_eq!(unknown.to_string(), wrong.to_string());
        block_on(accounts.authenticate("alice", "wrong pass", "1.2.3.4")).unwrap_err();
        block_on(accounts.authenticate("alice", "wrong pass", "1.2.3.4")).unwrap_err();
        // Three failures for alice: even the right password waits now.
        assert!(matches!(
            block_on(accounts.authenticate("alice", "correct horse", "9.9.9.9")),
            Err(AccountError::RateLimited { retry_after_seconds: 60 })
        ));
    }

    #[test]
    fn registrations_are_limited_per_address() {
        let (cfg, store) = (config(), MemoryStore::new());
        let accounts = Accounts::new(&cfg, &store);
        for i in 0..4 {
            block_on(accounts.register(&format!("user{i}"), "correct horse", "2001:db8:1:2::1")).unwrap();
        }
        // Another address in the same /64 shares the limit.
        let fifth = block_on(accounts.register("user5", "correct horse", "2001:db8:1:2:ffff::9"));
        assert!(matches!(fifth, Err(AccountError::RateLimited { retry_after_seconds: 60 })));
        block_on(accounts.register("user6", "correct horse", "2001:db8:1:3::1")).unwrap();
    }

    #[test]
    fn buckets() {
        assert_eq!(client_bucket("203.0.113.9"), "203.0.113.9");
        assert_eq!(client_bucket("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(client_bucket("::ffff:1.2.3.4"), "1.2.3.4");
        assert_eq!(client_bucket("garbage"), "unknown");
    }

    #[test]
    fn old_hashes_are_upgraded_at_login() {
        let (mut cfg, store) = (config(), MemoryStore::new());
        block_on(Accounts::new(&cfg, &store).register("carol", "correct horse", "ip")).unwrap();
        cfg.iterations = 20;
        block_on(Accounts::new(&cfg, &store).authenticate("carol", "correct horse", "ip")).unwrap();
        let stored = String::from_utf8(store.entry("user:carol").unwrap().0).unwrap();
        assert!(stored.contains("pbkdf2-sha256$20$"), "{stored}");
    }
}
