//! The Lua scripts the session layer runs in the store, and the one place
//! their calls are encoded and their answers decoded (as `store::command`
//! does for plain commands). A script call travels as `EVALSHA sha numkeys
//! key… arg…`; when the store does not know the script yet (`NOSCRIPT`, e.g.
//! after a restart or a `SCRIPT FLUSH`), the client sends the same call once
//! more as `EVAL source …`, which also loads it.
//!
//! Every script follows Upstash's rules for scripts: it starts with
//! `#!lua flags=allow-key-locking` (Upstash then locks only the keys named
//! in `KEYS` instead of the whole database), names every key it touches in
//! `KEYS`, and builds no key names inside. The sources are in
//! `store/scripts/*.lua`, each with its keys, arguments and answers at the top.

use serde_json::Value;
use sha1::{Digest as _, Sha1};

use super::command::Command;
use super::wire::{unexpected, CommandError, Encoding};

/// A Lua script: its name (for messages), its source and its SHA-1.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    /// A short name, e.g. `save`.
    pub name: &'static str,
    /// The Lua source, shebang line first.
    pub source: &'static str,
    /// The source's SHA-1, computed by build.rs: hashing a few KB of
    /// source on every `EVALSHA` was ~20 µs of a first visit's CPU in
    /// workerd (docs/BENCHMARKS.md).
    sha1: &'static str,
}

impl Script {
    /// The SHA-1 of the source (40 lowercase hex digits), the name
    /// `EVALSHA` knows it by.
    pub fn sha1(&self) -> &'static str {
        self.sha1
    }
}

// SAVE_SHA1, END_SESSIONS_SHA1, PRUNE_INDEX_SHA1, REGISTER_SHA1 (build.rs).
include!(concat!(env!("OUT_DIR"), "/script-digests.rs"));

/// The compare-and-set save of one session document (`scripts/save.lua`).
pub const SAVE: Script = Script { name: "save", source: include_str!("scripts/save.lua"), sha1: SAVE_SHA1 };
/// Logout everywhere: a user's index set and its sessions, deleted together
/// if the set is unchanged (`scripts/end_sessions.lua`).
pub const END_SESSIONS: Script =
    Script { name: "end_sessions", source: include_str!("scripts/end_sessions.lua"), sha1: END_SESSIONS_SHA1 };
/// The pruning of a user's session index: members whose sessions are gone
/// are forgotten (`scripts/prune_index.lua`).
pub const PRUNE_INDEX: Script =
    Script { name: "prune_index", source: include_str!("scripts/prune_index.lua"), sha1: PRUNE_INDEX_SHA1 };
/// A registration: the user record and its name's confusable skeleton,
/// created together or not at all (`scripts/register.lua`).
pub const REGISTER: Script =
    Script { name: "register", source: include_str!("scripts/register.lua"), sha1: REGISTER_SHA1 };

/// The SHA-1 (hex, 40 lowercase digits) of some stored bytes: what a
/// compare-and-set save compares, computed by the script with Redis's
/// `redis.sha1hex`. A digest rather than the bytes keeps the save's request
/// as small as the document it writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let hash = Sha1::digest(bytes);
        Self(hex::encode(hash))
    }

    /// The 40 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A call of a [`Script`]: its `KEYS`, its `ARGV` and the reading of its answer.
pub trait ScriptCall {
    /// What the script answers, decoded.
    type Output;
    /// The script this calls.
    const SCRIPT: Script;
    /// `KEYS`: every key the script touches.
    fn keys(&self) -> Vec<String>;
    /// `ARGV`.
    fn argv(&self) -> Vec<String>;
    /// Reads the script's answer.
    ///
    /// # Errors
    ///
    /// [`CommandError`] when the answer does not have the script's shape.
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError>;
}

fn call_args<C: ScriptCall>(verb: &str, script: String, call: &C) -> Vec<String> {
    let keys = call.keys();
    let mut args = vec![verb.to_owned(), script, keys.len().to_string()];
    args.extend(keys);
    args.extend(call.argv());
    args
}

/// `EVALSHA sha1 numkeys key… arg…`: the call by the script's digest.
#[derive(Debug)]
pub struct EvalSha<'a, C>(pub &'a C);

impl<C: ScriptCall> Command for EvalSha<'_, C> {
    type Output = C::Output;
    const NAME: &'static str = "EVALSHA";
    fn args(&self) -> Vec<String> {
        call_args(Self::NAME, C::SCRIPT.sha1().to_owned(), self.0)
    }
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError> {
        C::parse(result, enc)
    }
}

/// `EVAL source numkeys key… arg…`: the call with the whole source, after
/// a [`is_noscript`] answer to [`EvalSha`].
#[derive(Debug)]
pub struct Eval<'a, C>(pub &'a C);

impl<C: ScriptCall> Command for Eval<'_, C> {
    type Output = C::Output;
    const NAME: &'static str = "EVAL";
    fn args(&self) -> Vec<String> {
        call_args(Self::NAME, C::SCRIPT.source.to_owned(), self.0)
    }
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError> {
        C::parse(result, enc)
    }
}

/// Whether `err` is Redis's `NOSCRIPT` answer to an `EVALSHA` of a script
/// the store does not hold: the one error after which the call is sent
/// again, as `EVAL`.
pub fn is_noscript(err: &CommandError) -> bool {
    matches!(err, CommandError::Redis(m) if m.starts_with("NOSCRIPT"))
}

/// How long a saved session lives in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// `SET … EX seconds`.
    Seconds(u64),
    /// `SET` without a TTL (connect-redis's `disableTTL`).
    Persist,
    /// Already expired: the key is deleted instead of written
    /// (connect-redis's `set` with a TTL of 0 or less).
    Expired,
}

/// The set a saved session is listed in (a user's session index, for
/// logout everywhere), kept in the same step as the save: the id added when
/// `member` is given (a login is indexed exactly when its session exists),
/// and the set's TTL set when it has none and raised when it is shorter,
/// never lowered, so that the set outlives every session it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The set's key.
    pub set: String,
    /// The member to add (the session id); `None`: the session is listed
    /// already, only the set's TTL is kept.
    pub member: Option<String>,
    /// The set's TTL at least, in seconds; `None`: no TTL at all
    /// (`PERSIST`, for stores without TTLs: connect-redis's `disableTTL`).
    pub ttl_seconds: Option<u64>,
}

impl IndexEntry {
    /// What `scripts/save.lua` takes as `ARGV[7]`: the TTL, or `persist`.
    fn ttl_arg(&self) -> String {
        self.ttl_seconds.map_or_else(|| "persist".into(), |s| s.to_string())
    }
}

/// What the session was loaded from, for the compare of a save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The key it was read from (the old key after a rotate).
    pub key: String,
    /// The digest of the bytes read.
    pub digest: Digest,
}

/// One compare-and-set save (`scripts/save.lua`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Save {
    /// The key to write.
    pub key: String,
    /// What the request loaded; `None` for a new session, whose key must
    /// not exist yet.
    pub loaded: Option<Loaded>,
    /// The document.
    pub document: String,
    /// Its lifetime.
    pub ttl: Ttl,
    /// Keys deleted once the document is written (ids a rotate retired).
    pub retire: Vec<String>,
    /// A set to add the session's id to in the same step.
    pub index: Option<IndexEntry>,
    /// A counter to add one to (`INCR`) in the same step.
    pub counter: Option<String>,
    /// A key that must still hold what was read from it (its digest), or
    /// nothing is written ([`SaveOutcome::Stale`]): a login's user record,
    /// so that a login checked against a password changed meanwhile saves
    /// nothing.
    pub guard: Option<Guard>,
}

/// A [`Save`]'s guard: a key, the digest of what was read from it, and
/// what to write there in the same step when it still holds that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The key (and the digest of the bytes read from it).
    pub read: Loaded,
    /// Its new value (`SET`, no TTL) when the save is made: a login's
    /// rehashed user record, which must never replace one changed
    /// meanwhile. `None`: left as it is.
    pub replace_with: Option<String>,
}

/// What a [`Save`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    /// Written (or, for [`Ttl::Expired`], deleted); with the counter's new
    /// value when the save had one.
    Saved(Option<i64>),
    /// Nothing written: the loaded key holds other bytes now, given here so
    /// the change can be applied to them without another read.
    Conflict(Vec<u8>),
    /// Nothing written: the loaded key no longer exists (destroyed, logged
    /// out, expired).
    Gone,
    /// Nothing written: a new session's key exists already.
    Taken,
    /// Nothing written: the guard key no longer holds what was read.
    Stale,
}

impl ScriptCall for Save {
    type Output = SaveOutcome;
    const SCRIPT: Script = SAVE;

    fn keys(&self) -> Vec<String> {
        let source = self.loaded.as_ref().map_or(&self.key, |l| &l.key);
        let mut keys = vec![self.key.clone(), source.clone()];
        keys.extend(self.retire.iter().cloned());
        keys.extend(self.index.iter().map(|i| i.set.clone()));
        keys.extend(self.counter.iter().cloned());
        keys.extend(self.guard.iter().map(|g| g.read.key.clone()));
        keys
    }

    fn argv(&self) -> Vec<String> {
        let digest = self.loaded.as_ref().map_or(String::new(), |l| l.digest.as_str().to_owned());
        let ttl = match self.ttl {
            Ttl::Seconds(s) => s.to_string(),
            Ttl::Persist => String::new(),
            Ttl::Expired => "0".into(),
        };
        let member = self.index.as_ref().and_then(|i| i.member.clone()).unwrap_or_default();
        let counter = if self.counter.is_some() { "1" } else { "" };
        let index_ttl = self.index.as_ref().map_or(String::new(), IndexEntry::ttl_arg);
        let guard = self.guard.as_ref().map_or(String::new(), |g| g.read.digest.as_str().to_owned());
        let replace = self.guard.as_ref().and_then(|g| g.replace_with.clone()).unwrap_or_default();
        vec![
            digest,
            self.document.clone(),
            ttl,
            self.retire.len().to_string(),
            member,
            counter.to_owned(),
            index_ttl,
            guard,
            replace,
        ]
    }

    fn parse(result: Value, enc: Encoding) -> Result<SaveOutcome, CommandError> {
        let name = "EVALSHA save";
        let items = result.as_array().ok_or_else(|| unexpected(name, &result))?;
        match (items.first().and_then(Value::as_i64), items.get(1)) {
            (Some(1), None) => Ok(SaveOutcome::Saved(None)),
            (Some(1), Some(Value::Number(n))) => {
                n.as_i64().map(|n| SaveOutcome::Saved(Some(n))).ok_or_else(|| unexpected(name, &result))
            }
            (Some(0), Some(Value::String(bytes))) => Ok(SaveOutcome::Conflict(enc.decode_bulk(name, bytes)?)),
            (Some(-1), None) => Ok(SaveOutcome::Gone),
            (Some(-2), None) => Ok(SaveOutcome::Taken),
            (Some(-3), None) => Ok(SaveOutcome::Stale),
            _ => Err(unexpected(name, &result)),
        }
    }
}

/// Ends a user's sessions (`scripts/end_sessions.lua`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndSessions {
    /// The user's index set.
    pub index: String,
    /// The members read from it (session ids).
    pub members: Vec<String>,
    /// The session key of each member, in the same order.
    pub member_keys: Vec<String>,
    /// Other session keys to end with them (the caller's own).
    pub also: Vec<String>,
}

/// What an [`EndSessions`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndOutcome {
    /// The set and its sessions are deleted; this many session keys existed.
    Ended(u64),
    /// Nothing deleted: the set holds these members now.
    Changed(Vec<String>),
}

impl ScriptCall for EndSessions {
    type Output = EndOutcome;
    const SCRIPT: Script = END_SESSIONS;

    fn keys(&self) -> Vec<String> {
        let mut keys = vec![self.index.clone()];
        keys.extend(self.member_keys.iter().cloned());
        keys.extend(self.also.iter().filter(|k| !self.member_keys.contains(k)).cloned());
        keys
    }

    fn argv(&self) -> Vec<String> {
        self.members.clone()
    }

    fn parse(result: Value, enc: Encoding) -> Result<EndOutcome, CommandError> {
        let name = "EVALSHA end_sessions";
        let items = result.as_array().ok_or_else(|| unexpected(name, &result))?;
        match (items.first().and_then(Value::as_i64), items.get(1)) {
            (Some(1), Some(n)) => n.as_u64().map(EndOutcome::Ended).ok_or_else(|| unexpected(name, &result)),
            (Some(0), Some(Value::Array(members))) => members
                .iter()
                .map(|m| match m {
                    Value::String(s) => String::from_utf8(enc.decode_bulk(name, s)?)
                        .map_err(|_| CommandError::Unexpected { command: name, reply: "member is not UTF-8".into() }),
                    other => Err(unexpected(name, other)),
                })
                .collect::<Result<_, _>>()
                .map(EndOutcome::Changed),
            _ => Err(unexpected(name, &result)),
        }
    }
}

/// Forgets the members of a user's session index whose sessions are gone
/// (`scripts/prune_index.lua`); answers how many were removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneIndex {
    /// The user's index set.
    pub index: String,
    /// The members to check (session ids).
    pub members: Vec<String>,
    /// The session key of each member, in the same order.
    pub member_keys: Vec<String>,
}

impl ScriptCall for PruneIndex {
    type Output = u64;
    const SCRIPT: Script = PRUNE_INDEX;

    fn keys(&self) -> Vec<String> {
        let mut keys = vec![self.index.clone()];
        keys.extend(self.member_keys.iter().cloned());
        keys
    }

    fn argv(&self) -> Vec<String> {
        self.members.clone()
    }

    fn parse(result: Value, _enc: Encoding) -> Result<u64, CommandError> {
        result.as_u64().ok_or_else(|| unexpected("EVALSHA prune_index", &result))
    }
}

/// Creates a user record and claims its name's skeleton key
/// (`scripts/register.lua`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    /// The user record's key.
    pub user: String,
    /// The skeleton key ([`crate::keys::user_skeleton`]).
    pub skeleton: String,
    /// The record (JSON).
    pub record: String,
    /// The canonical name, which the skeleton key holds.
    pub name: String,
    /// The TTL of both keys until the first login, in seconds; `None`: none.
    pub ttl_seconds: Option<u64>,
    /// The name's known-addresses set, emptied once the record is created
    /// (a name freed by an expired account keeps none of its addresses),
    /// the registering address's bucket to add to it (empty: none) and the
    /// set's TTL in seconds.
    pub known: Option<(String, String, u64)>,
}

/// What a [`Register`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Both keys written.
    Created,
    /// Nothing written: the user record exists.
    Taken,
    /// Nothing written: the skeleton belongs to another name.
    LookAlike,
}

impl ScriptCall for Register {
    type Output = RegisterOutcome;
    const SCRIPT: Script = REGISTER;

    fn keys(&self) -> Vec<String> {
        let mut keys = vec![self.user.clone(), self.skeleton.clone()];
        keys.extend(self.known.iter().map(|(set, _, _)| set.clone()));
        keys
    }

    fn argv(&self) -> Vec<String> {
        let ttl = self.ttl_seconds.map_or(String::new(), |s| s.to_string());
        let (member, seconds) =
            self.known.as_ref().map_or((String::new(), String::new()), |(_, m, s)| (m.clone(), s.to_string()));
        vec![self.record.clone(), self.name.clone(), ttl, member, seconds]
    }

    fn parse(result: Value, _enc: Encoding) -> Result<RegisterOutcome, CommandError> {
        match result.as_i64() {
            Some(1) => Ok(RegisterOutcome::Created),
            Some(0) => Ok(RegisterOutcome::Taken),
            Some(-1) => Ok(RegisterOutcome::LookAlike),
            _ => Err(unexpected("EVALSHA register", &result)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::wire::{open_envelope, Reply};

    fn round_trip<C: ScriptCall>(reply: Reply, enc: Encoding) -> Result<C::Output, CommandError> {
        let wire = serde_json::to_string(&reply.to_envelope(enc)).unwrap();
        C::parse(open_envelope(serde_json::from_str(&wire).unwrap())?, enc)
    }

    #[test]
    fn every_script_follows_upstash_rules() {
        for s in [SAVE, END_SESSIONS, PRUNE_INDEX, REGISTER] {
            assert!(s.source.starts_with("#!lua flags=allow-key-locking\n"), "{}", s.name);
            // No key is built inside: no prefix constant and no string
            // concatenation into a redis.call key position.
            assert!(!s.source.contains("sess:"), "{}", s.name);
            // build.rs's digest is the source's, as Redis computes it.
            assert_eq!(s.sha1(), Digest::of(s.source.as_bytes()).as_str(), "{}", s.name);
        }
        assert_ne!(SAVE.sha1(), END_SESSIONS.sha1());
        assert_ne!(PRUNE_INDEX.sha1(), END_SESSIONS.sha1());
        assert_ne!(REGISTER.sha1(), SAVE.sha1());
    }

    #[test]
    fn register_encoding() {
        let call = Register {
            user: "user:al".into(),
            skeleton: "user-skeleton:al".into(),
            record: "{}".into(),
            name: "al".into(),
            ttl_seconds: Some(60),
            known: None,
        };
        assert_eq!(call.keys(), ["user:al", "user-skeleton:al"]);
        assert_eq!(call.argv(), ["{}", "al", "60", "", ""]);
        let known = Register { known: Some(("login-known:al".into(), "192.0.2.1".into(), 90)), ..call.clone() };
        assert_eq!(known.keys()[2], "login-known:al");
        assert_eq!(&known.argv()[3..], ["192.0.2.1", "90"]);
        assert_eq!(Register { ttl_seconds: None, ..call }.argv()[2], "");
        for (n, outcome) in
            [(1, RegisterOutcome::Created), (0, RegisterOutcome::Taken), (-1, RegisterOutcome::LookAlike)]
        {
            assert_eq!(round_trip::<Register>(Reply::Integer(n), Encoding::Base64).unwrap(), outcome);
        }
        assert!(round_trip::<Register>(Reply::Integer(2), Encoding::Base64).is_err());
    }

    #[test]
    fn digest_is_redis_sha1hex() {
        // redis-cli EVAL "return redis.sha1hex(ARGV[1])" 0 '{"a":1}'
        assert_eq!(Digest::of(b"").as_str(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(Digest::of(b"abc").as_str(), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn save_encoding() {
        let save = Save {
            key: "sess:new".into(),
            loaded: Some(Loaded { key: "sess:old".into(), digest: Digest::of(b"abc") }),
            document: "{}".into(),
            ttl: Ttl::Seconds(60),
            retire: vec!["sess:old".into()],
            index: Some(IndexEntry {
                set: "user-sessions:al".into(),
                member: Some("new".into()),
                ttl_seconds: Some(86400),
            }),
            counter: Some("user-beers:al".into()),
            guard: None,
        };
        assert_eq!(save.keys(), ["sess:new", "sess:old", "sess:old", "user-sessions:al", "user-beers:al"]);
        assert_eq!(
            save.argv(),
            ["a9993e364706816aba3e25717850c26c9cd0d89d", "{}", "60", "1", "new", "1", "86400", "", ""]
        );
        let guarded = Save {
            guard: Some(Guard {
                read: Loaded { key: "user:al".into(), digest: Digest::of(b"rec") },
                replace_with: Some("new".into()),
            }),
            ..save.clone()
        };
        assert_eq!(guarded.keys().last().map(String::as_str), Some("user:al"), "the guard key is last");
        assert_eq!(guarded.argv()[7], Digest::of(b"rec").as_str());
        assert_eq!(guarded.argv()[8], "new");
        let kept = Save {
            index: Some(IndexEntry { set: "user-sessions:al".into(), member: None, ttl_seconds: None }),
            ..save.clone()
        };
        assert_eq!(kept.keys()[3], "user-sessions:al");
        assert_eq!(&kept.argv()[4..], ["", "1", "persist", "", ""]);
        let args = EvalSha(&save).args();
        assert_eq!(&args[..3], ["EVALSHA", SAVE.sha1(), "5"]);
        assert_eq!(Eval(&save).args()[1], SAVE.source);
        let fresh = Save { loaded: None, ttl: Ttl::Persist, retire: vec![], index: None, counter: None, ..save };
        assert_eq!(fresh.keys(), ["sess:new", "sess:new"]);
        assert_eq!(fresh.argv(), ["", "{}", "", "0", "", "", "", "", ""]);
        assert_eq!(Save { ttl: Ttl::Expired, ..fresh }.argv()[2], "0");
    }

    #[test]
    fn save_answers() {
        let int = Reply::Integer;
        for enc in [Encoding::Plain, Encoding::Base64] {
            assert_eq!(round_trip::<Save>(Reply::Array(vec![int(1)]), enc).unwrap(), SaveOutcome::Saved(None));
            assert_eq!(
                round_trip::<Save>(Reply::Array(vec![int(1), int(7)]), enc).unwrap(),
                SaveOutcome::Saved(Some(7))
            );
            assert_eq!(round_trip::<Save>(Reply::Array(vec![int(-1)]), enc).unwrap(), SaveOutcome::Gone);
            assert_eq!(round_trip::<Save>(Reply::Array(vec![int(-2)]), enc).unwrap(), SaveOutcome::Taken);
            assert_eq!(round_trip::<Save>(Reply::Array(vec![int(-3)]), enc).unwrap(), SaveOutcome::Stale);
            let conflict = Reply::Array(vec![int(0), Reply::Bulk(b"{\"v\":1}".to_vec())]);
            assert_eq!(round_trip::<Save>(conflict, enc).unwrap(), SaveOutcome::Conflict(b"{\"v\":1}".to_vec()));
            assert!(round_trip::<Save>(Reply::Array(vec![int(0)]), enc).is_err());
            assert!(round_trip::<Save>(Reply::Array(vec![int(7)]), enc).is_err());
            assert!(round_trip::<Save>(int(1), enc).is_err());
        }
    }

    #[test]
    fn end_sessions_encoding_and_answers() {
        let call = EndSessions {
            index: "user-sessions:al".into(),
            members: vec!["a".into(), "b".into()],
            member_keys: vec!["sess:a".into(), "sess:b".into()],
            also: vec!["sess:b".into(), "sess:c".into()],
        };
        assert_eq!(call.keys(), ["user-sessions:al", "sess:a", "sess:b", "sess:c"]);
        assert_eq!(call.argv(), ["a", "b"]);
        let ended = Reply::Array(vec![Reply::Integer(1), Reply::Integer(3)]);
        assert_eq!(round_trip::<EndSessions>(ended, Encoding::Base64).unwrap(), EndOutcome::Ended(3));
        let changed = Reply::Array(vec![Reply::Integer(0), Reply::Array(vec![Reply::Bulk(b"x".to_vec())])]);
        assert_eq!(
            round_trip::<EndSessions>(changed, Encoding::Base64).unwrap(),
            EndOutcome::Changed(vec!["x".into()])
        );
    }

    #[test]
    fn prune_index_encoding_and_answers() {
        let call = PruneIndex {
            index: "user-sessions:al".into(),
            members: vec!["a".into(), "b".into()],
            member_keys: vec!["sess:a".into(), "sess:b".into()],
        };
        assert_eq!(call.keys(), ["user-sessions:al", "sess:a", "sess:b"]);
        assert_eq!(call.argv(), ["a", "b"]);
        assert_eq!(round_trip::<PruneIndex>(Reply::Integer(1), Encoding::Base64).unwrap(), 1);
        assert!(round_trip::<PruneIndex>(Reply::Integer(-1), Encoding::Base64).is_err());
    }

    #[test]
    fn noscript_is_recognized() {
        assert!(is_noscript(&CommandError::Redis("NOSCRIPT No matching script. Please use EVAL.".into())));
        assert!(!is_noscript(&CommandError::Redis("ERR unknown".into())));
    }
}
