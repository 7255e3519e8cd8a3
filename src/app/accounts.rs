//! `POST /api/register`, `/api/login`, `/api/logout`, `/api/logout-all`.
//! Bodies are JSON (`{"username":…,"password":…}`) or an HTML form
//! (`application/x-www-form-urlencoded`).

use serde::{Deserialize, Serialize};

use edge_session::keys;
use edge_session::session::Session;
use edge_session::store::AccountStore;

use super::{json_ok, AppError, Ctx, Request, Response};

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
    let bad = |m: &str| AppError::BadRequest(m.to_owned());
    let media = req.content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        "application/json" => {
            serde_json::from_slice(req.body).map_err(|_| bad("expected JSON {\"username\", \"password\"}"))
        }
        "application/x-www-form-urlencoded" => {
            let mut username = None;
            let mut password = None;
            for (k, v) in form_urlencoded::parse(req.body) {
                match k.as_ref() {
                    "username" => username = Some(v.into_owned()),
                    "password" => password = Some(v.into_owned()),
                    _ => {}
                }
            }
            match (username, password) {
                (Some(username), Some(password)) => Ok(Credentials { username, password }),
                _ => Err(bad("expected form fields username and password")),
            }
        }
        _ => Err(bad("send JSON or an HTML form (Content-Type application/json or application/x-www-form-urlencoded)")),
    }
}

/// `POST /api/register`: creates the account; the session is untouched
/// (no login until `/api/login`). 201.
pub(super) async fn register<S: AccountStore>(ctx: &Ctx<'_, S>, session: Session) -> Result<Response, AppError> {
    let c = credentials(ctx.req)?;
    let name = ctx.accounts.register(&c.username, &c.password, client_ip(ctx)).await?;
    let view = AccountView { user: Some(name), session_id: Some(session.id().to_string()), ..AccountView::default() };
    answer(ctx, session, &view, 201).await
}

/// `POST /api/login`: Passport's login (a fresh id carries `passport.user`,
/// so an id planted before login is useless). Everything the login writes
/// goes in one step at the commit: the new session, the old key's deletion
/// and the new id in the user's index; what it reads (the lifetime count)
/// is read before, so a failing store leaves everything as it was.
pub(super) async fn login<S: AccountStore>(ctx: &Ctx<'_, S>, mut session: Session) -> Result<Response, AppError> {
    let c = credentials(ctx.req)?;
    let name = ctx.accounts.authenticate(&c.username, &c.password, client_ip(ctx)).await?;
    let lifetime_beers = ctx.accounts.counter(&name, super::BEERS).await?;
    // The new session is indexed in the same step that creates it, so a
    // logout everywhere either sees it or runs before it exists.
    session.add_to_index(keys::user_sessions(&name));
    ctx.sessions.login(&mut session, &name, ctx.now).await?;
    let set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    // Housekeeping after the login is complete: its failure changes nothing
    // the visitor is told (the dead ids stay until the next login).
    let _ = ctx.accounts.prune_index(&name, session.id().as_str(), &ctx.config.session.prefix).await;
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
    let view = AccountView { session_id: Some(session.id().to_string()), ..AccountView::default() };
    answer(ctx, session, &view, 200).await
}

/// `POST /api/logout-all`: every indexed session of the user ends, this
/// one included, and this browser's cookie is cleared.
pub(super) async fn logout_all<S: AccountStore>(ctx: &Ctx<'_, S>, mut session: Session) -> Result<Response, AppError> {
    let name: String = session.passport_user().ok().flatten().ok_or(AppError::NotLoggedIn)?;
    // This session ends with them, in the same step, even if it was never
    // indexed (a login made by an Express app).
    let own = ctx.sessions.key(session.id());
    let ended = ctx.accounts.logout_everywhere(&name, &ctx.config.session.prefix, &[own]).await?;
    session.mark_destroyed();
    let view = AccountView { sessions_ended: Some(ended), ..AccountView::default() };
    answer(ctx, session, &view, 200).await
}

/// The address limits count against: `CF-Connecting-IP`, or one shared
/// "unknown" bucket when the platform did not say.
fn client_ip<'a, S>(ctx: &Ctx<'a, S>) -> &'a str {
    ctx.req.client_ip.unwrap_or("unknown")
}

async fn answer<S: AccountStore>(
    ctx: &Ctx<'_, S>,
    mut session: Session,
    view: &AccountView,
    status: u16,
) -> Result<Response, AppError> {
    let set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    // The id as saved: a session ended meanwhile has been replaced by a new one.
    let view = AccountView { session_id: view.session_id.as_ref().map(|_| session.id().to_string()), ..view.clone() };
    let mut resp = json_ok(&view, set_cookies);
    resp.status = status;
    Ok(resp)
}
