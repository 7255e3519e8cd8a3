//! Every Redis key this crate reads or writes, named in one place: the
//! session keys connect-redis uses, and the account keys beside them.
//! docs/PROTOCOL.md lists the same table for other implementations.
//!
//! | key | type | what |
//! |---|---|---|
//! | `<prefix><sid>` (`sess:` by default) | string, TTL | the session document |
//! | `<user prefix><name>` (`user:` by default) | string, TTL until the first login, then none | `{"username":…,"password":…}` |
//! | `user-skeleton:<skeleton>` | string, TTL until the first login, then none | the name that owns a confusable skeleton |
//! | `user-sessions:<name>` | set, TTL ≥ the longest session TTL, raised by each save and touch of a session it lists | ids of `<name>`'s logged-in sessions |
//! | `user-<counter>:<name>` | integer, no TTL | a per-user counter, e.g. the demo's `user-beers:<name>` |
//! | `login-fail:user:<name>` | integer, TTL = window | failed logins for a name |
//! | `login-fail:ip:<bucket>` | integer, TTL = window | failed logins from an address |
//! | `login-fail:pair:<name>:<bucket>` | integer, TTL = window | failed logins for a name from an address |
//! | `login-known:<name>` | set, TTL 90 days | address buckets that logged in as `<name>` |
//! | `register:ip:<bucket>` | integer, TTL = window | registrations from an address (IPv6: its /48) |
//! | `register:all` | integer, TTL = window | registrations from everywhere |
//! | `beer-cache:<hash>` | string, TTL = `BEER_CACHE_SECONDS` | the demo's upstream beer names, `[{"name":…,"style":…}]` ([`beer_cache`]) |

/// connect-redis's default `prefix`.
pub const DEFAULT_SESSION_PREFIX: &str = "sess:";

/// The default prefix of user records (`AUTH_USER_PREFIX`).
pub const DEFAULT_USER_PREFIX: &str = "user:";

/// The session document's key: connect-redis's `prefix + sid`.
pub fn session(prefix: &str, sid: &str) -> String {
    format!("{prefix}{sid}")
}

/// A user record's key: `user_prefix + name` (`AUTH_USER_PREFIX`).
pub fn user(user_prefix: &str, name: &str) -> String {
    format!("{user_prefix}{name}")
}

/// The set of `name`'s logged-in session ids ("log out everywhere"). Its
/// spelling is shared with the Express integration
/// (`edge-session-express (integrations/express)`).
pub fn user_sessions(name: &str) -> String {
    format!("user-sessions:{name}")
}

/// The key that reserves a confusable skeleton (UTS #39,
/// `accounts::username::skeleton`) for the one name that holds it:
/// registration refuses every other name with that skeleton.
pub fn user_skeleton(skeleton: &str) -> String {
    format!("user-skeleton:{skeleton}")
}

/// `name`'s counter `counter`, which outlives sessions (the demo's lifetime
/// beers are `user_counter("beers", name)` = `user-beers:<name>`).
pub fn user_counter(counter: &str, name: &str) -> String {
    format!("user-{counter}:{name}")
}

/// Failed logins for `name` within the window.
pub fn login_failures_for_user(name: &str) -> String {
    format!("login-fail:user:{name}")
}

/// Failed logins from one address bucket within the window.
pub fn login_failures_for_address(bucket: &str) -> String {
    format!("login-fail:ip:{bucket}")
}

/// Failed logins for `name` from one address bucket within the window.
pub fn login_failures_for_user_and_address(name: &str, bucket: &str) -> String {
    format!("login-fail:pair:{name}:{bucket}")
}

/// The address buckets that have logged in as `name` (the lockout's
/// exception: past the name's soft limit only these are let through).
pub fn login_known_addresses(name: &str) -> String {
    format!("login-known:{name}")
}

/// Registrations from everywhere within the window (the global cap).
pub fn registrations_everywhere() -> &'static str {
    "register:all"
}

/// Registrations from one address bucket within the window.
pub fn registrations_for_address(bucket: &str) -> String {
    format!("register:ip:{bucket}")
}

/// The demo's cache of what its upstream beer API (`BEER_API_URL`)
/// answered: `beer-cache:` and the first 8 bytes of the SHA-256 of the URL
/// in lowercase hex (16 characters), so that a changed URL never reads the
/// names cached for the old one, and the key does not show the URL (which
/// may carry an API key in its query).
pub fn beer_cache(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(url.as_bytes());
    let hex = hex::encode(&digest[..8]);
    format!("beer-cache:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(session("sess:", "abc"), "sess:abc");
        assert_eq!(session("", "abc"), "abc");
        assert_eq!(user("user:", "zoë"), "user:zoë");
        assert_eq!(user_sessions("zoë"), "user-sessions:zoë");
        assert_eq!(user_counter("beers", "zoë"), "user-beers:zoë");
        assert_eq!(login_failures_for_user("zoë"), "login-fail:user:zoë");
        assert_eq!(login_failures_for_address("1.2.3.4"), "login-fail:ip:1.2.3.4");
        assert_eq!(registrations_for_address("1.2.3.4"), "register:ip:1.2.3.4");
        assert_eq!(login_failures_for_user_and_address("zoë", "1.2.3.4"), "login-fail:pair:zoë:1.2.3.4");
        assert_eq!(login_known_addresses("zoë"), "login-known:zoë");
        // printf %s https://beer.example/beers | sha256sum | cut -c1-16
        assert_eq!(beer_cache("https://beer.example/beers"), "beer-cache:2ded945cd9ae0384");
        assert_ne!(beer_cache("https://beer.example/beers"), beer_cache("https://beer.example/beers?page=2"));
    }
}
