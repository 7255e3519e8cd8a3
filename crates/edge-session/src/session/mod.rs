//! A request's session, from the `Cookie` header to the store and back:
//! load → the app reads and writes fields → commit (SET, EXPIRE or nothing,
//! and the Set-Cookie line), with regenerate and destroy in between. This is
//! express-session's request cycle, free of any platform: it needs only a
//! `SessionStore` and the current time.

pub mod cookie;
mod dates;
pub mod decide;
pub mod document;
pub mod flash;
pub mod js_json;
pub mod passport;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::keys;
use crate::store::{
    Digest, Found, Guard, IndexEntry, Loaded, Lookup, Save, SaveOutcome, SessionStore, StoreError, Ttl, Write, Written,
};
use cookie::{Secrets, VerifiedSessionId};
use decide::{Facts, Policy};
use document::{DocumentError, FieldError, Millis, SameSite, SessionCookie, SessionDocument};

/// How the session layer is configured: express-session's and
/// connect-redis's options.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The cookie's name (express-session's `name`, whose own default is
    /// `connect.sid`; [`SessionConfig::from_vars`] defaults to the seed
    /// demo's `_redisDemo`).
    pub cookie_name: String,
    /// `secret`: the first signs, any verifies.
    pub secrets: Secrets,
    /// connect-redis `prefix`, default `sess:`.
    pub prefix: String,
    /// The cookie of a new session: `cookie.*` options, with
    /// `original_max_age` = `cookie.maxAge` and no `expires` yet.
    pub cookie: SessionCookie,
    /// `cookie.secure: "auto"`: a new session's cookie is Secure exactly
    /// when the request came over https.
    pub secure_auto: bool,
    /// `cookie.sameSite: "auto"` (express-session 1.19): a new session's
    /// cookie is `SameSite=None` when the request came over https, else
    /// `SameSite=Lax`.
    pub same_site_auto: bool,
    /// `resave`, `saveUninitialized`, `rolling`.
    pub policy: Policy,
    /// connect-redis `ttl`: the TTL of sessions without an expiry.
    pub default_ttl_seconds: i64,
    /// express-session `unset`: what happens when the app unsets the session.
    pub unset: Unset,
    /// connect-redis `disableTouch`: never send EXPIRE for an unmodified session.
    pub disable_touch: bool,
    /// connect-mongo's `touchAfter` (`SESSION_TOUCH_AFTER_SECONDS`): skip
    /// the touch of an unmodified session (and, with `resave`, its
    /// rewrite) while less than this many seconds have passed since the
    /// last one; 0 touches on every request, as connect-redis does.
    pub touch_after_seconds: u64,
    /// connect-redis `disableTTL`: write keys without a TTL (and never touch).
    pub disable_ttl: bool,
    /// The absolute lifetime of a login (`SESSION_ABSOLUTE_TIMEOUT_SECONDS`,
    /// OWASP ASVS V7.3): a login records when it happened
    /// ([`passport::AUTHENTICATED_AT`]) and, this long after it, the session
    /// is refused at load however often it was used. `None`: no limit (as
    /// express-session), and no field is written.
    pub absolute_timeout_seconds: Option<u64>,
    /// express-session `proxy`: also believe the first `X-Forwarded-Proto`
    /// value when deciding whether a request is https. Off by default: on
    /// Cloudflare the request URL already carries the visitor's scheme.
    pub trust_proxy: bool,
    /// `SESSION_PASSPORT_USER_FIELD`: for an app whose Passport serializes
    /// an object (`{ id: 7, … }`), the member of `passport.user` that names
    /// the user; `None` reads `passport.user` itself (a name or a number).
    /// See [`Session::passport_user_text`].
    pub passport_user_field: Option<String>,
}

/// express-session's `unset` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unset {
    /// `keep`: the stored session stays; nothing is written.
    #[default]
    Keep,
    /// `destroy`: the stored session is deleted at the end of the request.
    Destroy,
}

/// Why a session operation failed.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum SessionError {
    /// The store failed; nothing was written after the failure.
    #[error("session store failed")]
    Store(#[from] StoreError),
    /// A field did not hold the type the app asked for.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The key the save was guarded by ([`Session::save_only_if_unchanged`])
    /// changed since it was read; nothing was written.
    #[error("{key} changed while this request was served; nothing was saved")]
    Stale {
        /// The guard key.
        key: String,
    },
    /// `reload` found no stored session (it expired or was destroyed).
    #[error("failed to load session: {key} is not in the store")]
    NotFound {
        /// The Redis key.
        key: String,
    },
    /// The session was changed by other requests every time this one tried
    /// to save it, [`SAVE_ATTEMPTS`] times; nothing was saved. Trying the
    /// request again later is safe.
    #[error("the session was changed by other requests each of the {attempts} times this request tried to save it; nothing was saved")]
    Conflict {
        /// How many saves were tried.
        attempts: u32,
    },
    /// Applied again to the session as another request had just saved it, a
    /// change of [`Session::update`] failed; nothing was saved.
    #[error("the session changed while this request was served, and its change no longer applies")]
    ChangeRefused(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The document to save is longer than
    /// [`document::MAX_DOCUMENT_BYTES`]: no request could read it back, so
    /// it is not written (the stored session stays as it was).
    #[error("the session document is {bytes} bytes long; at most {limit} are saved")]
    DocumentTooLarge {
        /// Its length in bytes.
        bytes: usize,
        /// [`document::MAX_DOCUMENT_BYTES`].
        limit: usize,
    },
    /// `reload`, or a save that met a newer document, found a stored
    /// document it cannot read.
    #[error("failed to load session {key}")]
    Corrupt {
        /// The Redis key.
        key: String,
        /// Why.
        #[source]
        source: DocumentError,
    },
}
crate::debug_is_display!(SessionError);

/// Where a session stands in its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Live,
    /// `destroy()` deleted it; commit clears the cookie.
    Destroyed,
    /// The app dropped it (`req.session = null`); `unset` decides.
    Unset,
}

type Fingerprint = Vec<(String, String)>;

/// How many times a save is tried before the request gives up with
/// [`SessionError::Conflict`]: each conflict costs one round trip (the
/// store's answer carries the newer document) and a pause of
/// [`conflict_backoff`].
pub const SAVE_ATTEMPTS: u32 = 16;

/// The pause before save attempt `attempt + 1` after a conflict: a random
/// time up to 10 ms · 2^attempt, at most 200 ms ("full jitter"), so
/// requests that collided do not collide again in lockstep. The cap is low
/// so that a request that has already lost several times is not outrun by
/// every newcomer (each attempt already costs a round trip to the store).
pub fn conflict_backoff(attempt: u32, random: u32) -> Duration {
    let cap_ms = 10u64.saturating_mul(1 << attempt.min(16)).min(200);
    Duration::from_millis(u64::from(random) % (cap_ms + 1))
}

/// Waits [`conflict_backoff`] with a random draw before attempt `attempt + 1`.
pub(crate) async fn pause_after_conflict<S: SessionStore>(store: &S, attempt: u32) {
    let mut random = [0u8; 4];
    // Without randomness the pause is only less spread out.
    let _ = getrandom::fill(&mut random);
    store.backoff(conflict_backoff(attempt, u32::from_le_bytes(random))).await;
}

/// A change this request made to the session's fields, kept so that it can
/// be applied again to a newer document after a conflict.
enum Change {
    /// `insert(key, value)`: an assignment, applied again as the same one.
    Insert(String, Value),
    /// `remove(key)`.
    Remove(String),
    /// `set_max_age(ms)`.
    MaxAge(Option<f64>),
    /// `update(f)`: `f` runs again on the newer fields.
    Update(Box<UpdateFn>),
}

type UpdateFn = dyn FnMut(&mut Session) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Insert(k, v) => write!(f, "Insert({k:?}, {v})"),
            Change::Remove(k) => write!(f, "Remove({k:?})"),
            // Spelled as JavaScript spells it: `{:?}` of a float would pull
            // Rust's float printing into the wasm (issue 14).
            Change::MaxAge(Some(ms)) => write!(f, "MaxAge(Some({}))", js_json::number(*ms)),
            Change::MaxAge(None) => f.write_str("MaxAge(None)"),
            Change::Update(_) => f.write_str("Update(..)"),
        }
    }
}

/// A session id this layer may use as a store key: one it generated, or one
/// whose cookie signature verified ([`VerifiedSessionId`] converts into it).
/// There is no way to make one from an arbitrary string outside tests, so a
/// client-chosen id cannot reach the store by mistake.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random id: a lowercase uuid v4, as the seed demo's `genid`
    /// makes them (122 random bits from the platform's CSPRNG): natively
    /// the `uuid` crate's, on wasm32 the runtime's own
    /// `crypto.randomUUID()` (the same format; `uuid` and the second
    /// `getrandom` it brings stay out of the wasm, issue 14).
    ///
    /// # Panics
    ///
    /// When the platform has no CSPRNG, as `uuid::Uuid::new_v4` does
    /// (Workers always have `crypto`).
    pub fn generate() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        return Self(uuid::Uuid::new_v4().to_string());
        #[cfg(target_arch = "wasm32")]
        {
            use wasm_bindgen::JsCast;
            let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
            Self(scope.crypto().expect("the runtime's crypto").random_uuid())
        }
    }

    /// The id as text (what follows `prefix` in the Redis key).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Any text as an id, for tests that need fixed ids.
    #[cfg(feature = "test-support")]
    pub fn for_tests(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl From<VerifiedSessionId> for SessionId {
    fn from(id: VerifiedSessionId) -> Self {
        Self(id.into_string())
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for SessionId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// One request's session.
#[derive(Debug)]
pub struct Session {
    id: SessionId,
    /// The verified id the request's cookie named, if any.
    cookie_id: Option<SessionId>,
    /// The id the session had when the request started (express-session's
    /// `originalId`).
    original_id: SessionId,
    /// Whether the request came over https (express-session's `issecure`),
    /// fixed at load: a Secure cookie is only ever sent when it is true.
    request_secure: bool,
    /// The fields as loaded or generated (`originalHash`).
    original: Fingerprint,
    /// The fields as last known to be in the store (`savedHash`).
    saved: Option<Fingerprint>,
    doc: SessionDocument,
    state: State,
    notice: Option<String>,
    /// Keys this session lived under before `rotate_id`, deleted once the
    /// new key is written.
    retired: Vec<String>,
    /// Cookies of sessions that `regenerate` ended whose Domain or Path
    /// differ from the new cookie's: the new cookie does not replace them in
    /// the browser, so commit also sends each one expired.
    ended_cookies: Vec<SessionCookie>,
    /// Where the session is stored and what this request last read or
    /// wrote there: what the next save compares. `None` until a new
    /// session's first write.
    stored: Option<Stored>,
    /// This request's changes since the session was loaded (or
    /// regenerated), in order.
    changes: Vec<Change>,
    /// Whether changes are being recorded (not while an update runs or
    /// changes are applied again).
    recording: bool,
    /// A set to add the session's id to at its next write.
    index: Option<String>,
    /// The set the session is listed in (`keep_index`, `add_to_index`):
    /// each of its saves and touches keeps the set alive at least as long.
    listed_in: Option<String>,
    /// A counter to add one to at the next write (`count_on_save`).
    counter: Option<String>,
    /// A key that must still hold what was read for the next save to
    /// write (`save_only_if_unchanged`).
    guard: Option<Guard>,
    /// The counter's value after that write.
    counted: Option<i64>,
    /// The key's PTTL read with the document (`touchAfter` only).
    loaded_pttl_ms: Option<i64>,
    /// Writes to send with the next store write (`also_write`).
    also: Vec<Write>,
    /// What those writes did, once sent.
    written: Vec<Written>,
}

impl Session {
    /// The session id (what follows `prefix` in the Redis key).
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The session's cookie as loaded (or as created for a new session);
    /// its `expires` is reset only when the response is committed.
    pub fn cookie(&self) -> &SessionCookie {
        &self.doc.cookie
    }

    /// Whether the session was created by this request rather than loaded.
    pub fn is_new(&self) -> bool {
        self.cookie_id.as_ref() != Some(&self.original_id)
    }

    /// A message for the visitor when the request's session could not be
    /// used and a new one was started (e.g. the stored document was corrupt).
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Reads field `key` as `T`.
    ///
    /// # Errors
    ///
    /// [`FieldError`] when the field holds JSON that is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, FieldError> {
        self.doc.get(key)
    }

    /// Writes field `key`.
    ///
    /// # Errors
    ///
    /// [`FieldError`] when `value` cannot be serialized to JSON.
    ///
    /// The assignment is kept: if another request saves the session first,
    /// it is made again on that newer document before this request saves.
    /// A value computed from another field (`views + 1`) belongs in
    /// [`Session::update`] instead, or the other request's change is lost.
    pub fn insert<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), FieldError> {
        self.doc.insert(key, value)?;
        if self.recording {
            let value = serde_json::to_value(value).map_err(|e| FieldError { field: key.into(), source: e.into() })?;
            self.changes.push(Change::Insert(key.into(), value));
        }
        Ok(())
    }

    /// Removes field `key` (kept like [`Session::insert`]'s assignments).
    pub fn remove(&mut self, key: &str) -> bool {
        if self.recording {
            self.changes.push(Change::Remove(key.into()));
        }
        self.doc.remove(key)
    }

    /// Changes the session with `change`, now and again whenever the commit
    /// finds that another request saved the session since it was loaded:
    /// `change` then runs on the fields as that request left them, as in an
    /// optimistic transaction. Read-modify-write belongs here, e.g. a
    /// counter: `s.update(|s| { let n = s.get::<u64>("n")?.unwrap_or(0); s.insert("n", &(n + 1)) })`.
    ///
    /// `change` must depend only on the session (it may run several times),
    /// and its side effects outside the session belong after the commit.
    ///
    /// # Errors
    ///
    /// `change`'s own error, from its first run; the fields (and a
    /// [`Session::count_on_save`]) are then as they were before. When a later run fails, the commit fails with
    /// [`SessionError::ChangeRefused`] and saves nothing.
    pub fn update<F, E>(&mut self, mut change: F) -> Result<(), E>
    where
        F: FnMut(&mut Session) -> Result<(), E> + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let recording = std::mem::replace(&mut self.recording, false);
        let (doc, counter) = (self.doc.clone(), self.counter.clone());
        let first = change(self);
        self.recording = recording;
        if let Err(e) = first {
            // All or nothing: a change that failed half way leaves no trace
            // in the fields or the count.
            self.doc = doc;
            self.counter = counter;
            return Err(e);
        }
        if recording {
            self.changes.push(Change::Update(Box::new(move |s| change(s).map_err(|e| Box::new(e) as _))));
        }
        Ok(())
    }

    /// At the session's next write, also add its id to the set `set`, in
    /// the same step: the session exists exactly when it is in the set, so
    /// a "log out everywhere" that reads the set cannot miss it. Then as
    /// [`Session::keep_index`]. Used for a user's session index at login,
    /// and again after a rotate of a logged-in session.
    pub fn add_to_index(&mut self, set: String) {
        self.listed_in = Some(set.clone());
        self.index = Some(set);
    }

    /// The session is listed in the set `set` (its user's session index):
    /// each save of it (in the same step) and each touch (in the same round
    /// trip) gives the set a TTL of at least the longest a session can
    /// live under this configuration ([`SessionConfig::longest_ttl_seconds`],
    /// or this session's own when longer), never a shorter one, so the set
    /// outlives every session it lists however long they roll on, and goes
    /// once none is left (OWASP ASVS V7.4: nothing outlives its purpose).
    /// A `regenerate` forgets it (a logout's new session is nobody's),
    /// but not an [`Session::add_to_index`] asked for before it (a login's
    /// is). Call it at load for a logged-in session.
    pub fn keep_index(&mut self, set: String) {
        self.listed_in = Some(set);
    }

    /// At the session's next write, also add one to the counter at key
    /// `key` (Redis `INCR`), in the same step: the count and the session
    /// change land together or not at all. Not done when the session turns
    /// out to have ended meanwhile (it goes on as a new one), and forgotten
    /// when the save meets a newer document: call it inside
    /// [`Session::update`] so that it is decided again on that document
    /// (e.g. only while it is still logged in). The new value is
    /// [`Session::counted`] after the commit.
    pub fn count_on_save(&mut self, key: String) {
        self.counter = Some(key);
        self.counted = None;
    }

    /// The next save writes only if `key` still holds `bytes` (compared in
    /// the save script, by SHA-1): otherwise nothing is written and the
    /// commit fails with [`SessionError::Stale`]. A login passes the user
    /// record it checked the password against, so that a login checked
    /// just before a password change cannot save (and index) a session
    /// after the change ended every session of the user.
    ///
    /// `replace_with`, if given, is written to `key` (`SET`, no TTL) in the
    /// same step when the save is made, never otherwise: a login's
    /// rehashed record, which must not overwrite a changed one.
    pub fn save_only_if_unchanged(&mut self, key: String, bytes: &[u8], replace_with: Option<String>) {
        self.guard = Some(Guard { read: Loaded { key, digest: Digest::of(bytes) }, replace_with });
    }

    /// The counter's value after the write that [`Session::count_on_save`]
    /// asked for; `None` when no such write happened.
    pub fn counted(&self) -> Option<i64> {
        self.counted
    }

    /// Sends `write` with the session's next store write, in the same round
    /// trip: with its save, or, when the commit has nothing of the
    /// session's own to write before the answer, alone at the commit. Not
    /// atomic with the save, and sent once even when the save is tried
    /// again after a conflict: for changes that stand on their own (a new
    /// user record, settled rate-limit counters). What it did is
    /// [`Session::written`] after the commit.
    pub fn also_write(&mut self, write: Write) {
        self.also.push(write);
    }

    /// What the writes of [`Session::also_write`] did, in order; empty
    /// before they were sent.
    pub fn written(&self) -> &[Written] {
        &self.written
    }

    /// Applies this request's changes again, in order, to the current
    /// document (a newer one than they were first made on).
    fn replay(&mut self, now: Millis) -> Result<(), SessionError> {
        let mut changes = std::mem::take(&mut self.changes);
        self.recording = false;
        let result = changes.iter_mut().try_for_each(|c| match c {
            Change::Insert(k, v) => self.doc.insert(k, v).map_err(SessionError::from),
            Change::Remove(k) => {
                self.doc.remove(k);
                Ok(())
            }
            Change::MaxAge(ms) => {
                self.apply_max_age(*ms, now);
                Ok(())
            }
            Change::Update(f) => f(self).map_err(SessionError::ChangeRefused),
        });
        self.recording = true;
        self.changes = changes;
        result
    }

    /// The document as it would be stored now.
    pub fn to_json(&self) -> String {
        self.doc.to_json()
    }

    /// The document exactly as the store holds it, as far as this request
    /// knows: the text it last read, as read (whoever wrote it, in whatever
    /// spelling), while nothing was written since, whatever changes are in
    /// hand; else the text it last wrote, while the fields in hand still
    /// serialize to those bytes; `None` otherwise (a new session not yet
    /// written, a change made after this request's last write, an ended
    /// session).
    pub fn stored_document(&self) -> Option<String> {
        let stored = self.stored.as_ref().filter(|_| !self.is_ended())?;
        match &stored.held {
            Held::Read(bytes) => String::from_utf8(bytes.clone()).ok(),
            Held::Written(text) => (self.to_json() == *text).then(|| text.clone()),
        }
    }

    /// express-session's `touch()`: expires becomes now + originalMaxAge.
    /// (Commit does this anyway; it matters only to code that reads the
    /// expiry later in the same request.)
    pub fn touch(&mut self, now: Millis) {
        self.doc.cookie.reset_expiry(now);
    }

    /// Sets `cookie.maxAge` for this session, as `req.session.cookie.maxAge
    /// = ms` does ("remember me"); `None` makes it a browser-session cookie
    /// (`cookie.expires = false`).
    ///
    /// As in express-session the cookie is not part of "modified": the new
    /// lifetime reaches the store's TTL at once (by EXPIRE or SET) but the
    /// stored document and the browser's cookie only change when the
    /// session is also modified, saved or rolling. Change the max age
    /// together with a login, as Passport apps do, to persist it.
    pub fn set_max_age(&mut self, ms: Option<f64>, now: Millis) {
        if self.recording {
            self.changes.push(Change::MaxAge(ms));
        }
        self.apply_max_age(ms, now);
    }

    fn apply_max_age(&mut self, ms: Option<f64>, now: Millis) {
        self.doc.cookie.original_max_age = ms;
        self.doc.lifetime_absent = false;
        self.doc.cookie.reset_expiry(now);
    }

    /// Records that the store no longer holds this session because the
    /// caller deleted it by other means (e.g. with the accounts' logout
    /// everywhere): commit then writes nothing and clears the cookie, as
    /// after [`Sessions::destroy`].
    pub fn mark_destroyed(&mut self) {
        self.state = State::Destroyed;
    }

    /// Whether the session has ended in this request (destroyed, unset, or
    /// [`Session::mark_destroyed`]): the browser keeps no session after it.
    pub fn is_ended(&self) -> bool {
        !matches!(self.state, State::Live)
    }

    /// express-session's `req.session = null`: what happens to the stored
    /// session is the `unset` option's choice; no cookie is sent.
    pub fn unset(&mut self) {
        self.state = State::Unset;
    }

    fn facts(&self) -> Facts {
        let now = self.doc.fields_fingerprint();
        let same_id = self.original_id == self.id;
        Facts {
            cookie_matches: self.cookie_id.as_ref() == Some(&self.id),
            modified: !same_id || self.original != now,
            has_saved_state: self.saved.is_some(),
            saved: same_id && self.saved.as_ref() == Some(&now),
            expires_set: self.doc.cookie.expires.is_some(),
        }
    }
}

/// A write that may wait until the answer has been sent (on Workers, with
/// the request context's `waitUntil`): the touch of an unmodified session,
/// and, with `resave`, its rewrite. Nothing in it changes what the visitor
/// sees; [`run_deferred`] sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deferred {
    /// `EXPIRE key ttl_seconds` (connect-redis's `touch`), and, in the same
    /// round trip, `EXPIRE set seconds GT` of the index the session is
    /// listed in ([`Session::keep_index`]).
    Touch {
        /// The session's key.
        key: String,
        /// The new TTL.
        ttl_seconds: u64,
        /// The index set and its TTL at least, in seconds.
        index: Option<(String, u64)>,
    },
    /// `DEL key`: a touch with no time left (connect-redis deletes).
    Delete {
        /// The session's key.
        key: String,
    },
    /// The compare-and-set rewrite of an unchanged session (`resave`).
    Resave(Box<Save>),
}

impl Deferred {
    /// The session key it writes (for a log line: never the document).
    pub fn key(&self) -> &str {
        match self {
            Deferred::Touch { key, .. } | Deferred::Delete { key } => key,
            Deferred::Resave(save) => &save.key,
        }
    }
}

/// Sends a [`Deferred`] write. A rewrite that meets a newer document or a
/// key that is gone is dropped: someone else saved or ended the session,
/// and an unchanged document has nothing to add.
///
/// # Errors
///
/// [`StoreError`] when the store fails; the caller logs it. Nothing is lost
/// then: the session stays as it was, only its TTL was not renewed.
pub async fn run_deferred<S: SessionStore>(store: &S, write: &Deferred) -> Result<(), StoreError> {
    match write {
        Deferred::Touch { key, ttl_seconds, index: None } => store.expire(key, *ttl_seconds).await.map(|_| ()),
        Deferred::Touch { key, ttl_seconds, index: Some((set, seconds)) } => {
            let writes = [
                Write::Expire { key: key.clone(), seconds: *ttl_seconds },
                Write::ExtendTtl { key: set.clone(), seconds: *seconds },
            ];
            store.write(None, &writes).await.map(|_| ())
        }
        Deferred::Delete { key } => store.del(std::slice::from_ref(key)).await.map(|_| ()),
        Deferred::Resave(save) => store.save(save).await.map(|_| ()),
    }
}

/// How a request's session was found, as `Server-Timing` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    /// No session cookie: a new session.
    New,
    /// The cookie's session was in the store.
    Hit,
    /// A signed id the store did not know (expired, logged out, destroyed).
    Miss,
    /// A session cookie whose signature did not verify (or not signed).
    Tampered,
    /// The cookie's session was in the store but its `cookie.expires` had
    /// passed (a store without TTLs): used, as express-session uses it.
    Expired,
    /// The stored document could not be read: a new session.
    Unreadable,
    /// The session's login is older than its absolute lifetime
    /// ([`SessionConfig::absolute_timeout_seconds`]): it was ended, and a
    /// new session started.
    LoginExpired,
}

impl LoadOutcome {
    /// The name `Server-Timing` carries: `new`, `hit`, `miss`, `tampered`,
    /// `expired`, `unreadable`, `login-expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadOutcome::New => "new",
            LoadOutcome::Hit => "hit",
            LoadOutcome::Miss => "miss",
            LoadOutcome::Tampered => "tampered",
            LoadOutcome::Expired => "expired",
            LoadOutcome::Unreadable => "unreadable",
            LoadOutcome::LoginExpired => "login-expired",
        }
    }
}

/// The session layer bound to a configuration and a store, for one request
/// (it records how that request's session was found and how many saves met
/// a conflict).
pub struct Sessions<'a, S> {
    config: &'a SessionConfig,
    store: &'a S,
    genid: fn() -> SessionId,
    outcome: std::cell::Cell<Option<LoadOutcome>>,
    conflicts: std::cell::Cell<u32>,
    /// Whether touches wait until after the answer ([`Sessions::deferring_writes`]).
    defer: bool,
    deferred: std::cell::RefCell<Vec<Deferred>>,
}

impl<'a, S: SessionStore> Sessions<'a, S> {
    /// Binds `config` and `store`; ids come from [`SessionId::generate`].
    pub fn new(config: &'a SessionConfig, store: &'a S) -> Self {
        Self {
            config,
            store,
            genid: SessionId::generate,
            outcome: std::cell::Cell::new(None),
            conflicts: std::cell::Cell::new(0),
            defer: false,
            deferred: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Commits leave the touch of an unmodified session (and, with
    /// `resave`, its rewrite) to the caller, to be sent after the answer
    /// ([`Sessions::take_deferred`], [`run_deferred`]): a read then makes
    /// one store call, a read, before the visitor has the answer. Only for
    /// callers that do send them (on Workers, with `waitUntil`); otherwise
    /// sessions would expire early.
    pub fn deferring_writes(mut self) -> Self {
        self.defer = true;
        self
    }

    /// The writes commits have left for after the answer.
    pub fn take_deferred(&self) -> Vec<Deferred> {
        std::mem::take(&mut self.deferred.borrow_mut())
    }

    /// How the last [`Sessions::load`] found its session; `None` before one.
    pub fn outcome(&self) -> Option<LoadOutcome> {
        self.outcome.get()
    }

    /// How many saves met a newer document (each then tried again).
    pub fn conflicts(&self) -> u32 {
        self.conflicts.get()
    }

    /// Uses `genid` for new session ids (tests use fixed ids).
    pub fn with_id_generator(mut self, genid: fn() -> SessionId) -> Self {
        self.genid = genid;
        self
    }

    /// The configuration this layer was bound to.
    pub fn config(&self) -> &SessionConfig {
        self.config
    }

    /// The Redis key of session `sid` (connect-redis: `prefix + sid`).
    pub fn key(&self, sid: &SessionId) -> String {
        keys::session(&self.config.prefix, sid.as_str())
    }

    /// The stored bytes of the session a verified cookie names, with the
    /// lookups, in one round trip. The only store read keyed by client
    /// input, and it takes only a [`VerifiedSessionId`]: an id a client made
    /// up cannot reach it. With `touchAfter`, the key's PTTL comes with it.
    async fn fetch(
        &self,
        sid: Option<&VerifiedSessionId>,
        lookups: &[Lookup],
    ) -> Result<(Option<(Vec<u8>, Option<i64>)>, Vec<Found>), StoreError> {
        let key = sid.map(|sid| keys::session(&self.config.prefix, sid.as_str()));
        let fetched = self.store.read(key.as_deref(), self.config.touch_after_seconds > 0, lookups).await?;
        Ok((fetched.session, fetched.found))
    }

    /// Resolves the request's session: a verified cookie whose id the store
    /// knows gives that session; anything else gives a new one.
    /// `request_secure` is express-session's `issecure` for this request
    /// (see [`SessionConfig::trust_proxy`]); the session keeps it until commit.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails; nothing has been
    /// written then. A corrupt stored document is not an error: a new
    /// session starts, with a [`Session::notice`] for the visitor.
    pub async fn load(
        &self,
        cookie_header: Option<&str>,
        now: Millis,
        request_secure: bool,
    ) -> Result<Session, SessionError> {
        Ok(self.load_with(cookie_header, now, request_secure, &[]).await?.0)
    }

    /// [`Sessions::load`], with `lookups` in the same round trip (the
    /// request's other reads: a user record, a counter, a rate-limit hit),
    /// and what they found, in order. Without a valid cookie the lookups
    /// are still made (alone).
    ///
    /// # Errors
    ///
    /// As [`Sessions::load`].
    pub async fn load_with(
        &self,
        cookie_header: Option<&str>,
        now: Millis,
        request_secure: bool,
        lookups: &[Lookup],
    ) -> Result<(Session, Vec<Found>), SessionError> {
        let cfg = self.config;
        // Trust boundary: an unsigned or forged cookie yields `None` here and
        // the store is not consulted for it (only for the lookups).
        let verified = cookie::verified_session_id(cookie_header, &cfg.cookie_name, &cfg.secrets);
        let (stored, found) = self.fetch(verified.as_ref(), lookups).await?;
        let Some(verified) = verified else {
            let sent = cookie_header.and_then(|h| cookie::find_cookie(h, &cfg.cookie_name)).is_some();
            self.outcome.set(Some(if sent { LoadOutcome::Tampered } else { LoadOutcome::New }));
            return Ok((self.generate(None, now, request_secure, None), found));
        };
        let sid = SessionId::from(verified);
        let Some((bytes, pttl_ms)) = stored else {
            // Signed by us but unknown to the store (expired, destroyed):
            // start over under a fresh id. The cookie's id is never adopted,
            // so a client cannot choose the id of its next session.
            self.outcome.set(Some(LoadOutcome::Miss));
            return Ok((self.generate(Some(sid), now, request_secure, None), found));
        };
        let session = match SessionDocument::parse(&bytes) {
            Ok(doc) if decide::login_expired(passport::authenticated_at(&doc), cfg.absolute_timeout_seconds, now) => {
                // The login's absolute lifetime is over, however often the
                // session was used: a new session, and the old key deleted
                // with its first write (as a regenerate retires it), so that
                // neither this worker nor an Express app can use it again.
                self.outcome.set(Some(LoadOutcome::LoginExpired));
                let old = self.key(&sid);
                let notice = format!(
                    "the login of session {old} is older than SESSION_ABSOLUTE_TIMEOUT_SECONDS; a new session was started: log in again"
                );
                let mut fresh = self.generate(Some(sid), now, request_secure, Some(notice));
                fresh.retired.push(old);
                fresh
            }
            Ok(doc) => {
                let expired = doc.cookie.expires.is_some_and(|e| e <= now);
                self.outcome.set(Some(if expired { LoadOutcome::Expired } else { LoadOutcome::Hit }));
                let original = loaded_fingerprint(&doc);
                let stamp = decide::stamp_login_time(
                    passport::is_logged_in(&doc),
                    passport::authenticated_at(&doc).is_some(),
                    cfg.absolute_timeout_seconds.is_some(),
                );
                let mut session = Session {
                    stored: Some(Stored { key: self.key(&sid), held: Held::Read(bytes) }),
                    id: sid.clone(),
                    cookie_id: Some(sid.clone()),
                    original_id: sid,
                    request_secure,
                    saved: (!cfg.policy.resave).then(|| original.clone()),
                    original,
                    doc,
                    state: State::Live,
                    notice: None,
                    retired: Vec::new(),
                    ended_cookies: Vec::new(),
                    changes: Vec::new(),
                    recording: true,
                    index: None,
                    listed_in: None,
                    counter: None,
                    guard: None,
                    counted: None,
                    loaded_pttl_ms: pttl_ms,
                    also: Vec::new(),
                    written: Vec::new(),
                };
                if stamp {
                    // A login without a recorded time (made by Express, or
                    // before the limit was set) is limited from now on.
                    session.insert(passport::AUTHENTICATED_AT, &now)?;
                }
                session
            }
            Err(err) => {
                self.outcome.set(Some(LoadOutcome::Unreadable));
                // The stored bytes are unusable. Start a new session under a
                // new id and leave the old key alone: it is never
                // overwritten or deleted here, so nothing that might be
                // recovered is lost, and it expires by its own TTL.
                let notice = corrupt_notice(&self.key(&sid), &err);
                self.generate(Some(sid), now, request_secure, Some(notice))
            }
        };
        Ok((session, found))
    }

    fn generate(
        &self,
        cookie_id: Option<SessionId>,
        now: Millis,
        request_secure: bool,
        notice: Option<String>,
    ) -> Session {
        let id = (self.genid)();
        let doc = self.new_document(now, request_secure);
        Session {
            original: doc.fields_fingerprint(),
            original_id: id.clone(),
            id,
            cookie_id,
            request_secure,
            saved: None,
            doc,
            state: State::Live,
            notice,
            retired: Vec::new(),
            ended_cookies: Vec::new(),
            stored: None,
            changes: Vec::new(),
            recording: true,
            index: None,
            listed_in: None,
            counter: None,
            guard: None,
            counted: None,
            loaded_pttl_ms: None,
            also: Vec::new(),
            written: Vec::new(),
        }
    }

    fn new_document(&self, now: Millis, request_secure: bool) -> SessionDocument {
        let mut cookie = self.config.cookie.clone();
        if self.config.secure_auto {
            cookie.secure = Some(request_secure);
        }
        if self.config.same_site_auto {
            cookie.same_site = Some(SameSite::Text(if request_secure { "none" } else { "lax" }.into()));
        }
        cookie.reset_expiry(now);
        SessionDocument::new(cookie)
    }

    /// express-session's `regenerate`: the session gets a fresh id and an
    /// empty document, saved at commit (or at the next `save`); the old key
    /// is deleted by that same save, in one step. Used at login and logout
    /// so a session id known before authentication is worthless after it.
    ///
    /// Unlike express-session, which deletes the old key at once, nothing
    /// is deleted before the new session is written: a store that fails in
    /// between leaves the old session as it was, and a login is never half
    /// done.
    ///
    /// # Errors
    ///
    /// None today; the signature leaves room for a store call.
    pub async fn regenerate(&self, s: &mut Session, now: Millis) -> Result<(), SessionError> {
        let old = self.key(&s.id);
        if !s.retired.contains(&old) {
            s.retired.push(old);
        }
        s.id = (self.genid)();
        // The new session is listed only where the caller asked to add it
        // (a login calls add_to_index before it), not where the ended one was.
        s.listed_in = s.index.clone();
        let ended = std::mem::replace(&mut s.doc, self.new_document(now, s.request_secure)).cookie;
        if decide::ended_cookie_survives(&ended, &s.doc.cookie) {
            s.ended_cookies.push(ended);
        }
        s.state = State::Live;
        // A new session: its first save creates the key, and the changes
        // made to the ended one do not carry over.
        s.stored = None;
        s.changes.clear();
        Ok(())
    }

    /// A new id for the same data: at commit the session is saved under a
    /// fresh id with a new cookie and the old key is deleted, in one step
    /// and only if the old key still holds what was loaded, so a failing
    /// store loses nothing and a session ended meanwhile stays ended.
    ///
    /// A session kept in an index (a logged-in session in its user's index,
    /// for logout everywhere) must be added again under its new id: call
    /// [`Session::add_to_index`] before the commit, or logout everywhere
    /// will not find it. express-session has no such call (its
    /// users regenerate and copy the fields by hand).
    ///
    /// # Errors
    ///
    /// None today; the signature leaves room for a store call.
    pub async fn rotate_id(&self, s: &mut Session) -> Result<(), SessionError> {
        s.retired.push(self.key(&s.id));
        s.id = (self.genid)();
        Ok(())
    }

    /// express-session's `reload`: the document is read again from the
    /// store, dropping this request's unsaved changes.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotFound`] when the key is gone, [`SessionError::Corrupt`] when its document
    /// is unreadable, [`SessionError::Store`] when the store fails.
    pub async fn reload(&self, s: &mut Session) -> Result<(), SessionError> {
        let key = self.key(&s.id);
        let bytes = self.store.get(&key).await?.ok_or_else(|| SessionError::NotFound { key: key.clone() })?;
        s.doc = SessionDocument::parse(&bytes).map_err(|source| SessionError::Corrupt { key: key.clone(), source })?;
        // The request's unsaved changes are dropped with the old document.
        s.stored = Some(Stored { key, held: Held::Read(bytes) });
        s.retired.clear();
        s.changes.clear();
        Ok(())
    }

    /// express-session's `destroy`: the key is deleted now (with the keys a
    /// `regenerate` or rotate retired); commit writes nothing and sends a
    /// Set-Cookie that clears the browser's cookie.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the DEL fails; the session is live then.
    pub async fn destroy(&self, s: &mut Session) -> Result<(), SessionError> {
        let mut doomed = std::mem::take(&mut s.retired);
        doomed.push(self.key(&s.id));
        if let Err(e) = self.store.del(&doomed).await {
            doomed.pop();
            s.retired = doomed;
            return Err(e.into());
        }
        s.state = State::Destroyed;
        Ok(())
    }

    /// express-session's `save`: writes the document now (the TTL rule may
    /// turn it into a delete), with compare-and-set as at commit.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the write fails, [`SessionError::Conflict`] or
    /// [`SessionError::ChangeRefused`] as for [`Sessions::commit`].
    pub async fn save(&self, s: &mut Session, now: Millis) -> Result<(), SessionError> {
        for attempt in 0..SAVE_ATTEMPTS {
            s.doc.cookie.reset_expiry(now);
            if self.try_write(s, now, attempt).await? {
                // Like express-session, `originalId` is left alone: after a
                // regenerate, the end of the request saves once more.
                s.saved = Some(s.doc.fields_fingerprint());
                return Ok(());
            }
        }
        Err(SessionError::Conflict { attempts: SAVE_ATTEMPTS })
    }

    /// `touchAfter`: whether the deferred touch (or rewrite) of `s` is due.
    fn touch_due(&self, s: &Session, now: Millis) -> bool {
        let lifetime = s.doc.cookie.ttl_seconds(now, self.config.default_ttl_seconds);
        decide::touch_due(self.config.touch_after_seconds, lifetime, s.loaded_pttl_ms)
    }

    /// The compare-and-set save of the session as it is now.
    fn save_request(&self, s: &Session, now: Millis) -> Save {
        let ttl = self.config.store_ttl(&s.doc.cookie, now);
        Save {
            key: self.key(&s.id),
            loaded: s.stored.as_ref().map(Stored::loaded),
            document: s.doc.to_json(),
            ttl,
            retire: s.retired.clone(),
            index: self.index_entry(s, ttl),
            counter: s.counter.clone(),
            guard: s.guard.clone(),
        }
    }

    /// The index a save of `s` (with TTL `ttl`) keeps, if it is listed in
    /// one: its id added when [`Session::add_to_index`] asked for it.
    fn index_entry(&self, s: &Session, ttl: Ttl) -> Option<IndexEntry> {
        let set = s.listed_in.clone().or_else(|| s.index.clone())?;
        let ttl_seconds = match ttl {
            Ttl::Persist => None,
            Ttl::Seconds(t) => Some(t.max(self.config.longest_ttl_seconds())),
            Ttl::Expired => Some(self.config.longest_ttl_seconds()),
        };
        Some(IndexEntry { set, member: s.index.as_ref().map(|_| s.id.to_string()), ttl_seconds })
    }

    /// One save attempt: `true` when written. When it was not, the session
    /// has been made ready for the next attempt: on a conflict, this
    /// request's changes are applied to the newer document (after a pause
    /// of [`conflict_backoff`]); when the loaded key is gone, the session
    /// starts over as a new one, as express-session starts a session whose
    /// id the store does not know, with this request's changes; when a new
    /// session's id is taken, it gets another.
    async fn try_write(&self, s: &mut Session, now: Millis, attempt: u32) -> Result<bool, SessionError> {
        let save = self.save_request(s, now);
        // The load path refuses documents over the limit (unread, never
        // overwritten), so writing one would lock the visitor out of it.
        if save.document.len() > document::MAX_DOCUMENT_BYTES {
            return Err(SessionError::DocumentTooLarge {
                bytes: save.document.len(),
                limit: document::MAX_DOCUMENT_BYTES,
            });
        }
        let also = std::mem::take(&mut s.also);
        let wrote = self.store.write(Some(&save), &also).await?;
        s.written.extend(wrote.written);
        match wrote.saved.ok_or_else(crate::store::batch::short_batch)? {
            SaveOutcome::Saved(counted) => {
                s.stored =
                    (save.ttl != Ttl::Expired).then_some(Stored { key: save.key, held: Held::Written(save.document) });
                s.retired.clear();
                s.index = None;
                s.guard = None;
                if s.counter.take().is_some() {
                    s.counted = counted;
                }
                // What is saved is no longer this request's to apply again:
                // a later conflict applies only the changes made after it.
                s.changes.clear();
                Ok(true)
            }
            SaveOutcome::Conflict(newer) => {
                self.conflicts.set(self.conflicts.get() + 1);
                let key = save.loaded.map_or(save.key, |l| l.key);
                let doc = SessionDocument::parse(&newer)
                    .map_err(|source| SessionError::Corrupt { key: key.clone(), source })?;
                s.original = loaded_fingerprint(&doc);
                if s.saved.is_some() {
                    s.saved = Some(s.original.clone());
                }
                s.doc = doc;
                s.stored = Some(Stored { key, held: Held::Read(newer) });
                // Decided again by the changes, on the newer document.
                s.counter = None;
                s.replay(now)?;
                pause_after_conflict(self.store, attempt).await;
                Ok(false)
            }
            SaveOutcome::Gone => {
                // Logout wins: the ended session is not written back. The
                // request goes on as a new session, as it would have had it
                // arrived after the logout.
                s.id = (self.genid)();
                s.original_id = s.id.clone();
                s.doc = self.new_document(now, s.request_secure);
                s.original = s.doc.fields_fingerprint();
                s.saved = None;
                s.stored = None;
                s.retired.clear();
                s.index = None;
                s.listed_in = None;
                s.counter = None;
                s.notice = Some(format!(
                    "the session {} ended (logged out, destroyed or expired) while this request was served; a new session was started",
                    save.loaded.map_or(save.key, |l| l.key)
                ));
                s.replay(now)?;
                Ok(false)
            }
            SaveOutcome::Taken => {
                s.id = (self.genid)();
                Ok(false)
            }
            SaveOutcome::Stale => {
                let key = save.guard.map(|g| g.read.key).unwrap_or_default();
                Err(SessionError::Stale { key })
            }
        }
    }

    /// Ends the request: resets the expiry, writes or touches the session as
    /// express-session decides, and returns the `Set-Cookie` values to send,
    /// in order: first an expired one for each cookie a `regenerate` ended
    /// under another Domain or Path (which the new cookie would not
    /// replace), then the session's own, if any. The caller must not answer
    /// before this returns: the state a browser sees after a response is the
    /// state in the store.
    ///
    /// A save is a compare-and-set: when another request saved the session
    /// since this one loaded it, this request's changes are applied to that
    /// newer document and the save is tried again (up to [`SAVE_ATTEMPTS`]
    /// times); when the session was ended meanwhile (logout, destroy,
    /// expiry), it is not written back: the request goes on as a new
    /// session. Afterwards `s` is the session as saved (its id, fields and
    /// cookie), for the response.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails, [`SessionError::Conflict`] when every
    /// attempt met a newer document, [`SessionError::ChangeRefused`] when an update no longer
    /// applies, [`SessionError::Corrupt`] when the newer document is unreadable. Nothing more is
    /// written then; send no `Set-Cookie`.
    pub async fn commit(&self, s: &mut Session, now: Millis) -> Result<Vec<String>, SessionError> {
        let cfg = self.config;
        let own = self.commit_own(s, now).await?;
        let ended = std::mem::take(&mut s.ended_cookies);
        // A Secure cookie cannot be cleared over plain http either.
        let clears = ended
            .iter()
            .filter(|c| decide::may_send_cookie(c.secure == Some(true), s.request_secure))
            .map(|c| cookie::clear_cookie_header(&cfg.cookie_name, c));
        Ok(clears.chain(own).collect())
    }

    /// The session's own Set-Cookie, after writing or touching it.
    async fn commit_own(&self, s: &mut Session, now: Millis) -> Result<Option<String>, SessionError> {
        let cfg = self.config;
        match s.state {
            State::Live => {}
            State::Destroyed => {
                let retired = std::mem::take(&mut s.retired);
                self.send_also(s, retired).await?;
                // Unlike express-session, also tell the browser to drop the
                // cookie: it names a session that no longer exists. (A
                // Secure cookie cannot be cleared over plain http either.)
                let send = decide::may_send_cookie(s.doc.cookie.secure == Some(true), s.request_secure);
                return Ok(send.then(|| cookie::clear_cookie_header(&cfg.cookie_name, &s.doc.cookie)));
            }
            State::Unset => {
                let mut doomed = std::mem::take(&mut s.retired);
                if cfg.unset == Unset::Destroy {
                    doomed.push(self.key(&s.id));
                }
                self.send_also(s, doomed).await?;
                return Ok(None);
            }
        }
        let mut attempt = 0;
        let facts = loop {
            s.doc.cookie.reset_expiry(now);
            let facts = s.facts();
            let unchanged = !facts.modified
                && facts.cookie_matches
                && s.retired.is_empty()
                && s.index.is_none()
                && s.counter.is_none();
            let save = decide::should_save(cfg.policy, facts);
            if save && unchanged && !self.touch_due(s, now) {
                // `resave` of an unchanged session, throttled by touchAfter.
            } else if save && unchanged && self.defer {
                // A rewrite that changes nothing the visitor sees: after
                // the answer.
                self.deferred.borrow_mut().push(Deferred::Resave(Box::new(self.save_request(s, now))));
            } else if save {
                if attempt == SAVE_ATTEMPTS {
                    return Err(SessionError::Conflict { attempts: SAVE_ATTEMPTS });
                }
                if !self.try_write(s, now, attempt).await? {
                    attempt += 1;
                    continue;
                }
            } else if !s.retired.is_empty() {
                // Not saved (e.g. `saveUninitialized: false`), but a
                // regenerate or rotate ended these keys.
                let retired = std::mem::take(&mut s.retired);
                self.send_also(s, retired).await?;
            }
            if !save && decide::should_touch(cfg.policy, facts) && !cfg.disable_touch && !cfg.disable_ttl {
                // EXPIRE never creates a key: a touch cannot bring back a
                // session that was ended meanwhile.
                let key = self.key(&s.id);
                let ttl = s.doc.cookie.ttl_seconds(now, cfg.default_ttl_seconds);
                let write = match ttl {
                    t if t > 0 => {
                        let ttl_seconds = t as u64;
                        let index = self.index_entry(s, Ttl::Seconds(ttl_seconds));
                        let index = index.and_then(|i| Some((i.set, i.ttl_seconds?)));
                        Deferred::Touch { key, ttl_seconds, index }
                    }
                    _ => Deferred::Delete { key },
                };
                if !self.touch_due(s, now) {
                    // touchAfter: touched recently enough.
                } else if self.defer {
                    self.deferred.borrow_mut().push(write);
                } else {
                    run_deferred(self.store, &write).await?;
                }
            }
            break facts;
        };
        // The writes that came with the request and found no save to go with.
        self.send_also(s, Vec::new()).await?;
        let send = decide::should_set_cookie(cfg.policy, facts)
            && decide::may_send_cookie(s.doc.cookie.secure == Some(true), s.request_secure);
        Ok(send.then(|| cookie::set_cookie_header(&cfg.cookie_name, s.id.as_str(), &cfg.secrets, &s.doc.cookie)))
    }
}

impl<S: SessionStore> Sessions<'_, S> {
    /// Sends the session's [`Session::also_write`]s that are still waiting,
    /// and a `DEL` of `doomed` keys (none: nothing), in one round trip; no
    /// call when there is nothing to send.
    async fn send_also(&self, s: &mut Session, doomed: Vec<String>) -> Result<(), StoreError> {
        let mut also = std::mem::take(&mut s.also);
        let deletes = !doomed.is_empty();
        if deletes {
            also.insert(0, Write::Del(doomed));
        }
        let wrote = self.store.write(None, &also).await?;
        // The DEL's own result is not the caller's.
        s.written.extend(wrote.written.into_iter().skip(usize::from(deletes)));
        Ok(())
    }
}

/// Where a session is stored and what this request last read or wrote
/// there. The next save's compare-and-set sends the SHA-1 of those bytes
/// ([`Loaded`]); it is computed only then, so a request that saves
/// nothing (a read) hashes no document.
#[derive(Debug, Clone)]
struct Stored {
    /// The key (the old key after a rotate, until the next write).
    key: String,
    held: Held,
}

/// The bytes at [`Stored::key`], as this request knows them.
#[derive(Debug, Clone)]
enum Held {
    /// The bytes read, moved here, not copied (for
    /// [`Session::stored_document`]: another writer's spelling, `\/`,
    /// `\u00e9` or `1e21`, is shown as it is stored).
    Read(Vec<u8>),
    /// The text this request wrote.
    Written(String),
}

impl Stored {
    /// The compare of the next save: the key and the digest of its bytes.
    fn loaded(&self) -> Loaded {
        let bytes = match &self.held {
            Held::Read(bytes) => bytes.as_slice(),
            Held::Written(text) => text.as_bytes(),
        };
        Loaded { key: self.key.clone(), digest: Digest::of(bytes) }
    }
}

/// express-session's `originalHash` of a loaded document: its fields, and a
/// marker when loading dropped a stored field (the stored object had it, so
/// the session reads as modified).
fn loaded_fingerprint(doc: &SessionDocument) -> Fingerprint {
    let mut original = doc.fields_fingerprint();
    if doc.dropped_on_load() {
        original.push(("\u{0}dropped on load".into(), String::new()));
    }
    original
}

fn corrupt_notice(key: &str, err: &DocumentError) -> String {
    format!("the stored session {key} could not be read ({err}); a new session was started and the stored one was left untouched")
}

#[cfg(test)]
mod tests;
