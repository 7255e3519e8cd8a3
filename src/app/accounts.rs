//! `POST /api/register`, `/api/login`, `/api/logout`, `/api/logout-all`.
//! Bodies are JSON (`{"username":…,"password":…}`) or an HTML form
//! (`application/x-www-form-urlencoded`).

use serde::{Deserialize, Serialize};

use super::{json_ok, AppError, Request, Response, Route};
use crate::accounts::Accounts;
use crate::config::Config;
use crate::session::document::Millis;
use crate::session::{Session, Sessions};
use crate::store::AccountStore;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Serialize)]
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
        "application/json" => serde_json::from_slice(req.body).map_err(|_| bad("expected JSON {\"username\", \"password\"}")),
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

/// Serves one account route on the request's loaded session.
#[allow(clippy::too_many_arguments)]
pub(super) async fn route<S: AccountStore>(
    route: Route,
    config: &Config,
    sessions: &Sessions<'_, S>,
    accounts: &Accounts<'_, S>,
    mut session: Session,
    req: &Request<'_>,
    now: Millis,
    secure: bool,
) -> Result<Response, AppError> {
    let prefix = &config.session.prefix;
    let mut view = AccountView { session_id: None, user: None, lifetime_beers: None, sessions_ended: None };
    let status = match route {
        Route::Register => {
            let c = credentials(req)?;
            let name = accounts.register(&c.username, &c.password, req.client_ip.unwrap_or("unknown")).await?;
            view.user = Some(name);
            view.session_id = Some(session.id().to_owned());
            201
        }
        Route::Login => {
            let c = credentials(req)?;
            let ip = req.client_ip.unwrap_or("unknown");
            let name = accounts.authenticate(&c.username, &c.password, ip).await?;
            // Passport's login: the pre-login id is deleted, a fresh one
            // carries passport.user, so an id planted before login is useless.
            sessions.login(&mut session, &name, now, secure).await?;
            accounts.index_session(&name, session.id(), prefix).await?;
            view.lifetime_beers = Some(accounts.lifetime_beers(&name).await?);
            view.user = Some(name);
            view.session_id = Some(session.id().to_owned());
            200
        }
        Route::Logout => {
            // Passport's logout: passport.user removed, then a fresh id.
            sessions.logout(&mut session, now, secure).await?;
            view.session_id = Some(session.id().to_owned());
            200
        }
        Route::LogoutAll => {
            let name: String = session.passport_user().ok().flatten().ok_or(AppError::NotLoggedIn)?;
            let ended = accounts.logout_everywhere(&name, prefix).await?;
            // This session was one of them; make sure its key is gone even
            // if it was never indexed, and clear this browser's cookie.
            sessions.destroy(&mut session).await?;
            view.sessions_ended = Some(ended);
            200
        }
        _ => unreachable!("only account routes are sent here"),
    };
    let set_cookie = sessions.commit(session, now, secure).await?;
    let mut resp = json_ok(&view, set_cookie);
    resp.status = status;
    Ok(resp)
}
