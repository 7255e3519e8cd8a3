//! Logins stored the way Passport 0.6+ stores them, so a login made by an
//! Express app with Passport is a login here and the other way round:
//! `"passport":{"user":<serialized user>}` in the session document, and a
//! fresh session id at login and at logout (session fixation defence).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::document::{FieldError, Millis};
use super::js_json;
use super::{Session, SessionError, Sessions};
use crate::store::SessionStore;

/// The session field Passport uses (`passport._key`).
pub const KEY: &str = "passport";

/// The session field a login records its time in, as JavaScript's
/// `Date.now()` (milliseconds since the epoch), when the absolute lifetime
/// is on (`SESSION_ABSOLUTE_TIMEOUT_SECONDS`). Passport has no such field; an
/// Express app sharing the sessions can enforce the same limit with
/// `if (req.session.authenticatedAt + limit * 1000 <= Date.now())`.
pub const AUTHENTICATED_AT: &str = "authenticatedAt";

/// Whether `doc` is logged in: `passport.user` is there and counts as a
/// user ([`counts_as_user`]).
pub fn is_logged_in(doc: &super::document::SessionDocument) -> bool {
    doc.raw(KEY)
        .and_then(|raw| js_json::de::from_str::<serde_json::Map<String, serde_json::Value>>(raw).ok())
        .and_then(|passport| passport.get("user").cloned())
        .is_some_and(|user| counts_as_user(&user))
}

/// Whether a stored `passport.user` is a login, as Passport's session
/// strategy decides (`if (su || su === 0)` in passport 0.7's
/// `SessionStrategy.authenticate`): anything but `null`, `false` and `""`
/// (JSON has no `undefined` or `NaN`); `0`, `true`, `[]` and `{}` are
/// logins.
pub fn counts_as_user(user: &serde_json::Value) -> bool {
    !matches!(user, serde_json::Value::Null | serde_json::Value::Bool(false))
        && !matches!(user, serde_json::Value::String(s) if s.is_empty())
}

/// The login time a document records ([`AUTHENTICATED_AT`]), if any and a number.
pub fn authenticated_at(doc: &super::document::SessionDocument) -> Option<f64> {
    doc.raw(AUTHENTICATED_AT).and_then(|raw| js_json::de::from_str::<f64>(raw).ok())
}

impl Session {
    /// The logged-in user as Passport serialized it (`passport.user`).
    ///
    /// # Errors
    ///
    /// [`FieldError`] when `passport.user` holds JSON that is not a `T`.
    pub fn passport_user<T: DeserializeOwned>(&self) -> Result<Option<T>, FieldError> {
        let Some(raw) = self.doc.raw(KEY) else {
            return Ok(None);
        };
        #[derive(serde::Deserialize)]
        struct Passport<U> {
            user: Option<U>,
        }
        match js_json::de::from_str::<Option<Passport<T>>>(raw) {
            Ok(p) => Ok(p.and_then(|p| p.user)),
            Err(e) => Err(FieldError { field: KEY.into(), source: e.into() }),
        }
    }
}

impl Session {
    /// The logged-in user as text, for an origin or an index that needs a
    /// name whatever Passport serialized: `passport.user` itself when it is
    /// a string, a number as JavaScript's `String(n)` spells it, or, when
    /// `field` is given (`SESSION_PASSPORT_USER_FIELD`) and `passport.user`
    /// is an object, that member of it, a string or a number. `None` when
    /// the session is not logged in or the user has no such text (an
    /// object without `field`, an empty string, `true`).
    pub fn passport_user_text(&self, field: Option<&str>) -> Option<String> {
        let user = self.passport_user::<serde_json::Value>().ok().flatten()?;
        let named = match (&user, field) {
            (serde_json::Value::Object(members), Some(field)) => members.get(field)?,
            (named, _) => named,
        };
        match named {
            serde_json::Value::String(name) if !name.is_empty() => Some(name.clone()),
            serde_json::Value::Number(n) => n.as_f64().map(crate::session::js_json::number),
            _ => None,
        }
    }
}

impl<S: SessionStore> Sessions<'_, S> {
    /// Passport's `req.login(user)`: regenerate (the old session's data
    /// dropped) and set `passport.user`. The commit then writes the new
    /// session and deletes the old key in one step (compare-and-set script),
    /// and sends the new id.
    ///
    /// Passport saves the session at once and express-session saves it again
    /// at the end of the request; the worker saves once, at the commit, so
    /// that a login is never half done: a store that fails leaves the old
    /// session as it was (a deliberate difference: the stored result is the
    /// same).
    ///
    /// # Errors
    ///
    /// [`SessionError::Field`] when `user` cannot be serialized.
    pub async fn login<T: Serialize + ?Sized>(
        &self,
        s: &mut Session,
        user: &T,
        now: Millis,
    ) -> Result<(), SessionError> {
        self.regenerate(s, now).await?;
        #[derive(Serialize)]
        struct Passport<'a, U: ?Sized> {
            user: &'a U,
        }
        s.insert(KEY, &Passport { user })?;
        if self.config().absolute_timeout_seconds.is_some() {
            s.insert(AUTHENTICATED_AT, &now)?;
        }
        Ok(())
    }

    /// Passport's `req.logout()`: the session is regenerated, so the id
    /// that was authenticated is worthless and `passport.user` is gone with
    /// the old document (express-session's `regenerate` keeps nothing). The
    /// commit writes the new session and deletes the old key in one step.
    ///
    /// Passport first removes `passport.user` and saves the session, then
    /// regenerates; the worker leaves out that intermediate save (a
    /// deliberate difference): the old key is deleted by the commit anyway,
    /// and the intermediate compare-and-set save could lose to the same
    /// browser's parallel saves and fail the logout.
    ///
    /// # Errors
    ///
    /// None today; the signature leaves room for a store call.
    pub async fn logout(&self, s: &mut Session, now: Millis) -> Result<(), SessionError> {
        self.regenerate(s, now).await
    }
}
