//! User accounts beside the session: registration, password checks with a
//! rate limit on failures, the index of each user's live sessions (for "log
//! out everywhere") and the per-user beer count that outlives sessions.
//!
//! The Redis keys are named in [`crate::keys`]; a user record is
//! `{"username":…,"password":"pbkdf2-sha256$…"}` (with a TTL until its first
//! login, [`AccountsConfig::unverified_ttl_seconds`]), and a user's
//! session index lives at least as long as the sessions it lists
//! ([`crate::session::Session::keep_index`]; it is pruned at each login and
//! deleted by logout everywhere).

pub mod common;
mod common_key;
pub mod kdf;
mod normal_forms;
pub mod password;
pub mod username;
#[cfg(any(target_arch = "wasm32", test))]
mod username_compact;

use serde::{Deserialize, Serialize};

use crate::keys;
use crate::session::{pause_after_conflict, SAVE_ATTEMPTS};
use crate::store::{
    AccountStore, CounterHit, EndOutcome, EndSessions, Found, Lookup, PruneIndex, Register, RegisterOutcome,
    StoreError, Write, Written,
};
use password::{HashError, PasswordHash};
use username::UsernameError;

/// Account options.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// PBKDF2 iterations for new hashes (and the rehash threshold).
    pub iterations: u32,
    /// The pepper new hashes are keyed with, and the previous one
    /// (`AUTH_PEPPER`, `AUTH_PEPPER_PREVIOUS`).
    pub peppers: password::Peppers,
    /// Failed logins per username (from any addresses) within the window
    /// past which only addresses that have logged in as that user before
    /// are let through: a soft limit, so that an attacker cannot lock the
    /// owner out.
    pub max_failures_per_user: i64,
    /// Failed logins per username from one address within the window
    /// before 429: the hard limit on guessing one account.
    pub max_failures_per_user_and_ip: i64,
    /// Failed logins per client IP within the window before 429.
    pub max_failures_per_ip: i64,
    /// Registration attempts per client IP (IPv6: per /48) within the
    /// window before 429.
    pub max_registrations_per_ip: i64,
    /// Registration attempts from everywhere within the window before 429:
    /// a cap on how many accounts (and PBKDF2 runs) a botnet of many
    /// addresses can make.
    pub max_registrations: i64,
    /// For requests without a usable client address ([`UNKNOWN_BUCKET`]):
    /// failed logins per username, and registrations all together, within
    /// the window before 429. Lower than an address's limits, since on
    /// Cloudflare every request has an address and such requests come from
    /// a misconfigured route or a caller that reached the worker some other
    /// way; logins have no shared bucket, so one such caller cannot block
    /// all the others.
    pub max_attempts_without_address: i64,
    /// How long a new account lives if nobody logs into it
    /// (`AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS`, a week by default): its record
    /// and skeleton key are written with this TTL, which the first login
    /// removes, so names registered in bulk and never used free themselves.
    /// `None`: accounts never expire.
    pub unverified_ttl_seconds: Option<u64>,
    /// Words of this site that a password may not contain (ASVS V6.1.2,
    /// V6.2.11: its name, product, domain), compared in lowercase
    /// (`AUTH_CONTEXT_WORDS`, comma-separated).
    pub context_words: Vec<String>,
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
/// How long an address that logged in as a user stays known for that
/// user's lockout exception, in seconds (refreshed at each login from it).
pub const KNOWN_ADDRESS_SECONDS: u64 = 90 * 24 * 3600;
/// The bucket of requests without a usable client address: never a known
/// address (it would let every such request past a name's soft limit).
pub const UNKNOWN_BUCKET: &str = "unknown";

/// Why an account operation failed.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
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
    /// The password is one anybody would try first: on the list of common
    /// passwords ([`common`]), or the username, or contains it.
    #[error("that password is too easy to guess: {0}; choose another")]
    WeakPassword(&'static str),
    /// Registration of a name that exists.
    #[error("that username is taken")]
    Taken,
    /// Registration of a name that looks like one that exists (the same
    /// UTS #39 skeleton: `scope` and a Cyrillic `ѕсоре`).
    #[error("that username looks too much like one that is taken")]
    LookAlike,
    /// Wrong password or unknown user: one error for both, so the answer
    /// does not tell whether an account exists.
    #[error("invalid username or password")]
    BadCredentials,
    /// Too many attempts; try again after `retry_after_seconds` (which the
    /// HTTP answer carries in `Retry-After` and `retryAfter`, not in the
    /// message).
    #[error("too many {what}")]
    RateLimited {
        /// What was counted: `failed logins` or `registrations`.
        what: &'static str,
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
crate::debug_is_display!(AccountError);

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

    /// Creates an account; returns the canonical username: the halves
    /// below with a round trip each ([`Accounts::registration_lookups`],
    /// [`Accounts::prepare_registration`], then [`registered`]).
    ///
    /// # Errors
    ///
    /// As [`Accounts::prepare_registration`] and [`registered`], and
    /// [`AccountError::Store`] when the store fails.
    pub async fn register(&self, raw_name: &str, password: &str, client_ip: &str) -> Result<String, AccountError> {
        let fetched = self.store.read(None, false, &self.registration_lookups(client_ip)).await?;
        let (name, create) = self.prepare_registration(raw_name, password, client_ip, &fetched.found).await?;
        let wrote = self.store.write(None, std::slice::from_ref(&create)).await?;
        registered(name, wrote.written.first())
    }

    /// What a registration reads first, with the session's load: one hit
    /// on the client address's registration counter. Every attempt counts:
    /// registration has to say when a name is taken, so without a limit it
    /// would be a free oracle of which accounts exist (and a free PBKDF2
    /// and key per request).
    pub fn registration_lookups(&self, client_ip: &str) -> Vec<Lookup> {
        let window_seconds = self.config.failure_window_seconds;
        let per_address = keys::registrations_for_address(&registration_bucket(client_ip));
        vec![
            Lookup::Hit { key: per_address, window_seconds },
            Lookup::Hit { key: keys::registrations_everywhere().into(), window_seconds },
        ]
    }

    /// Checks a registration against what [`Accounts::registration_lookups`]
    /// found (`found` starts with it) and hashes the password; returns the
    /// canonical username and the write that creates the record and claims
    /// its confusable skeleton ([`Write::Register`], one script: two
    /// registrations racing for one name, or for two names that look alike,
    /// cannot both win), to send with the session's save and read back with
    /// [`registered`]. The record expires unless somebody logs into it within
    /// [`AccountsConfig::unverified_ttl_seconds`].
    ///
    /// # Errors
    ///
    /// [`AccountError::RateLimited`] past the per-address registration limit (for a `client_ip`
    /// that is no address: [`AccountsConfig::max_attempts_without_address`]) or the global cap,
    /// [`AccountError::Username`] or [`AccountError::Password`] for an unacceptable name or
    /// password, [`AccountError::Hash`] when hashing fails,
    /// [`AccountError::Store`] when `found` is not what the lookups find.
    pub async fn prepare_registration(
        &self,
        raw_name: &str,
        password: &str,
        client_ip: &str,
        found: &[Found],
    ) -> Result<(String, Write), AccountError> {
        let hits = hits(found, 2)?;
        let window = self.config.failure_window_seconds;
        let limits = [self.registration_limit(client_ip), self.config.max_registrations];
        if let Some(wait) = retry_after(&hits, &limits, window) {
            return Err(AccountError::RateLimited { what: "registrations", retry_after_seconds: wait });
        }
        let name = username::normalize(raw_name)?;
        check_password(password, &name, &self.config.context_words)?;
        let hash = PasswordHash::create(password, self.config.iterations, self.config.peppers.current.as_ref()).await?;
        let record = UserRecord { username: name.clone(), password: hash.to_text() };
        let record = serde_json::to_string(&record).map_err(|_| AccountError::Record(name.clone()))?;
        // The address that registers is one the owner uses: known from the
        // start, so guesses from elsewhere cannot keep the owner from the
        // first login (and the account from expiring unverified).
        let bucket = client_bucket(client_ip);
        let member = if bucket == UNKNOWN_BUCKET { String::new() } else { bucket };
        let create = Write::Register(Register {
            user: self.user_key(&name),
            skeleton: keys::user_skeleton(&username::skeleton(&name)),
            record,
            name: name.clone(),
            ttl_seconds: self.config.unverified_ttl_seconds,
            known: Some((keys::login_known_addresses(&name), member, KNOWN_ADDRESS_SECONDS)),
        });
        Ok((name, create))
    }

    /// The user record of `name` with a new password, after the password
    /// policy ([`check_password`]) and hashed as a registration hashes it:
    /// the write that replaces the record (`SET`, no TTL).
    ///
    /// # Errors
    ///
    /// [`AccountError::Password`] or [`AccountError::WeakPassword`] for an unacceptable password,
    /// [`AccountError::Hash`] when hashing fails, [`AccountError::Record`] when the record cannot be
    /// written as JSON.
    pub async fn new_password_record(&self, name: &str, password: &str) -> Result<Write, AccountError> {
        check_password(password, name, &self.config.context_words)?;
        let hash = PasswordHash::create(password, self.config.iterations, self.config.peppers.current.as_ref()).await?;
        let record = UserRecord { username: name.to_owned(), password: hash.to_text() };
        let value = serde_json::to_string(&record).map_err(|_| AccountError::Record(name.to_owned()))?;
        Ok(Write::Put { key: self.user_key(name), value })
    }

    /// Starts a login: the canonical name and the counters the attempt
    /// counts against. Nothing is sent yet.
    ///
    /// # Errors
    ///
    /// [`AccountError::BadCredentials`] for a name that cannot exist (the
    /// same answer as a wrong password), before any store call.
    pub fn login_attempt(&self, raw_name: &str, client_ip: &str) -> Result<LoginAttempt, AccountError> {
        let name = username::normalize(raw_name).map_err(|_| AccountError::BadCredentials)?;
        let bucket = client_bucket(client_ip);
        let counters = [
            keys::login_failures_for_user(&name),
            keys::login_failures_for_address(&bucket),
            keys::login_failures_for_user_and_address(&name, &bucket),
        ];
        Ok(LoginAttempt { name, bucket, counters })
    }

    /// What a login reads first, with the session's load: a hit on the
    /// name's, the address's and the (name, address) pair's failure
    /// counters (counted before the password is looked at, so parallel
    /// guesses cannot slip past a limit), whether the address has logged in
    /// as the name before, then the user record. Five lookups.
    pub fn login_lookups(&self, attempt: &LoginAttempt) -> Vec<Lookup> {
        let window_seconds = self.config.failure_window_seconds;
        let mut lookups: Vec<Lookup> =
            attempt.counters.iter().map(|key| Lookup::Hit { key: key.clone(), window_seconds }).collect();
        lookups
            .push(Lookup::IsMember { set: keys::login_known_addresses(&attempt.name), member: attempt.bucket.clone() });
        lookups.push(Lookup::Get(self.user_key(&attempt.name)));
        lookups
    }

    /// Decides a login from what [`Accounts::login_lookups`] found (`found`
    /// starts with it): the canonical username, or why not, and in either
    /// case what to write with the session's save. Hits that turn out not
    /// to be failures are taken back (refused for the limit: both; a
    /// success: the name's failures are forgiven and the address's hit
    /// taken back), so the counters hold failures. An old hash is upgraded
    /// on success.
    ///
    /// The verdict's error is one of [`Accounts::authenticate`]'s.
    pub async fn check_login(&self, attempt: &LoginAttempt, password: &str, found: &[Found]) -> Verdict<String> {
        match self.judge_login(attempt, password, found).await {
            Ok((name, writes, rehash)) => Verdict { result: Ok(name), writes, rehash },
            Err((e, writes)) => Verdict { result: Err(e), writes, rehash: None },
        }
    }

    async fn judge_login(
        &self,
        attempt: &LoginAttempt,
        password: &str,
        found: &[Found],
    ) -> Result<(String, Vec<Write>, Option<String>), (AccountError, Vec<Write>)> {
        let [user_counter, address_counter, pair_counter] = &attempt.counters;
        let fail = |e: AccountError| (e, Vec::new());
        let hits = hits(found, 3).map_err(fail)?;
        let known = found.get(3).and_then(Found::is_member).unwrap_or(false) && attempt.bucket != UNKNOWN_BUCKET;
        let limits = match attempt.bucket.as_str() {
            // Without an address there is no address to hold: no shared
            // bucket (one such client would block every other), but a
            // lower limit per name instead.
            UNKNOWN_BUCKET => LoginLimits {
                per_user: self.config.max_failures_per_user,
                per_user_and_address: self
                    .config
                    .max_failures_per_user_and_ip
                    .min(self.config.max_attempts_without_address),
                per_address: i64::MAX,
            },
            _ => LoginLimits {
                per_user: self.config.max_failures_per_user,
                per_user_and_address: self.config.max_failures_per_user_and_ip,
                per_address: self.config.max_failures_per_ip,
            },
        };
        if let Some(wait) = login_gate(&hits, known, limits, self.config.failure_window_seconds) {
            let take_back = attempt.counters.iter().map(|k| Write::Decr(k.clone())).collect();
            return Err((AccountError::RateLimited { what: "failed logins", retry_after_seconds: wait }, take_back));
        }
        let name = &attempt.name;
        let stored = found.get(4).cloned().and_then(Found::into_value);
        let (record, hash) = match stored.map(|bytes| parse_record(name, &bytes)).transpose().map_err(fail)? {
            Some(user) if password.len() <= MAX_PASSWORD_BYTES => user,
            _ => {
                // Unknown user (or absurd password): spend the same work.
                let _ = kdf::pbkdf2_sha256(password.as_bytes(), DECOY_SALT, self.config.iterations).await;
                return Err(fail(AccountError::BadCredentials));
            }
        };
        if !hash.verify(password, &self.config.peppers).await.map_err(|e| fail(e.into()))? {
            return Err(fail(AccountError::BadCredentials));
        }
        // A success forgives the name's failures (from any address and from
        // this one) and was no address failure; the address becomes one
        // that has logged in as the name. The account is in use: its record
        // and skeleton no longer expire (the skeleton claimed here for an
        // account registered before skeletons were kept; NX leaves another
        // name's claim alone).
        let skeleton = keys::user_skeleton(&username::skeleton(name));
        let mut writes = vec![
            Write::Decr(address_counter.clone()),
            Write::Del(vec![user_counter.clone(), pair_counter.clone()]),
            Write::Persist(self.user_key(name)),
            Write::Create { key: skeleton.clone(), value: name.clone() },
            Write::Persist(skeleton),
        ];
        if attempt.bucket != UNKNOWN_BUCKET {
            let known = keys::login_known_addresses(name);
            writes.push(Write::SAdd { set: known.clone(), member: attempt.bucket.clone() });
            writes.push(Write::Expire { key: known, seconds: KNOWN_ADDRESS_SECONDS });
        }
        let mut rehash = None;
        if hash.needs_rehash(self.config.iterations, &self.config.peppers) {
            let pepper = self.config.peppers.current.as_ref();
            let fresh =
                PasswordHash::create(password, self.config.iterations, pepper).await.map_err(|e| fail(e.into()))?;
            let updated = UserRecord { password: fresh.to_text(), ..record };
            rehash = Some(serde_json::to_string(&updated).map_err(|_| fail(AccountError::Record(name.clone())))?);
        }
        Ok((name.clone(), writes, rehash))
    }

    /// What a registration refused by its address's limit takes back: its
    /// hit on the global cap (`DECR register:all`), so that one address
    /// cannot use up everybody's registrations by being refused; `None`
    /// when the address's limit let it through (`found` as for
    /// [`Accounts::prepare_registration`]).
    pub fn registration_refund(&self, client_ip: &str, found: &[Found]) -> Option<Write> {
        let hit = found.first().and_then(Found::hit)?;
        (hit.count > self.registration_limit(client_ip)).then(|| Write::Decr(keys::registrations_everywhere().into()))
    }

    /// The registration limit of `client_ip`'s bucket.
    fn registration_limit(&self, client_ip: &str) -> i64 {
        match registration_bucket(client_ip).as_str() {
            UNKNOWN_BUCKET => self.config.max_attempts_without_address,
            _ => self.config.max_registrations_per_ip,
        }
    }

    /// The user record a login's password was checked against, as
    /// [`Accounts::login_lookups`] read it (`found` starts with them): its
    /// key and bytes, for [`crate::session::Session::save_only_if_unchanged`].
    /// `None` when there was no record.
    pub fn checked_record(&self, attempt: &LoginAttempt, found: &[Found]) -> Option<(String, Vec<u8>)> {
        let bytes = found.get(4).cloned().and_then(Found::into_value)?;
        Some((self.user_key(&attempt.name), bytes))
    }

    /// What a login whose save came back stale (the password changed while
    /// it ran: [`crate::session::SessionError::Stale`]) takes back of the
    /// writes its verdict sent beside that save: its address, added to the
    /// name's known ones, when it was not known before (`found` as for
    /// [`Accounts::check_login`]). The failure counters it cleared stay
    /// cleared: it did have the password of that moment.
    pub fn stale_login_undo(&self, attempt: &LoginAttempt, found: &[Found]) -> Vec<Write> {
        let was_known = found.get(3).and_then(Found::is_member).unwrap_or(false);
        match was_known || attempt.bucket == UNKNOWN_BUCKET {
            true => Vec::new(),
            false => {
                vec![Write::SRem { set: keys::login_known_addresses(&attempt.name), member: attempt.bucket.clone() }]
            }
        }
    }

    /// Checks a login; returns the canonical username: the halves above
    /// with a round trip each ([`Accounts::login_lookups`], then the
    /// verdict's writes).
    ///
    /// # Errors
    ///
    /// [`AccountError::BadCredentials`] for an unknown user, a wrong password or an invalid name
    /// (one answer for all three), [`AccountError::RateLimited`] past a failure limit,
    /// [`AccountError::Hash`] or [`AccountError::Record`] for an unreadable stored record,
    /// [`AccountError::Store`] when the store fails.
    pub async fn authenticate(&self, raw_name: &str, password: &str, client_ip: &str) -> Result<String, AccountError> {
        let attempt = self.login_attempt(raw_name, client_ip)?;
        let fetched = self.store.read(None, false, &self.login_lookups(&attempt)).await?;
        let verdict = self.check_login(&attempt, password, &fetched.found).await;
        let rehash = verdict.rehash.map(|value| Write::Put { key: self.user_key(&attempt.name), value });
        self.store.write(None, &[verdict.writes, rehash.into_iter().collect()].concat()).await?;
        verdict.result
    }

    /// The write that forgets ids in `name`'s session index whose sessions
    /// no longer exist (`session_prefix` + id: expired, logged out,
    /// destroyed), given the index's `members` as read with the session
    /// (a [`Lookup::Members`] of [`keys::user_sessions`]); at most
    /// [`PRUNE_BATCH`] of them besides `keep` (the session just logged in)
    /// are checked. `None` when there is nothing to check. The index is
    /// written by the save that creates a logged-in session
    /// ([`crate::session::Session::add_to_index`]), not here; this only
    /// keeps it from growing, and removes nothing but dead ids.
    pub fn prune_write(&self, name: &str, members: Vec<String>, keep: &str, session_prefix: &str) -> Option<Write> {
        // At most PRUNE_BATCH other ids per login, so a user with very many
        // live sessions does not make every login slower.
        let members: Vec<String> = members.into_iter().filter(|id| id != keep).take(PRUNE_BATCH).collect();
        if members.is_empty() {
            return None;
        }
        let member_keys = members.iter().map(|id| keys::session(session_prefix, id)).collect();
        Some(Write::Prune(PruneIndex { index: keys::user_sessions(name), members, member_keys }))
    }

    /// Logout everywhere: deletes every indexed session of `name`, the
    /// index itself and the sessions in `also` (the caller's own, indexed
    /// or not) in one atomic step, after reading the index: two round trips,
    /// or one when the caller read the index already (`members`, e.g. with
    /// the session's load).
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
        members: Option<Vec<String>>,
    ) -> Result<u64, AccountError> {
        let index = keys::user_sessions(name);
        let mut members = match members {
            Some(members) => members,
            None => self.store.members(&index).await?,
        };
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
        Ok(counter_value(self.store.get(&keys::user_counter(counter, name)).await?))
    }
}

/// A login under way: its canonical name, its address bucket and the
/// counters it counts against ([`Accounts::login_attempt`]).
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    name: String,
    bucket: String,
    /// The name's failures, the address's, the (name, address) pair's.
    counters: [String; 3],
}

/// The three login limits (failures within the window).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// The name's, from any addresses: soft (known addresses pass).
    pub per_user: i64,
    /// The name's from this address: hard.
    pub per_user_and_address: i64,
    /// This address's, for any names: hard.
    pub per_address: i64,
}

/// The lockout decision (OWASP's "account lockout without denial of
/// service"): `Some(seconds to wait)` when this attempt, counted in `hits`
/// (the name's, the address's and the pair's counters, in that order), is
/// past a hard limit (the pair's or the address's), or past the name's soft
/// limit from an address that has not logged in as this name before
/// (`known`). So guesses from many addresses stop at the name's soft limit
/// for every new address, while the owner's known addresses still get in;
/// a known address shared with an attacker is held by the pair's limit.
pub fn login_gate(hits: &[CounterHit], known: bool, limits: LoginLimits, window_seconds: u64) -> Option<u64> {
    let per_user = if known { i64::MAX } else { limits.per_user };
    retry_after(hits, &[per_user, limits.per_address, limits.per_user_and_address], window_seconds)
}

impl LoginAttempt {
    /// The canonical username tried.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// An account decision and the writes it needs whatever it is (a refused
/// login still takes back its hits).
#[derive(Debug)]
pub struct Verdict<T> {
    /// The decision.
    pub result: Result<T, AccountError>,
    /// What to write, with the session's save or alone.
    pub writes: Vec<Write>,
    /// A successful login's user record rewritten with a fresh hash (the
    /// stored one has an old cost or pepper). Not among `writes`: it must
    /// be written only together with the login, and never over a record
    /// changed since it was read, i.e. in the login's guarded save
    /// ([`crate::session::Session::save_only_if_unchanged`]).
    pub rehash: Option<String>,
}

/// The outcome of a registration's [`Write::Register`]: the name, or why
/// nothing was written.
///
/// # Errors
///
/// [`AccountError::Taken`] when the name exists, [`AccountError::LookAlike`] when a name that
/// looks like it exists, [`AccountError::Store`] when `written` is not a registration's result.
pub fn registered(name: String, written: Option<&Written>) -> Result<String, AccountError> {
    match written {
        Some(Written::Registered(RegisterOutcome::Created)) => Ok(name),
        Some(Written::Registered(RegisterOutcome::Taken)) => Err(AccountError::Taken),
        Some(Written::Registered(RegisterOutcome::LookAlike)) => Err(AccountError::LookAlike),
        _ => Err(AccountError::Store(crate::store::batch::short_batch())),
    }
}

/// A counter's value as stored (text digits); 0 when it was never counted
/// or holds something else.
pub fn counter_value(stored: Option<Vec<u8>>) -> i64 {
    stored.and_then(|b| String::from_utf8(b).ok()).and_then(|t| t.parse().ok()).unwrap_or(0)
}

/// The first `n` of `found` as rate-limit hits.
fn hits(found: &[Found], n: usize) -> Result<Vec<CounterHit>, AccountError> {
    let hits: Vec<CounterHit> = found.iter().take(n).filter_map(Found::hit).collect();
    match hits.len() == n {
        true => Ok(hits),
        // Fail closed: a limit is never skipped for a missing count.
        false => Err(AccountError::Store(crate::store::batch::short_batch())),
    }
}

/// A stored user record and its hash.
fn parse_record(name: &str, bytes: &[u8]) -> Result<(UserRecord, PasswordHash), AccountError> {
    let record: UserRecord =
        crate::session::js_json::de::from_slice(bytes).map_err(|_| AccountError::Record(name.into()))?;
    let hash = PasswordHash::parse(&record.password)?;
    Ok((record, hash))
}

/// The address a limit counts against: an IPv4 address as it is, an IPv6
/// address by its /64 (one subscriber usually has a whole /64, so counting
/// single addresses would give an attacker unlimited counters), anything
/// else as "unknown".
pub fn client_bucket(ip: &str) -> String {
    bucket(ip, 4)
}

/// The address registrations count against: as [`client_bucket`], but an
/// IPv6 address by its /48, a whole site's allocation: new accounts are
/// cheap to make from the many /64s of one site.
pub fn registration_bucket(ip: &str) -> String {
    bucket(ip, 3)
}

/// `ip` as a bucket: IPv4 as it is, IPv6 by its first `v6_segments` 16-bit
/// segments (`…::/<16 × v6_segments>`), anything else [`UNKNOWN_BUCKET`].
fn bucket(ip: &str, v6_segments: usize) -> String {
    match ip.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => {
            v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_default()
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let prefix: Vec<String> = v6.segments().iter().take(v6_segments).map(|s| format!("{s:x}")).collect();
            format!("{}::/{}", prefix.join(":"), 16 * v6_segments)
        }
        Err(_) => UNKNOWN_BUCKET.into(),
    }
}

/// A new password's checks (NIST SP 800-63B §3.1.1.2, OWASP ASVS V6.2):
/// 8 characters to 1024 bytes, any Unicode; not on the list of common
/// passwords; neither the (canonical) username nor containing it, nor
/// containing one of the site's `context_words` (ASVS V6.2.11:
/// `AUTH_CONTEXT_WORDS`), in any case.
///
/// # Errors
///
/// [`AccountError::Password`] for the length, [`AccountError::WeakPassword`] saying why it is
/// too easy to guess.
pub fn check_password(password: &str, name: &str, context_words: &[String]) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::Password);
    }
    // Compared as a person reads it: `ｐａｓｓｗｏｒｄ` is `password`. (The
    // password itself is hashed exactly as sent.)
    let lower = crate::builtins::lowercase(&normal_forms::nfkc(password));
    // Spaces around a common password do not make it another (`password `).
    if [password, lower.as_str(), lower.trim()].iter().any(|p| common::is_common(p)) {
        return Err(AccountError::WeakPassword("it is one of the most common passwords"));
    }
    if is_repeated_or_sequence(lower.trim()) {
        return Err(AccountError::WeakPassword("it is one character or group repeated, or a run like 98765432"));
    }
    if lower.contains(&crate::builtins::lowercase(name)) {
        return Err(AccountError::WeakPassword("it contains the username"));
    }
    if context_words.iter().any(|w| !w.is_empty() && lower.contains(&crate::builtins::lowercase(w))) {
        return Err(AccountError::WeakPassword("it contains the name of this site or service"));
    }
    Ok(())
}

/// Whether `password` is a pattern every guesser tries first and that the
/// ranked list leaves out (zxcvbn finds them by its own matchers instead):
/// a group of characters repeated (`aaaaaaaa`, `12341234`, `123123123`,
/// `passwordpassword`), or a run of consecutive characters up or down
/// (`abcdefgh`, `987654321`).
pub fn is_repeated_or_sequence(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    let repeated = (1..=chars.len() / 2).any(|unit| {
        chars.len() >= 2 * unit && chars.len() % unit == 0 && chars.chunks(unit).all(|c| c == &chars[..unit])
    });
    let step = |d: i64| chars.windows(2).all(|w| w[1] as i64 - w[0] as i64 == d);
    // The digit row of a keyboard ends in 0: `1234567890`, `0987654321`.
    let digit_row = "1234567890".contains(password) || "0987654321".contains(password);
    repeated || (chars.len() > 1 && (step(1) || step(-1) || digit_row))
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
    use crate::store::{MemoryStore, SessionStore};
    use crate::testing::block_on;

    fn config() -> AccountsConfig {
        AccountsConfig {
            iterations: 10,
            peppers: password::Peppers::default(),
            max_failures_per_user: 3,
            max_failures_per_user_and_ip: 4,
            max_failures_per_ip: 5,
            max_registrations_per_ip: 4,
            max_registrations: 6,
            max_attempts_without_address: 2,
            unverified_ttl_seconds: Some(3600),
            context_words: vec!["beer-cellar".into()],
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
    fn login_gate_truth_table() {
        let limits = LoginLimits { per_user: 3, per_user_and_address: 4, per_address: 5 };
        // (name's, address's, pair's) counts with this attempt; 30 s left in each window.
        let gate = |[user, address, pair]: [i64; 3], known| {
            let hits = [user, address, pair].map(|count| CounterHit { count, pttl_ms: 30_000 });
            login_gate(&hits, known, limits, 60)
        };
        assert_eq!(gate([1, 1, 1], false), None);
        assert_eq!(gate([3, 5, 4], false), None, "at every limit is allowed");
        assert_eq!(gate([4, 1, 1], false), Some(30), "past the name's soft limit, from a new address");
        assert_eq!(gate([400, 1, 1], true), None, "past it from an address that logged in as the name: let through");
        assert_eq!(gate([400, 1, 5], true), Some(30), "but the pair's hard limit holds there");
        assert_eq!(gate([1, 6, 1], true), Some(30), "and the address's");
        assert_eq!(gate([1, 1, 5], false), Some(30));
    }

    #[test]
    fn guesses_from_many_addresses_do_not_lock_the_owner_out() {
        let (cfg, store) = (config(), MemoryStore::new());
        let accounts = Accounts::new(&cfg, &store);
        block_on(accounts.register("owner", "correct horse", "10.0.0.1")).unwrap();
        block_on(accounts.authenticate("owner", "correct horse", "10.0.0.1")).unwrap();
        for i in 0..20 {
            let guess = block_on(accounts.authenticate("owner", "wrong guess", &format!("192.0.2.{i}"))).unwrap_err();
            // The first three are failures; then every new address is braked.
            assert!(matches!(guess, AccountError::BadCredentials | AccountError::RateLimited { .. }), "{guess:?}");
        }
        assert!(
            matches!(
                block_on(accounts.authenticate("owner", "correct horse", "198.51.100.7")),
                Err(AccountError::RateLimited { .. })
            ),
            "a new address waits out the name's soft limit"
        );
        assert_eq!(block_on(accounts.authenticate("owner", "correct horse", "10.0.0.1")).unwrap(), "owner");
        // An address without a usable value is never a known one.
        assert!(!block_on(store.read(
            None,
            false,
            &[Lookup::IsMember { set: keys::login_known_addresses("owner"), member: UNKNOWN_BUCKET.into() }]
        ))
        .unwrap()
        .found[0]
            .is_member()
            .unwrap());
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
            Err(AccountError::RateLimited { retry_after_seconds: 60, .. })
        ));
    }

    #[test]
    fn repeats_and_runs_truth_table() {
        for (password, want) in [
            ("aaaaaaaa", true),
            ("1111111111", true),
            ("abababab", true),
            ("12341234", true),
            ("123123123", true),
            ("abcdefgh", true),
            ("987654321", true),
            ("87654321", true),
            ("0987654321", true),
            ("34567890", true),
            ("passwordpassword", true),
            ("qwertyqwerty", true),
            ("12345679", false),
            ("abcabcab", false),
            ("correct horse", false),
            ("a1b2c3d4", false),
        ] {
            assert_eq!(is_repeated_or_sequence(password), want, "{password}");
        }
    }

    #[test]
    fn weak_passwords_are_refused() {
        let words = ["beer-cellar".to_owned()];
        let weak = |p: &str, name: &str| matches!(check_password(p, name, &words), Err(AccountError::WeakPassword(_)));
        assert!(weak("my-Beer-Cellar-99", "alice"), "a context word, in any case");
        assert!(!weak("beer cellar 99", "alice"), "only the word as listed");
        assert!(weak("ｐａｓｓｗｏｒｄ", "alice"), "fullwidth folds (NFKC)");
        assert!(weak("my-Ｂｅｅｒ-Ｃｅｌｌａｒ", "alice"), "context words too");
        assert!(weak("88888888", "alice") && weak("987654321", "alice"));
        assert!(weak("password ", "alice") && weak(" password", "alice"), "padded");
        assert!(weak("password", "alice") && weak("12345678", "alice") && weak("PassWord", "alice"));
        assert!(weak("alice2024!", "alice"), "contains the username");
        assert!(weak("xxALICExx", "alice"), "in any case");
        assert!(weak("zoë-rocks-99", "zoë"), "any Unicode");
        assert!(check_password("correct horse battery", "alice", &words).is_ok());
        assert!(matches!(check_password("short", "alice", &[]), Err(AccountError::Password)));
        let (cfg, store) = (config(), MemoryStore::new());
        let refused = block_on(Accounts::new(&cfg, &store).register("alice", "password", "1.2.3.4"));
        assert!(matches!(refused, Err(AccountError::WeakPassword(_))), "{refused:?}");
        assert_eq!(store.entry("user:alice"), None, "nothing stored");
    }

    #[test]
    fn look_alike_names_are_refused_and_unused_accounts_expire() {
        let (cfg, store) = (config(), MemoryStore::new());
        let accounts = Accounts::new(&cfg, &store);
        assert_eq!(block_on(accounts.register("scope-9731", "correct horse", "10.0.0.1")).unwrap(), "scope-9731");
        // All Cyrillic (one script), the same skeleton.
        let cyrillic =
            block_on(accounts.register("\u{455}\u{441}\u{43e}\u{440}\u{435}-9731", "correct horse", "10.0.0.1"));
        assert!(matches!(cyrillic, Err(AccountError::LookAlike)), "{cyrillic:?}");
        assert!(block_on(accounts.register("sc0pe-9731", "correct horse", "10.0.0.1")).is_ok(), "0 is not o");
        assert!(matches!(
            block_on(accounts.register("scope-973l", "correct horse", "10.0.0.1")),
            Err(AccountError::LookAlike)
        ));
        assert_eq!(store.entry("user:scope-973l"), None, "nothing stored");
        // Registered, never logged into: record and skeleton expire together.
        assert_eq!(store.entry("user:scope-9731").unwrap().1, Some(3600));
        assert_eq!(store.entry("user-skeleton:scope-973l").unwrap(), (b"scope-9731".to_vec(), Some(3600)));
        // The first login keeps both.
        block_on(accounts.authenticate("scope-9731", "correct horse", "10.0.0.1")).unwrap();
        assert_eq!(store.entry("user:scope-9731").unwrap().1, None);
        assert_eq!(store.entry("user-skeleton:scope-973l").unwrap().1, None);
        // An account from before skeletons were kept claims its skeleton at login.
        store.insert_raw("user:pıng", store.entry("user:scope-9731").unwrap().0.as_slice(), None);
        let legacy = String::from_utf8(store.entry("user:pıng").unwrap().0).unwrap().replace("scope-9731", "pıng");
        store.insert_raw("user:pıng", legacy.as_bytes(), None);
        block_on(accounts.authenticate("pıng", "correct horse", "10.0.0.1")).unwrap();
        assert_eq!(store.entry("user-skeleton:ping").unwrap(), (b"p\xc4\xb1ng".to_vec(), None));
        assert!(matches!(
            block_on(accounts.register("ping", "correct horse", "10.0.0.2")),
            Err(AccountError::LookAlike)
        ));
    }

    #[test]
    fn the_registering_address_is_known_and_a_refused_registration_leaves_the_global_cap() {
        let (cfg, store) = (config(), MemoryStore::new());
        let accounts = Accounts::new(&cfg, &store);
        block_on(accounts.register("owner", "correct horse", "10.0.0.1")).unwrap();
        // Guesses from many addresses brake every new address, not the one
        // that registered: the owner's first login gets through.
        for i in 0..10 {
            let _ = block_on(accounts.authenticate("owner", "wrong guess", &format!("192.0.2.{i}")));
        }
        assert!(block_on(accounts.authenticate("owner", "correct horse", "192.0.2.99")).is_err());
        assert_eq!(block_on(accounts.authenticate("owner", "correct horse", "10.0.0.1")).unwrap(), "owner");
        // max_registrations_per_ip = 4: the fifth from one address is
        // refused, and its global hit is the one to take back.
        let lookups = accounts.registration_lookups("10.0.0.9");
        for _ in 0..4 {
            let found = block_on(store.read(None, false, &lookups)).unwrap().found;
            assert_eq!(accounts.registration_refund("10.0.0.9", &found), None);
        }
        let found = block_on(store.read(None, false, &lookups)).unwrap().found;
        assert_eq!(accounts.registration_refund("10.0.0.9", &found), Some(Write::Decr("register:all".into())));
    }

    #[test]
    fn requests_without_an_address_have_their_own_lower_limit() {
        // max_attempts_without_address = 2, below the address limits (5 and 4).
        let (cfg, store) = (config(), MemoryStore::new());
        let accounts = Accounts::new(&cfg, &store);
        for (i, ip) in ["", "not an address"].iter().enumerate() {
            let name = format!("anon{i}");
            assert!(block_on(accounts.register(&name, "correct horse", ip)).is_ok(), "{ip:?}");
        }
        let third = block_on(accounts.register("anon2", "correct horse", "unknown"));
        assert!(matches!(third, Err(AccountError::RateLimited { .. })), "{third:?}");
        assert!(block_on(accounts.register("anon2", "correct horse", "192.0.2.9")).is_ok(), "an address is not braked");
        // Logins: no shared bucket, a lower limit per name.
        for _ in 0..2 {
            let e = block_on(accounts.authenticate("anon0", "wrong guess", "")).unwrap_err();
            assert!(matches!(e, AccountError::BadCredentials), "{e:?}");
        }
        let e = block_on(accounts.authenticate("anon0", "wrong guess", "")).unwrap_err();
        assert!(
            matches!(e, AccountError::RateLimited { .. }),
            "the third failure for a name without an address: {e:?}"
        );
        let e = block_on(accounts.authenticate("anon1", "wrong guess", "")).unwrap_err();
        assert!(matches!(e, AccountError::BadCredentials), "another name is not held: {e:?}");
        assert_eq!(block_on(accounts.authenticate("anon2", "correct horse", "192.0.2.9")).unwrap(), "anon2");
    }

    #[test]
    fn registrations_are_limited_per_address() {
        let (cfg, store) = (config(), MemoryStore::new());
        let accounts = Accounts::new(&cfg, &store);
        for i in 0..4 {
            block_on(accounts.register(&format!("user{i}"), "correct horse", "2001:db8:1:2::1")).unwrap();
        }
        // Another address in the same /48 shares the limit.
        let fifth = block_on(accounts.register("user5", "correct horse", "2001:db8:1:9:ffff::9"));
        assert!(matches!(fifth, Err(AccountError::RateLimited { retry_after_seconds: 60, .. })));
        block_on(accounts.register("user6", "correct horse", "2001:db8:2::1")).unwrap();
        // Six attempts everywhere (the refused one counted): the global cap.
        let seventh = block_on(accounts.register("user7", "correct horse", "192.0.2.1"));
        assert!(matches!(seventh, Err(AccountError::RateLimited { .. })), "{seventh:?}");
    }

    #[test]
    fn buckets() {
        assert_eq!(client_bucket("203.0.113.9"), "203.0.113.9");
        assert_eq!(client_bucket("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(client_bucket("::ffff:1.2.3.4"), "1.2.3.4");
        assert_eq!(client_bucket("garbage"), "unknown");
        assert_eq!(registration_bucket("2001:db8:1:2:3:4:5:6"), "2001:db8:1::/48");
        assert_eq!(registration_bucket("203.0.113.9"), "203.0.113.9");
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
