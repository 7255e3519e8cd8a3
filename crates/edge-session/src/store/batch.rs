//! What one round trip carries besides a session's own load or save, so
//! that a request makes one call to read and one to write (docs/PROTOCOL.md
//! §12): the [`Lookup`]s that go with the load of a session (a user record,
//! a counter, a set, a rate-limit hit) and the [`Write`]s that go with its
//! save (a new user record, the settling of rate-limit counters, the
//! pruning of a session index). Each is encoded here, once, as the Redis
//! commands of a pipeline and decoded from their results, as
//! `store::command` does for single commands.

use serde_json::Value;

use super::command::{
    Command, Decr, Del, Expire, ExpireIf, ExpireWhen, Get, Incr, PTtl, Persist, SAdd, SIsMember, SMembers, SRem, Set,
};
use super::script::{EvalSha, PruneIndex, Register, RegisterOutcome};
use super::wire::{CommandError, Encoding};
use super::{CounterHit, StoreError};

/// Something to learn in the round trip that loads a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `GET key`: a value ([`Found::Value`]).
    Get(String),
    /// `SMEMBERS set`: a set's members ([`Found::Members`]).
    Members(String),
    /// `SISMEMBER set member` ([`Found::IsMember`]).
    IsMember {
        /// The set.
        set: String,
        /// The member looked for.
        member: String,
    },
    /// A rate-limit hit: `INCR key`, `EXPIRE key window NX` (the first hit
    /// starts a fixed window), `PTTL key` ([`Found::Hit`]). It writes:
    /// counting before deciding is what makes a limit hold against
    /// parallel requests.
    Hit {
        /// The counter.
        key: String,
        /// The window a first hit starts, in seconds.
        window_seconds: u64,
    },
}

/// What a [`Lookup`] found, in the same position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A value's bytes; `None` for a missing key.
    Value(Option<Vec<u8>>),
    /// A set's members; empty for a missing set.
    Members(Vec<String>),
    /// Whether the member is in the set (`false` for a missing set).
    IsMember(bool),
    /// A counter after this hit.
    Hit(CounterHit),
}

impl Found {
    /// The bytes of a [`Found::Value`]; `None` for a missing key or another kind.
    pub fn into_value(self) -> Option<Vec<u8>> {
        match self {
            Found::Value(v) => v,
            _ => None,
        }
    }

    /// The members of a [`Found::Members`]; `None` for another kind.
    pub fn into_members(self) -> Option<Vec<String>> {
        match self {
            Found::Members(m) => Some(m),
            _ => None,
        }
    }

    /// The answer of a [`Found::IsMember`]; `None` for another kind.
    pub fn is_member(&self) -> Option<bool> {
        match self {
            Found::IsMember(b) => Some(*b),
            _ => None,
        }
    }

    /// The counter of a [`Found::Hit`]; `None` for another kind.
    pub fn hit(&self) -> Option<CounterHit> {
        match self {
            Found::Hit(h) => Some(*h),
            _ => None,
        }
    }
}

impl Lookup {
    /// Whether it only reads (only then may the round trip be repeated
    /// after a network error, and go to a read replica).
    pub fn is_read_only(&self) -> bool {
        !matches!(self, Lookup::Hit { .. })
    }

    /// Its commands in a pipeline.
    pub fn commands(&self) -> Vec<Vec<String>> {
        match self {
            Lookup::Get(key) => vec![Get { key: key.clone() }.args()],
            Lookup::Members(set) => vec![SMembers { key: set.clone() }.args()],
            Lookup::IsMember { set, member } => vec![SIsMember { key: set.clone(), member: member.clone() }.args()],
            Lookup::Hit { key, window_seconds } => vec![
                Incr { key: key.clone() }.args(),
                ExpireIf { key: key.clone(), seconds: *window_seconds, when: ExpireWhen::Nx }.args(),
                PTtl { key: key.clone() }.args(),
            ],
        }
    }

    /// Reads its results (as many as [`Lookup::commands`] has) from a
    /// pipeline's answer, strings in base64.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when a result is missing, is a Redis error or does
    /// not have the command's shape.
    pub fn parse(&self, results: &mut impl Iterator<Item = Result<Value, CommandError>>) -> Result<Found, StoreError> {
        Ok(match self {
            Lookup::Get(_) => Found::Value(item::<Get>(results)?),
            Lookup::Members(_) => Found::Members(item::<SMembers>(results)?),
            Lookup::IsMember { .. } => Found::IsMember(item::<SIsMember>(results)?),
            Lookup::Hit { .. } => {
                let count = item::<Incr>(results)?;
                item::<ExpireIf>(results)?;
                Found::Hit(CounterHit { count, pttl_ms: item::<PTtl>(results)? })
            }
        })
    }
}

/// Something to write in the round trip that saves a session (or alone,
/// when the session has nothing to save). Each is one command. They are
/// not atomic with the save or with each other (a pipeline): each is a
/// change that stands on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// `SET key value NX`, no TTL ([`Written::Created`]): a new record that
    /// two racing requests cannot both create.
    Create {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// `SET key value`, no TTL.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// `SET key value EX seconds`: a value that expires on its own (a
    /// cache, such as the demo's `beer-cache:<hash>`).
    PutExpiring {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Its TTL in seconds (at least 1).
        seconds: u64,
    },
    /// `DECR key`: takes back a rate-limit hit that was no failure.
    Decr(String),
    /// `DEL key…`.
    Del(Vec<String>),
    /// `SADD set member`.
    SAdd {
        /// The set.
        set: String,
        /// The member.
        member: String,
    },
    /// `SREM set member`.
    SRem {
        /// The set.
        set: String,
        /// The member.
        member: String,
    },
    /// `EXPIRE key seconds`.
    Expire {
        /// The key.
        key: String,
        /// Its new TTL in seconds.
        seconds: u64,
    },
    /// `EXPIRE key seconds GT`: a longer TTL, never a shorter one (a key
    /// without a TTL keeps none; a missing key stays missing).
    ExtendTtl {
        /// The key.
        key: String,
        /// Its TTL at least, in seconds.
        seconds: u64,
    },
    /// Forgets indexed session ids whose sessions are gone
    /// ([`super::script::PRUNE_INDEX`]; [`Written::Pruned`]).
    Prune(PruneIndex),
    /// `PERSIST key`: the key no longer expires (an account's first login).
    Persist(String),
    /// Creates a user record and claims its skeleton
    /// ([`super::script::REGISTER`]; [`Written::Registered`]).
    Register(Register),
}

/// What a [`Write`] did, in the same position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A [`Write::Create`]: whether the key was created.
    Created(bool),
    /// A [`Write::Prune`]: how many ids were removed.
    Pruned(u64),
    /// A [`Write::Register`]: what it did.
    Registered(RegisterOutcome),
    /// Any other write: done.
    Done,
}

impl Write {
    /// Whether it is sent before the session's save in the round trip that
    /// carries both (every other write follows the save): a
    /// [`Write::Register`], so that a save guarded by the record it creates
    /// ([`crate::session::Session::save_only_if_unchanged`]) finds the
    /// record when the registration made it, and nothing (or another
    /// record) when it did not. That is how registering logs in, in the
    /// same round trip, only the user who created the account.
    pub fn before_save(&self) -> bool {
        matches!(self, Write::Register(_))
    }

    /// Its one command.
    pub fn command(&self) -> Vec<String> {
        let set =
            |key: &String, value: &String, nx| Set { key: key.clone(), value: value.clone(), ex: None, nx }.args();
        match self {
            Write::Create { key, value } => set(key, value, true),
            Write::Put { key, value } => set(key, value, false),
            Write::PutExpiring { key, value, seconds } => {
                Set { key: key.clone(), value: value.clone(), ex: Some(*seconds), nx: false }.args()
            }
            Write::Decr(key) => Decr { key: key.clone() }.args(),
            Write::Del(keys) => Del { keys: keys.clone() }.args(),
            Write::SAdd { set, member } => SAdd { key: set.clone(), member: member.clone() }.args(),
            Write::SRem { set, member } => SRem { key: set.clone(), members: vec![member.clone()] }.args(),
            Write::Expire { key, seconds } => Expire { key: key.clone(), seconds: *seconds }.args(),
            Write::ExtendTtl { key, seconds } => {
                ExpireIf { key: key.clone(), seconds: *seconds, when: ExpireWhen::Gt }.args()
            }
            Write::Prune(call) => EvalSha(call).args(),
            Write::Persist(key) => Persist { key: key.clone() }.args(),
            Write::Register(call) => EvalSha(call).args(),
        }
    }

    /// Reads its result.
    ///
    /// # Errors
    ///
    /// [`CommandError`] when the result is a Redis error (for a
    /// [`Write::Prune`], `NOSCRIPT` among them: send it again as `EVAL`) or
    /// does not have the command's shape.
    pub fn parse(&self, result: Result<Value, CommandError>) -> Result<Written, CommandError> {
        let result = result?;
        Ok(match self {
            Write::Create { .. } => Written::Created(Set::parse(result, Encoding::Base64)?),
            Write::Put { .. } | Write::PutExpiring { .. } => Written::Done.also(Set::parse(result, Encoding::Base64)?),
            Write::Decr(_) => Written::Done.also(Decr::parse(result, Encoding::Base64)?),
            Write::Del(_) => Written::Done.also(Del::parse(result, Encoding::Base64)?),
            Write::SAdd { .. } => Written::Done.also(SAdd::parse(result, Encoding::Base64)?),
            Write::SRem { .. } => Written::Done.also(SRem::parse(result, Encoding::Base64)?),
            Write::Expire { .. } => Written::Done.also(Expire::parse(result, Encoding::Base64)?),
            Write::ExtendTtl { .. } => Written::Done.also(ExpireIf::parse(result, Encoding::Base64)?),
            Write::Prune(_) => Written::Pruned(EvalSha::<PruneIndex>::parse(result, Encoding::Base64)?),
            Write::Persist(_) => Written::Done.also(Persist::parse(result, Encoding::Base64)?),
            Write::Register(_) => Written::Registered(EvalSha::<Register>::parse(result, Encoding::Base64)?),
        })
    }
}

impl Written {
    /// `self`, once a result that only had to be well-formed was read.
    fn also<T>(self, _checked: T) -> Self {
        self
    }
}

/// Decodes the next result of a pipeline as command `C` answers it.
fn item<C: Command>(results: &mut impl Iterator<Item = Result<Value, CommandError>>) -> Result<C::Output, StoreError> {
    let result = results.next().ok_or_else(short_batch)?;
    Ok(C::parse(result?, Encoding::Base64)?)
}

/// The error for a pipeline that answered fewer results than it had commands.
pub fn short_batch() -> StoreError {
    StoreError::Protocol(CommandError::Unexpected { command: "pipeline", reply: "fewer results than commands".into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::wire::{open_envelope, Reply};

    fn results(replies: Vec<Reply>) -> impl Iterator<Item = Result<Value, CommandError>> {
        replies.into_iter().map(|r| open_envelope(r.to_envelope(Encoding::Base64)))
    }

    #[test]
    fn lookups_encode_and_decode() {
        let hit = Lookup::Hit { key: "c".into(), window_seconds: 60 };
        assert_eq!(hit.commands(), [vec!["INCR", "c"], vec!["EXPIRE", "c", "60", "NX"], vec!["PTTL", "c"]]);
        assert!(!hit.is_read_only());
        assert!(Lookup::Get("k".into()).is_read_only() && Lookup::Members("s".into()).is_read_only());
        let mut answers = results(vec![Reply::Integer(3), Reply::Integer(0), Reply::Integer(42_000)]);
        assert_eq!(hit.parse(&mut answers).unwrap(), Found::Hit(CounterHit { count: 3, pttl_ms: 42_000 }));
        assert!(hit.parse(&mut answers).is_err(), "a short answer is an error");
        let mut answers = results(vec![Reply::Bulk(b"7".to_vec()), Reply::Array(vec![Reply::Bulk(b"a".to_vec())])]);
        assert_eq!(Lookup::Get("k".into()).parse(&mut answers).unwrap().into_value(), Some(b"7".to_vec()));
        assert_eq!(Lookup::Members("s".into()).parse(&mut answers).unwrap().into_members(), Some(vec!["a".into()]));
    }

    #[test]
    fn writes_encode_and_decode() {
        let create = Write::Create { key: "u".into(), value: "{}".into() };
        assert_eq!(create.command(), ["SET", "u", "{}", "NX"]);
        assert_eq!(create.parse(Ok(Value::Null)).unwrap(), Written::Created(false));
        let ok = Reply::Status("OK".into()).to_envelope(Encoding::Base64);
        assert_eq!(create.parse(open_envelope(ok)).unwrap(), Written::Created(true));
        let cache = Write::PutExpiring { key: "c".into(), value: "[]".into(), seconds: 300 };
        assert_eq!(cache.command(), ["SET", "c", "[]", "EX", "300"]);
        let ok = Reply::Status("OK".into()).to_envelope(Encoding::Base64);
        assert_eq!(cache.parse(open_envelope(ok)).unwrap(), Written::Done);
        assert_eq!(Write::Decr("c".into()).command(), ["DECR", "c"]);
        assert_eq!(Write::Decr("c".into()).parse(Ok(Value::from(0))).unwrap(), Written::Done);
        assert!(Write::Decr("c".into()).parse(Ok(Value::from("x"))).is_err());
        assert_eq!(Write::Del(vec!["a".into(), "b".into()]).command(), ["DEL", "a", "b"]);
        let add = Write::SAdd { set: "s".into(), member: "m".into() };
        assert_eq!(add.command(), ["SADD", "s", "m"]);
        assert_eq!(add.parse(Ok(Value::from(0))).unwrap(), Written::Done);
        let rem = Write::SRem { set: "s".into(), member: "m".into() };
        assert_eq!(rem.command(), ["SREM", "s", "m"]);
        assert_eq!(rem.parse(Ok(Value::from(1))).unwrap(), Written::Done);
        assert_eq!(Write::Expire { key: "s".into(), seconds: 9 }.command(), ["EXPIRE", "s", "9"]);
        let is = Lookup::IsMember { set: "s".into(), member: "m".into() };
        assert!(is.is_read_only());
        assert_eq!(is.commands(), [vec!["SISMEMBER", "s", "m"]]);
        let mut answers = results(vec![Reply::Integer(1)]);
        assert_eq!(is.parse(&mut answers).unwrap().is_member(), Some(true));
    }
}
