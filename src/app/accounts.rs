//! `POST /api/register`, `/api/login`, `/api/logout`, `/api/logout-all`.
//! Bodies are JSON (`{"username":…,"password":…}`) or an HTML form
//! (`application/x-www-form-urlencoded`).

use serde::{Deserialize, Serialize};

use edge_session::accounts::{counter_value, registered, AccountError};
use edge_session::keys;
use edge_session::session::{js_json, Session, SessionError};
use edge_session::store::{AccountStore, Found, Lookup, Write};

use super::page::FLASH_ACCOUNT;
use super::{companion, devices, json_ok, AppError, Ctx, Request, Response};

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct AccountView {
    #[serde(rename = "sessionID")]
    session_id: Option<String>,
    user: Option<String>,
    lifetime_beers: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sessions_ended: Option<u64>,
}

fn credentials(req: &Request<'_>) -> Result<Credentials, AppError> {
    body_fields(req, "username and password")
}

/// The body's fields as `T`: JSON, or an HTML form whose fields are read
/// as strings (`what` names them for the error).
fn body_fields<T: serde::de::DeserializeOwned>(req: &Request<'_>, what: &str) -> Result<T, AppError> {
    let media = req.content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        "application/json" => js_json::de::from_slice(req.body)
            .map_err(|_| AppError::BadRequest(format!("expected JSON with {what} (strings)"))),
        "application/x-www-form-urlencoded" => {
            let fields: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(req.body)
                .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                .collect();
            // Read back as JSON text, through the worker's one JSON reader
            // (js_json::de says why), rather than with from_value.
            let mut json = String::new();
            js_json::write(&serde_json::Value::Object(fields), &mut json);
            js_json::de::from_str(&json).map_err(|_| AppError::BadRequest(format!("expected form fields {what}")))
        }
        _ => Err(AppError::BadRequest(
            "send JSON or an HTML form (Content-Type application/json or application/x-www-form-urlencoded)".into(),
        )),
    }
}

/// The body of `POST /api/password`.
#[derive(Deserialize)]
struct PasswordChange {
    /// The current password.
    password: String,
    /// The new one.
    #[serde(rename = "newPassword")]
    new_password: String,
}

/// `POST /api/password` (`password`, `newPassword`): the logged-in user
/// changes their password. The current one is checked as a login checks it
/// (the same rate limits: a stolen session cannot guess it), the new one
/// against the password policy; then every session of the user ends (a
/// password change is what a user does when a session may be stolen) and
/// this browser goes on in a new session, logged in, under a new id. Four
/// round trips: the session with the checks' reads; the new record (so
/// that the old password logs nobody in any more, and a login checked
/// against it just before cannot save); the end of every session; this
/// browser's new session.
pub(super) async fn change_password<S: AccountStore>(ctx: &Ctx<'_, S>) -> Result<Response, AppError> {
    let change: PasswordChange = body_fields(ctx.req, "password and newPassword")?;
    let attempt = |name: &str| ctx.accounts.login_attempt(name, client_ip(ctx));
    // With <name>.user, the checks' reads go with the session's load.
    let hinted = ctx.hint.as_deref().map(attempt).transpose().ok().flatten();
    let mut lookups = hinted.as_ref().map(|a| ctx.accounts.login_lookups(a)).unwrap_or_default();
    let reads = lookups.len();
    lookups.extend(ctx.hint.iter().map(|name| Lookup::Members(keys::user_sessions(name))));
    let (mut session, mut found) = ctx.load(&lookups).await?;
    let name: String = session.passport_user().ok().flatten().ok_or(AppError::NotLoggedIn)?;
    let (attempt, found, members) = match hinted {
        Some(a) if companion::hint_holds(ctx.hint.as_deref(), Some(&name)) => {
            let members = found.split_off(reads).into_iter().next().and_then(Found::into_members);
            (a, found, members)
        }
        _ => {
            let a = attempt(&name)?;
            let read =
                ctx.store.read(None, false, &ctx.accounts.login_lookups(&a)).await.map_err(AccountError::from)?;
            (a, read.found, None)
        }
    };
    let verdict = ctx.accounts.check_login(&attempt, &change.password, &found).await;
    if let Err(e) = verdict.result {
        ctx.store.write(None, &verdict.writes).await.map_err(AccountError::from)?;
        return Err(e.into());
    }
    let record = match ctx.accounts.new_password_record(&name, &change.new_password).await {
        Ok(record) => record,
        Err(e) => {
            // The current password was right: its hits are taken back.
            ctx.store.write(None, &verdict.writes).await.map_err(AccountError::from)?;
            return Err(e.into());
        }
    };
    // The new record first: from here on the old password logs nobody in,
    // and a login checked against it just before saves nothing (its save
    // is guarded by the record it read). The verdict's rehash of the old
    // password is dropped: the new record replaces it.
    let writes: Vec<Write> = verdict.writes.into_iter().chain([record]).collect();
    ctx.store.write(None, &writes).await.map_err(AccountError::from)?;
    // Then every session of the user ends, this one included (it is in the
    // index): no login can add one any more.
    let own = ctx.sessions.key(session.id());
    let ended = ctx.accounts.logout_everywhere(&name, &ctx.config.session.prefix, &[own], members).await?;
    // This browser goes on logged in, in a new session (its old key is gone).
    log_in_here(ctx, &mut session, &name).await?;
    ctx.flash(&mut session, FLASH_ACCOUNT, "Password changed. Every other session of yours has ended.");
    let mut set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    set_cookies.extend(ctx.user_cookie(&session));
    let view = AccountView {
        user: Some(name),
        session_id: Some(session.id().to_string()),
        sessions_ended: Some(ended),
        ..AccountView::default()
    };
    Ok(json_ok(&view, set_cookies))
}

/// `POST /api/register`: creates the account and logs this browser in,
/// as `/api/login` would after it (Passport's `req.login` after a signup:
/// a fresh id carrying `passport.user`, in the user's session index, the
/// device recorded, the `<name>.user` cookie set). 201, with `lifetimeBeers: 0`.
/// Two round trips, as before the login was added: the session with the
/// registration's rate-limit hits, then the registration script and the
/// new session's save in one pipeline. The script goes first
/// ([`Write::before_save`]) and the save is guarded by the record it
/// creates ([`Session::save_only_if_unchanged`]): when the name was taken
/// (another record, or none for a look-alike), nothing is saved and this
/// browser stays as it was. With a cold script cache the scripts are sent
/// again as EVAL, the registration first; when only the save script was
/// cached, the save ran before the registration (found no record, wrote
/// nothing) and is sent once more. Two round trips more either way, once
/// (`tests/e2e/devices.test.mjs`).
///
/// The login does not make the account permanent (a password login does:
/// `AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS`), so names registered in bulk
/// still free themselves.
pub(super) async fn register<S: AccountStore>(ctx: &Ctx<'_, S>) -> Result<Response, AppError> {
    if !ctx.config.routes.registration {
        return Err(AppError::RegistrationClosed);
    }
    let c = credentials(ctx.req)?;
    let (mut session, found) = ctx.load(&ctx.accounts.registration_lookups(client_ip(ctx))).await?;
    let (name, create) = match ctx.accounts.prepare_registration(&c.username, &c.password, client_ip(ctx), &found).await
    {
        Ok(prepared) => prepared,
        Err(e) => {
            // Refused by the address's own limit: its hit on the global cap
            // is taken back, so one address cannot use the cap up.
            if let Some(refund) = ctx.accounts.registration_refund(client_ip(ctx), &found) {
                ctx.store.write(None, &[refund]).await.map_err(AccountError::from)?;
            }
            return Err(e.into());
        }
    };
    let guard = match &create {
        Write::Register(call) => Some((call.user.clone(), call.record.clone())),
        _ => None,
    };
    session.also_write(create);
    log_in_here(ctx, &mut session, &name).await?;
    ctx.flash(&mut session, FLASH_ACCOUNT, &format!("Account {name} created. You are logged in."));
    if let Some((key, record)) = guard {
        session.save_only_if_unchanged(key, record.as_bytes(), None);
    }
    let mut set_cookies = match ctx.sessions.commit(&mut session, ctx.now).await {
        Ok(set_cookies) => set_cookies,
        // Not saved: the name was taken (the error below), or the script
        // ran after the save (it created the record: save again).
        Err(SessionError::Stale { .. }) => {
            registered(name.clone(), session.written().first())?;
            ctx.sessions.commit(&mut session, ctx.now).await?
        }
        Err(e) => return Err(e.into()),
    };
    let name = registered(name, session.written().first())?;
    set_cookies.extend(ctx.user_cookie(&session));
    let view = AccountView {
        user: Some(name),
        session_id: Some(session.id().to_string()),
        lifetime_beers: Some(0),
        ..AccountView::default()
    };
    let mut resp = json_ok(&view, set_cookies);
    resp.status = 201;
    Ok(resp)
}

/// `POST /api/login`: Passport's login (a fresh id carries `passport.user`,
/// so an id planted before login is useless), in two round trips. The
/// first reads the session, counts the attempt against the rate limits and
/// reads the user record, the lifetime count and the user's session index.
/// The second writes everything the login changes: the new session, the
/// old key's deletion and the new id in the user's index (one step, the
/// save script), the rate-limit counters settled, a rehashed password, the
/// index pruned of sessions that are gone (each its own command in the
/// same pipeline). A failing store before the second leaves everything but
/// the attempt's count as it was.
pub(super) async fn login<S: AccountStore>(ctx: &Ctx<'_, S>) -> Result<Response, AppError> {
    let c = credentials(ctx.req)?;
    // An impossible name is refused here, before the store.
    let attempt = ctx.accounts.login_attempt(&c.username, client_ip(ctx))?;
    let mut lookups = ctx.accounts.login_lookups(&attempt);
    let reads = lookups.len();
    lookups.push(Lookup::Get(keys::user_counter(super::BEERS, attempt.name())));
    lookups.push(Lookup::Members(keys::user_sessions(attempt.name())));
    let (mut session, mut found) = ctx.load(&lookups).await?;
    let verdict = ctx.accounts.check_login(&attempt, &c.password, &found).await;
    let name = match verdict.result {
        Ok(name) => name,
        Err(e) => {
            // A refusal still takes back what it counted.
            ctx.store.write(None, &verdict.writes).await.map_err(edge_session::accounts::AccountError::from)?;
            return Err(e.into());
        }
    };
    let mut ours = found.split_off(reads).into_iter();
    let lifetime_beers = counter_value(ours.next().and_then(Found::into_value));
    let index = ours.next().and_then(Found::into_members).unwrap_or_default();
    for write in verdict.writes {
        session.also_write(write);
    }
    log_in_here(ctx, &mut session, &name).await?;
    ctx.flash(&mut session, FLASH_ACCOUNT, &format!("Welcome back, {name}."));
    // Housekeeping in the same round trip: ids of sessions that are gone
    // leave the index (the script checks each; a live one stays).
    let prefix = &ctx.config.session.prefix;
    if let Some(prune) = ctx.accounts.prune_write(&name, index, session.id().as_str(), prefix) {
        session.also_write(prune);
    }
    // Saved only if the user record is still the one the password was
    // checked against: a password change in between ended every session
    // of the user, and this login must not add one after it.
    if let Some((key, record)) = ctx.accounts.checked_record(&attempt, &found) {
        // A rehash of the password goes with the guarded save, never
        // alone: it must not replace a record changed meanwhile.
        session.save_only_if_unchanged(key, &record, verdict.rehash);
    }
    let mut set_cookies = match ctx.sessions.commit(&mut session, ctx.now).await {
        Err(SessionError::Stale { .. }) => {
            // The password changed while this login ran: nothing of it was
            // saved but the writes sent beside the save; its address does
            // not stay a known one.
            let undo = ctx.accounts.stale_login_undo(&attempt, &found);
            if !undo.is_empty() {
                ctx.store.write(None, &undo).await.map_err(AccountError::from)?;
            }
            return Err(AccountError::BadCredentials.into());
        }
        other => other?,
    };
    set_cookies.extend(ctx.user_cookie(&session));
    let view = AccountView {
        lifetime_beers: Some(lifetime_beers),
        user: Some(name),
        session_id: Some(session.id().to_string()),
        ..AccountView::default()
    };
    Ok(json_ok(&view, set_cookies))
}

/// `POST /api/logout`: Passport's logout (`passport.user` removed, then a
/// fresh id).
pub(super) async fn logout<S: AccountStore>(ctx: &Ctx<'_, S>, mut session: Session) -> Result<Response, AppError> {
    ctx.sessions.logout(&mut session, ctx.now).await?;
    ctx.flash(&mut session, FLASH_ACCOUNT, "Logged out. Your lifetime count waits for your next login.");
    let view = AccountView { session_id: Some(session.id().to_string()), ..AccountView::default() };
    answer(ctx, session, &view, 200).await
}

/// `POST /api/logout-all`: every indexed session of the user ends, this
/// one included, and this browser's cookie is cleared. Two round trips
/// when the browser's `<name>.user` cookie names the session's user: the
/// index is read with the session, then the one step that ends them all.
pub(super) async fn logout_all<S: AccountStore>(ctx: &Ctx<'_, S>) -> Result<Response, AppError> {
    let (mut session, name, members) = logged_in_with_index(ctx).await?;
    // This session ends with them, in the same step, even if it was never
    // indexed (a login made by an Express app).
    let own = ctx.sessions.key(session.id());
    let ended = ctx.accounts.logout_everywhere(&name, &ctx.config.session.prefix, &[own], members).await?;
    let said = format!("Logged out everywhere: {ended} session{} ended.", if ended == 1 { "" } else { "s" });
    match ctx.req.is_form() {
        // The page the form leads to shows a fresh anonymous session, which
        // carries the message (Passport's logout: a new id).
        true => {
            ctx.sessions.logout(&mut session, ctx.now).await?;
            ctx.flash(&mut session, FLASH_ACCOUNT, &said);
        }
        false => session.mark_destroyed(),
    }
    let view = AccountView { sessions_ended: Some(ended), ..AccountView::default() };
    answer(ctx, session, &view, 200).await
}

/// The request's session, which must be logged in, its user, and the
/// user's session index (`user-sessions:<name>`) when it was read in the
/// same round trip: when the browser's `<name>.user` cookie names the
/// session's user. `None`: not read yet.
///
/// # Errors
///
/// [`AppError::NotLoggedIn`] for an anonymous session, [`AppError::Session`]
/// when the store fails.
pub(super) async fn logged_in_with_index<S: AccountStore>(
    ctx: &Ctx<'_, S>,
) -> Result<(Session, String, Option<Vec<String>>), AppError> {
    let lookups: Vec<Lookup> = ctx.hint.iter().map(|name| Lookup::Members(keys::user_sessions(name))).collect();
    let (mut session, found) = ctx.load(&lookups).await?;
    let name: String = session.passport_user().ok().flatten().ok_or(AppError::NotLoggedIn)?;
    let members = match companion::hint_holds(ctx.hint.as_deref(), Some(&name)) {
        true => found.into_iter().next().and_then(Found::into_members),
        false => None,
    };
    // Its saves and touches keep the index alive.
    session.keep_index(keys::user_sessions(&name));
    Ok((session, name, members))
}

/// Passport's `req.login` for this browser: a fresh id carrying
/// `passport.user` (saved at the commit), added to the user's session
/// index in the same step, with the device it signed in from
/// ([`devices::DEVICE`]).
///
/// # Errors
///
/// [`AppError::Session`] when a field cannot be written.
async fn log_in_here<S: AccountStore>(ctx: &Ctx<'_, S>, session: &mut Session, name: &str) -> Result<(), AppError> {
    // The new session is indexed in the same step that creates it, so a
    // logout everywhere either sees it or runs before it exists.
    session.add_to_index(keys::user_sessions(name));
    ctx.sessions.login(session, name, ctx.now).await?;
    let device = devices::DeviceRecord::new(ctx.req.user_agent, ctx.now);
    session.insert(devices::DEVICE, &device).map_err(SessionError::from)?;
    Ok(())
}

/// The address limits count against: `CF-Connecting-IP`, or, when the
/// platform did not say, nothing an address parses from: the accounts then
/// count the request in the no-address bucket under its own, lower limit
/// (`AUTH_MAX_ATTEMPTS_WITHOUT_ADDRESS`).
fn client_ip<'a, S>(ctx: &Ctx<'a, S>) -> &'a str {
    ctx.req.client_ip.unwrap_or("unknown")
}

async fn answer<S: AccountStore>(
    ctx: &Ctx<'_, S>,
    mut session: Session,
    view: &AccountView,
    status: u16,
) -> Result<Response, AppError> {
    let mut set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    set_cookies.extend(ctx.user_cookie(&session));
    // The id as saved: a session ended meanwhile has been replaced by a new one.
    let view = AccountView { session_id: view.session_id.as_ref().map(|_| session.id().to_string()), ..view.clone() };
    let mut resp = json_ok(&view, set_cookies);
    resp.status = status;
    Ok(resp)
}
