//! The parts of a request's URL that the session layer and the gateway
//! read, split out of the URL the Workers runtime hands over.
//!
//! Why a split and not `url::Url::parse`: the runtime's `request.url` has
//! already been parsed and serialized by its own WHATWG URL parser (the one
//! the `url` crate follows), so it is absolute, has no fragment, its host
//! is lowercased (IDNA applied), dot segments are resolved and the default
//! port is left out. Parsing it a second time costs every request CPU
//! (measured in workerd: a few percent of a read's wasm time) and the
//! deployed module ~33 KB (issue 14's size target), and gives back the same
//! parts. The unit tests check the split against the `url` crate on the
//! serialized forms the runtime produces. One type for every caller: the
//! demo's entry and `workers::forward` read the same split.

/// A request URL as the runtime serialized it
/// (`scheme://host[:port]/path[?query]`), split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestUrl<'a> {
    /// `scheme://host[:port]`, as `url::Url::origin().ascii_serialization()`
    /// gives it (no user information).
    pub origin: &'a str,
    /// `host[:port]`, as the `Host` header names it (what the gateway
    /// passes to the origin as `X-Forwarded-Host`).
    pub host: &'a str,
    /// The path, still percent-encoded, always starting with `/`.
    pub path: &'a str,
    /// The query without its `?` (`Some("")` for a bare `?`).
    pub query: Option<&'a str>,
    /// The path and the query as sent (`/a?b=1`): what a redirect back
    /// to this request names.
    pub path_and_query: &'a str,
    /// Whether the scheme is `https`.
    pub https: bool,
}

impl<'a> RequestUrl<'a> {
    /// Splits `url`; `None` for anything that is not an absolute `http:` or
    /// `https:` URL with a path, or that names user information
    /// (`user:pass@host`): the runtime hands over neither. A fragment
    /// (`#…`), which the runtime never sends either, is left out as the
    /// `url` crate leaves it out of the path and the query.
    pub fn split(url: &'a str) -> Option<Self> {
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        let (scheme, rest) = url.split_once("://")?;
        let https = match scheme {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let authority_end = rest.find('/')?;
        let authority = &rest[..authority_end];
        // The runtime builds the URL from the Host header: no user
        // information (`user:pass@host`), which no origin includes.
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let origin = &url[..scheme.len() + 3 + authority_end];
        let path_and_query = &rest[authority_end..];
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        Some(Self { origin, host: authority, path, query, path_and_query, https })
    }
}

#[cfg(test)]
mod tests {
    use super::RequestUrl;

    /// The split agrees with the `url` crate on the forms the runtime
    /// serializes.
    #[test]
    fn split_matches_the_url_crate() {
        for url in [
            "http://127.0.0.1:8787/",
            "http://127.0.0.1:8787/api/session",
            "https://example.com/api/pour?x=1&y=%20z",
            "https://example.com/?",
            "https://example.com/a/b%2F..%2Fc?next=/account",
            "http://[::1]:3000/x?y",
            "https://xn--bcher-kva.example/b%C3%BCcher",
            "https://example.com:8443/lab/set,panic?key=a&value=%22b%22",
            "https://example.com/a?next=/account#frag",
            "https://example.com/#",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            if parsed.fragment().is_none() {
                assert_eq!(parsed.as_str(), url, "the runtime's serialization is the url crate's");
            }
            let split = RequestUrl::split(url).unwrap();
            let host = match parsed.port() {
                Some(port) => format!("{}:{port}", parsed.host_str().unwrap()),
                None => parsed.host_str().unwrap().to_owned(),
            };
            assert_eq!(split.origin, parsed.origin().ascii_serialization(), "{url}");
            assert_eq!(split.host, host, "{url}");
            assert_eq!(split.path, parsed.path(), "{url}");
            assert_eq!(split.query, parsed.query(), "{url}");
            assert_eq!(split.path_and_query, &parsed[url::Position::BeforePath..url::Position::AfterQuery], "{url}");
            assert_eq!(split.https, parsed.scheme() == "https", "{url}");
        }
    }

    #[test]
    fn refuses_what_the_runtime_never_hands_over() {
        for url in [
            "",
            "/api/session",
            "ftp://example.com/",
            "http://example.com",
            "https://example.com#/x",
            "http:///x",
            "http://u:p@example.com/",
            "https://u:p@example.com:8443/x",
        ] {
            assert_eq!(RequestUrl::split(url), None, "{url}");
        }
    }
}
