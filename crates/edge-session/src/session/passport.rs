//! Logins stored the way Passport 0.6+ stores them, so a login made by an
//! Express app with Passport is a login here and the other way round:
//! `"passport":{"user":<serialized user>}` in the session document, and a
//! fresh session id at login and at logout (session fixation defence).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use super::document::{FieldError, Millis};
use super::js_json::{self, Js, JsStr};
use super::{Session, SessionError, Sessions};
use crate::store::SessionStore;

/// The session field Passport uses (`passport._key`).
pub const KEY: &str = "passport";

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
        match serde_json::from_str::<Option<Passport<T>>>(raw.get()) {
            Ok(p) => Ok(p.and_then(|p| p.user)),
            Err(source) => Err(FieldError { field: KEY.into(), source }),
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
        Ok(())
    }

    /// Passport's `req.logout()`: remove `passport.user` (other members of
    /// `passport` stay), then regenerate so the id that was authenticated is
    /// worthless. The commit writes the new session and deletes the old key
    /// in one step.
    ///
    /// Passport first saves the session without the user, then regenerates;
    /// the worker leaves out that intermediate save (a deliberate
    /// difference): the old key is deleted by the commit anyway, and the
    /// intermediate compare-and-set save could lose to the same browser's
    /// parallel saves and fail the logout.
    ///
    /// # Errors
    ///
    /// [`SessionError::Field`] when `passport` cannot be rewritten.
    pub async fn logout(&self, s: &mut Session, now: Millis) -> Result<(), SessionError> {
        if let Some(without_user) = s.doc.raw(KEY).and_then(|raw| remove_member(raw, "user")) {
            s.insert(KEY, &without_user)?;
        }
        self.regenerate(s, now).await
    }
}

/// `raw` without its member `key`, the other members kept in order and byte
/// for byte; `None` when `raw` is not an object.
fn remove_member(raw: &RawValue, key: &str) -> Option<Box<RawValue>> {
    let Some(Js::Object(mut members)) = js_json::parse(raw.get()) else { return None };
    let key = JsStr::new(key);
    members.retain(|(k, _)| *k != key);
    let mut out = String::new();
    js_json::write_js(&Js::Object(members), &mut out);
    RawValue::from_string(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_member_keeps_the_rest() {
        let raw = RawValue::from_string(r#"{"a":1,"user":{"id":7},"b":"ü"}"#.into()).unwrap();
        assert_eq!(remove_member(&raw, "user").unwrap().get(), r#"{"a":1,"b":"ü"}"#);
        let raw = RawValue::from_string(r#"{"user":1}"#.into()).unwrap();
        assert_eq!(remove_member(&raw, "user").unwrap().get(), "{}");
        let raw = RawValue::from_string("5".into()).unwrap();
        assert!(remove_member(&raw, "user").is_none());
    }
}
