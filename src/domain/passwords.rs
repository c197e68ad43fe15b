//! Password hashing with argon2id. Hashing is CPU- and memory-heavy (~20 ms, 19 MiB at
//! the OWASP parameters), so it runs on a fixed set of threads, one per core, off the
//! async workers: a burst of sign-ins queues instead of starving them. The fixed threads
//! also bound memory: the allocator keeps a freed 19 MiB block in the arena of the thread
//! that freed it, so hashing on tokio's blocking pool (up to 512 threads) let a login
//! flood grow the process by one block per thread it touched. Here memory stays below
//! base + threads × m_cost.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, PasswordHasher as _, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::config::PasswordSettings;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    params: argon2::Params,
    /// The queue of the hashing threads; they stop when the last hasher is dropped.
    jobs: mpsc::Sender<Job>,
}

/// Starts `count` hashing threads that share one queue.
fn start_workers(count: usize) -> anyhow::Result<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..count {
        let receiver = receiver.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                loop {
                    let next = match receiver.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = next else { return };
                    // A panicking job answers nobody (its caller sees an error); the thread goes on.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            })
            .context("cannot start a password hashing thread")?;
    }
    Ok(sender)
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    Match,
    /// The password is right, but the hash was made with other parameters than the
    /// configured ones: store a fresh hash.
    MatchNeedsRehash,
}

impl PasswordHasher {
    pub fn new(settings: &PasswordSettings) -> anyhow::Result<PasswordHasher> {
        let params = argon2::Params::new(settings.memory_kib, settings.iterations, settings.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ok(PasswordHasher { params, jobs: start_workers(cores)? })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let password = password.clone();
        let argon2 = self.argon2();
        self.run(move || {
            argon2
                .hash_password(password.expose_secret().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
        })
        .await
    }

    /// Checks `password` against `stored`. With no stored hash (an unknown user, or one
    /// without a password) a dummy hash is still computed, so the answer takes as long
    /// either way and does not reveal whether the user exists.
    pub async fn verify(&self, password: &SecretString, stored: Option<String>) -> anyhow::Result<Verification> {
        let password = password.clone();
        let argon2 = self.argon2();
        let wanted = self.params.clone();
        self.run(move || {
            let Some(stored) = stored else {
                let _ = argon2.hash_password(password.expose_secret().as_bytes());
                return Ok(Verification::Mismatch);
            };
            let hash =
                PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
            if argon2.verify_password(password.expose_secret().as_bytes(), &hash).is_err() {
                return Ok(Verification::Mismatch);
            }
            let current = argon2::Params::try_from(&hash).ok();
            let same = current.is_some_and(|p| {
                p.m_cost() == wanted.m_cost() && p.t_cost() == wanted.t_cost() && p.p_cost() == wanted.p_cost()
            });
            let argon2id = hash.algorithm.as_str() == "argon2id";
            Ok(if same && argon2id { Verification::Match } else { Verification::MatchNeedsRehash })
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        self.jobs.send(job).map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
        answered.await.context("password hashing failed")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(memory_kib: u32) -> PasswordHasher {
        PasswordHasher::new(&PasswordSettings {
            memory_kib,
            iterations: 1,
            parallelism: 1,
            ..PasswordSettings::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = hasher(64);
        let hash = hasher.hash(&"correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(hasher.verify(&"correct horse".into(), Some(hash.clone())).await.unwrap(), Verification::Match);
        assert_eq!(hasher.verify(&"wrong".into(), Some(hash)).await.unwrap(), Verification::Mismatch);
        assert_eq!(hasher.verify(&"anything".into(), None).await.unwrap(), Verification::Mismatch);
    }

    #[tokio::test]
    async fn a_hash_with_old_parameters_asks_for_a_rehash() {
        let old = hasher(64).hash(&"pw".into()).await.unwrap();
        assert_eq!(hasher(128).verify(&"pw".into(), Some(old)).await.unwrap(), Verification::MatchNeedsRehash);
    }
}
