//! Upstash's `allow-key-locking` script flag, over a redis-server that does
//! not know it.
//!
//! Upstash locks only the keys in `KEYS` for a script whose shebang carries
//! `#!lua flags=allow-key-locking`, and refuses a command of such a script
//! that names a key not in `KEYS` (Upstash's documentation, "Key-Based
//! Locking", section "Rules for allow-key-locking"). redis-server 7 refuses
//! the unknown flag (`ERR Unexpected flag in script shebang:
//! allow-key-locking`). So a flagged script is rewritten before it reaches
//! Redis ([`rewrite`]): the flag leaves the shebang (other flags stay), and a
//! one-line prelude at the start of the second line shadows the global
//! `redis` with a table whose `call` and `pcall` check every key argument
//! against `KEYS` first. The prelude shares the second line with the
//! script's own text, so Redis reports the script's own line numbers. A
//! script without the flag reaches Redis unchanged, and so does one whose
//! shebang Redis would refuse anyway (another unknown flag or option): Redis
//! answers it as it always does.
//!
//! The rewritten text has another SHA1 than the client's text, so
//! [`translate`] keeps a map from the client's SHA1 to the one Redis knows:
//! `EVAL` of a flagged script adds to it, `EVALSHA` and `SCRIPT EXISTS` read
//! it, and `SCRIPT LOAD` answers the client's SHA1. A SHA1 the map does not
//! know is passed to Redis as it is, so after a restart of this server Redis
//! itself answers `NOSCRIPT No matching script. Please use EVAL.` for a
//! flagged script (it only ever saw the rewritten text) and the client falls
//! back to `EVAL`, as it must after an Upstash cache flush.
//!
//! Limits: only calls through the name `redis` are checked (a script that
//! reaches the global through `_G` is not); a command whose key positions
//! are not in [`KEY_POSITIONS`] is refused in a flagged script (fail closed);
//! `FCALL` and functions are not handled.

use std::collections::HashMap;

/// The shebang flag Upstash knows and redis-server does not.
pub const FLAG: &str = "allow-key-locking";

/// Upstash's answer to a flagged script that names a key not in `KEYS`,
/// followed by the key: the text of Upstash's documentation ("Key-Based
/// Locking", "Rules for allow-key-locking"). Redis appends its usual
/// ` script: <sha1>, on @user_script:<line>.` to every error raised inside
/// a script; here the line is always 2, where the prelude stands.
pub const UNDECLARED_KEY_ERROR: &str =
    "ERR Dynamic keys are not allowed in Lua scripts when 'allow-key-locking' flag is set. Key was: ";

/// Which arguments of a command (after its name) are keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// No key at all.
    None,
    /// The first argument.
    First,
    /// The first two arguments.
    FirstTwo,
    /// Every argument.
    All,
    /// Every other argument from the first (`MSET k v k v`).
    Pairs,
}

impl Keys {
    /// The word the prelude's table uses.
    fn lua(self) -> &'static str {
        match self {
            Keys::None => "none",
            Keys::First => "first",
            Keys::FirstTwo => "two",
            Keys::All => "all",
            Keys::Pairs => "pairs",
        }
    }
}

/// The commands a flagged script may call, with their key positions (from
/// the Redis command reference). Any other command is refused in a flagged
/// script: without its key positions its keys cannot be checked, and the
/// database-wide ones (`FLUSHDB`, `KEYS`, `SCAN`…) Upstash refuses anyway.
pub const KEY_POSITIONS: &[(&str, Keys)] = &[
    ("PING", Keys::None),
    ("TIME", Keys::None),
    ("ECHO", Keys::None),
    // Strings and generic key commands.
    ("GET", Keys::First),
    ("SET", Keys::First),
    ("SETNX", Keys::First),
    ("SETEX", Keys::First),
    ("PSETEX", Keys::First),
    ("GETSET", Keys::First),
    ("GETDEL", Keys::First),
    ("GETEX", Keys::First),
    ("APPEND", Keys::First),
    ("STRLEN", Keys::First),
    ("INCR", Keys::First),
    ("DECR", Keys::First),
    ("INCRBY", Keys::First),
    ("DECRBY", Keys::First),
    ("INCRBYFLOAT", Keys::First),
    ("EXPIRE", Keys::First),
    ("PEXPIRE", Keys::First),
    ("EXPIREAT", Keys::First),
    ("PEXPIREAT", Keys::First),
    ("EXPIRETIME", Keys::First),
    ("PEXPIRETIME", Keys::First),
    ("PERSIST", Keys::First),
    ("TTL", Keys::First),
    ("PTTL", Keys::First),
    ("TYPE", Keys::First),
    ("DEL", Keys::All),
    ("UNLINK", Keys::All),
    ("EXISTS", Keys::All),
    ("TOUCH", Keys::All),
    ("MGET", Keys::All),
    ("MSET", Keys::Pairs),
    ("MSETNX", Keys::Pairs),
    ("RENAME", Keys::FirstTwo),
    ("RENAMENX", Keys::FirstTwo),
    ("COPY", Keys::FirstTwo),
    // Sets.
    ("SADD", Keys::First),
    ("SREM", Keys::First),
    ("SMEMBERS", Keys::First),
    ("SISMEMBER", Keys::First),
    ("SMISMEMBER", Keys::First),
    ("SCARD", Keys::First),
    ("SPOP", Keys::First),
    ("SRANDMEMBER", Keys::First),
    ("SMOVE", Keys::FirstTwo),
    ("SINTER", Keys::All),
    ("SUNION", Keys::All),
    ("SDIFF", Keys::All),
    ("SINTERSTORE", Keys::All),
    ("SUNIONSTORE", Keys::All),
    ("SDIFFSTORE", Keys::All),
    // Hashes.
    ("HGET", Keys::First),
    ("HSET", Keys::First),
    ("HSETNX", Keys::First),
    ("HMSET", Keys::First),
    ("HMGET", Keys::First),
    ("HDEL", Keys::First),
    ("HGETALL", Keys::First),
    ("HEXISTS", Keys::First),
    ("HINCRBY", Keys::First),
    ("HINCRBYFLOAT", Keys::First),
    ("HKEYS", Keys::First),
    ("HVALS", Keys::First),
    ("HLEN", Keys::First),
    // Lists.
    ("LPUSH", Keys::First),
    ("RPUSH", Keys::First),
    ("LPOP", Keys::First),
    ("RPOP", Keys::First),
    ("LRANGE", Keys::First),
    ("LLEN", Keys::First),
    ("LREM", Keys::First),
    ("LTRIM", Keys::First),
    ("LINDEX", Keys::First),
    ("LSET", Keys::First),
    ("LMOVE", Keys::FirstTwo),
    ("RPOPLPUSH", Keys::FirstTwo),
    // Sorted sets.
    ("ZADD", Keys::First),
    ("ZREM", Keys::First),
    ("ZSCORE", Keys::First),
    ("ZINCRBY", Keys::First),
    ("ZCARD", Keys::First),
    ("ZCOUNT", Keys::First),
    ("ZRANK", Keys::First),
    ("ZRANGE", Keys::First),
    ("ZRANGEBYSCORE", Keys::First),
    ("ZREMRANGEBYSCORE", Keys::First),
];

/// SHA1 of a script's text, in lowercase hex, as Redis names scripts.
pub fn sha1_hex(text: &[u8]) -> String {
    sha1_smol::Sha1::from(text).digest().to_string()
}

/// The one line put at the start of a flagged script's second line.
/// It builds the set of `KEYS` once and shadows `redis` with a table whose
/// `call` raises, and `pcall` returns, Upstash's error for an undeclared key
/// or an unknown command; everything else (`redis.sha1hex`, `redis.log`…)
/// is the real `redis` through `__index`. Arguments that are not strings or
/// numbers, and missing ones, are left for Redis to refuse as it does.
pub fn prelude() -> String {
    let table: Vec<String> = KEY_POSITIONS.iter().map(|(name, keys)| format!("{name}='{}'", keys.lua())).collect();
    [
        "local redis = (function(r, keys)",
        "local declared = {} for _, k in ipairs(keys) do declared[k] = true end",
        &format!("local spec = {{{}}}", table.join(",")),
        "local function refused(cmd, ...)",
        "if type(cmd) ~= 'string' then return nil end",
        "local name = string.upper(cmd) local how = spec[name]",
        &format!(
            "if how == nil then return \"ERR upstash-local knows no key positions of '\" .. name .. \"', so a script with \
             the '{FLAG}' flag may not call it (see tools/upstash-local/src/script.rs)\" end"
        ),
        "local n = select('#', ...) local args = {...} local last, step = 0, 1",
        "if how == 'first' then last = 1 elseif how == 'two' then last = 2 elseif how == 'all' then last = n \
         elseif how == 'pairs' then last = n step = 2 end",
        "if last > n then last = n end",
        "for i = 1, last, step do local k = args[i] local t = type(k)",
        &format!(
            "if (t == 'string' or t == 'number') and not declared[tostring(k)] then return \"{UNDECLARED_KEY_ERROR}\" \
             .. tostring(k) end"
        ),
        "end return nil end",
        "return setmetatable({",
        "call = function(cmd, ...) local e = refused(cmd, ...) if e then error({err = e}) end return r.call(cmd, ...) end,",
        "pcall = function(cmd, ...) local e = refused(cmd, ...) if e then return {err = e} end return r.pcall(cmd, ...) end",
        "}, {__index = r}) end)(redis, KEYS); ",
    ]
    .join(" ")
}

/// Whether Redis's argument splitter (`sdssplitargs`) counts `b` as space.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The text to give Redis for a script whose shebang carries
/// [`FLAG`], or `None` when the script is to reach Redis unchanged: no
/// shebang, no flag, no newline after the shebang (Redis refuses that as
/// "Invalid script shebang"), another engine than `#!lua`, or quotes in the
/// shebang line (parts Redis would parse differently). The shebang keeps
/// its other parts in order, without the flag; a `flags=` left empty goes.
pub fn rewrite(script: &[u8]) -> Option<Vec<u8>> {
    if !script.starts_with(b"#!") {
        return None;
    }
    let newline = script.iter().position(|&b| b == b'\n')?;
    let line = &script[..newline];
    if line.iter().any(|&b| b == b'"' || b == b'\'') {
        return None;
    }
    let parts: Vec<&[u8]> = line.split(|&b| is_space(b)).filter(|p| !p.is_empty()).collect();
    if parts.first() != Some(&&b"#!lua"[..]) {
        return None;
    }
    let mut found = false;
    let mut shebang = b"#!lua".to_vec();
    for part in &parts[1..] {
        match part.strip_prefix(b"flags=") {
            Some(flags) => {
                let kept: Vec<&[u8]> = flags
                    .split(|&b| b == b',')
                    .filter(|flag| {
                        let ours = *flag == FLAG.as_bytes();
                        found |= ours;
                        !ours
                    })
                    .collect();
                if !kept.is_empty() {
                    shebang.extend_from_slice(b" flags=");
                    shebang.extend_from_slice(&kept.join(&b","[..]));
                }
            }
            None => {
                shebang.push(b' ');
                shebang.extend_from_slice(part);
            }
        }
    }
    if !found {
        return None;
    }
    let mut out = shebang;
    out.push(b'\n');
    out.extend_from_slice(prelude().as_bytes());
    out.extend_from_slice(&script[newline + 1..]);
    Some(out)
}

/// What to do with a command's reply after [`translate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Hand Redis's reply on as it is.
    AsIs,
    /// A `SCRIPT LOAD` of a rewritten script: answer the client's SHA1
    /// (of the text it sent) instead of the one Redis computed.
    ClientSha(String),
}

/// Maps the client's SHA1 of a flagged script to the SHA1 of its rewritten
/// text, the one Redis knows it by.
pub type ShaMap = HashMap<String, String>;

fn upper(arg: &[u8]) -> Vec<u8> {
    arg.to_ascii_uppercase()
}

/// The SHA1 Redis knows for the client's `sha` (Redis reads SHA1s in any case).
fn redis_sha(map: &ShaMap, sha: &[u8]) -> Option<Vec<u8>> {
    let sha = std::str::from_utf8(sha).ok()?.to_ascii_lowercase();
    map.get(&sha).map(|s| s.as_bytes().to_vec())
}

/// Rewrites one command (its name first) in place for Redis: `EVAL` and
/// `EVAL_RO` of a flagged script (and `SCRIPT LOAD` of one) get the
/// rewritten text and record its SHA1 in `map`; `EVALSHA`, `EVALSHA_RO` and
/// `SCRIPT EXISTS` get the SHA1s Redis knows. Every other command is left
/// as it is. Says what to do with the reply.
pub fn translate(map: &mut ShaMap, args: &mut [Vec<u8>]) -> Reply {
    let Some(name) = args.first().map(|a| upper(a)) else { return Reply::AsIs };
    match (name.as_slice(), args.len()) {
        (b"EVAL" | b"EVAL_RO", 2..) => {
            if let Some(text) = rewrite(&args[1]) {
                map.insert(sha1_hex(&args[1]), sha1_hex(&text));
                args[1] = text;
            }
            Reply::AsIs
        }
        (b"EVALSHA" | b"EVALSHA_RO", 2..) => {
            if let Some(sha) = redis_sha(map, &args[1]) {
                args[1] = sha;
            }
            Reply::AsIs
        }
        (b"SCRIPT", 3..) => match upper(&args[1]).as_slice() {
            b"LOAD" if args.len() == 3 => match rewrite(&args[2]) {
                Some(text) => {
                    let client = sha1_hex(&args[2]);
                    map.insert(client.clone(), sha1_hex(&text));
                    args[2] = text;
                    Reply::ClientSha(client)
                }
                None => Reply::AsIs,
            },
            b"EXISTS" => {
                for arg in &mut args[2..] {
                    if let Some(sha) = redis_sha(map, arg) {
                        *arg = sha;
                    }
                }
                Reply::AsIs
            }
            _ => Reply::AsIs,
        },
        _ => Reply::AsIs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn the_flag_leaves_the_shebang_and_the_prelude_starts_line_two() {
        let out = text(&rewrite(b"#!lua flags=allow-key-locking\nreturn redis.call('GET', KEYS[1])\n").unwrap());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "line numbers are kept: {out}");
        assert_eq!(lines[0], "#!lua");
        assert!(lines[1].starts_with("local redis = (function(r, keys)"), "{}", lines[1]);
        assert!(lines[1].ends_with("end)(redis, KEYS); return redis.call('GET', KEYS[1])"), "{}", lines[1]);
    }

    #[test]
    fn other_flags_and_options_stay_in_order() {
        let first_line = |script: &[u8]| text(&rewrite(script).unwrap()).lines().next().unwrap().to_owned();
        assert_eq!(first_line(b"#!lua flags=no-writes,allow-key-locking\nreturn 1"), "#!lua flags=no-writes");
        assert_eq!(first_line(b"#!lua flags=allow-key-locking,no-writes\nreturn 1"), "#!lua flags=no-writes");
        // Another unknown flag stays, for Redis to refuse as it does.
        assert_eq!(first_line(b"#!lua flags=allow-key-locking,bogus\nreturn 1"), "#!lua flags=bogus");
        assert_eq!(first_line(b"#!lua  foo flags=allow-key-locking\r\nreturn 1"), "#!lua foo");
    }

    #[test]
    fn scripts_without_the_flag_pass_unchanged() {
        for script in [
            &b"return 1"[..],
            b"#!lua\nreturn 1",
            b"#!lua flags=no-writes\nreturn 1",
            b"#!lua flags=bogus\nreturn 1",
            b"#!lua flags=allow-key-locking-not\nreturn 1",
            // No newline: Redis answers "Invalid script shebang".
            b"#!lua flags=allow-key-locking",
            b"#!js flags=allow-key-locking\nreturn 1",
            b"#!lua \"flags=allow-key-locking\"\nreturn 1",
            b"-- #!lua flags=allow-key-locking\nreturn 1",
        ] {
            assert_eq!(rewrite(script), None, "{}", text(script));
        }
    }

    #[test]
    fn the_prelude_is_one_line_and_names_every_command_once() {
        let p = prelude();
        assert!(!p.contains('\n'));
        for (name, _) in KEY_POSITIONS {
            assert_eq!(
                p.matches(&format!("{{{name}='")).count() + p.matches(&format!(",{name}='")).count(),
                1,
                "{name}"
            );
            assert_eq!(name.to_ascii_uppercase(), *name);
        }
        assert!(p.contains(UNDECLARED_KEY_ERROR));
    }

    #[test]
    fn sha1_is_redis_lowercase_hex() {
        // Redis: SCRIPT LOAD "return 1" → e0e1f9fabfc9d4800c877a703b823ac0578ff8db
        assert_eq!(sha1_hex(b"return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    }

    fn args(parts: &[&[u8]]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn eval_registers_the_client_sha_and_evalsha_finds_it() {
        let script = b"#!lua flags=allow-key-locking\nreturn 1";
        let client = sha1_hex(script);
        let rewritten = rewrite(script).unwrap();
        let mut map = ShaMap::new();

        let mut eval = args(&[b"eval", script, b"0"]);
        assert_eq!(translate(&mut map, &mut eval), Reply::AsIs);
        assert_eq!(eval, args(&[b"eval", &rewritten, b"0"]));
        assert_eq!(map.get(&client), Some(&sha1_hex(&rewritten)));

        let mut evalsha = args(&[b"EVALSHA", client.to_ascii_uppercase().as_bytes(), b"1", b"k"]);
        translate(&mut map, &mut evalsha);
        assert_eq!(evalsha, args(&[b"EVALSHA", sha1_hex(&rewritten).as_bytes(), b"1", b"k"]));

        // A SHA1 the map does not know goes to Redis as it is (NOSCRIPT there).
        let unknown = args(&[b"EVALSHA", b"0123456789012345678901234567890123456789", b"0"]);
        let mut same = unknown.clone();
        translate(&mut map, &mut same);
        assert_eq!(same, unknown);
    }

    #[test]
    fn script_load_answers_the_client_sha_and_exists_maps() {
        let script = b"#!lua flags=allow-key-locking\nreturn 1";
        let client = sha1_hex(script);
        let mut map = ShaMap::new();
        let mut load = args(&[b"SCRIPT", b"load", script]);
        assert_eq!(translate(&mut map, &mut load), Reply::ClientSha(client.clone()));
        assert_eq!(load[2], rewrite(script).unwrap());

        let mut exists = args(&[b"SCRIPT", b"EXISTS", client.as_bytes(), b"abc"]);
        translate(&mut map, &mut exists);
        assert_eq!(exists, args(&[b"SCRIPT", b"EXISTS", map[&client].as_bytes(), b"abc"]));

        // Unflagged scripts and other commands are untouched.
        let mut plain = args(&[b"SCRIPT", b"LOAD", b"return 1"]);
        assert_eq!(translate(&mut map, &mut plain), Reply::AsIs);
        assert_eq!(plain, args(&[b"SCRIPT", b"LOAD", b"return 1"]));
        let mut get = args(&[b"GET", b"k"]);
        translate(&mut map, &mut get);
        assert_eq!(get, args(&[b"GET", b"k"]));
        assert_eq!(map.len(), 1);
    }
}
