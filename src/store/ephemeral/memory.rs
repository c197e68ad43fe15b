//! The in-process ephemeral store: the embedded default. Bounded in entries; expired
//! entries are dropped when touched and swept at every insert (in expiry order, so a sweep
//! costs only what it removes), which keeps memory at what is live. When the store is
//! still full, a new entry is refused: nothing live is ever evicted, so a flood of new sign-in
//! requests cannot push out revocations, lockouts or rate-limit counters.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::EphemeralError;

#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Entries>>,
    max_entries: usize,
    clock: Clock,
}

/// Where the store reads the time: the monotonic system clock, or a clock that a test
/// moves by hand, so expiry can be tested without sleeping.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<Mutex<Instant>>),
}

impl Clock {
    /// A clock that stands still until [`Clock::advance`] moves it.
    pub fn manual() -> Clock {
        Clock::Manual(Arc::new(Mutex::new(Instant::now())))
    }

    pub fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            Clock::Manual(at) => *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// Moves a manual clock forward; the system clock moves by itself.
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(at) = self {
            *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += by;
        }
    }
}

struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Entry>,
    /// (expiry, key) for every entry, so eviction and sweeping need no full scan.
    by_expiry: BTreeSet<(Instant, String)>,
}

impl Entries {
    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.by_key.remove(key)?;
        self.by_expiry.remove(&(entry.expires_at, key.to_string()));
        Some(entry)
    }

    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.by_key.get(key).is_some_and(|entry| entry.expires_at <= now) {
            self.remove(key);
        }
        self.by_key.get_mut(key)
    }

    /// Inserts (or replaces) an entry; `Full` when the store holds `max_entries` live
    /// entries that are not this key.
    fn insert(&mut self, key: &str, entry: Entry, max_entries: usize, now: Instant) -> Result<(), EphemeralError> {
        self.remove(key);
        self.sweep(now);
        if self.by_key.len() >= max_entries {
            return Err(EphemeralError::Full);
        }
        self.by_expiry.insert((entry.expires_at, key.to_string()));
        self.by_key.insert(key.to_string(), entry);
        Ok(())
    }

    fn sweep(&mut self, now: Instant) {
        while let Some((expires_at, key)) = self.by_expiry.first().cloned() {
            if expires_at > now {
                break;
            }
            self.remove(&key);
        }
    }
}

impl MemoryStore {
    pub fn new(max_entries: usize) -> MemoryStore {
        MemoryStore::with_clock(max_entries, Clock::System)
    }

    pub fn with_clock(max_entries: usize, clock: Clock) -> MemoryStore {
        MemoryStore { inner: Arc::default(), max_entries: max_entries.max(1), clock }
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters for a cache, so a poisoned lock is simply taken over.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), EphemeralError> {
        let now = self.clock.now();
        let entry = Entry { value: value.to_vec(), expires_at: now + ttl };
        self.entries().insert(key, entry, self.max_entries, now)
    }

    pub fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, EphemeralError> {
        let now = self.clock.now();
        let mut entries = self.entries();
        if entries.live(key, now).is_some() {
            return Ok(false);
        }
        entries.insert(key, Entry { value: value.to_vec(), expires_at: now + ttl }, self.max_entries, now)?;
        Ok(true)
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let now = self.clock.now();
        self.entries().live(key, now).map(|entry| entry.value.clone())
    }

    pub fn take(&self, key: &str) -> Option<Vec<u8>> {
        let now = self.clock.now();
        let mut entries = self.entries();
        entries.live(key, now)?;
        entries.remove(key).map(|entry| entry.value)
    }

    pub fn increment(&self, key: &str, window: Duration) -> Result<u64, EphemeralError> {
        let now = self.clock.now();
        let mut entries = self.entries();
        if let Some(entry) = entries.live(key, now) {
            let count = parse_count(&entry.value) + 1;
            entry.value = count.to_string().into_bytes();
            return Ok(count);
        }
        entries.insert(key, Entry { value: b"1".to_vec(), expires_at: now + window }, self.max_entries, now)?;
        Ok(1)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().by_key.len()
    }
}

fn parse_count(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn store(max_entries: usize) -> (MemoryStore, Clock) {
        let clock = Clock::manual();
        (MemoryStore::with_clock(max_entries, clock.clone()), clock)
    }

    #[test]
    fn a_value_is_gone_after_its_ttl() {
        let (store, clock) = store(10);
        store.put("k", b"v", MINUTE).unwrap();
        clock.advance(Duration::from_secs(59));
        assert_eq!(store.get("k"), Some(b"v".to_vec()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(store.get("k"), None);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn take_returns_a_value_once() {
        let (store, _) = store(10);
        store.put("code", b"grant", MINUTE).unwrap();
        assert_eq!(store.take("code"), Some(b"grant".to_vec()));
        assert_eq!(store.take("code"), None);
        assert_eq!(store.get("code"), None);
    }

    #[test]
    fn a_full_store_sweeps_expired_entries_then_refuses_new_ones_and_evicts_nothing() {
        let (store, clock) = store(2);
        store.put("expired", b"1", Duration::from_secs(1)).unwrap();
        store.put("revocation", b"2", Duration::from_secs(100)).unwrap();
        clock.advance(Duration::from_secs(2));
        store.put("new", b"3", Duration::from_secs(50)).unwrap();
        assert_eq!(store.get("expired"), None, "an expired entry made room");

        assert!(matches!(store.put("flood", b"4", Duration::from_secs(1)), Err(EphemeralError::Full)));
        assert!(matches!(store.increment("counter", MINUTE), Err(EphemeralError::Full)));
        assert_eq!(store.get("revocation"), Some(b"2".to_vec()), "nothing live was evicted");
        assert_eq!(store.get("new"), Some(b"3".to_vec()));
        store.put("new", b"5", Duration::from_secs(50)).unwrap();
        assert_eq!(store.get("new"), Some(b"5".to_vec()), "an existing key can still be replaced");
    }

    #[test]
    fn entries_nobody_reads_again_leave_memory_once_expired_long_before_the_store_is_full() {
        let (store, clock) = store(1_000);
        for i in 0..100 {
            store.put(&format!("replay-marker-{i}"), b"grant", Duration::from_secs(60)).unwrap();
        }
        assert_eq!(store.len(), 100);
        clock.advance(Duration::from_secs(61));
        store.put("next", b"1", Duration::from_secs(60)).unwrap();
        assert_eq!(store.len(), 1, "the expired markers were swept by the next insert");
    }

    #[test]
    fn increment_counts_within_a_window() {
        let (store, clock) = store(10);
        assert_eq!(store.increment("ip", MINUTE).unwrap(), 1);
        assert_eq!(store.increment("ip", MINUTE).unwrap(), 2);
        assert_eq!(store.increment("other", MINUTE).unwrap(), 1);
        clock.advance(MINUTE);
        assert_eq!(store.increment("ip", MINUTE).unwrap(), 1, "a new window starts from one");
    }
}
