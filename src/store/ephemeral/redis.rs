//! The Redis ephemeral store: shared by every instance. Every key carries the configured
//! prefix; values expire through Redis TTLs; `take` is GETDEL (Redis ≥ 6.2), atomic.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use secrecy::{ExposeSecret, SecretString};

use super::EphemeralError;

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
}

impl RedisStore {
    pub async fn connect(url: &SecretString, prefix: &str) -> Result<RedisStore, EphemeralError> {
        let client = redis::Client::open(url.expose_secret())?;
        // Short timeouts: with Redis gone, a request answers 503 within a couple of seconds
        // instead of hanging; the manager reconnects by itself when Redis is back.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisStore { connection, prefix: prefix.to_string() })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    pub async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), EphemeralError> {
        let mut connection = self.connection.clone();
        let millis = ttl.as_millis().max(1) as u64;
        let _: () =
            redis::cmd("SET").arg(self.key(key)).arg(value).arg("PX").arg(millis).query_async(&mut connection).await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        let mut connection = self.connection.clone();
        Ok(connection.get(self.key(key)).await?)
    }

    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, EphemeralError> {
        let mut connection = self.connection.clone();
        let keys: Vec<String> = keys.iter().map(|key| self.key(key)).collect();
        Ok(redis::cmd("MGET").arg(&keys).query_async(&mut connection).await?)
    }

    pub async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, EphemeralError> {
        let mut connection = self.connection.clone();
        let millis = ttl.as_millis().max(1) as u64;
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis)
            .arg("NX")
            .query_async(&mut connection)
            .await?;
        Ok(stored.is_some())
    }

    pub async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        let mut connection = self.connection.clone();
        Ok(connection.get_del(self.key(key)).await?)
    }

    pub async fn delete(&self, key: &str) -> Result<(), EphemeralError> {
        let mut connection = self.connection.clone();
        let _: () = connection.del(self.key(key)).await?;
        Ok(())
    }

    pub async fn increment(&self, key: &str, window: Duration) -> Result<u64, EphemeralError> {
        let mut connection = self.connection.clone();
        let key = self.key(key);
        let millis = window.as_millis().max(1) as u64;
        // INCR then PEXPIRE NX in one round trip: the window starts at the first increment.
        let (count, _): (u64, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1u64)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(millis)
            .arg("NX")
            .query_async(&mut connection)
            .await?;
        Ok(count)
    }

    pub async fn ping(&self) -> Result<(), EphemeralError> {
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(())
    }
}
