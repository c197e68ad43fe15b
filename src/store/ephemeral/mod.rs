//! The ephemeral store: short-lived values with a TTL (browser sessions, authorization
//! codes, WebAuthn ceremony state, rate-limit counters). Redis when configured, so that
//! several instances share them; otherwise a bounded in-process map.
//!
//! Exactly two backends, so a closed enum rather than a trait object.

mod memory;
mod redis;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use memory::{Clock, MemoryStore};
pub use redis::RedisStore;

use crate::config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum EphemeralError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("stored value is not valid: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// The in-process store holds `memory_store.max_entries` live values: new ones are
    /// refused rather than evicting any (a flood must not push out security state).
    #[error("the in-process store is full")]
    Full,
}

#[derive(Clone)]
pub enum EphemeralStore {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl EphemeralStore {
    /// Connects to Redis when `redis.url` is set (failing if it does not answer), else
    /// builds the in-process store.
    pub async fn connect(settings: &Settings) -> Result<EphemeralStore, EphemeralError> {
        Ok(match &settings.redis.url {
            Some(url) => EphemeralStore::Redis(RedisStore::connect(url, &settings.redis.key_prefix).await?),
            None => EphemeralStore::Memory(MemoryStore::new(settings.memory_store.max_entries)),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            EphemeralStore::Memory(_) => "memory",
            EphemeralStore::Redis(_) => "redis",
        }
    }

    /// Stores `value` under `key` for `ttl`, replacing any earlier value.
    pub async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), EphemeralError> {
        match self {
            EphemeralStore::Memory(store) => store.put(key, value, ttl),
            EphemeralStore::Redis(store) => store.put(key, value, ttl).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        match self {
            EphemeralStore::Memory(store) => Ok(store.get(key)),
            EphemeralStore::Redis(store) => store.get(key).await,
        }
    }

    /// Reads several keys in one round trip; a missing key reads as `None`.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, EphemeralError> {
        match self {
            EphemeralStore::Memory(store) => Ok(keys.iter().map(|key| store.get(key)).collect()),
            EphemeralStore::Redis(store) => store.get_many(keys).await,
        }
    }

    /// Stores `value` under `key` unless the key holds a value already; `true` when stored.
    pub async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, EphemeralError> {
        match self {
            EphemeralStore::Memory(store) => store.put_if_absent(key, value, ttl),
            EphemeralStore::Redis(store) => store.put_if_absent(key, value, ttl).await,
        }
    }

    /// Reads and removes `key` in one atomic step: of two concurrent takers, exactly one
    /// gets the value. This is what makes authorization codes and ceremonies single-use.
    pub async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        match self {
            EphemeralStore::Memory(store) => Ok(store.take(key)),
            EphemeralStore::Redis(store) => store.take(key).await,
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), EphemeralError> {
        match self {
            EphemeralStore::Memory(store) => {
                store.take(key);
                Ok(())
            }
            EphemeralStore::Redis(store) => store.delete(key).await,
        }
    }

    /// Adds one to the counter at `key` and returns the new count. The first increment
    /// starts the window: the counter expires `window` later (fixed-window rate limits).
    pub async fn increment(&self, key: &str, window: Duration) -> Result<u64, EphemeralError> {
        match self {
            EphemeralStore::Memory(store) => store.increment(key, window),
            EphemeralStore::Redis(store) => store.increment(key, window).await,
        }
    }

    /// Answers whether the backend is reachable (for `/healthz`).
    pub async fn ping(&self) -> Result<(), EphemeralError> {
        match self {
            EphemeralStore::Memory(_) => Ok(()),
            EphemeralStore::Redis(store) => store.ping().await,
        }
    }

    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) -> Result<(), EphemeralError> {
        self.put(key, &serde_json::to_vec(value)?, ttl).await
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, EphemeralError> {
        self.get(key).await?.map(|bytes| serde_json::from_slice(&bytes)).transpose().map_err(Into::into)
    }

    pub async fn take_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, EphemeralError> {
        self.take(key).await?.map(|bytes| serde_json::from_slice(&bytes)).transpose().map_err(Into::into)
    }
}
