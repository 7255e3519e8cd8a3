//! An in-memory `SessionStore` for unit tests of the session logic: it keeps
//! values and TTLs in a map, records every command it receives in the order
//! Redis would see it, and can be told to fail like an unreachable store.
//! Real behaviour is tested against a real redis-server (see `tests/`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::transport::TransportError;
use super::{SessionStore, StoreError};

/// A map-backed store that logs commands; not for production.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: RefCell<HashMap<String, (Vec<u8>, Option<u64>)>>,
    log: RefCell<Vec<String>>,
    down: Cell<bool>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later command fail as if the store were unreachable.
    pub fn set_down(&self, down: bool) {
        self.down.set(down);
    }

    /// Puts a value in place without logging, as another writer would.
    pub fn insert_raw(&self, key: &str, value: &[u8], ttl: Option<u64>) {
        self.data.borrow_mut().insert(key.into(), (value.to_vec(), ttl));
    }

    /// The value and TTL stored at `key`.
    pub fn entry(&self, key: &str) -> Option<(Vec<u8>, Option<u64>)> {
        self.data.borrow().get(key).cloned()
    }

    /// The commands received so far, e.g. `["GET sess:a", "EXPIRE sess:a 60"]`
    /// (SET is logged without its value).
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.log.borrow_mut())
    }

    fn record(&self, line: String) -> Result<(), StoreError> {
        if self.down.get() {
            return Err(StoreError::Unreachable(TransportError::Failed("memory store is down".into())));
        }
        self.log.borrow_mut().push(line);
        Ok(())
    }
}

impl SessionStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.record(format!("GET {key}"))?;
        Ok(self.data.borrow().get(key).map(|(v, _)| v.clone()))
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        let line = match ttl {
            Some(t) => format!("SET {key} EX {t}"),
            None => format!("SET {key}"),
        };
        self.record(line)?;
        self.data.borrow_mut().insert(key.into(), (value.as_bytes().to_vec(), ttl));
        Ok(())
    }

    async fn expire(&self, key: &str, ttl: u64) -> Result<bool, StoreError> {
        self.record(format!("EXPIRE {key} {ttl}"))?;
        Ok(match self.data.borrow_mut().get_mut(key) {
            Some(entry) => {
                entry.1 = Some(ttl);
                true
            }
            None => false,
        })
    }

    async fn del(&self, keys: &[String]) -> Result<u64, StoreError> {
        if keys.is_empty() {
            return Ok(0);
        }
        self.record(format!("DEL {}", keys.join(" ")))?;
        let mut data = self.data.borrow_mut();
        Ok(keys.iter().filter(|k| data.remove(k.as_str()).is_some()).count() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let store = MemoryStore::new();
        crate::test_util::block_on(crate::store::conformance::run_all(&store, "conformance:memory:"));
    }
}
