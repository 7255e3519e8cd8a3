//! Flash messages as connect-flash keeps them: the session's `flash` field
//! is an object of arrays, `{"info": ["Logged out."], "error": [...]}`,
//! written by one request and shown (and removed) by the next. A page that
//! answers a form with `303 See Other` tells the visitor what happened this
//! way, and an Express app sharing the session reads the same messages with
//! `req.flash(type)` (connect-flash 0.1.1 `_flash`).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::document::FieldError;
use super::Session;

/// The session field connect-flash keeps its messages in.
pub const FIELD: &str = "flash";

/// The messages of one session by type, as connect-flash's `req.flash()`
/// returns them: each type once, in the order of the session's `flash`
/// object, its messages in the order they were added. Serialized as that
/// object (`{"info": ["…"]}`).
///
/// A list of pairs rather than a map type: a session holds a handful of
/// types, and a `BTreeMap` of them was ~3 KB of the wasm (issue 14).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Messages(Vec<(String, Vec<String>)>);

impl Messages {
    /// No messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the messages of `kind` (in its place when it has some already,
    /// else last).
    pub fn insert(&mut self, kind: String, messages: Vec<String>) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, list)) => *list = messages,
            None => self.0.push((kind, messages)),
        }
    }

    /// The messages of `kind`, if any were taken.
    pub fn get(&self, kind: &str) -> Option<&Vec<String>> {
        self.0.iter().find(|(k, _)| k == kind).map(|(_, list)| list)
    }

    /// Each type and its messages, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.0.iter().map(|(k, list)| (k, list))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Messages {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (kind, list) in &self.0 {
            map.serialize_entry(kind, list)?;
        }
        map.end()
    }
}

/// connect-flash's `req.flash(type, message)`: `message` appended to
/// `flash[type]` (the array and the object made when missing). Applied as
/// a [`Session::update`], so a message added by a request that saved
/// first is kept beside this one.
///
/// # Errors
///
/// [`FieldError`] when `flash` holds something other than an object (an
/// app of its own wrote it): nothing is changed.
pub fn push(session: &mut Session, kind: &str, message: &str) -> Result<(), FieldError> {
    let (kind, message) = (kind.to_owned(), message.to_owned());
    session.update(move |s| {
        let mut all = s.get::<Map<String, Value>>(FIELD)?.unwrap_or_default();
        match all.entry(kind.clone()).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(list) => list.push(Value::String(message.clone())),
            // `flash[type]` that is not an array: connect-flash would throw
            // on `.push`; the message replaces it instead of being lost.
            other => *other = Value::Array(vec![Value::String(message.clone())]),
        }
        s.insert(FIELD, &all)
    })
}

/// connect-flash's `req.flash()`: every message, by type, taken out of the
/// session, which then holds `{}` as connect-flash leaves it. A session
/// without messages is not changed (no write). Messages that are not
/// strings (connect-flash stores whatever it is given) are shown as their
/// JSON; a `flash` that is not an object of arrays is read as no messages
/// and left alone.
///
/// The removal is a [`Session::update`] that takes out exactly the
/// messages read: when another request saved the session first (a form
/// that added a message while this page was being made), its messages stay
/// for the next page instead of being wiped unseen.
pub fn take_all(session: &mut Session) -> Messages {
    let Ok(Some(all)) = session.get::<Map<String, Value>>(FIELD) else {
        return Messages::new();
    };
    let taken: Vec<(String, Vec<Value>)> = all
        .into_iter()
        .filter_map(|(kind, list)| match list {
            Value::Array(items) if !items.is_empty() => Some((kind, items)),
            _ => None,
        })
        .collect();
    if taken.is_empty() {
        return Messages::new();
    }
    // The keys come from a map: no type twice.
    let messages = Messages(
        taken.iter().map(|(kind, items)| (kind.clone(), items.iter().cloned().map(as_text).collect())).collect(),
    );
    let _ = session.update(move |s| {
        let mut all = s.get::<Map<String, Value>>(FIELD)?.unwrap_or_default();
        for (kind, items) in &taken {
            let Some(Value::Array(list)) = all.get_mut(kind) else { continue };
            for item in items {
                if let Some(at) = list.iter().position(|v| v == item) {
                    list.remove(at);
                }
            }
            if list.is_empty() {
                all.remove(kind);
            }
        }
        s.insert(FIELD, &all)
    });
    messages
}

fn as_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => super::js_json::to_string(&other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Vars;
    use crate::session::{SessionConfig, Sessions};
    use crate::store::MemoryStore;
    use crate::testing::block_on;

    /// A new session of a configuration with only a secret.
    fn new_session() -> Session {
        let read =
            |name: &str| (name == "SESSION_SECRET").then(|| "a test secret of thirty-two bytes or more".to_owned());
        let config = SessionConfig::from_vars(&Vars::new(&read)).unwrap();
        block_on(Sessions::new(&config, &MemoryStore::new()).load(None, 0, false)).unwrap()
    }

    #[test]
    fn push_makes_connect_flash_shape_and_take_all_empties_it() {
        let mut s = new_session();
        push(&mut s, "info", "Poured a Hazy Otter.").unwrap();
        push(&mut s, "info", "Again.").unwrap();
        push(&mut s, "error", "Wrong password.").unwrap();
        assert_eq!(
            s.get::<Value>(FIELD).unwrap().unwrap(),
            serde_json::json!({"info": ["Poured a Hazy Otter.", "Again."], "error": ["Wrong password."]})
        );
        let taken = take_all(&mut s);
        assert_eq!(taken.get("info").unwrap(), &["Poured a Hazy Otter.", "Again."]);
        assert_eq!(taken.get("error").unwrap(), &["Wrong password."]);
        // In the object's order, as connect-flash's req.flash() gives it.
        assert_eq!(taken.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["info", "error"]);
        assert_eq!(s.get::<Value>(FIELD).unwrap().unwrap(), serde_json::json!({}));
        assert!(take_all(&mut s).is_empty());
    }

    #[test]
    fn take_all_reads_what_an_express_app_left() {
        // (stored flash, messages read, field afterwards)
        for (stored, want, after) in [
            (serde_json::json!({}), serde_json::json!({}), serde_json::json!({})),
            (serde_json::json!({"info": []}), serde_json::json!({}), serde_json::json!({"info": []})),
            (
                serde_json::json!({"info": ["a", 1, {"b": 2}]}),
                serde_json::json!({"info": ["a", "1", "{\"b\":2}"]}),
                serde_json::json!({}),
            ),
            (serde_json::json!("not an object"), serde_json::json!({}), serde_json::json!("not an object")),
            (
                serde_json::json!({"info": "not an array"}),
                serde_json::json!({}),
                serde_json::json!({"info": "not an array"}),
            ),
        ] {
            let mut s = new_session();
            s.insert(FIELD, &stored).unwrap();
            let taken = take_all(&mut s);
            assert_eq!(serde_json::to_value(&taken).unwrap(), want, "{stored}");
            assert_eq!(s.get::<Value>(FIELD).unwrap().unwrap(), after, "{stored}");
        }
    }

    #[test]
    fn a_message_added_while_the_page_took_the_others_waits_for_the_next_page() {
        let read =
            |name: &str| (name == "SESSION_SECRET").then(|| "a test secret of thirty-two bytes or more".to_owned());
        let config = SessionConfig::from_vars(&Vars::new(&read)).unwrap();
        let store = MemoryStore::new();
        let sessions = Sessions::new(&config, &store);
        let mut first = block_on(sessions.load(None, 0, false)).unwrap();
        push(&mut first, "info", "one").unwrap();
        let line = block_on(sessions.commit(&mut first, 0)).unwrap().remove(0);
        let cookie = line.split(';').next().unwrap().to_owned();
        // The page loads the session and takes "one" ...
        let mut page = block_on(sessions.load(Some(&cookie), 1, false)).unwrap();
        assert_eq!(take_all(&mut page).get("info").unwrap(), &["one"]);
        // ... while a form adds "two" and saves first.
        let mut form = block_on(sessions.load(Some(&cookie), 1, false)).unwrap();
        push(&mut form, "account-error", "two").unwrap();
        block_on(sessions.commit(&mut form, 1)).unwrap();
        block_on(sessions.commit(&mut page, 2)).unwrap();
        let after = block_on(sessions.load(Some(&cookie), 3, false)).unwrap();
        assert_eq!(after.get::<Value>(FIELD).unwrap().unwrap(), serde_json::json!({"account-error": ["two"]}));
    }

    #[test]
    fn push_refuses_a_flash_that_is_not_an_object_and_replaces_a_bad_list() {
        let mut s = new_session();
        s.insert(FIELD, "text").unwrap();
        assert!(push(&mut s, "info", "x").is_err());
        assert_eq!(s.get::<Value>(FIELD).unwrap().unwrap(), serde_json::json!("text"));
        s.insert(FIELD, &serde_json::json!({"info": 3})).unwrap();
        push(&mut s, "info", "x").unwrap();
        assert_eq!(s.get::<Value>(FIELD).unwrap().unwrap(), serde_json::json!({"info": ["x"]}));
    }
}
