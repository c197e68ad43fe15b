//! What checking an access token reads from the database (its grant is not revoked, its
//! client and user exist and are enabled, the user's claims), and the clients that
//! authenticate at the token and introspection endpoints, remembered per instance for
//! at most [`ENTRY_TTL`] and trusted only while the shared ephemeral store says that nothing
//! changed since it was read. This is what lets userinfo and introspection answer without
//! a database query, while a revoked grant or a disabled user is refused at once on every
//! instance:
//!
//! - every check reads, in one round trip to the ephemeral store, its epoch, the grant's
//!   revocation marker, and the change counters of the token's user and client;
//! - revoking a grant writes the durable record, then the marker ([`grant_revoked`]);
//!   changing, disabling or deleting a user or a client bumps its counter
//!   ([`user_changed`], [`client_changed`]); so the next check anywhere sees a marker or a
//!   counter it did not cache, and reads the database;
//! - the epoch is a random value that the first instance to find it missing writes: a store
//!   that lost its data (Redis restarted without persistence) has a new epoch, so nothing
//!   cached before the loss is trusted, and the database, which keeps every revocation,
//!   answers again;
//! - with the ephemeral store unreachable, nothing is cached and every check reads the
//!   database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::model::{Client, User};
use crate::state::AppState;
use crate::store::ephemeral::EphemeralError;

/// How long an entry lives even when nothing changes (user claims may lag this much).
const ENTRY_TTL: Duration = Duration::from_secs(60);
/// How long a change counter lives; longer than any entry, so a counter that expires back
/// to "absent" can never match an entry read before the change.
const COUNTER_TTL: Duration = Duration::from_secs(3600);
const EPOCH_TTL: Duration = Duration::from_secs(24 * 3600);
const MAX_ENTRIES: usize = 100_000;
const EPOCH_KEY: &str = "access-cache-epoch";

/// What the ephemeral store said when a check began; an entry is good only while it says
/// the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    epoch: Vec<u8>,
    user_changes: Option<Vec<u8>>,
    client_changes: Option<Vec<u8>>,
}

/// What one round trip to the ephemeral store tells about a token's grant.
pub enum Seen {
    /// The grant's revocation marker is there.
    Revoked,
    /// Nothing revoked; entries stamped the same are current.
    Current(Stamp),
    /// The store could not tell (unreachable, or its epoch was just written).
    Unknown,
}

/// Entries of one kind by key, each good while its stamp holds and for at most
/// [`ENTRY_TTL`].
pub struct Cache<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
}

struct Entry<V> {
    stamp: Stamp,
    value: V,
    cached_at: Instant,
}

impl<V> Default for Cache<V> {
    fn default() -> Self {
        Cache { entries: Mutex::default() }
    }
}

impl<V: Clone> Cache<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<V>>> {
        // Entries are independent: one left behind by a panic is as good as any.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value cached under `key`, if its entry is young and stamped `stamp`.
    pub fn get(&self, key: &str, stamp: &Stamp) -> Option<V> {
        let entries = self.lock();
        let entry = entries.get(key)?;
        (entry.stamp == *stamp && entry.cached_at.elapsed() < ENTRY_TTL).then(|| entry.value.clone())
    }

    fn clear(&self) {
        self.lock().clear();
    }

    pub fn put(&self, key: &str, stamp: Stamp, value: V) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| entry.cached_at.elapsed() < ENTRY_TTL);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert(key.to_string(), Entry { stamp, value, cached_at: Instant::now() });
    }
}

/// The per-instance caches.
#[derive(Default)]
pub struct AccessCache {
    /// By grant id: the token's user (`None` for a client acting for itself), after its
    /// grant, client and user were found current.
    pub grants: Cache<Option<User>>,
    /// By client id: the client and its secret hash, for client authentication.
    pub clients: Cache<(Client, Option<String>)>,
}

impl AccessCache {
    /// Forgets everything this instance cached: when a change could not be told to the
    /// store, this instance at least does not serve what it knew before it.
    fn clear(&self) {
        self.grants.clear();
        self.clients.clear();
    }
}

/// Passes on the outcome of telling the store about a change, clearing this instance's
/// caches if the store could not be told.
fn told(state: &AppState, result: Result<(), EphemeralError>) -> Result<(), EphemeralError> {
    if result.is_err() {
        state.access_cache.clear();
    }
    result
}

fn revoked_key(grant_id: &str) -> String {
    format!("revoked-grant:{grant_id}")
}

fn user_key(user_id: &str) -> String {
    format!("user-changes:{user_id}")
}

fn client_key(client_id: &str) -> String {
    format!("client-changes:{client_id}")
}

/// The epoch, or `None` after writing a new one when the store had none (first start, or
/// data lost): then nothing read before can be trusted, nor stamped with the old epoch.
async fn epoch_or_renew(state: &AppState, epoch: Option<Vec<u8>>) -> Option<Vec<u8>> {
    if epoch.is_none() {
        let fresh = super::random_token(16);
        let _ = state.ephemeral.put_if_absent(EPOCH_KEY, fresh.as_bytes(), EPOCH_TTL).await;
    }
    epoch
}

/// The stamp for client `client_id`, or `None` when the store cannot tell.
pub async fn client_stamp(state: &AppState, client_id: &str) -> Option<Stamp> {
    let keys = [EPOCH_KEY.to_string(), client_key(client_id)];
    let mut values = state.ephemeral.get_many(&keys).await.ok()?;
    let client_changes = values.pop().flatten();
    let epoch = epoch_or_renew(state, values.pop().flatten()).await?;
    Some(Stamp { epoch, user_changes: None, client_changes })
}

/// Reads what the ephemeral store says about `grant_id` and its user and client.
pub async fn look(state: &AppState, grant_id: &str, user_id: Option<&str>, client_id: &str) -> Seen {
    // A client acting for itself has no user: its token reads no user counter.
    let mut keys = vec![EPOCH_KEY.to_string(), revoked_key(grant_id), client_key(client_id)];
    keys.extend(user_id.map(user_key));
    let Ok(values) = state.ephemeral.get_many(&keys).await else { return Seen::Unknown };
    let mut values = values.into_iter();
    let mut next = || values.next().flatten();
    let (epoch, revoked, client_changes, user_changes) = (next(), next(), next(), next());
    if revoked.is_some() {
        return Seen::Revoked;
    }
    let Some(epoch) = epoch_or_renew(state, epoch).await else { return Seen::Unknown };
    Seen::Current(Stamp { epoch, user_changes, client_changes })
}

/// Tells every instance that `grant_id` was revoked; called after the durable record is
/// written, and kept as long as an access token of the grant can live.
pub async fn grant_revoked(state: &AppState, grant_id: &str) -> Result<(), EphemeralError> {
    let ttl = Duration::from_secs(state.settings.tokens.access_token_ttl_secs) + ENTRY_TTL;
    told(state, state.ephemeral.put(&revoked_key(grant_id), b"1", ttl).await)
}

/// Tells every instance to re-read user `user_id` (changed, disabled or deleted).
pub async fn user_changed(state: &AppState, user_id: &str) -> Result<(), EphemeralError> {
    told(state, state.ephemeral.increment(&user_key(user_id), COUNTER_TTL).await.map(drop))
}

/// Tells every instance to re-read client `client_id` (changed, disabled, deleted, or
/// given a new secret).
pub async fn client_changed(state: &AppState, client_id: &str) -> Result<(), EphemeralError> {
    told(state, state.ephemeral.increment(&client_key(client_id), COUNTER_TTL).await.map(drop))
}
