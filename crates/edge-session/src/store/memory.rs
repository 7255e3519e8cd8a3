//! An in-memory `SessionStore` for unit tests of the session logic: it keeps
//! values, sets and their TTLs in maps, records every command it receives in
//! the order Redis would see it, and can be told to fail like an unreachable
//! store. TTLs are recorded, never counted down: tests read them, time does
//! not pass. Real behaviour is tested against a real redis-server (the
//! conformance suite runs against both: `tools/upstash-local/tests/upstash_store.rs`).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};

use super::batch::{Found, Lookup, Write, Written};
use super::script::{
    Digest, EndOutcome, EndSessions, Guard, PruneIndex, Register, RegisterOutcome, Save, SaveOutcome, ScriptCall, Ttl,
};
use super::transport::TransportError;
use super::{AccountStore, CounterHit, Fetched, SessionStore, StoreError, Wrote};

/// A stored value and its TTL in seconds.
type Entry = (Vec<u8>, Option<u64>);
/// A stored set and its TTL in seconds.
type SetEntry = (BTreeSet<String>, Option<u64>);

/// A map-backed store that logs commands; not for production.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: RefCell<HashMap<String, Entry>>,
    sets: RefCell<HashMap<String, SetEntry>>,
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
    pub fn insert_raw(&self, key: &str, value: &[u8], ttl_seconds: Option<u64>) {
        self.data.borrow_mut().insert(key.into(), (value.to_vec(), ttl_seconds));
    }

    /// The value and TTL stored at `key`.
    pub fn entry(&self, key: &str) -> Option<(Vec<u8>, Option<u64>)> {
        self.data.borrow().get(key).cloned()
    }

    /// Every key stored, values' and sets', sorted: with [`MemoryStore::entry`]
    /// and `members`, a snapshot to compare before and after a request that
    /// must write nothing.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.data.borrow().keys().chain(self.sets.borrow().keys()).cloned().collect();
        keys.sort();
        keys
    }

    /// The commands received so far, e.g. `["GET sess:a", "EXPIRE sess:a 60"]`
    /// (SET is logged without its value).
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.log.borrow_mut())
    }

    fn refuse_if_down(&self) -> Result<(), StoreError> {
        match self.down.get() {
            true => Err(StoreError::Unreachable(TransportError::Failed("memory store is down".into()))),
            false => Ok(()),
        }
    }

    fn record(&self, line: String) -> Result<(), StoreError> {
        self.refuse_if_down()?;
        self.log.borrow_mut().push(line);
        Ok(())
    }
}

/// Redis's `INCRBY key by` on a map entry (a missing key counts from 0, its
/// TTL untouched): the new value.
fn add(data: &mut HashMap<String, Entry>, key: &str, by: i64) -> i64 {
    let entry = data.entry(key.to_owned()).or_insert_with(|| (b"0".to_vec(), None));
    let n = String::from_utf8_lossy(&entry.0).parse::<i64>().unwrap_or(0) + by;
    entry.0 = n.to_string().into_bytes();
    n
}

impl MemoryStore {
    /// What `scripts/save.lua` does, step for step (the conformance suite
    /// holds the two to the same answers). Logged as `SAVE key [EX t]`, or
    /// `SAVE key DEL` for an expired session, with ` (conflict)`, ` (gone)`
    /// or ` (taken)` when nothing was written.
    fn save_one(&self, save: &Save) -> Result<SaveOutcome, StoreError> {
        let line = match save.ttl {
            Ttl::Seconds(t) => format!("SAVE {} EX {t}", save.key),
            Ttl::Persist => format!("SAVE {}", save.key),
            Ttl::Expired => format!("SAVE {} DEL", save.key),
        };
        self.refuse_if_down()?;
        // The script's own KEYS[2]: where the session was loaded from.
        let source = &save.keys()[1];
        let current = self.data.borrow().get(source).map(|(v, _)| v.clone());
        let guarded = save.guard.as_ref().map(|g| {
            let now = self.data.borrow().get(&g.read.key).map(|(v, _)| Digest::of(v));
            now.as_ref() == Some(&g.read.digest)
        });
        let outcome = match (&save.loaded, current) {
            _ if guarded == Some(false) => Some(SaveOutcome::Stale),
            (None, Some(_)) => Some(SaveOutcome::Taken),
            (Some(_), None) => Some(SaveOutcome::Gone),
            (Some(l), Some(bytes)) if Digest::of(&bytes) != l.digest => Some(SaveOutcome::Conflict(bytes)),
            _ => None,
        };
        if let Some(outcome) = outcome {
            let why = match outcome {
                SaveOutcome::Taken => "taken",
                SaveOutcome::Stale => "stale",
                SaveOutcome::Gone => "gone",
                _ => "conflict",
            };
            self.record(format!("{line} ({why})"))?;
            return Ok(outcome);
        }
        self.record(line)?;
        let mut data = self.data.borrow_mut();
        let mut sets = self.sets.borrow_mut();
        sets.remove(&save.key);
        match save.ttl {
            Ttl::Seconds(t) => drop(data.insert(save.key.clone(), (save.document.as_bytes().to_vec(), Some(t)))),
            Ttl::Persist => drop(data.insert(save.key.clone(), (save.document.as_bytes().to_vec(), None))),
            Ttl::Expired => drop(data.remove(&save.key)),
        }
        for k in &save.retire {
            data.remove(k);
            sets.remove(k);
        }
        if let Some(index) = &save.index {
            if let Some(member) = &index.member {
                sets.entry(index.set.clone()).or_default().0.insert(member.clone());
            }
            // EXPIRE NX then GT (or PERSIST): set when none, raised, never
            // lowered; a set that does not exist is not created.
            if let Some((_, ttl)) = sets.get_mut(&index.set) {
                *ttl = match (index.ttl_seconds, *ttl) {
                    (None, _) => None,
                    (Some(want), Some(had)) => Some(had.max(want)),
                    (Some(want), None) => Some(want),
                };
            }
        }
        if let Some(Guard { read, replace_with: Some(value) }) = &save.guard {
            data.insert(read.key.clone(), (value.as_bytes().to_vec(), None));
        }
        let counted = save.counter.as_ref().map(|key| add(&mut data, key, 1));
        Ok(SaveOutcome::Saved(counted))
    }

    /// One [`Lookup`], as Redis answers its commands.
    fn look_up(&self, lookup: &Lookup) -> Result<Found, StoreError> {
        match lookup {
            Lookup::Get(key) => {
                self.record(format!("GET {key}"))?;
                Ok(Found::Value(self.data.borrow().get(key).map(|(v, _)| v.clone())))
            }
            Lookup::Members(set) => {
                self.record(format!("SMEMBERS {set}"))?;
                Ok(Found::Members(
                    self.sets.borrow().get(set).map(|(s, _)| s.iter().cloned().collect()).unwrap_or_default(),
                ))
            }
            Lookup::IsMember { set, member } => {
                self.record(format!("SISMEMBER {set} {member}"))?;
                Ok(Found::IsMember(self.sets.borrow().get(set).is_some_and(|(s, _)| s.contains(member))))
            }
            Lookup::Hit { key, window_seconds } => {
                self.record(format!("INCR+EXPIRE NX+PTTL {key}"))?;
                let mut data = self.data.borrow_mut();
                let count = add(&mut data, key, 1);
                // The first hit starts the window (EXPIRE NX).
                let ttl = data.get_mut(key).map_or(*window_seconds, |e| *e.1.get_or_insert(*window_seconds));
                Ok(Found::Hit(CounterHit { count, pttl_ms: ttl as i64 * 1000 }))
            }
        }
    }

    /// One [`Write`], as Redis (or, for a prune, `scripts/prune_index.lua`) does it.
    fn write_one(&self, write: &Write) -> Result<Written, StoreError> {
        let (mut data, mut sets) = match write {
            Write::Create { key, .. } => self.record(format!("SET {key} NX")),
            Write::Put { key, .. } => self.record(format!("SET {key}")),
            Write::PutExpiring { key, seconds, .. } => self.record(format!("SET {key} EX {seconds}")),
            Write::Decr(key) => self.record(format!("DECR {key}")),
            Write::Del(keys) => self.record(format!("DEL {}", keys.join(" "))),
            Write::SAdd { set, member } => self.record(format!("SADD {set} {member}")),
            Write::SRem { set, member } => self.record(format!("SREM {set} {member}")),
            Write::Expire { key, seconds } => self.record(format!("EXPIRE {key} {seconds}")),
            Write::ExtendTtl { key, seconds } => self.record(format!("EXPIRE {key} {seconds} GT")),
            Write::Prune(call) => self.record(format!("PRUNE {}", call.index)),
            Write::Persist(key) => self.record(format!("PERSIST {key}")),
            Write::Register(call) => self.record(format!("REGISTER {} {}", call.user, call.skeleton)),
        }
        .map(|()| (self.data.borrow_mut(), self.sets.borrow_mut()))?;
        Ok(match write {
            Write::Create { key, value } => {
                let free = !data.contains_key(key) && !sets.contains_key(key);
                if free {
                    data.insert(key.clone(), (value.as_bytes().to_vec(), None));
                }
                Written::Created(free)
            }
            Write::Put { key, value } => {
                sets.remove(key);
                data.insert(key.clone(), (value.as_bytes().to_vec(), None));
                Written::Done
            }
            Write::PutExpiring { key, value, seconds } => {
                sets.remove(key);
                data.insert(key.clone(), (value.as_bytes().to_vec(), Some(*seconds)));
                Written::Done
            }
            Write::Decr(key) => {
                add(&mut data, key, -1);
                Written::Done
            }
            Write::Del(keys) => {
                for k in keys {
                    data.remove(k);
                    sets.remove(k);
                }
                Written::Done
            }
            Write::SAdd { set, member } => {
                sets.entry(set.clone()).or_default().0.insert(member.clone());
                Written::Done
            }
            Write::SRem { set, member } => {
                if let Some((members, _)) = sets.get_mut(set) {
                    members.remove(member);
                    if members.is_empty() {
                        sets.remove(set);
                    }
                }
                Written::Done
            }
            Write::Expire { key, seconds } => {
                if let Some(entry) = data.get_mut(key) {
                    entry.1 = Some(*seconds);
                } else if let Some(entry) = sets.get_mut(key) {
                    entry.1 = Some(*seconds);
                }
                Written::Done
            }
            Write::ExtendTtl { key, seconds } => {
                // GT: a key without a TTL counts as infinite.
                let ttl = data.get_mut(key).map(|e| &mut e.1).or_else(|| sets.get_mut(key).map(|e| &mut e.1));
                if let Some(Some(t)) = ttl {
                    *t = (*t).max(*seconds);
                }
                Written::Done
            }
            Write::Persist(key) => {
                if let Some(entry) = data.get_mut(key) {
                    entry.1 = None;
                } else if let Some(entry) = sets.get_mut(key) {
                    entry.1 = None;
                }
                Written::Done
            }
            // What scripts/register.lua does, step for step.
            Write::Register(Register { user, skeleton, record, name, ttl_seconds, known }) => {
                let owner = data.get(skeleton).map(|(v, _)| v.clone());
                Written::Registered(if data.contains_key(user) || sets.contains_key(user) {
                    RegisterOutcome::Taken
                } else if owner.is_some_and(|o| o != name.as_bytes()) {
                    RegisterOutcome::LookAlike
                } else {
                    data.insert(user.clone(), (record.as_bytes().to_vec(), *ttl_seconds));
                    data.insert(skeleton.clone(), (name.as_bytes().to_vec(), *ttl_seconds));
                    if let Some((set, member, seconds)) = known {
                        sets.remove(set);
                        if !member.is_empty() {
                            sets.insert(set.clone(), ([member.clone()].into(), Some(*seconds)));
                        }
                    }
                    RegisterOutcome::Created
                })
            }
            Write::Prune(PruneIndex { index, members, member_keys }) => {
                let gone: Vec<&String> = members
                    .iter()
                    .zip(member_keys)
                    .filter(|(_, k)| !data.contains_key(*k) && !sets.contains_key(*k))
                    .map(|(m, _)| m)
                    .collect();
                let mut removed = 0;
                if let Some((set, _)) = sets.get_mut(index) {
                    removed = gone.iter().filter(|m| set.remove(**m)).count() as u64;
                    // Redis deletes a set whose last member goes.
                    if set.is_empty() {
                        sets.remove(index);
                    }
                }
                Written::Pruned(removed)
            }
        })
    }
}

impl SessionStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.record(format!("GET {key}"))?;
        Ok(self.data.borrow().get(key).map(|(v, _)| v.clone()))
    }

    /// Logged as `GET key` (`GET+PTTL key` with the PTTL), then one line
    /// per lookup: `GET key`, `SMEMBERS set`, `INCR+EXPIRE NX+PTTL key`.
    async fn read(
        &self,
        session_key: Option<&str>,
        with_pttl: bool,
        lookups: &[Lookup],
    ) -> Result<Fetched, StoreError> {
        let session = match session_key {
            Some(key) => {
                self.record(format!("{} {key}", if with_pttl { "GET+PTTL" } else { "GET" }))?;
                let pttl = |ttl: Option<u64>| with_pttl.then(|| ttl.map_or(-1, |t| t as i64 * 1000));
                self.data.borrow().get(key).map(|(v, ttl)| (v.clone(), pttl(*ttl)))
            }
            None => None,
        };
        let found = lookups.iter().map(|l| self.look_up(l)).collect::<Result<_, _>>()?;
        Ok(Fetched { session, found })
    }

    /// Logged as the save's line (`SAVE key …`), then one line per write:
    /// `SET key NX`, `SET key`, `SET key EX seconds`, `DECR key`, `DEL key…`, `PRUNE set`.
    async fn write(&self, save: Option<&Save>, also: &[Write]) -> Result<Wrote, StoreError> {
        // In the Upstash client's order: the writes that go before the
        // save (Write::before_save), the save, the others.
        let early = |w: &Write| save.is_some() && w.before_save();
        let mut written: Vec<Option<Written>> = vec![None; also.len()];
        for (i, w) in also.iter().enumerate().filter(|(_, w)| early(w)) {
            written[i] = Some(self.write_one(w)?);
        }
        let saved = match save {
            Some(save) => Some(self.save_one(save)?),
            None => None,
        };
        for (i, w) in also.iter().enumerate().filter(|(_, w)| !early(w)) {
            written[i] = Some(self.write_one(w)?);
        }
        Ok(Wrote { saved, written: written.into_iter().flatten().collect() })
    }

    async fn expire(&self, key: &str, ttl_seconds: u64) -> Result<bool, StoreError> {
        self.record(format!("EXPIRE {key} {ttl_seconds}"))?;
        if let Some(entry) = self.data.borrow_mut().get_mut(key) {
            entry.1 = Some(ttl_seconds);
            return Ok(true);
        }
        if let Some(entry) = self.sets.borrow_mut().get_mut(key) {
            entry.1 = Some(ttl_seconds);
            return Ok(true);
        }
        Ok(false)
    }

    async fn del(&self, keys: &[String]) -> Result<u64, StoreError> {
        if keys.is_empty() {
            return Ok(0);
        }
        self.record(format!("DEL {}", keys.join(" ")))?;
        let mut data = self.data.borrow_mut();
        let mut sets = self.sets.borrow_mut();
        Ok(keys.iter().filter(|k| data.remove(k.as_str()).is_some() | sets.remove(k.as_str()).is_some()).count() as u64)
    }

    async fn backoff(&self, _wait: std::time::Duration) {}
}

impl AccountStore for MemoryStore {
    async fn incr(&self, key: &str) -> Result<i64, StoreError> {
        self.record(format!("INCR {key}"))?;
        Ok(add(&mut self.data.borrow_mut(), key, 1))
    }

    async fn members(&self, set: &str) -> Result<Vec<String>, StoreError> {
        self.record(format!("SMEMBERS {set}"))?;
        Ok(self.sets.borrow().get(set).map(|(s, _)| s.iter().cloned().collect()).unwrap_or_default())
    }

    /// What `scripts/end_sessions.lua` does.
    async fn end_sessions(&self, call: &EndSessions) -> Result<EndOutcome, StoreError> {
        self.record(format!("END {}", call.index))?;
        let current: BTreeSet<String> = self.sets.borrow().get(&call.index).map(|(s, _)| s.clone()).unwrap_or_default();
        let read: BTreeSet<String> = call.members.iter().cloned().collect();
        if current != read || read.len() != call.members.len() {
            return Ok(EndOutcome::Changed(current.into_iter().collect()));
        }
        // The script's own KEYS: the set first, then the sessions.
        let keys = call.keys();
        let mut data = self.data.borrow_mut();
        let mut sets = self.sets.borrow_mut();
        sets.remove(&call.index);
        let ended =
            keys[1..].iter().filter(|k| data.remove(k.as_str()).is_some() | sets.remove(k.as_str()).is_some()).count();
        Ok(EndOutcome::Ended(ended as u64))
    }

    async fn pttl(&self, key: &str) -> Result<i64, StoreError> {
        self.record(format!("PTTL {key}"))?;
        let ttl = match (self.data.borrow().get(key), self.sets.borrow().get(key)) {
            (Some((_, ttl)), _) | (None, Some((_, ttl))) => *ttl,
            (None, None) => return Ok(-2),
        };
        Ok(ttl.map_or(-1, |t| t as i64 * 1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let store = MemoryStore::new();
        crate::testing::block_on(crate::store::conformance::run_accounts(&store, "conformance:memory:"));
    }
}
