//! Each Redis command the session layer sends: its arguments on the wire
//! and the typed reading of its result, one struct per command (as
//! mini-redis's `cmd/`). The envelope and encodings around them are
//! `store::wire`'s.

use serde_json::Value;

use super::wire::{unexpected, CommandError, Encoding};

/// A Redis command: its arguments on the wire and the typed reading of its
/// result.
pub trait Command {
    /// What the command answers, decoded.
    type Output;
    /// The command's name, for messages.
    const NAME: &'static str;
    /// Whether the command only reads, so that sending it twice changes
    /// nothing: only such a command is sent again after a transient failure
    /// (see `UpstashClient::run`).
    const READ_ONLY: bool = false;
    /// The JSON array element strings: `["SET", key, value, "EX", "60"]`.
    fn args(&self) -> Vec<String>;
    /// Reads the `result` value.
    ///
    /// # Errors
    ///
    /// [`CommandError`] when the result does not have the shape this command answers.
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError>;
}

/// `GET key` → the value's bytes, or `None` for a missing key.
#[derive(Debug, Clone)]
pub struct Get {
    /// The key to read.
    pub key: String,
}

impl Command for Get {
    const READ_ONLY: bool = true;
    type Output = Option<Vec<u8>>;
    const NAME: &'static str = "GET";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone()]
    }
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError> {
        match result {
            Value::Null => Ok(None),
            Value::String(s) => enc.decode_bulk(Self::NAME, &s).map(Some),
            other => Err(unexpected(Self::NAME, &other)),
        }
    }
}

/// `SET key value [EX seconds]` → `true` when written.
#[derive(Debug, Clone)]
pub struct Set {
    /// The key to write.
    pub key: String,
    /// The value, a UTF-8 JSON document.
    pub value: String,
    /// Expiry in seconds; `None` writes without a TTL (connect-redis's
    /// `disableTTL`).
    pub ex: Option<u64>,
    /// `NX`: only write when the key does not exist.
    pub nx: bool,
}

impl Command for Set {
    type Output = bool;
    const NAME: &'static str = "SET";
    fn args(&self) -> Vec<String> {
        let mut args = vec![Self::NAME.into(), self.key.clone(), self.value.clone()];
        if let Some(ex) = self.ex {
            args.push("EX".into());
            args.push(ex.to_string());
        }
        if self.nx {
            args.push("NX".into());
        }
        args
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        match result {
            Value::String(s) if s == "OK" => Ok(true),
            Value::Null => Ok(false),
            other => Err(unexpected(Self::NAME, &other)),
        }
    }
}

/// `EXPIRE key seconds` → whether the key existed.
#[derive(Debug, Clone)]
pub struct Expire {
    /// The key.
    pub key: String,
    /// The new TTL in seconds.
    pub seconds: u64,
}

impl Command for Expire {
    type Output = bool;
    const NAME: &'static str = "EXPIRE";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone(), self.seconds.to_string()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result).map(|n| n == 1)
    }
}

/// `DEL key [key ...]` → how many keys were removed.
#[derive(Debug, Clone)]
pub struct Del {
    /// The keys.
    pub keys: Vec<String>,
}

impl Command for Del {
    type Output = u64;
    const NAME: &'static str = "DEL";
    fn args(&self) -> Vec<String> {
        let mut args = vec![Self::NAME.to_string()];
        args.extend(self.keys.iter().cloned());
        args
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result).and_then(|n| u64::try_from(n).map_err(|_| unexpected(Self::NAME, &result)))
    }
}

/// `TTL key` → seconds left; -1 without expiry, -2 when missing.
#[derive(Debug, Clone)]
pub struct Ttl {
    /// The key.
    pub key: String,
}

impl Command for Ttl {
    const READ_ONLY: bool = true;
    type Output = i64;
    const NAME: &'static str = "TTL";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result)
    }
}

/// `INCR key` → the new value.
#[derive(Debug, Clone)]
pub struct Incr {
    /// The counter's key.
    pub key: String,
}

impl Command for Incr {
    type Output = i64;
    const NAME: &'static str = "INCR";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result)
    }
}

/// `DECR key` → the new value.
#[derive(Debug, Clone)]
pub struct Decr {
    /// The counter's key.
    pub key: String,
}

impl Command for Decr {
    type Output = i64;
    const NAME: &'static str = "DECR";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result)
    }
}

/// `PERSIST key` → whether a TTL was removed.
#[derive(Debug, Clone)]
pub struct Persist {
    /// The key.
    pub key: String,
}

impl Command for Persist {
    type Output = bool;
    const NAME: &'static str = "PERSIST";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result).map(|n| n == 1)
    }
}

/// `PTTL key` → milliseconds left; -1 without expiry, -2 when missing.
#[derive(Debug, Clone)]
pub struct PTtl {
    /// The key.
    pub key: String,
}

impl Command for PTtl {
    const READ_ONLY: bool = true;
    type Output = i64;
    const NAME: &'static str = "PTTL";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result)
    }
}

/// When an [`ExpireIf`] sets its TTL (Redis 7's `EXPIRE` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireWhen {
    /// `NX`: only where the key has no TTL, which starts a fixed window on
    /// a counter's first increment.
    Nx,
    /// `GT`: only where the new TTL is longer than the key's (a key without
    /// one counts as infinite): raises, never lowers.
    Gt,
}

/// `EXPIRE key seconds NX|GT` → whether the TTL was set.
#[derive(Debug, Clone)]
pub struct ExpireIf {
    /// The key.
    pub key: String,
    /// The TTL in seconds.
    pub seconds: u64,
    /// The condition.
    pub when: ExpireWhen,
}

impl Command for ExpireIf {
    type Output = bool;
    const NAME: &'static str = "EXPIRE";
    fn args(&self) -> Vec<String> {
        let when = match self.when {
            ExpireWhen::Nx => "NX",
            ExpireWhen::Gt => "GT",
        };
        vec![Self::NAME.into(), self.key.clone(), self.seconds.to_string(), when.into()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result).map(|n| n == 1)
    }
}

/// `SADD key member` → whether the member was new.
#[derive(Debug, Clone)]
pub struct SAdd {
    /// The set.
    pub key: String,
    /// The member.
    pub member: String,
}

impl Command for SAdd {
    type Output = bool;
    const NAME: &'static str = "SADD";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone(), self.member.clone()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result).map(|n| n == 1)
    }
}

/// `SISMEMBER key member` → whether `member` is in the set.
#[derive(Debug, Clone)]
pub struct SIsMember {
    /// The set.
    pub key: String,
    /// The member.
    pub member: String,
}

impl Command for SIsMember {
    const READ_ONLY: bool = true;
    type Output = bool;
    const NAME: &'static str = "SISMEMBER";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone(), self.member.clone()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result).map(|n| n == 1)
    }
}

/// `SREM key member...` → how many were removed.
#[derive(Debug, Clone)]
pub struct SRem {
    /// The set.
    pub key: String,
    /// The members.
    pub members: Vec<String>,
}

impl Command for SRem {
    type Output = i64;
    const NAME: &'static str = "SREM";
    fn args(&self) -> Vec<String> {
        let mut args = vec![Self::NAME.to_string(), self.key.clone()];
        args.extend(self.members.iter().cloned());
        args
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result)
    }
}

/// `SMEMBERS key` → the members (UTF-8 strings).
#[derive(Debug, Clone)]
pub struct SMembers {
    /// The set.
    pub key: String,
}

impl Command for SMembers {
    const READ_ONLY: bool = true;
    type Output = Vec<String>;
    const NAME: &'static str = "SMEMBERS";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone()]
    }
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError> {
        let Value::Array(items) = result else {
            return Err(unexpected(Self::NAME, &result));
        };
        items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => String::from_utf8(enc.decode_bulk(Self::NAME, &s)?)
                    .map_err(|_| CommandError::Unexpected { command: Self::NAME, reply: "member is not UTF-8".into() }),
                other => Err(unexpected(Self::NAME, &other)),
            })
            .collect()
    }
}

/// `EXISTS key` → whether it exists.
#[derive(Debug, Clone)]
pub struct Exists {
    /// The key.
    pub key: String,
}

impl Command for Exists {
    const READ_ONLY: bool = true;
    type Output = bool;
    const NAME: &'static str = "EXISTS";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), self.key.clone()]
    }
    fn parse(result: Value, _enc: Encoding) -> Result<Self::Output, CommandError> {
        integer(Self::NAME, &result).map(|n| n == 1)
    }
}

/// `SCAN cursor MATCH pattern COUNT count` → one step: the next cursor
/// (`"0"` when the iteration is over) and this step's keys. Redis's
/// guarantees hold: a key present for the whole iteration is returned at
/// least once, maybe more than once, so callers deduplicate. Used by the
/// operator's command line (tools/edge-session-cli), never by the worker.
#[derive(Debug, Clone)]
pub struct Scan {
    /// `"0"` to start, then the cursor the previous step answered.
    pub cursor: String,
    /// A glob-style pattern ([`glob_escape`] a literal prefix).
    pub pattern: String,
    /// Redis's hint of how many keys to look at per step.
    pub count: u32,
}

/// What one [`Scan`] step answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanStep {
    /// The cursor of the next step; `"0"` when the iteration is over.
    pub cursor: String,
    /// The keys whose names are UTF-8.
    pub keys: Vec<String>,
    /// The keys whose names are not: the REST API's JSON commands cannot
    /// name them, so callers can only report them.
    pub not_utf8: Vec<Vec<u8>>,
}

impl Command for Scan {
    const READ_ONLY: bool = true;
    type Output = ScanStep;
    const NAME: &'static str = "SCAN";
    fn args(&self) -> Vec<String> {
        vec![
            Self::NAME.into(),
            self.cursor.clone(),
            "MATCH".into(),
            self.pattern.clone(),
            "COUNT".into(),
            self.count.to_string(),
        ]
    }
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError> {
        let bulk = |v: Value| match v {
            Value::String(s) => enc.decode_bulk(Self::NAME, &s),
            other => Err(unexpected(Self::NAME, &other)),
        };
        let Value::Array(mut parts) = result else {
            return Err(unexpected(Self::NAME, &result));
        };
        if parts.len() != 2 {
            return Err(CommandError::Unexpected { command: Self::NAME, reply: format!("{} parts", parts.len()) });
        }
        let keys = parts.pop().unwrap_or(Value::Null);
        let cursor = String::from_utf8(bulk(parts.pop().unwrap_or(Value::Null))?)
            .map_err(|_| CommandError::Unexpected { command: Self::NAME, reply: "cursor is not UTF-8".into() })?;
        let Value::Array(keys) = keys else {
            return Err(unexpected(Self::NAME, &keys));
        };
        let mut step = ScanStep { cursor, keys: Vec::new(), not_utf8: Vec::new() };
        for key in keys {
            match String::from_utf8(bulk(key)?) {
                Ok(k) => step.keys.push(k),
                Err(e) => step.not_utf8.push(e.into_bytes()),
            }
        }
        Ok(step)
    }
}

/// `prefix` as a `SCAN`/`KEYS` pattern that matches it literally: Redis's
/// glob metacharacters (`*`, `?`, `[`, `]`, `\`) escaped with `\`.
pub fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 2);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `SCRIPT LOAD source` → the SHA-1 the store computed for it (loading a
/// script changes no key).
#[derive(Debug, Clone)]
pub struct ScriptLoad {
    /// The script's text.
    pub source: String,
}

impl Command for ScriptLoad {
    type Output = String;
    const NAME: &'static str = "SCRIPT";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into(), "LOAD".into(), self.source.clone()]
    }
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError> {
        match result {
            Value::String(s) => String::from_utf8(enc.decode_bulk(Self::NAME, &s)?)
                .map_err(|_| CommandError::Unexpected { command: Self::NAME, reply: "digest is not UTF-8".into() }),
            other => Err(unexpected(Self::NAME, &other)),
        }
    }
}

/// `PING` → the store's answer (`PONG`): the cheapest proof that the URL
/// answers and the token is accepted.
#[derive(Debug, Clone)]
pub struct Ping;

impl Command for Ping {
    const READ_ONLY: bool = true;
    type Output = String;
    const NAME: &'static str = "PING";
    fn args(&self) -> Vec<String> {
        vec![Self::NAME.into()]
    }
    fn parse(result: Value, enc: Encoding) -> Result<Self::Output, CommandError> {
        match result {
            // A status reply stays plain under base64; a bulk one does not.
            Value::String(s) if s == "PONG" => Ok(s),
            Value::String(s) => String::from_utf8(enc.decode_bulk(Self::NAME, &s)?)
                .map_err(|_| CommandError::Unexpected { command: Self::NAME, reply: "not UTF-8".into() }),
            other => Err(unexpected(Self::NAME, &other)),
        }
    }
}

fn integer(command: &'static str, v: &Value) -> Result<i64, CommandError> {
    v.as_i64().ok_or_else(|| unexpected(command, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::wire::{argument_bytes, open_envelope, Reply};
    use serde_json::json;

    /// What the local server writes for `reply` and this client reads back.
    fn round_trip<C: Command>(reply: Reply, enc: Encoding) -> Result<C::Output, CommandError> {
        let wire = serde_json::to_string(&reply.to_envelope(enc)).unwrap();
        let value: Value = serde_json::from_str(&wire).unwrap();
        C::parse(open_envelope(value)?, enc)
    }

    #[test]
    fn args_on_the_wire() {
        let set = Set { key: "sess:a".into(), value: "{}".into(), ex: Some(60), nx: false };
        assert_eq!(set.args(), ["SET", "sess:a", "{}", "EX", "60"]);
        let set = Set { key: "k".into(), value: "v".into(), ex: None, nx: true };
        assert_eq!(set.args(), ["SET", "k", "v", "NX"]);
        assert_eq!(Get { key: "k".into() }.args(), ["GET", "k"]);
        assert_eq!(Expire { key: "k".into(), seconds: 60 }.args(), ["EXPIRE", "k", "60"]);
        assert_eq!(Del { keys: vec!["a".into(), "b".into()] }.args(), ["DEL", "a", "b"]);
    }

    #[test]
    fn get_round_trips_bytes_in_both_encodings() {
        let doc = "{\"name\":\"Zoë 🍺\"}".as_bytes().to_vec();
        for enc in [Encoding::Plain, Encoding::Base64] {
            assert_eq!(round_trip::<Get>(Reply::Bulk(doc.clone()), enc).unwrap(), Some(doc.clone()));
            assert_eq!(round_trip::<Get>(Reply::Nil, enc).unwrap(), None);
        }
        // Bytes that are not UTF-8 survive only base64.
        let raw = vec![0xff, 0x00, 0x7b];
        assert_eq!(round_trip::<Get>(Reply::Bulk(raw.clone()), Encoding::Base64).unwrap(), Some(raw));
    }

    #[test]
    fn status_stays_plain_under_base64() {
        let env = Reply::Status("OK".into()).to_envelope(Encoding::Base64);
        assert_eq!(env, json!({"result": "OK"}));
        assert!(round_trip::<Set>(Reply::Status("OK".into()), Encoding::Base64).unwrap());
        assert!(!round_trip::<Set>(Reply::Nil, Encoding::Base64).unwrap());
        // A bulk "OK" is encoded like any other bulk string.
        assert_eq!(Reply::Bulk(b"OK".to_vec()).to_envelope(Encoding::Base64), json!({"result": "T0s="}));
    }

    #[test]
    fn integers_and_errors() {
        assert!(round_trip::<Expire>(Reply::Integer(1), Encoding::Plain).unwrap());
        assert!(!round_trip::<Expire>(Reply::Integer(0), Encoding::Plain).unwrap());
        assert_eq!(round_trip::<Del>(Reply::Integer(2), Encoding::Plain).unwrap(), 2);
        assert_eq!(round_trip::<Ttl>(Reply::Integer(-2), Encoding::Plain).unwrap(), -2);
        let err = round_trip::<Get>(Reply::Error("WRONGTYPE Operation".into()), Encoding::Plain).unwrap_err();
        assert!(matches!(err, CommandError::Redis(ref m) if m == "WRONGTYPE Operation"));
    }

    #[test]
    fn shape_mismatches_are_errors_not_panics() {
        assert!(matches!(Get::parse(json!(5), Encoding::Plain), Err(CommandError::Unexpected { .. })));
        assert!(matches!(Get::parse(json!("***"), Encoding::Base64), Err(CommandError::Base64 { .. })));
        assert!(matches!(Expire::parse(json!("1"), Encoding::Plain), Err(CommandError::Unexpected { .. })));
        assert!(matches!(Del::parse(json!(-1), Encoding::Plain), Err(CommandError::Unexpected { .. })));
        assert!(open_envelope(json!([1])).is_err());
        assert!(open_envelope(json!({"other": 1})).is_err());
    }

    #[test]
    fn scan_reads_cursor_and_keys() {
        let reply = Reply::Array(vec![
            Reply::Bulk(b"17".to_vec()),
            Reply::Array(vec![Reply::Bulk(b"sess:a".to_vec()), Reply::Bulk(b"sess:b".to_vec())]),
        ]);
        for enc in [Encoding::Plain, Encoding::Base64] {
            let step = round_trip::<Scan>(reply.clone(), enc).unwrap();
            assert_eq!(step.cursor, "17");
            assert_eq!(step.keys, ["sess:a", "sess:b"]);
            assert!(step.not_utf8.is_empty());
        }
        let odd = Reply::Array(vec![
            Reply::Bulk(b"0".to_vec()),
            Reply::Array(vec![Reply::Bulk(b"sess:\xff".to_vec()), Reply::Bulk(b"sess:c".to_vec())]),
        ]);
        let step = round_trip::<Scan>(odd, Encoding::Base64).unwrap();
        assert_eq!((step.keys, step.not_utf8), (vec!["sess:c".to_owned()], vec![b"sess:\xff".to_vec()]));
        let scan = Scan { cursor: "0".into(), pattern: format!("{}*", glob_escape("a*b?[c]\\")), count: 500 };
        assert_eq!(scan.args(), ["SCAN", "0", "MATCH", "a\\*b\\?\\[c\\]\\\\*", "COUNT", "500"]);
        assert!(Scan::parse(json!(["0"]), Encoding::Plain).is_err());
        assert!(Scan::parse(json!(["0", "x"]), Encoding::Plain).is_err());
    }

    #[test]
    fn script_load_and_ping() {
        let sha = Reply::Bulk(b"e0e1f9fabfc9d4800c877a703b823ac0578ff831".to_vec());
        assert_eq!(
            round_trip::<ScriptLoad>(sha, Encoding::Base64).unwrap(),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff831"
        );
        assert_eq!(ScriptLoad { source: "return 1".into() }.args(), ["SCRIPT", "LOAD", "return 1"]);
        assert_eq!(round_trip::<Ping>(Reply::Status("PONG".into()), Encoding::Base64).unwrap(), "PONG");
    }

    #[test]
    fn set_commands() {
        assert_eq!(SAdd { key: "s".into(), member: "m".into() }.args(), ["SADD", "s", "m"]);
        assert_eq!(ExpireIf { key: "k".into(), seconds: 9, when: ExpireWhen::Nx }.args(), ["EXPIRE", "k", "9", "NX"]);
        assert_eq!(ExpireIf { key: "k".into(), seconds: 9, when: ExpireWhen::Gt }.args(), ["EXPIRE", "k", "9", "GT"]);
        let members = Reply::Array(vec![Reply::Bulk(b"a".to_vec()), Reply::Bulk("ü".as_bytes().to_vec())]);
        for enc in [Encoding::Plain, Encoding::Base64] {
            assert_eq!(round_trip::<SMembers>(members.clone(), enc).unwrap(), ["a", "ü"]);
        }
        assert_eq!(round_trip::<Incr>(Reply::Integer(3), Encoding::Base64).unwrap(), 3);
        assert!(round_trip::<Exists>(Reply::Integer(1), Encoding::Base64).unwrap());
    }

    #[test]
    fn arrays_encode_recursively() {
        let r = Reply::Array(vec![Reply::Bulk(b"a".to_vec()), Reply::Integer(1), Reply::Nil]);
        assert_eq!(r.to_envelope(Encoding::Base64), json!({"result": ["YQ==", 1, null]}));
    }

    #[test]
    fn arguments_accept_numbers() {
        assert_eq!(argument_bytes(&json!("x")), Some(b"x".to_vec()));
        assert_eq!(argument_bytes(&json!(60)), Some(b"60".to_vec()));
        assert_eq!(argument_bytes(&json!(null)), None);
    }
}
