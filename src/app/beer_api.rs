//! The seed's caching bonus (issue 13, point 5): an optional upstream
//! beer-name API (`BEER_API_URL`), called with a timeout, its answer cached
//! in Redis for `BEER_CACHE_SECONDS` under [`keys::beer_cache`]; the
//! built-in generator ([`super::beer`]) names the beer when the API is off,
//! slow or failing. A pour never fails because of it.
//!
//! Platform-free: the network is behind [`Upstream`] (the worker's
//! [`HttpTransport`]; a fake in unit tests), and the cache travels with the
//! session's own round trips: read with its load, written with its save
//! ([`Poured::cache_write`]), so a pour costs no extra store round trip.

use serde_json::Value;

use edge_session::keys;
use edge_session::session::js_json;
use edge_session::store::transport::HttpReply;
use edge_session::store::{HttpTransport, TransportError, Write};

use super::beer::{self, Beer};
use crate::config::BeerApiConfig;

/// The largest upstream body read, in bytes: a longer answer is a failure.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The most beers kept from one answer (the rest are dropped): the cached
/// value stays small, and it is read with every pour.
pub const MAX_BEERS: usize = 100;

/// The longest name or style kept, in characters (longer ones are cut).
pub const MAX_TEXT_CHARS: usize = 80;

/// Where a pour's beer came from: the JSON's `beerSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BeerSource {
    /// `"api"`: fetched from the upstream during this request.
    Api,
    /// `"cache"`: from the upstream's answer cached in Redis.
    Cache,
    /// `"generator"`: the built-in generator (API off, slow or failing).
    Generator,
}

/// What a pour does for its beer, decided from the configuration and what
/// the session's load read of the cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan<'a> {
    /// No `BEER_API_URL`: the generator.
    Generator,
    /// A usable cached list: one of its beers, no upstream call.
    Cached(Vec<Beer>),
    /// No cached list (missing, expired, or unreadable): call this upstream.
    Fetch(&'a BeerApiConfig),
}

/// The source decision: off (`api` `None`) → [`Plan::Generator`]; on with a
/// usable cached value (`cached`: the bytes of the cache key, `None` when
/// missing) → [`Plan::Cached`]; on otherwise → [`Plan::Fetch`] (an
/// unreadable cached value is fetched again and overwritten, not trusted).
pub fn plan<'a>(api: Option<&'a BeerApiConfig>, cached: Option<&[u8]>) -> Plan<'a> {
    match (api, cached.and_then(decode_cache)) {
        (None, _) => Plan::Generator,
        (Some(_), Some(list)) => Plan::Cached(list),
        (Some(api), None) => Plan::Fetch(api),
    }
}

/// Why the upstream's answer was not used (the pour then takes the
/// generator's beer, and the answer's log detail says why). Messages name
/// the variable, never the URL, which may carry an API key.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum BeerApiError {
    /// No answer in time (`BEER_API_TIMEOUT_MS`), no connection, or a body
    /// over [`MAX_BODY_BYTES`].
    #[error("the beer API (BEER_API_URL) did not answer usably")]
    Transport(#[source] TransportError),
    /// A status other than 2xx.
    #[error("the beer API (BEER_API_URL) answered HTTP {0}")]
    Status(u16),
    /// The body is not JSON.
    #[error("the beer API (BEER_API_URL) answered something that is not JSON")]
    NotJson(#[source] js_json::de::Error),
    /// JSON, but no beer in it: says what it was.
    #[error("the beer API (BEER_API_URL) answered no beer: {0}")]
    NoBeer(&'static str),
}
edge_session::debug_is_display!(BeerApiError);

/// Reads an upstream answer: a 2xx status and a JSON body that is an array
/// of objects with a string `name` (optional string `style`, else
/// `tagline`), or one such object, as public beer APIs answer. Entries
/// without a non-blank string `name` are skipped; names and styles are
/// trimmed, stripped of control characters and cut at [`MAX_TEXT_CHARS`];
/// at most [`MAX_BEERS`] are kept.
///
/// # Errors
///
/// [`BeerApiError::Status`] for a status outside 2xx,
/// [`BeerApiError::NotJson`] for a body that is not JSON,
/// [`BeerApiError::NoBeer`] for JSON without one usable beer.
pub fn parse_upstream(status: u16, body: &[u8]) -> Result<Vec<Beer>, BeerApiError> {
    if !(200..300).contains(&status) {
        return Err(BeerApiError::Status(status));
    }
    let value: Value = js_json::de::from_slice(body).map_err(BeerApiError::NotJson)?;
    let beers: Vec<Beer> = match &value {
        Value::Array(items) => items.iter().filter_map(beer_of).take(MAX_BEERS).collect(),
        Value::Object(_) => beer_of(&value).into_iter().collect(),
        _ => return Err(BeerApiError::NoBeer("neither an array nor an object")),
    };
    match (beers.is_empty(), &value) {
        (false, _) => Ok(beers),
        (true, Value::Array(items)) if items.is_empty() => Err(BeerApiError::NoBeer("an empty array")),
        (true, Value::Array(_)) => Err(BeerApiError::NoBeer("no entry has a string `name`")),
        (true, _) => Err(BeerApiError::NoBeer("the object has no string `name`")),
    }
}

/// One upstream entry as a beer, if it is an object with a usable `name`.
fn beer_of(item: &Value) -> Option<Beer> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(clean).filter(|t| !t.is_empty());
    Some(Beer { name: text("name")?, style: text("style").or_else(|| text("tagline")) })
}

/// Trimmed, without control characters (they would only garble the page
/// and the log), at most [`MAX_TEXT_CHARS`] characters.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect::<String>().trim().chars().take(MAX_TEXT_CHARS).collect()
}

/// The cached value: the normalized list as JSON, `[{"name":…,"style":…}]`
/// (`style` a string or null).
pub fn encode_cache(beers: &[Beer]) -> String {
    js_json::to_string(beers).unwrap_or_else(|_| "[]".into())
}

/// A cached value read back: `None` unless it is a non-empty list of
/// beers (a value written by another version, or by hand, is fetched again).
pub fn decode_cache(bytes: &[u8]) -> Option<Vec<Beer>> {
    js_json::de::from_slice::<Vec<Beer>>(bytes).ok().filter(|list| !list.is_empty())
}

/// The network, as a pour needs it: a GET of `url` whose body is read up to
/// `max_bytes`, within the transport's timeout.
#[allow(async_fn_in_trait)]
pub trait Upstream {
    /// The answer's status and body.
    ///
    /// # Errors
    ///
    /// [`TransportError`]: a timeout, a body over `max_bytes`, no connection.
    async fn get_json(&self, url: &str, max_bytes: usize) -> Result<HttpReply, TransportError>;
}

impl Upstream for HttpTransport {
    async fn get_json(&self, url: &str, max_bytes: usize) -> Result<HttpReply, TransportError> {
        self.get(url, max_bytes).await
    }
}

/// A pour's beer, where it came from, and what to write with the save.
#[derive(Debug)]
pub struct Poured {
    /// The beer shown.
    pub beer: Beer,
    /// Its source (`beerSource`).
    pub source: BeerSource,
    /// `SET beer-cache:<hash> <list> EX BEER_CACHE_SECONDS`, after a
    /// successful fetch: to send with the session's save
    /// (`Session::also_write`), in the same round trip.
    pub cache_write: Option<Write>,
    /// Why the upstream was not used, when it failed (for the log).
    pub failure: Option<BeerApiError>,
}

/// Chooses a pour's beer: [`plan`] over the configuration and the cached
/// bytes, then the cached list, the upstream (one call, within its
/// timeout) or the generator; `random` picks from a list. Never fails: an
/// upstream that fails gives the generator's beer and its error in
/// [`Poured::failure`].
pub async fn choose<U: Upstream>(
    api: Option<&BeerApiConfig>,
    upstream: &U,
    cached: Option<&[u8]>,
    random: u32,
) -> Poured {
    let from = |beers: &[Beer]| beers[random as usize % beers.len()].clone();
    let generated =
        |failure| Poured { beer: beer::random(), source: BeerSource::Generator, cache_write: None, failure };
    match plan(api, cached) {
        Plan::Generator => generated(None),
        Plan::Cached(beers) => {
            Poured { beer: from(&beers), source: BeerSource::Cache, cache_write: None, failure: None }
        }
        Plan::Fetch(api) => {
            let answer = upstream.get_json(&api.url, MAX_BODY_BYTES).await.map_err(BeerApiError::Transport);
            match answer.and_then(|reply| parse_upstream(reply.status, &reply.body)) {
                Ok(beers) => Poured {
                    beer: from(&beers),
                    source: BeerSource::Api,
                    cache_write: Some(Write::PutExpiring {
                        key: keys::beer_cache(&api.url),
                        value: encode_cache(&beers),
                        seconds: api.cache_seconds,
                    }),
                    failure: None,
                },
                Err(e) => generated(Some(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_session::testing::block_on;
    use std::cell::Cell;
    use std::time::Duration;

    /// The names and styles parsed, or the error's kind.
    type Parsed = Result<Vec<(String, Option<String>)>, &'static str>;

    /// What a [`parse_upstream`] call gave, for the truth table.
    fn parsed(status: u16, body: &str) -> Parsed {
        parse_upstream(status, body.as_bytes()).map(|b| b.into_iter().map(|b| (b.name, b.style)).collect()).map_err(
            |e| match e {
                BeerApiError::Transport(_) => "transport",
                BeerApiError::Status(_) => "status",
                BeerApiError::NotJson(_) => "not json",
                BeerApiError::NoBeer(_) => "no beer",
            },
        )
    }

    fn beers(list: &[(&str, Option<&str>)]) -> Parsed {
        Ok(list.iter().map(|(n, s)| (n.to_string(), s.map(str::to_owned))).collect())
    }

    #[test]
    fn upstream_bodies_truth_table() {
        let long = format!(r#"[{{"name":"{}"}}]"#, "x".repeat(MAX_TEXT_CHARS + 5));
        let many = format!("[{}]", vec![r#"{"name":"a"}"#; MAX_BEERS + 3].join(","));
        let rows: Vec<(u16, &str, Parsed)> = vec![
            (
                200,
                r#"[{"name":"Punk IPA","tagline":"Post Modern Classic"}]"#,
                beers(&[("Punk IPA", Some("Post Modern Classic"))]),
            ),
            (
                200,
                r#"[{"name":"A","style":"Stout","tagline":"t"},{"name":"B"}]"#,
                beers(&[("A", Some("Stout")), ("B", None)]),
            ),
            (200, r#"{"name":" Solo ","style":"Pils","id":1}"#, beers(&[("Solo", Some("Pils"))])),
            (
                200,
                r#"[{"name":"A"},{"name":5},{"title":"x"},"B",null,{"name":"  "},{"name":"C\u0007"}]"#,
                beers(&[("A", None), ("C", None)]),
            ),
            (200, r#"[{"name":"A","style":7,"tagline":"T"}]"#, beers(&[("A", Some("T"))])),
            (204, r#"[{"name":"A"}]"#, beers(&[("A", None)])),
            (200, &long, Ok(vec![("x".repeat(MAX_TEXT_CHARS), None)])),
            (200, "[]", Err("no beer")),
            (200, r#"[{"title":"x"}]"#, Err("no beer")),
            (200, r#"{"beers":[{"name":"A"}]}"#, Err("no beer")),
            (200, r#""Punk IPA""#, Err("no beer")),
            (200, "42", Err("no beer")),
            (200, "null", Err("no beer")),
            (200, "<html>oops</html>", Err("not json")),
            (200, "", Err("not json")),
            (200, r#"[{"name":"A"}"#, Err("not json")),
            (500, r#"[{"name":"A"}]"#, Err("status")),
            (404, "not found", Err("status")),
            (301, "", Err("status")),
        ];
        for (status, body, expected) in rows {
            assert_eq!(parsed(status, body), expected, "{status} {body}");
        }
        assert_eq!(parse_upstream(200, many.as_bytes()).unwrap().len(), MAX_BEERS);
    }

    #[test]
    fn the_cache_round_trips_and_refuses_what_it_did_not_write() {
        let list = vec![Beer { name: "A".into(), style: Some("S".into()) }, Beer { name: "B".into(), style: None }];
        let text = encode_cache(&list);
        assert_eq!(text, r#"[{"name":"A","style":"S"},{"name":"B","style":null}]"#);
        assert_eq!(decode_cache(text.as_bytes()), Some(list));
        for bad in ["[]", "{}", "garbage", r#"[{"style":"S"}]"#, ""] {
            assert_eq!(decode_cache(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn plan_truth_table() {
        let (good, on) = (br#"[{"name":"A","style":null}]"#.as_slice(), api());
        let cached = Plan::Cached(vec![Beer { name: "A".into(), style: None }]);
        assert_eq!(plan(None, None), Plan::Generator);
        assert_eq!(plan(None, Some(good)), Plan::Generator, "off: a left-over cache is not used");
        assert_eq!(plan(Some(&on), Some(good)), cached);
        assert_eq!(plan(Some(&on), None), Plan::Fetch(&on));
        assert_eq!(plan(Some(&on), Some(b"not a list")), Plan::Fetch(&on), "an unreadable cache is fetched again");
    }

    /// A fake upstream: answers what `reply` makes and counts its calls.
    struct Fake {
        reply: Box<dyn Fn() -> Result<HttpReply, TransportError>>,
        calls: Cell<u32>,
    }

    impl Fake {
        fn answering(status: u16, body: &'static str) -> Self {
            let reply = move || Ok(HttpReply { status, body: body.as_bytes().to_vec(), sync_token: None });
            Self { reply: Box::new(reply), calls: Cell::new(0) }
        }
        fn failing(e: fn() -> TransportError) -> Self {
            Self { reply: Box::new(move || Err(e())), calls: Cell::new(0) }
        }
    }

    impl Upstream for Fake {
        async fn get_json(&self, _url: &str, max_bytes: usize) -> Result<HttpReply, TransportError> {
            assert_eq!(max_bytes, MAX_BODY_BYTES);
            self.calls.set(self.calls.get() + 1);
            (self.reply)()
        }
    }

    fn api() -> BeerApiConfig {
        BeerApiConfig { url: "http://127.0.0.1:9/beers".into(), timeout: Duration::from_millis(100), cache_seconds: 60 }
    }

    #[test]
    fn choose_takes_the_cache_then_the_upstream_then_the_generator() {
        let up = Fake::answering(200, r#"[{"name":"A","style":"S"},{"name":"B"}]"#);
        let off = block_on(choose(None, &up, None, 1));
        assert_eq!((off.source, off.cache_write, up.calls.get()), (BeerSource::Generator, None, 0));
        assert!(off.failure.is_none());

        let fetched = block_on(choose(Some(&api()), &up, None, 1));
        assert_eq!((fetched.source, fetched.beer.name.as_str(), up.calls.get()), (BeerSource::Api, "B", 1));
        let write = fetched.cache_write.expect("the list is cached with the save");
        let Write::PutExpiring { key, value, seconds } = &write else { panic!("{write:?}") };
        assert_eq!((key.as_str(), seconds), (keys::beer_cache("http://127.0.0.1:9/beers").as_str(), &60));

        let hit = block_on(choose(Some(&api()), &up, Some(value.as_bytes()), 2));
        assert_eq!((hit.source, hit.beer.name.as_str(), up.calls.get()), (BeerSource::Cache, "A", 1), "no call");
        assert!(hit.cache_write.is_none() && hit.failure.is_none());
    }

    #[test]
    fn a_failing_upstream_gives_the_generator_and_says_why() {
        let cases = [
            (Fake::answering(500, "oops"), "HTTP 500"),
            (Fake::answering(200, "<html>"), "not JSON"),
            (Fake::answering(200, "[]"), "no beer"),
            (Fake::failing(|| TransportError::Timeout(Duration::from_millis(100))), "no answer within"),
            (Fake::failing(|| TransportError::TooLarge { limit: MAX_BODY_BYTES }), "over 262144 bytes"),
            (Fake::failing(|| TransportError::Failed("connection refused".into())), "connection refused"),
        ];
        for (up, why) in cases {
            let poured = block_on(choose(Some(&api()), &up, None, 0));
            assert_eq!((poured.source, up.calls.get()), (BeerSource::Generator, 1), "{why}");
            assert!(poured.cache_write.is_none(), "a failure is not cached: {why}");
            assert!(!poured.beer.name.is_empty());
            let chain = edge_session::error_chain(&poured.failure.expect("the failure is kept"));
            assert!(chain.contains(why) && chain.contains("BEER_API_URL"), "{chain}");
            assert!(!chain.contains("127.0.0.1"), "the URL stays out of the log: {chain}");
        }
    }
}
