//! A URL parsed by the WHATWG URL Standard, reduced to the few parts the
//! demo reads: an `Origin` header's origin (csrf) and the absolute URLs of
//! its configuration (`BEER_API_URL`, `DEMO_EXPRESS_URL`).
//!
//! Why two parsers: on wasm32 the Workers runtime already has the
//! standard's parser (`URL`, through web-sys), and the `url` crate, which
//! implements the same standard, would add ~33 KB raw (~12 KB gzip) of
//! parser, IDNA and host code to the deployed module (issue 14's size
//! target) for a few calls. Natively (unit tests, tools) the `url` crate
//! does it. Both give the same parts on the forms these callers see; the
//! tests below pin the `url` crate's answers, and the e2e tests (hostile
//! input, forms) run the runtime's.

/// A parsed absolute URL: what `url::Url` or the runtime's `URL` says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUrl {
    /// The serialization (`href`): lowercase scheme and host, IDNA applied,
    /// the default port left out, `/` for an empty path of an http(s) URL.
    pub href: String,
    /// The origin's ASCII serialization (`scheme://host[:port]`), or `null`
    /// for an opaque origin (a scheme that is not http(s), ws(s) or ftp).
    pub origin: String,
    /// The scheme, lowercase, without its `:`.
    pub scheme: String,
    /// The host (`[::1]` for IPv6), empty when there is none.
    pub host: String,
    /// Whether the URL carries a user name or a password.
    pub credentials: bool,
}

impl WebUrl {
    /// Parses `text` as an absolute URL (leading and trailing C0 controls
    /// and spaces ignored, as the standard says); `None` when it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        parse(text)
    }

    /// Whether the origin is a (scheme, host, port) tuple and not opaque.
    pub fn has_tuple_origin(&self) -> bool {
        self.origin != "null"
    }

    /// Whether the URL is its origin and nothing more: no credentials,
    /// path `/`, no query, no fragment (not even an empty `?` or `#`), as
    /// an `Origin` header value parses (RFC 6454 §7.1). For a tuple origin
    /// the serialization is then exactly the origin and `/`.
    pub fn is_bare_origin(&self) -> bool {
        self.has_tuple_origin()
            && self.href.len() == self.origin.len() + 1
            && self.href.starts_with(self.origin.as_str())
            && self.href.ends_with('/')
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn parse(text: &str) -> Option<WebUrl> {
    let url = url::Url::parse(text).ok()?;
    Some(WebUrl {
        href: url.as_str().to_owned(),
        origin: url.origin().ascii_serialization(),
        scheme: url.scheme().to_owned(),
        host: url.host_str().unwrap_or_default().to_owned(),
        credentials: !url.username().is_empty() || url.password().is_some(),
    })
}

#[cfg(target_arch = "wasm32")]
fn parse(text: &str) -> Option<WebUrl> {
    let url = web_sys::Url::new(text).ok()?;
    let scheme = url.protocol();
    Some(WebUrl {
        href: url.href(),
        origin: url.origin(),
        scheme: scheme.strip_suffix(':').unwrap_or(&scheme).to_owned(),
        host: url.hostname(),
        // The standard's serializer drops an empty password, so an empty
        // `password` is the `url` crate's `None`.
        credentials: !url.username().is_empty() || !url.password().is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::WebUrl;

    /// What the callers read, as the `url` crate gives it directly.
    fn reference(text: &str) -> Option<(String, String, String, String, bool, bool)> {
        let u = url::Url::parse(text).ok()?;
        let origin = u.origin();
        let bare = u.path() == "/"
            && u.query().is_none()
            && u.fragment().is_none()
            && u.username().is_empty()
            && u.password().is_none()
            && origin.is_tuple();
        Some((
            u.to_string(),
            origin.ascii_serialization(),
            u.scheme().to_owned(),
            u.host_str().unwrap_or_default().to_owned(),
            !u.username().is_empty() || u.password().is_some(),
            bare,
        ))
    }

    #[test]
    fn agrees_with_the_url_crate() {
        for text in [
            "https://example.com",
            "https://example.com/",
            "HTTPS://EXAMPLE.COM:443",
            "https://example.com:8443",
            "http://127.0.0.1:8787",
            "http://[::1]:3000",
            "http://2130706433:8787",
            "https://bücher.example",
            "https://xn--bcher-kva.example",
            "  https://example.com  ",
            "https://example.com/?",
            "https://example.com/#",
            "https://example.com/?a=1",
            "https://example.com/path",
            "https://user@example.com",
            "https://user:@example.com",
            "https://:pw@example.com",
            "https://u:p@example.com/",
            "blob:https://example.com/uuid",
            "blob:https://example.com/",
            "ws://example.com",
            "ftp://example.com",
            "file:///etc/passwd",
            "foo://example.com/",
            "null",
            "",
            "https://",
            "https://exa mple.com",
            "https://example.com:99999",
            "http://example.com.",
            "https://api.example.com/beers?key=abc&x=%20",
        ] {
            let ours = WebUrl::parse(text);
            let theirs = reference(text);
            assert_eq!(ours.is_some(), theirs.is_some(), "{text:?}");
            let (Some(ours), Some((href, origin, scheme, host, credentials, bare))) = (ours, theirs) else {
                continue;
            };
            assert_eq!(ours.href, href, "{text:?}");
            assert_eq!(ours.origin, origin, "{text:?}");
            assert_eq!(ours.scheme, scheme, "{text:?}");
            assert_eq!(ours.host, host, "{text:?}");
            assert_eq!(ours.credentials, credentials, "{text:?}");
            assert_eq!(ours.is_bare_origin(), bare, "{text:?}");
        }
    }
}
