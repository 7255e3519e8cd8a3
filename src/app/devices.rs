//! "Where you're signed in" (issue 13, point 4): the logged-in user's live
//! sessions, each with a coarse device label, when it signed in and when it
//! was last active, and the routes that end one of them or all others:
//! `GET /api/sessions`, `POST /api/sessions/{handle}/logout`, `POST
//! /api/logout-others`.
//!
//! The list comes from the user's session index (`user-sessions:<name>`,
//! read with the session when the `<name>.user` cookie names the user) and
//! the documents of its members (one more round trip); a member whose
//! document is gone, expired or another user's is not listed. A session is
//! never shown by its id but by its handle ([`Secrets::device_handle`]),
//! which cannot be turned into a cookie.

use serde::{Deserialize, Serialize};

use edge_session::keys;
use edge_session::session::cookie::Secrets;
use edge_session::session::document::{Millis, SessionDocument};
use edge_session::session::passport::{self, AUTHENTICATED_AT};
use edge_session::session::{Session, SessionError};
use edge_session::store::{AccountStore, Lookup, Write};

use super::accounts::logged_in_with_index;
use super::page::FLASH_ACCOUNT;
use super::{json_ok, AppError, Ctx, Response};

/// The session field a login of this worker records its device in
/// ([`DeviceRecord`]): a top-level name beside Passport's `passport` and
/// `authenticatedAt`. An Express app sharing the sessions that uses
/// `req.session.device` for something else keeps it: a value that is not
/// a [`DeviceRecord`] is read as no device.
pub const DEVICE: &str = "device";

/// What the page and messages call a session whose login recorded no
/// device (one made by an Express app, or before devices were recorded).
pub const UNKNOWN_DEVICE: &str = "a device not recorded (an Express login?)";

/// What a login records in [`DEVICE`]:
/// `{"label":"Chrome on Windows","signedInAt":1764500000000}`. Never the
/// raw `User-Agent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRecord {
    /// The coarse label of [`device_label`].
    pub label: String,
    /// When the login was made, in milliseconds since the epoch (also when
    /// `authenticatedAt` is not kept: it is only with
    /// `SESSION_ABSOLUTE_TIMEOUT_SECONDS`).
    pub signed_in_at: Millis,
}

impl DeviceRecord {
    /// The record of a login made now from `user_agent`.
    pub fn new(user_agent: Option<&str>, now: Millis) -> Self {
        Self { label: device_label(user_agent), signed_in_at: now }
    }
}

/// A coarse label of the browser and OS a `User-Agent` names, e.g.
/// "Chrome on Windows", "Safari on iOS", "Samsung Internet on Android";
/// "Chrome" when the OS is not recognised; "Unknown browser" when the
/// browser is not (or there is no header).
///
/// A hand-written table, not a crate, measured on the release wasm
/// (`build/index_bg.wasm`, `gzip -9`, this worker with `device_label`
/// stubbed out: 627,506 bytes): this table adds 256 bytes; `woothee` 0.13
/// (a maintained user-agent parser; it brings `regex`) adds 330,186
/// (957,692), and the worker aims at 250 KB gzip (issue 14). A label needs only
/// the browser's and the OS's marker tokens, checked in the order below
/// (Edge, Opera, Vivaldi and Samsung Internet also say "Chrome" and
/// "Safari"; iOS says "like Mac OS X"; Android says "Linux"). An iPad in
/// its default desktop mode sends the macOS Safari string and is labelled
/// "Safari on macOS"; Brave sends Chrome's.
pub fn device_label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("");
    match (browser(ua), os(ua)) {
        (None, _) => "Unknown browser".to_owned(),
        (Some(browser), None) => browser.to_owned(),
        (Some(browser), Some(os)) => format!("{browser} on {os}"),
    }
}

/// The browser of a `User-Agent`: the first row whose token it contains.
fn browser(ua: &str) -> Option<&'static str> {
    const BROWSERS: &[(&[&str], &str)] = &[
        (&["SamsungBrowser/"], "Samsung Internet"),
        (&["Edg/", "EdgA/", "EdgiOS/", "Edge/"], "Edge"),
        (&["OPR/", "OPiOS/", "OPT/"], "Opera"),
        (&["Vivaldi/"], "Vivaldi"),
        (&["Firefox/", "FxiOS/"], "Firefox"),
        (&["Chrome/", "CriOS/", "Chromium/"], "Chrome"),
        (&["Safari/"], "Safari"),
    ];
    BROWSERS.iter().find(|(tokens, _)| tokens.iter().any(|t| ua.contains(t))).map(|(_, name)| *name)
}

/// The OS of a `User-Agent`, as [`browser`] decides.
fn os(ua: &str) -> Option<&'static str> {
    const SYSTEMS: &[(&[&str], &str)] = &[
        (&["iPhone", "iPad", "iPod"], "iOS"),
        (&["Android"], "Android"),
        (&["Windows"], "Windows"),
        (&["CrOS"], "ChromeOS"),
        (&["Macintosh", "Mac OS X"], "macOS"),
        (&["Linux", "X11"], "Linux"),
    ];
    SYSTEMS.iter().find(|(tokens, _)| tokens.iter().any(|t| ua.contains(t))).map(|(_, name)| *name)
}

/// One signed-in session as its user sees it (`GET /api/sessions`), e.g.
/// `{"handle":"ecf58fa943e464f7eb88e82d2170922e","device":"Firefox on
/// Linux","signedInAt":1764500000000,"lastActiveAt":1764503600000,
/// "current":false}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// The session's handle ([`Secrets::device_handle`]): what
    /// `POST /api/sessions/{handle}/logout` takes; never its id.
    pub handle: String,
    /// The device label recorded at login ([`DeviceRecord::label`]);
    /// `null` for a login that recorded none (one made by an Express app,
    /// or before devices were recorded).
    pub device: Option<String>,
    /// When it signed in, in milliseconds since the epoch:
    /// [`DeviceRecord::signed_in_at`], else `authenticatedAt`; `null`
    /// without either.
    pub signed_in_at: Option<Millis>,
    /// When it was last saved, in milliseconds since the epoch: the stored
    /// `cookie.expires` − `cookie.originalMaxAge` (a touch, which only
    /// renews the key's TTL, does not move it); this request's time for
    /// the current session; `null` for a browser-session cookie (no
    /// expiry).
    pub last_active_at: Option<Millis>,
    /// Whether it is the session of the request that asked.
    pub current: bool,
}

/// A listed session and its id, which stays on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// The session id.
    pub sid: String,
    /// What its user is shown.
    pub view: DeviceView,
}

/// The view of the request's own session (logged in as the user).
pub fn current_device(secrets: &Secrets, session: &Session, now: Millis) -> Device {
    let record = session.get::<DeviceRecord>(DEVICE).ok().flatten();
    let authenticated_at = session.get::<f64>(AUTHENTICATED_AT).ok().flatten();
    Device {
        sid: session.id().to_string(),
        view: DeviceView {
            handle: secrets.device_handle(session.id().as_str()),
            signed_in_at: signed_in_at(record.as_ref(), authenticated_at),
            device: record.map(|r| r.label),
            last_active_at: Some(now),
            current: true,
        },
    }
}

/// The view of another session of `name`, from its stored document;
/// `None` when it is not a live session of `name` (unreadable, expired,
/// logged out, another user's).
pub fn stored_device(secrets: &Secrets, name: &str, sid: &str, stored: &[u8], now: Millis) -> Option<Device> {
    let doc = SessionDocument::parse(stored).ok()?;
    let user = doc.get::<serde_json::Value>(passport::KEY).ok().flatten()?;
    if user.get("user").and_then(serde_json::Value::as_str) != Some(name) {
        return None;
    }
    if doc.cookie.expires.is_some_and(|expires| expires <= now) {
        return None;
    }
    let record = doc.get::<DeviceRecord>(DEVICE).ok().flatten();
    let last_active_at = match (doc.cookie.expires, doc.cookie.original_max_age) {
        (Some(expires), Some(max_age)) => Some(expires - max_age as Millis),
        _ => None,
    };
    Some(Device {
        sid: sid.to_owned(),
        view: DeviceView {
            handle: secrets.device_handle(sid),
            signed_in_at: signed_in_at(record.as_ref(), passport::authenticated_at(&doc)),
            device: record.map(|r| r.label),
            last_active_at,
            current: false,
        },
    })
}

/// [`DeviceView::signed_in_at`]: the device record's time, else `authenticatedAt`.
fn signed_in_at(record: Option<&DeviceRecord>, authenticated_at: Option<f64>) -> Option<Millis> {
    record.map(|r| r.signed_in_at).or(authenticated_at.map(|ms| ms as Millis))
}

/// The list as shown: most recent activity first (unknown last), the
/// current session first among equals, then by handle, so the order is
/// stable.
pub fn sort_devices(devices: &mut Vec<Device>) {
    let order = |a: &Device, b: &Device| {
        (b.view.last_active_at.cmp(&a.view.last_active_at))
            .then_with(|| b.view.current.cmp(&a.view.current))
            .then_with(|| a.view.handle.cmp(&b.view.handle))
    };
    // Each put in place by a binary search, not `sort_by`: a user has a
    // handful of devices, and a slice sort is a few KB of the wasm per
    // element type (issue 14). Equal keys keep their order (stable).
    let mut sorted: Vec<Device> = Vec::with_capacity(devices.len());
    for device in devices.drain(..) {
        let at = sorted.partition_point(|placed| order(placed, &device).is_le());
        sorted.insert(at, device);
    }
    *devices = sorted;
}

/// The live sessions of `name`, the request's own (`session`, logged in as
/// `name`) among them: the members of the user's index (`members`, as read
/// with the session, or read now when `None`) whose documents, read in one
/// round trip, are live sessions of `name`. Sorted by [`sort_devices`].
///
/// # Errors
///
/// [`AppError::Session`] when the store fails.
pub async fn list_devices<S: AccountStore>(
    ctx: &Ctx<'_, S>,
    session: &Session,
    name: &str,
    members: Option<Vec<String>>,
) -> Result<Vec<Device>, AppError> {
    let members = match members {
        Some(members) => members,
        None => ctx.store.members(&keys::user_sessions(name)).await.map_err(SessionError::from)?,
    };
    let others: Vec<String> = members.into_iter().filter(|id| id != session.id().as_str()).collect();
    let prefix = &ctx.config.session.prefix;
    let lookups: Vec<Lookup> = others.iter().map(|id| Lookup::Get(keys::session(prefix, id))).collect();
    // No lookups: no call.
    let found = ctx.store.read(None, false, &lookups).await.map_err(SessionError::from)?.found;
    let secrets = &ctx.config.session.secrets;
    let mut devices = vec![current_device(secrets, session, ctx.now)];
    devices.extend(
        others
            .iter()
            .zip(found)
            .filter_map(|(sid, found)| stored_device(secrets, name, sid, &found.into_value()?, ctx.now)),
    );
    sort_devices(&mut devices);
    Ok(devices)
}

/// What the page shows of [`list_devices`]: the views alone (no ids).
///
/// # Errors
///
/// As [`list_devices`].
pub async fn devices<S: AccountStore>(
    ctx: &Ctx<'_, S>,
    session: &Session,
    name: &str,
    members: Option<Vec<String>>,
) -> Result<Vec<DeviceView>, AppError> {
    Ok(list_devices(ctx, session, name, members).await?.into_iter().map(|d| d.view).collect())
}

/// The writes that end other sessions of `name` as a logout everywhere
/// ends them: their documents deleted (their next request is a new,
/// anonymous session, and a save in flight finds its key gone and does
/// not write it back) and their ids taken out of the index. Empty for no
/// sessions.
pub fn end_writes(name: &str, session_prefix: &str, sids: &[&str]) -> Vec<Write> {
    if sids.is_empty() {
        return Vec::new();
    }
    let index = keys::user_sessions(name);
    let doomed = sids.iter().map(|sid| keys::session(session_prefix, sid)).collect();
    let mut writes = vec![Write::Del(doomed)];
    writes.extend(sids.iter().map(|sid| Write::SRem { set: index.clone(), member: (*sid).to_owned() }));
    writes
}

/// The answer of the routes that end sessions: `{"sessionsEnded":1}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Ended {
    sessions_ended: usize,
}

/// The answer of `GET /api/sessions`: `{"sessions":[…]}`.
#[derive(Debug, Serialize)]
struct Sessions {
    sessions: Vec<DeviceView>,
}

/// `GET /api/sessions`: the logged-in user's live sessions
/// ([`list_devices`]). Two round trips when the browser's `<name>.user`
/// cookie names the session's user (the session with the index, then the
/// documents; none when this is the only session), one more otherwise.
///
/// # Errors
///
/// [`AppError::NotLoggedIn`] for an anonymous session, [`AppError::Session`]
/// when the store fails.
pub(super) async fn list_sessions<S: AccountStore>(ctx: &Ctx<'_, S>) -> Result<Response, AppError> {
    let (mut session, name, members) = logged_in_with_index(ctx).await?;
    let sessions = devices(ctx, &session, &name, members).await?;
    let mut set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    set_cookies.extend(ctx.user_cookie(&session));
    Ok(json_ok(&Sessions { sessions }, set_cookies))
}

/// `POST /api/sessions/{handle}/logout`: ends the one session of the
/// logged-in user's live list ([`list_devices`]) with that handle, as a
/// logout everywhere ends it ([`end_writes`]), in the round trip after the
/// list's (three with the `<name>.user` cookie). Its own handle is a
/// logout of this browser (`/api/logout`: a new anonymous session), and
/// its id leaves the index. Answers `{"sessionsEnded":1}`.
///
/// # Errors
///
/// [`AppError::UnknownSession`] (404, nothing written) when the handle is
/// not in the list: made up, another user's, or ended already;
/// [`AppError::NotLoggedIn`], [`AppError::Session`] as for [`list_sessions`].
pub(super) async fn end_session<S: AccountStore>(ctx: &Ctx<'_, S>, handle: &str) -> Result<Response, AppError> {
    let (mut session, name, members) = logged_in_with_index(ctx).await?;
    let list = list_devices(ctx, &session, &name, members).await?;
    let target = list.into_iter().find(|d| d.view.handle == handle).ok_or(AppError::UnknownSession)?;
    if target.view.current {
        session.also_write(Write::SRem { set: keys::user_sessions(&name), member: target.sid });
        ctx.sessions.logout(&mut session, ctx.now).await?;
        ctx.flash(&mut session, FLASH_ACCOUNT, "Logged out. Your lifetime count waits for your next login.");
    } else {
        for write in end_writes(&name, &ctx.config.session.prefix, &[&target.sid]) {
            session.also_write(write);
        }
        let device = target.view.device.as_deref().unwrap_or(UNKNOWN_DEVICE);
        ctx.flash(&mut session, FLASH_ACCOUNT, &format!("Signed out the session on {device}."));
    }
    let mut set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    set_cookies.extend(ctx.user_cookie(&session));
    Ok(json_ok(&Ended { sessions_ended: 1 }, set_cookies))
}

/// `POST /api/logout-others`: ends every other live session of the
/// logged-in user ([`list_devices`], [`end_writes`]); this one stays
/// logged in. Answers `{"sessionsEnded":n}`. Round trips as for
/// [`end_session`] (two when there is no other session).
///
/// A login that lands after the list was read is not ended: it is newer
/// than the request (unlike `/api/logout-all`, which must leave no session
/// alive, this is not one atomic step).
///
/// # Errors
///
/// As [`list_sessions`].
pub(super) async fn logout_others<S: AccountStore>(ctx: &Ctx<'_, S>) -> Result<Response, AppError> {
    let (mut session, name, members) = logged_in_with_index(ctx).await?;
    let list = list_devices(ctx, &session, &name, members).await?;
    let others: Vec<&str> = list.iter().filter(|d| !d.view.current).map(|d| d.sid.as_str()).collect();
    for write in end_writes(&name, &ctx.config.session.prefix, &others) {
        session.also_write(write);
    }
    let n = others.len();
    ctx.flash(&mut session, FLASH_ACCOUNT, &format!("Signed out {n} other session{}.", if n == 1 { "" } else { "s" }));
    let mut set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    set_cookies.extend(ctx.user_cookie(&session));
    Ok(json_ok(&Ended { sessions_ended: others.len() }, set_cookies))
}

#[cfg(test)]
mod tests;
