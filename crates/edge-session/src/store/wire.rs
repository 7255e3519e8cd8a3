//! The Upstash REST wire format, apart from the commands it carries (as
//! mini-redis keeps `frame.rs` apart from `cmd/`): the reply envelope
//! `{"result": ...}` / `{"error": "..."}`, the two reply encodings, how
//! request arguments are read, and the two header names. docs/PROTOCOL.md §5
//! describes the same in prose.
//!
//! Both sides use this module: the client (`store::upstash`) to read
//! answers, and the local Upstash-compatible server (`tools/upstash-local`)
//! to write them, so the wire form is defined once and the round-trip tests
//! in `store::command` hold both ends to it.

use base64ct::{Base64, Encoding as _};
use serde_json::{json, Value};

use crate::session::js_json;

/// Why a reply did not have the shape a command expects.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum CommandError {
    /// Redis answered with an error (`{"error": "ERR ..."}`).
    #[error("redis error: {0}")]
    Redis(String),
    /// The JSON is valid but not what this command answers.
    #[error("unexpected reply to {command}: {reply}")]
    Unexpected {
        /// The command's name.
        command: &'static str,
        /// The reply, as JSON text (truncated).
        reply: String,
    },
    /// A base64 string result did not decode.
    #[error("reply to {command} is not valid base64")]
    Base64 {
        /// The command's name.
        command: &'static str,
        /// The decoder's error.
        #[source]
        source: base64ct::Error,
    },
}
crate::debug_is_display!(CommandError);

/// How bulk strings travel in replies: as JSON strings, or base64-encoded
/// when the request carried `Upstash-Encoding: base64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Bulk strings as JSON strings (must be UTF-8).
    Plain,
    /// Bulk strings base64-encoded; status replies such as `OK` stay plain.
    Base64,
}

impl Encoding {
    /// The request header that asks for this encoding, if any.
    pub const HEADER: &'static str = "Upstash-Encoding";

    /// Reads the `Upstash-Encoding` header value.
    pub fn from_header(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case("base64") => Encoding::Base64,
            _ => Encoding::Plain,
        }
    }

    pub(crate) fn decode_bulk(self, command: &'static str, text: &str) -> Result<Vec<u8>, CommandError> {
        match self {
            Encoding::Plain => Ok(text.as_bytes().to_vec()),
            Encoding::Base64 => Base64::decode_vec(text).map_err(|source| CommandError::Base64 { command, source }),
        }
    }
}

/// A Redis reply as the Upstash REST API carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `nil` → JSON `null`.
    Nil,
    /// An integer reply → JSON number.
    Integer(i64),
    /// A status reply such as `OK` → JSON string, never base64-encoded.
    Status(String),
    /// A bulk string → JSON string (base64 when asked for).
    Bulk(Vec<u8>),
    /// An array reply → JSON array.
    Array(Vec<Reply>),
    /// An error reply → `{"error": "..."}` at the top of an answer.
    Error(String),
}

impl Reply {
    /// The JSON value of a non-error reply, as it stands under `"result"`.
    fn to_result(&self, enc: Encoding) -> Value {
        match self {
            Reply::Nil => Value::Null,
            Reply::Integer(n) => json!(n),
            Reply::Status(s) => json!(s),
            Reply::Bulk(bytes) => match enc {
                Encoding::Base64 => json!(Base64::encode_string(bytes)),
                // Upstash without base64 cannot carry bytes that are not
                // UTF-8; replace them rather than fail the whole answer.
                Encoding::Plain => json!(String::from_utf8_lossy(bytes)),
            },
            Reply::Array(items) => Value::Array(items.iter().map(|r| r.to_result(enc)).collect()),
            Reply::Error(e) => json!(e),
        }
    }

    /// The envelope Upstash answers for one command: `{"result": ...}` or
    /// `{"error": "..."}`.
    pub fn to_envelope(&self, enc: Encoding) -> Value {
        match self {
            Reply::Error(e) => json!({ "error": e }),
            other => json!({ "result": other.to_result(enc) }),
        }
    }
}

/// Reads one envelope: the `result` value, or the Redis error it carries.
///
/// # Errors
///
/// [`CommandError::Redis`] for an `{"error": ...}` envelope, [`CommandError::Unexpected`] for
/// anything that is not an envelope.
pub fn open_envelope(envelope: Value) -> Result<Value, CommandError> {
    match envelope {
        Value::Object(mut map) => {
            if let Some(e) = map.remove("error") {
                return Err(CommandError::Redis(match e {
                    Value::String(s) => s,
                    other => js_json::to_string(&other).unwrap_or_default(),
                }));
            }
            match map.remove("result") {
                Some(v) => Ok(v),
                None => Err(unexpected("envelope", &Value::Object(map))),
            }
        }
        other => Err(unexpected("envelope", &other)),
    }
}

pub(crate) fn unexpected(command: &'static str, reply: &Value) -> CommandError {
    // By characters: a byte limit could split a multi-byte character.
    let reply = js_json::to_string(reply).unwrap_or_default();
    CommandError::Unexpected { command, reply: reply.chars().take(200).collect() }
}

/// Reads one command argument from a request body: Upstash accepts strings
/// and also plain JSON numbers and booleans, passed to Redis as their text.
pub fn argument_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Number(n) => Some(n.to_string().into_bytes()),
        Value::Bool(b) => Some(b.to_string().into_bytes()),
        _ => None,
    }
}

/// Upstash's read-your-writes header, in requests and responses.
pub const SYNC_TOKEN_HEADER: &str = "upstash-sync-token";
