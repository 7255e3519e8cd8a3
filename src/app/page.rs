//! `GET /`: the demo page, filled in at the edge. The page itself stays a
//! static file (`www/index.html`, served from the `ASSETS` binding); this
//! module decides what changes in it for this request's session, as a list
//! of [`Edit`]s on elements named by id, which the entry applies with the
//! runtime's own `HTMLRewriter` (`src/fill.js`) while the page streams out.
//!
//! Why the runtime's rewriter: measured against the wasm size budget
//! (README, "The page"), Cloudflare's `lol_html` crate compiled into the
//! worker added 415 KB raw / 224 KB gzip to a 1.48 MB / 613 KB module;
//! `HTMLRewriter` is `lol_html` already inside workerd, reached through a
//! short JavaScript shim, and costs the module nothing. Text goes in as
//! text (the rewriter escapes it); the few fragments of markup (flash
//! messages, the devices list) are escaped here by `html-escape`.
//!
//! Platform-free: the edits are plain data, tested natively against the
//! real `www/index.html` (every selector names one element there).

use serde::Serialize;
use serde_json::Value;

use edge_session::session::flash::Messages;

use super::beer_api::BeerSource;
use super::devices::{DeviceView, UNKNOWN_DEVICE};
use edge_session::session::document::{format_iso, Millis};

/// One change to the static page, on the element with id `id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Edit {
    /// Its content becomes `value`, as text (escaped by the rewriter).
    Text {
        /// The element's id.
        id: &'static str,
        /// The text.
        value: String,
    },
    /// Its content becomes `value`, as markup already escaped here.
    Html {
        /// The element's id.
        id: &'static str,
        /// The markup.
        value: String,
    },
    /// Its `hidden` attribute is removed.
    Show {
        /// The element's id.
        id: &'static str,
    },
    /// It gets the `hidden` attribute.
    Hide {
        /// The element's id.
        id: &'static str,
    },
    /// Its attribute `name` becomes `value`.
    Attr {
        /// The element's id.
        id: &'static str,
        /// The attribute.
        name: &'static str,
        /// Its value (escaped by the rewriter).
        value: String,
    },
    /// A class is added to it.
    Class {
        /// The element's id.
        id: &'static str,
        /// The class.
        value: &'static str,
    },
}

/// The headers of the filled-in page, beside every answer's: the static
/// page's own (`www/_headers`, which the runtime does not apply to what
/// the worker answers: a test keeps the two the same) and `no-store`, since
/// the page shows one visitor's session.
pub const PAGE_HEADERS: [(&str, &str); 5] = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
];

/// The beer a pour poured, kept in the session (`lastBeer`) so the next
/// page (after a form's redirect) shows it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LastBeer {
    /// E.g. "Hazy Otter Lager".
    pub name: String,
    /// E.g. "New England IPA" (empty when the beer API gave none).
    pub style: String,
    /// Where it came from (absent in documents of an older version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<BeerSource>,
}

/// The session field [`LastBeer`] is kept in.
pub const LAST_BEER: &str = "lastBeer";

/// Flash types shown in the account panel ([`edits`]): a message, and an
/// error such as a wrong password. Every other type shows in the page-wide
/// list, `error` as an alert.
pub const FLASH_ACCOUNT: &str = "account";
/// See [`FLASH_ACCOUNT`].
pub const FLASH_ACCOUNT_ERROR: &str = "account-error";
/// The page-wide error type (shown with `role="alert"`).
pub const FLASH_ERROR: &str = "error";
/// The page-wide information type.
pub const FLASH_INFO: &str = "info";

/// Everything the page shows of one session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageView {
    /// The session id (as the seed demo's panel shows it), when the session
    /// is stored: with `SESSION_SAVE_UNINITIALIZED=false` a new session is
    /// not, and its id would be another one at the next request.
    pub session_id: Option<String>,
    /// Seconds until the cookie expires; `None` for a browser-session cookie.
    pub expires_in_s: Option<f64>,
    /// The session's `views`, whatever it holds.
    pub views: Option<Value>,
    /// The logged-in user, if any.
    pub user: Option<String>,
    /// The user's lifetime beers (logged in only).
    pub lifetime_beers: Option<i64>,
    /// The last beer poured in this session.
    pub last_beer: Option<LastBeer>,
    /// The flash messages this page shows (and the session no longer holds).
    pub flash: Messages,
    /// Why a new session was started (a corrupt or unreadable one), if so.
    pub notice: Option<String>,
    /// The Redis key and the document exactly as stored, if stored.
    pub document: Option<(String, String)>,
    /// Where the Express companion serves this session (`DEMO_EXPRESS_URL`).
    pub express_url: Option<String>,
    /// The logged-in user's live sessions ("Where you're signed in").
    pub devices: Option<Vec<DeviceView>>,
}

/// The edits that show `view` on the static page.
pub fn edits(view: &PageView) -> Vec<Edit> {
    let mut out = vec![
        Edit::Text {
            id: "session-id",
            value: view
                .session_id
                .clone()
                .unwrap_or_else(|| "none yet: a session is stored at its first change".into()),
        },
        Edit::Attr { id: "shown-session", name: "value", value: view.session_id.clone().unwrap_or_default() },
        Edit::Text { id: "beers-viewed", value: views_text(view.views.as_ref()) },
    ];
    match view.expires_in_s.filter(|_| view.session_id.is_some()) {
        // No stored session: nothing to count down.
        _ if view.session_id.is_none() => {
            out.push(Edit::Text { id: "expires-in", value: "–".into() });
            out.push(Edit::Text { id: "expires-unit", value: "(no session stored yet)".into() });
        }
        Some(s) => {
            out.push(Edit::Text { id: "expires-in", value: super::fixed(s, 1) });
            out.push(Edit::Attr { id: "expires-in", name: "data-seconds", value: super::fixed(s, 3) });
        }
        None => {
            out.push(Edit::Text { id: "expires-in", value: "never".into() });
            out.push(Edit::Text { id: "expires-unit", value: "(ends with the browser session)".into() });
        }
    }
    if let Some(user) = &view.user {
        out.push(Edit::Text { id: "user", value: user.clone() });
        out.extend(["logged-in", "account-actions", "lifetime-row"].map(|id| Edit::Show { id }));
        out.extend(["logged-out", "account-form"].map(|id| Edit::Hide { id }));
        out.push(Edit::Text { id: "lifetime-beers", value: view.lifetime_beers.unwrap_or(0).to_string() });
    }
    if let Some(beer) = &view.last_beer {
        out.push(Edit::Text { id: "beer-name", value: beer.name.clone() });
        out.push(Edit::Class { id: "beer-name", value: "poured" });
        out.push(Edit::Text { id: "beer-style", value: beer.style.clone() });
        if let Some(source) = beer.source {
            out.push(Edit::Text { id: "beer-source", value: source_text(source).into() });
            out.push(Edit::Show { id: "beer-source" });
        }
    }
    out.extend(flash_edits(&view.flash, view.notice.as_deref()));
    if let Some((key, json)) = &view.document {
        out.push(Edit::Text { id: "document-key", value: key.clone() });
        out.push(Edit::Text { id: "stored-document", value: json.clone() });
    }
    if let Some(devices) = &view.devices {
        out.push(Edit::Show { id: "devices-panel" });
        out.push(Edit::Html { id: "devices", value: devices.iter().map(device_item).collect() });
        if !devices.iter().any(|d| !d.current) {
            out.push(Edit::Hide { id: "logout-others-form" });
        }
    }
    if let Some(url) = &view.express_url {
        out.push(Edit::Show { id: "express-panel" });
        out.push(Edit::Attr { id: "express-link", name: "href", value: url.clone() });
    }
    out
}

/// One session of "Where you're signed in": its device, when it signed in
/// and was last active (UTC, with a machine-readable `<time>`), and a form
/// that ends it by its handle (never its id). Escaped by `html-escape`.
fn device_item(d: &DeviceView) -> String {
    use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
    let device = d.device.as_deref().unwrap_or(UNKNOWN_DEVICE);
    // A time another writer stored may be anything: shown only when it is a
    // date of this era (after 2000, before 2200).
    let when = |label: &str, ms: Option<Millis>| match ms.filter(|ms| (946_684_800_000..7_258_118_400_000).contains(ms))
    {
        Some(ms) => {
            let iso = format_iso(ms);
            format!("{label} <time datetime=\"{}\">{}</time>", attr(&iso), text(&utc_minute(&iso)))
        }
        None => format!("{label} at a time not recorded"),
    };
    let this = if d.current { " <span class=\"this-device\">this browser</span>" } else { "" };
    let button = if d.current { "Log out" } else { "Sign out" };
    format!(
        "<li><span><span class=\"device-name\">{}</span>{this}<span class=\"device-times\">{} · {}</span></span>\
         <form method=\"post\" action=\"/api/sessions/{}/logout\"><button type=\"submit\" class=\"button secondary\" aria-label=\"{button} the session on {}\">{button}</button></form></li>",
        text(device),
        when("signed in", d.signed_in_at),
        when("last active", d.last_active_at),
        attr(&d.handle),
        attr(device),
    )
}

/// `2026-11-30T11:33:24.041Z` as `2026-11-30 11:33 UTC`.
fn utc_minute(iso: &str) -> String {
    match (iso.get(..10), iso.get(11..16)) {
        (Some(day), Some(minute)) => format!("{day} {minute} UTC"),
        _ => iso.to_owned(),
    }
}

/// An error answer (JSON) as the page, for a browser that asked for one (a
/// form, or `GET /`): the same status and headers (`Retry-After`) but the
/// page, with the error in its alert, instead of raw JSON (which the entry
/// still sends when the worker has no `ASSETS` page). Any other answer is
/// returned as it is.
pub fn as_error_page(mut resp: super::Response) -> super::Response {
    if resp.status < 400 || resp.page.is_some() {
        return resp;
    }
    let message = edge_session::session::js_json::de::from_str::<Value>(&resp.body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("the server answered {}", resp.status));
    // The JSON body stays, for a worker without the page's assets.
    resp.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("Content-Type"));
    // The panels would describe a session this answer did not read:
    // hidden, rather than showing the static page's anonymous defaults.
    let mut edits = vec![
        Edit::Text { id: "error", value: format!("The server answered {}: {message}", resp.status) },
        Edit::Show { id: "error" },
    ];
    edits.extend(["account-panel", "session-panel", "document-panel"].map(|id| Edit::Hide { id }));
    resp.page = Some(edits);
    resp
}

/// Where the last beer's name came from, as the page says it.
pub fn source_text(source: BeerSource) -> &'static str {
    match source {
        BeerSource::Api => "Named by the beer API just now (BEER_API_URL), and its answer cached in Redis.",
        BeerSource::Cache => "Named from the beer API's answer cached in Redis: no call to the API.",
        BeerSource::Generator => "Named by the worker's own generator.",
    }
}

/// `views` as the panel shows it: a number or string as is, an object or
/// array (written by another app) as JSON, nothing as 0; numbers as
/// JavaScript spells them.
pub fn views_text(views: Option<&Value>) -> String {
    match views {
        None | Some(Value::Null) => "0".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => super::json_text(v),
    }
}

/// Where each flash type shows: the account panel's message and error,
/// the page-wide alert, and a list for the rest.
fn flash_edits(flash: &Messages, notice: Option<&str>) -> Vec<Edit> {
    let mut out = Vec::new();
    let joined = |kind: &str| flash.get(kind).filter(|m| !m.is_empty()).map(|m| m.join(" "));
    if let Some(text) = joined(FLASH_ACCOUNT) {
        out.push(Edit::Text { id: "account-message", value: text });
    }
    if let Some(text) = joined(FLASH_ACCOUNT_ERROR) {
        out.push(Edit::Text { id: "account-error", value: text });
        out.push(Edit::Show { id: "account-error" });
    }
    let errors: Vec<&str> =
        notice.into_iter().chain(flash.get(FLASH_ERROR).into_iter().flatten().map(String::as_str)).collect();
    if !errors.is_empty() {
        out.push(Edit::Text { id: "error", value: errors.join(" ") });
        out.push(Edit::Show { id: "error" });
    }
    let items: String = flash
        .iter()
        .filter(|(kind, _)| ![FLASH_ACCOUNT, FLASH_ACCOUNT_ERROR, FLASH_ERROR].contains(&kind.as_str()))
        .flat_map(|(kind, messages)| messages.iter().map(move |m| (kind, m)))
        .map(|(kind, message)| {
            format!(
                "<p class=\"flash-item flash-{}\">{}</p>",
                html_escape::encode_double_quoted_attribute(&class_word(kind)),
                html_escape::encode_text(message)
            )
        })
        .collect();
    if !items.is_empty() {
        out.push(Edit::Html { id: "flash", value: items });
    }
    out
}

/// A flash type as a class name: letters, digits and `-` only (an Express
/// app may use any type).
fn class_word(kind: &str) -> String {
    kind.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

/// The page-cost line: what this page view cost the session layer, from
/// the same figures as its `Server-Timing` header
/// ([`super::server_timing`]).
pub fn cost_edit(round_trips: u32, millis: f64, deferred: usize) -> Edit {
    let trips =
        if round_trips == 1 { "1 store round trip".to_owned() } else { format!("{round_trips} store round trips") };
    let mut value = format!("{trips}, {} ms", super::fixed(millis, 1));
    if deferred > 0 {
        value.push_str(&format!(", and {deferred} write after the answer (the session's touch)"));
    }
    Edit::Text { id: "page-cost-text", value }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = include_str!("../../www/index.html");

    fn id_of(edit: &Edit) -> &'static str {
        match edit {
            Edit::Text { id, .. }
            | Edit::Html { id, .. }
            | Edit::Show { id }
            | Edit::Hide { id }
            | Edit::Attr { id, .. }
            | Edit::Class { id, .. } => id,
        }
    }

    /// The markup an `Html` edit gives element `id`.
    fn html_of(edits: &[Edit], id: &str) -> String {
        edits
            .iter()
            .find_map(|e| match e {
                Edit::Html { id: i, value } if *i == id => Some(value.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no markup for #{id}"))
    }

    fn full_view() -> PageView {
        let mut flash = Messages::new();
        for kind in [FLASH_ACCOUNT, FLASH_ACCOUNT_ERROR, FLASH_ERROR, FLASH_INFO, "weird type!"] {
            flash.insert(kind.into(), vec![format!("<b>{kind}</b> & more")]);
        }
        PageView {
            session_id: Some("abc".into()),
            expires_in_s: Some(59.95),
            views: Some(Value::from(3)),
            user: Some("alice".into()),
            lifetime_beers: Some(12),
            last_beer: Some(LastBeer {
                name: "Hazy Otter".into(),
                style: "IPA".into(),
                source: Some(BeerSource::Cache),
            }),
            flash,
            notice: Some("new session".into()),
            document: Some(("sess:abc".into(), r#"{"cookie":{},"views":3}"#.into())),
            express_url: Some("http://127.0.0.1:3000/".into()),
            devices: Some(vec![
                DeviceView {
                    handle: "0123abcd".into(),
                    device: Some("Firefox <on> Linux".into()),
                    signed_in_at: Some(1_795_414_947_103),
                    last_active_at: Some(1_795_414_999_000),
                    current: true,
                },
                DeviceView {
                    handle: "4567ef".into(),
                    device: None,
                    signed_in_at: Some(-1_199_000_000),
                    last_active_at: None,
                    current: false,
                },
            ]),
        }
    }

    #[test]
    fn every_edit_names_exactly_one_element_of_the_page() {
        let mut all = edits(&full_view());
        all.extend(edits(&PageView { expires_in_s: None, ..PageView::default() }));
        all.push(cost_edit(1, 2.0, 1));
        for edit in &all {
            let id = id_of(edit);
            assert_eq!(PAGE.matches(&format!(" id=\"{id}\"")).count(), 1, "#{id} in www/index.html");
        }
    }

    #[test]
    fn anonymous_and_logged_in_show_their_own_parts() {
        let anonymous =
            edits(&PageView { session_id: Some("s".into()), expires_in_s: Some(1.0), ..PageView::default() });
        assert!(!anonymous.iter().any(|e| matches!(e, Edit::Show { .. })), "an anonymous page shows nothing hidden");
        let logged_in = edits(&full_view());
        for id in [
            "logged-in",
            "account-actions",
            "lifetime-row",
            "account-error",
            "error",
            "express-panel",
            "beer-source",
            "devices-panel",
        ] {
            assert!(logged_in.contains(&Edit::Show { id }), "{id}");
        }
        assert!(logged_in.contains(&Edit::Hide { id: "account-form" }));
        assert!(logged_in.contains(&Edit::Text { id: "lifetime-beers", value: "12".into() }));
    }

    #[test]
    fn flash_markup_is_escaped_and_types_land_where_they_belong() {
        let all = edits(&full_view());
        let html = html_of(&all, "flash");
        assert_eq!(
            html,
            "<p class=\"flash-item flash-info\">&lt;b&gt;info&lt;/b&gt; &amp; more</p>\
             <p class=\"flash-item flash-weird-type-\">&lt;b&gt;weird type!&lt;/b&gt; &amp; more</p>"
        );
        assert!(all.contains(&Edit::Text { id: "account-error", value: "<b>account-error</b> & more".into() }));
        assert!(all.contains(&Edit::Text { id: "error", value: "new session <b>error</b> & more".into() }));
    }

    #[test]
    fn devices_are_listed_by_handle_with_their_times_escaped() {
        let all = edits(&full_view());
        let html = html_of(&all, "devices");
        assert!(
            html.contains("Firefox &lt;on&gt; Linux</span> <span class=\"this-device\">this browser</span>"),
            "{html}"
        );
        assert!(
            html.contains("signed in <time datetime=\"2026-11-23T06:22:27.103Z\">2026-11-23 06:22 UTC</time>"),
            "{html}"
        );
        assert!(html.contains("action=\"/api/sessions/0123abcd/logout\""), "{html}");
        assert!(
            html.contains(
                "aria-label=\"Sign out the session on a device not recorded (an Express login?)\">Sign out</button>"
            ),
            "{html}"
        );
        assert!(html.contains("signed in at a time not recorded"), "a time out of this era is not shown: {html}");
        assert!(!all.contains(&Edit::Hide { id: "logout-others-form" }), "another session: the button stays");
        let alone = PageView { devices: Some(full_view().devices.unwrap()[..1].to_vec()), ..full_view() };
        assert!(edits(&alone).contains(&Edit::Hide { id: "logout-others-form" }), "no other session: no button");
    }

    #[test]
    fn views_and_expiry_read_as_the_panel_shows_them() {
        // (views, text)
        for (views, want) in [
            (None, "0"),
            (Some(Value::Null), "0"),
            (Some(Value::from(2)), "2"),
            (Some(Value::from("11")), "11"),
            (Some(serde_json::json!({"a": 1})), "{\"a\":1}"),
            // As JavaScript spells them (String(1e21), JSON.stringify(-0)).
            (Some(Value::from(1e21)), "1e+21"),
            (Some(Value::from(1.5)), "1.5"),
        ] {
            assert_eq!(views_text(views.as_ref()), want);
        }
        let stored = || Some("s".to_owned());
        let e = edits(&PageView { session_id: stored(), expires_in_s: Some(-3.0), ..PageView::default() });
        assert!(e.contains(&Edit::Text { id: "expires-in", value: "0.0".into() }));
        let e = edits(&PageView { session_id: stored(), expires_in_s: None, ..PageView::default() });
        assert!(e.contains(&Edit::Text { id: "expires-in", value: "never".into() }));
        let e = edits(&PageView { session_id: None, expires_in_s: Some(60.0), ..PageView::default() });
        assert!(e.contains(&Edit::Text { id: "expires-in", value: "–".into() }), "no stored session, no countdown");
    }

    #[test]
    fn page_headers_are_the_static_files_own() {
        let rules = include_str!("../../www/_headers");
        for (name, value) in PAGE_HEADERS.iter().filter(|(n, _)| !matches!(*n, "Content-Type" | "Cache-Control")) {
            assert!(rules.lines().any(|l| l.trim() == format!("{name}: {value}")), "{name} in www/_headers");
        }
    }

    #[test]
    fn the_cost_line_reads_like_server_timing() {
        assert_eq!(
            cost_edit(1, 2.04, 0),
            Edit::Text { id: "page-cost-text", value: "1 store round trip, 2.0 ms".into() }
        );
        assert_eq!(
            cost_edit(2, 5.0, 1),
            Edit::Text {
                id: "page-cost-text",
                value: "2 store round trips, 5.0 ms, and 1 write after the answer (the session's touch)".into()
            }
        );
    }
}
