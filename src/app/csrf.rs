//! Cross-site request refusal for state-changing requests. Browsers say
//! where a request comes from: `Sec-Fetch-Site` (all current browsers) or,
//! failing that, `Origin`. A POST whose page was on another site is refused
//! with 403, so another site cannot pour, log a visitor in as someone else,
//! or log them out. Requests with neither header (curl, server-to-server)
//! carry no ambient browser cookies of a victim and are let through.

use super::web_url::WebUrl;
use super::Request;

/// Whether a state-changing request may proceed.
pub fn same_origin(req: &Request<'_>) -> bool {
    if let Some(site) = req.sec_fetch_site {
        // "none": typed URL or bookmark; "same-origin": our own page.
        // "same-site" is refused too: a sibling subdomain is another app.
        return matches!(site.trim(), "same-origin" | "none");
    }
    match req.origin {
        None => true,
        Some(origin) => normalized_origin(origin).is_some_and(|o| Some(o) == normalized_origin(req.self_origin)),
    }
}

/// An origin as RFC 6454 §6.1 serializes it: scheme and host lowercase, the
/// scheme's default port left out (`https://beer.example:443` is
/// `https://beer.example`). `None` for an opaque origin (`null`) or
/// anything that is not an origin, which never matches.
fn normalized_origin(origin: &str) -> Option<String> {
    // An origin is scheme, host and port only (RFC 6454 §7.1): one with a
    // path, query, fragment or credentials is not an Origin header value.
    let url = WebUrl::parse(origin.trim())?;
    url.is_bare_origin().then_some(url.origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(origin: Option<&'a str>, site: Option<&'a str>) -> Request<'a> {
        Request {
            method: "POST",
            path: "/api/pour",
            query: None,
            cookie: None,
            https: true,
            forwarded_proto: None,
            self_origin: "https://beer.example",
            origin,
            sec_fetch_site: site,
            client_ip: None,
            content_type: None,
            accept: None,
            user_agent: None,
            body: b"",
        }
    }

    #[test]
    fn truth_table() {
        let cases = [
            (None, None, true),
            (Some("https://beer.example"), None, true),
            (Some("https://evil.example"), None, false),
            (Some("null"), None, false),
            (Some("http://beer.example"), None, false),
            (None, Some("same-origin"), true),
            (None, Some("none"), true),
            (None, Some("same-site"), false),
            (None, Some("cross-site"), false),
            // The same origin spelled with its default port, or in capitals
            // (RFC 6454: both serialize as https://beer.example).
            (Some("https://beer.example:443"), None, true),
            (Some("HTTPS://Beer.Example"), None, true),
            (Some("https://beer.example:8443"), None, false),
            (Some("https://beer.example.evil"), None, false),
            (Some("not an origin"), None, false),
            (Some("https://beer.example/x"), None, false),
            (Some("https://beer.example?x=1"), None, false),
            (Some("https://user@beer.example"), None, false),
            // Sec-Fetch-Site wins over a matching Origin.
            (Some("https://beer.example"), Some("cross-site"), false),
        ];
        for (origin, site, ok) in cases {
            assert_eq!(same_origin(&req(origin, site)), ok, "{origin:?} {site:?}");
        }
    }
}
