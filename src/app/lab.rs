//! `/lab/<op>[,<op>...]`: every Session API call reachable from a URL, for
//! the golden-vector and interop tests, which send the same requests to this
//! worker and to an Express app with the real express-session, connect-redis
//! and Passport (tests/fixtures/express-app.mjs implements the same routes).
//!
//! Compiled only with the `lab` feature: these routes let a client write any
//! field, `passport.user` included, so they must never reach production.
//!
//! Ops run left to right in one request; their parameters come from the
//! query string:
//!
//! | op | does | express-session equivalent |
//! |---|---|---|
//! | `read` | nothing | — |
//! | `set` | field `key` = JSON `value` | `req.session[key] = value` |
//! | `regenerate` | new id, data dropped | `req.session.regenerate()` |
//! | `destroy` | key deleted | `req.session.destroy()` |
//! | `reload` | document read again | `req.session.reload()` |
//! | `save` | document written now | `req.session.save()` |
//! | `touch` | expiry reset | `req.session.touch()` |
//! | `max-age` | `ms` (a number or `null`) | `req.session.cookie.maxAge = ms` |
//! | `unset` | session dropped | `req.session = null` |
//! | `login` | Passport login of JSON `user` | `req.login(user)` |
//! | `logout` | Passport logout | `req.logout()` |
//! | `rotate` | new id, data kept (worker only) | — |
//! | `incr` | field `key` + 1 as an update (worker only) | — |
//! | `wait` | pauses `wait_ms` ms before the next op (worker only) | — |
//! | `panic` | panics (worker only) | — |
//!
//! `incr` and `wait` let the tests put another writer between this
//! request's load and its save (`/lab/incr,wait`): the save then meets a
//! conflict, and the update is applied again to the other writer's document.
//!
//! `panic` is the one way to make the worker panic on purpose: the test of
//! what a panic costs (tests/e2e/panic.test.mjs: that request's 500, not the
//! isolate; worker-build's panic recovery resets the instance).
//!
//! `POST /lab/unicode` ([`unicode`]) is no session op: it runs the username
//! rules and the password check of this build over the strings it is sent,
//! so tests/e2e/usernames.test.mjs can check the wasm32 build's Unicode path
//! (the runtime's normalization and build.rs's tables) against the same
//! vectors as the native one.

use serde::Serialize;
use serde_json::Value;

use edge_session::session::{js_json, Session, SessionError};
use edge_session::store::AccountStore;

use super::{json_ok, AppError, Ctx, Request, Response};

#[derive(Serialize)]
struct Answer {
    #[serde(rename = "sessionID")]
    session_id: Option<String>,
    user: Option<Value>,
}

/// Runs the ops named after `/lab/` (comma-separated) on the request's
/// session.
pub(super) async fn route<S: AccountStore>(ctx: &Ctx<'_, S>, mut s: Session) -> Result<Response, AppError> {
    let (sessions, now) = (&ctx.sessions, ctx.now);
    let ops = &ctx.path["/lab/".len()..];
    let mut live = true;
    // Like express-session, the session is committed even when an op fails
    // (Node saves when the error response ends); the error is answered after.
    let outcome = run_ops(ctx, &mut s, ops, &mut live).await;
    if let Err(err) = outcome {
        let set_cookies = sessions.commit(&mut s, now).await?;
        let mut resp = err.into_response();
        resp.headers.extend(set_cookies.into_iter().map(|c| ("Set-Cookie", c)));
        return Ok(resp);
    }
    // An unreadable passport.user is answered before anything is saved.
    if live {
        s.passport_user::<Value>().map_err(SessionError::from)?;
    }
    let set_cookies = sessions.commit(&mut s, now).await?;
    // The session as saved (a session ended meanwhile is a new one now).
    let answer = Answer {
        session_id: live.then(|| s.id().to_string()),
        user: if live { s.passport_user::<Value>().ok().flatten() } else { None },
    };
    Ok(json_ok(&answer, set_cookies))
}

async fn run_ops<S: AccountStore>(
    ctx: &Ctx<'_, S>,
    s: &mut Session,
    ops: &str,
    live: &mut bool,
) -> Result<(), AppError> {
    let (sessions, req, now) = (&ctx.sessions, ctx.req, ctx.now);
    let param = |name: &str| req.query_param(name).ok_or_else(|| AppError::BadRequest(format!("missing ?{name}=")));
    let json_param = |name: &str| -> Result<Value, AppError> {
        js_json::de::from_str(&param(name)?).map_err(|e| AppError::BadRequest(format!("?{name}= is not JSON: {e}")))
    };
    for op in ops.split(',') {
        match op {
            "read" => {}
            "set" => {
                let key = param("key")?;
                if key == "cookie" {
                    return Err(AppError::BadRequest("`cookie` is not a field".into()));
                }
                s.insert(&key, &json_param("value")?).map_err(SessionError::from)?;
            }
            "regenerate" => sessions.regenerate(s, now).await?,
            "destroy" => {
                sessions.destroy(s).await?;
                *live = false;
            }
            "reload" => sessions.reload(s).await?,
            "save" => sessions.save(s, now).await?,
            "touch" => s.touch(now),
            "max-age" => match json_param("ms")? {
                Value::Null => s.set_max_age(None, now),
                Value::Number(n) => s.set_max_age(n.as_f64(), now),
                other => return Err(AppError::BadRequest(format!("?ms= must be a number or null, not {other}"))),
            },
            "unset" => {
                s.unset();
                *live = false;
            }
            "login" => sessions.login(s, &json_param("user")?, now).await?,
            "logout" => sessions.logout(s, now).await?,
            "rotate" => {
                sessions.rotate_id(s).await?;
                // A logged-in session's new id joins the user's index, so
                // logout everywhere reaches it (as at login).
                if let Some(name) = s.passport_user::<String>().ok().flatten() {
                    s.add_to_index(edge_session::keys::user_sessions(&name));
                }
            }
            "incr" => {
                let key = param("key")?;
                s.update(move |s| {
                    let n = s.get::<i64>(&key)?.unwrap_or(0);
                    s.insert(&key, &(n + 1))
                })
                .map_err(SessionError::from)?;
            }
            "wait" => {
                let ms: u64 = param("wait_ms")?
                    .parse()
                    .map_err(|_| AppError::BadRequest("?wait_ms= must be whole milliseconds".into()))?;
                ctx.store.backoff(std::time::Duration::from_millis(ms.min(10_000))).await;
            }
            // Deliberate: no store call is in flight, so the test sees the
            // panic alone (before it, `set` ops have changed nothing stored).
            "panic" => panic!("/lab/panic: a deliberate panic, for tests/e2e/panic.test.mjs"),
            other => return Err(AppError::NotFound(format!("/lab/{other}"))),
        }
    }
    Ok(())
}

/// One string's results in [`unicode`]'s answer.
#[derive(Serialize)]
struct UnicodeAnswer {
    /// The canonical name, if it is one.
    normalized: Option<String>,
    /// Why not: tests/vectors/usernames.json's name of the error.
    error: Option<&'static str>,
    /// The skeleton of `normalized`.
    skeleton: Option<String>,
    /// `check_password`'s refusal of the string as a password (for a user
    /// named `nobody`, no context words), if any.
    password_error: Option<String>,
}

/// `POST /lab/unicode` with a JSON array of strings: each one's username
/// normalization, skeleton and password check, as this build computes them.
///
/// # Errors
///
/// [`AppError::BadRequest`] when the body is not a JSON array of strings.
pub(super) fn unicode(req: &Request<'_>) -> Result<Response, AppError> {
    use edge_session::accounts::{check_password, username};
    let inputs: Vec<String> = js_json::de::from_slice(req.body)
        .map_err(|e| AppError::BadRequest(format!("not a JSON array of strings: {e}")))?;
    let answers: Vec<UnicodeAnswer> = inputs
        .iter()
        .map(|input| {
            let (normalized, error) = match username::normalize(input) {
                Ok(name) => (Some(name), None),
                Err(e) => (None, Some(error_name(&e))),
            };
            UnicodeAnswer {
                skeleton: normalized.as_deref().map(username::skeleton),
                normalized,
                error,
                password_error: check_password(input, "nobody", &[]).err().map(|e| e.to_string()),
            }
        })
        .collect();
    Ok(json_ok(&answers, Vec::new()))
}

fn error_name(e: &edge_session::accounts::username::UsernameError) -> &'static str {
    use edge_session::accounts::username::UsernameError as E;
    match e {
        E::Length => "length",
        E::Characters => "characters",
        E::MixedScripts => "mixed_scripts",
        E::Disallowed => "disallowed",
        E::Restricted => "restricted",
        E::NoLetterOrDigit => "no_letter_or_digit",
    }
}
