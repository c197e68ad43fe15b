//! Password hashing with argon2id. Hashing is CPU- and memory-heavy (~20 ms, 19 MiB at
//! the OWASP parameters), so it runs on a fixed set of threads, one per core, off the
//! async workers: a burst of sign-ins queues instead of starving them. Each thread keeps
//! one argon2 memory area while it has work and hashes in it, so a login flood adds
//! exactly threads × m_cost to the process; a quiet thread gives its area back. (Allocating the area per hash let the
//! allocator keep freed areas in its per-thread arenas: 718 MiB under a 32-connection
//! login flood on the blocking pool, 227 MiB on two fixed threads, 29 MiB + 2 × 19 MiB
//! with the areas kept.)

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::config::PasswordSettings;

/// A hashing thread's argon2 memory area, grown once to the configured size.
type Memory = Vec<argon2::Block>;
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    params: argon2::Params,
    /// The queue of the hashing threads; they stop when the last hasher is dropped.
    jobs: mpsc::Sender<Job>,
    /// Jobs sent and not yet started: the queue's depth, for `/metrics`.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
}

/// How long a hashing thread keeps its memory area without work. (The threads wait for
/// the queue in turn, so each lets go within this many seconds of its turn.)
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts `count` hashing threads that share one queue.
fn start_workers(count: usize) -> anyhow::Result<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..count {
        let receiver = receiver.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                let mut memory = Memory::new();
                loop {
                    let next = match receiver.lock() {
                        Ok(queue) => queue.recv_timeout(IDLE_RELEASE),
                        Err(_) => return,
                    };
                    match next {
                        // A panicking job answers nobody (its caller sees an error); the thread goes on.
                        Ok(job) => drop(std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)))),
                        // Quiet for a while: give the memory area back until the next sign-in.
                        Err(mpsc::RecvTimeoutError::Timeout) => memory = Memory::new(),
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
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
        Ok(PasswordHasher { params, jobs: start_workers(cores)?, waiting: Arc::default() })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let password = password.clone();
        let argon2 = self.argon2();
        let params = self.params.clone();
        self.run(move |memory| {
            let mut salt = [0u8; 16];
            aws_lc_rs::rand::fill(&mut salt).map_err(|_| anyhow::anyhow!("no randomness for a salt"))?;
            let mut output = [0u8; 32];
            hash_into(&argon2, memory, password.expose_secret().as_bytes(), &salt, &mut output)?;
            let hash = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
                salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?),
                hash: Some(Output::new(&output).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
            };
            Ok(hash.to_string())
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
        self.run(move |memory| {
            let password = password.expose_secret().as_bytes();
            let Some(stored) = stored else {
                hash_into(&argon2, memory, password, b"no user, same work", &mut [0u8; 32])?;
                return Ok(Verification::Mismatch);
            };
            let hash =
                PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
            let current = argon2::Params::try_from(&hash).ok();
            let same = current.is_some_and(|p| {
                p.m_cost() == wanted.m_cost() && p.t_cost() == wanted.t_cost() && p.p_cost() == wanted.p_cost()
            });
            let argon2id = hash.algorithm.as_str() == "argon2id" && hash.version == Some(Version::V0x13.into());
            if !(same && argon2id) {
                // Older parameters: the library's own check (it allocates), then a fresh hash.
                let matched = argon2.verify_password(password, &hash).is_ok();
                return Ok(if matched { Verification::MatchNeedsRehash } else { Verification::Mismatch });
            }
            let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
                anyhow::bail!("stored password hash has no salt or output");
            };
            let mut output = vec![0u8; expected.len()];
            hash_into(&argon2, memory, password, salt.as_ref(), &mut output)?;
            let matched = super::constant_time_eq(&output, expected.as_bytes());
            Ok(if matched { Verification::Match } else { Verification::Mismatch })
        })
        .await
    }

    /// Hashes waiting for a thread.
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        use std::sync::atomic::Ordering;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let waiting = self.waiting.clone();
        waiting.fetch_add(1, Ordering::Relaxed);
        let job: Job = Box::new(move |memory| {
            waiting.fetch_sub(1, Ordering::Relaxed);
            let _ = answer.send(work(memory));
        });
        self.jobs.send(job).map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
        answered.await.context("password hashing failed")?
    }
}

/// Hashes in the thread's memory area, growing it to the parameters' size the first time.
fn hash_into(
    argon2: &Argon2<'_>,
    memory: &mut Memory,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    let blocks = argon2.params().block_count();
    if memory.len() != blocks {
        memory.resize(blocks, argon2::Block::default());
        memory.shrink_to_fit();
    }
    argon2
        .hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
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
    async fn hashes_made_by_the_argon2_library_itself_still_verify() {
        use argon2::PasswordHasher as _;
        let hasher = hasher(64);
        let stored = hasher.argon2().hash_password(b"correct horse").unwrap().to_string();
        assert_eq!(hasher.verify(&"correct horse".into(), Some(stored.clone())).await.unwrap(), Verification::Match);
        assert_eq!(hasher.verify(&"wrong".into(), Some(stored)).await.unwrap(), Verification::Mismatch);
        let ours = hasher.hash(&"correct horse".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(hasher.argon2().verify_password(b"correct horse", &parsed).is_ok(), "the library reads ours");
    }

    #[tokio::test]
    async fn a_hash_with_old_parameters_asks_for_a_rehash() {
        let old = hasher(64).hash(&"pw".into()).await.unwrap();
        assert_eq!(hasher(128).verify(&"pw".into(), Some(old)).await.unwrap(), Verification::MatchNeedsRehash);
    }
}
