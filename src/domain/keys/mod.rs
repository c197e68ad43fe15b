//! Signing keys: the keyring every instance holds in memory, its rotation schedule, and
//! the JWKS it publishes. The database is the source of truth (private halves sealed under
//! the master key); each instance re-reads it every `keys.refresh_interval_secs`.
//!
//! A key's life, all derived from `activates_at` and the order of keys, never stored:
//! - **next**: published, not yet signing (`now < activates_at`), so relying parties
//!   that cache the JWKS learn it before they see a token signed with it;
//! - **active**: the newest key whose `activates_at` has passed; signs everything;
//! - **previous**: superseded, still published until every token it signed has expired;
//! - **retired**: no longer published.

mod master_key;
mod signing_key;

use std::sync::{Arc, RwLock};

pub use master_key::MasterKey;
pub use signing_key::{GeneratedKey, PublicJwk, SigningKey, generate, thumbprint};

use crate::config::Settings;
use crate::domain::audit::{self, Actor, AdminAction};
pub use crate::domain::model::SealedKey;
use crate::domain::{UnixTime, sha256_b64};
use crate::state::AppState;
use crate::store::db::{self, Db, WriteError};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing keys exist in the database but the master key {} is missing: restore it, or set LATCHKEY_KEYS__MASTER_KEY", .0.display())]
    MissingMasterKey(std::path::PathBuf),
    #[error("{0}: the master key must be base64 of 32 bytes")]
    MalformedMasterKey(String),
    #[error("the master key does not decrypt signing key {0}: it is not the master key these keys were sealed with")]
    WrongMasterKey(String),
    #[error("no signing key is active")]
    NoSigningKey,
    #[error("no signing key {0} (or it is revoked already)")]
    UnknownKey(String),
    #[error("signing key {0}: its stored public key or kid does not match its private key; refusing to use it")]
    Mismatched(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Active,
    Previous,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Previous => "previous",
            KeyState::Retired => "retired",
        }
    }

    pub fn is_published(self) -> bool {
        self != KeyState::Retired
    }
}

/// What `keys list` and the admin pages show of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub generation: i64,
    pub bits: usize,
    pub created_at: UnixTime,
    pub activates_at: UnixTime,
    pub state: KeyState,
}

/// The rotation rules, from configuration.
#[derive(Debug, Clone, Copy)]
struct Policy {
    bits: usize,
    rotation_period: i64,
    publish_lead: i64,
    /// How long a superseded key stays published: the longest token lifetime plus skew.
    retention: i64,
}

/// The JWKS document, serialized once per key-set change, with its ETag.
#[derive(Debug)]
pub struct Jwks {
    pub body: Vec<u8>,
    pub etag: String,
}

/// An immutable snapshot of the keys; replaced whole when anything changes.
#[derive(Debug)]
pub struct KeySet {
    /// Sorted by (activates_at, generation): the order in which keys take over. Revoked
    /// keys are not here: they neither sign, nor verify, nor are published.
    keys: Vec<Arc<SigningKey>>,
    states: Vec<KeyState>,
    /// The generation a new key takes: past every key ever stored, revoked ones included.
    next_generation: i64,
    pub jwks: Jwks,
}

/// Each key's state at `now`. `keys` must be in take-over order.
fn states_at(activations: &[UnixTime], now: UnixTime, retention: i64) -> Vec<KeyState> {
    let active = activations.iter().rposition(|&at| at <= now);
    activations
        .iter()
        .enumerate()
        .map(|(i, _)| match active {
            Some(active) if i == active => KeyState::Active,
            Some(active) if i < active => {
                // Superseded when its successor took over.
                let superseded_at = activations[i + 1];
                if now < superseded_at + retention { KeyState::Previous } else { KeyState::Retired }
            }
            _ => KeyState::Next,
        })
        .collect()
}

impl KeySet {
    fn build(
        mut keys: Vec<Arc<SigningKey>>,
        next_generation: i64,
        now: UnixTime,
        retention: i64,
    ) -> Result<KeySet, KeyError> {
        keys.sort_by_key(|key| (key.activates_at, key.generation));
        let activations: Vec<UnixTime> = keys.iter().map(|key| key.activates_at).collect();
        let states = states_at(&activations, now, retention);
        // Newest first: a verifier that scans the list meets the active key early.
        let published: Vec<PublicJwk<'_>> = keys
            .iter()
            .zip(&states)
            .rev()
            .filter(|(_, state)| state.is_published())
            .map(|(key, _)| key.public_jwk())
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "keys": published })).map_err(anyhow::Error::from)?;
        let etag = format!("\"{}\"", &sha256_b64(&body)[..22]);
        Ok(KeySet { keys, states, next_generation, jwks: Jwks { body, etag } })
    }

    fn find(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// The key that signs at `now`: the newest whose activation time has passed.
    fn signing_key(&self, now: UnixTime) -> Option<&Arc<SigningKey>> {
        self.keys.iter().rev().find(|key| key.activates_at <= now)
    }
}

/// The in-memory key set of one instance.
pub struct Keyring {
    master: MasterKey,
    policy: Policy,
    current: RwLock<Arc<KeySet>>,
}

impl Keyring {
    /// Loads every key, proving the master key opens them, and makes sure a key is active
    /// (the very first start generates one).
    pub async fn open(db: &Db, settings: &Settings, now: UnixTime) -> Result<Keyring, KeyError> {
        let stored = db::signing_keys::list(db).await?;
        let master = MasterKey::load_or_create(&settings.keys, !stored.is_empty())?;
        let policy = Policy {
            bits: settings.keys.rsa_bits,
            rotation_period: settings.keys.rotation_period_secs as i64,
            publish_lead: settings.keys.publish_lead_secs as i64,
            retention: settings.key_retention_secs() as i64,
        };
        let empty = KeySet::build(Vec::new(), 1, now, policy.retention)?;
        let keyring = Keyring { master, policy, current: RwLock::new(Arc::new(empty)) };
        keyring.load(stored, now)?;
        keyring.refresh(db, now).await?;
        Ok(keyring)
    }

    /// Seals a secret that is not a signing key (a TOTP secret) under the master key,
    /// bound to `label` (the same label opens it).
    pub fn seal_secret(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.master.seal(label, plaintext)
    }

    pub fn open_secret(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.master.open(label, sealed)
    }

    /// The current snapshot: cheap (an `Arc` clone), never blocks on key generation.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Re-reads the keys from the database and, when the active key is due, generates
    /// its successor. Every instance calls this periodically; the unique generation
    /// number lets only one of them add the successor.
    pub async fn refresh(&self, db: &Db, now: UnixTime) -> Result<(), KeyError> {
        let set = self.snapshot();
        let due = match set.keys.last() {
            None => Some(now),
            Some(newest)
                if newest.activates_at <= now
                    && now >= newest.activates_at + self.policy.rotation_period - self.policy.publish_lead =>
            {
                Some(now + self.policy.publish_lead)
            }
            _ => None,
        };
        if let Some(activates_at) = due
            && let Some(kid) = self.create(db, set.next_generation, activates_at, now).await?
        {
            tracing::info!(%kid, activates_at, "generated the next signing key");
        }
        self.load(db::signing_keys::list(db).await?, now)
    }

    /// Adds a new key that is published now and signs from `now + keys.publish_lead_secs`.
    pub async fn rotate(&self, db: &Db, now: UnixTime) -> Result<KeyInfo, KeyError> {
        self.add_key(db, now + self.policy.publish_lead, now).await
    }

    /// Adds a key that signs from `activates_at`, retrying when another instance takes the
    /// generation first.
    async fn add_key(&self, db: &Db, activates_at: UnixTime, now: UnixTime) -> Result<KeyInfo, KeyError> {
        for _ in 0..3 {
            self.load(db::signing_keys::list(db).await?, now)?;
            let generation = self.snapshot().next_generation;
            if let Some(kid) = self.create(db, generation, activates_at, now).await? {
                self.load(db::signing_keys::list(db).await?, now)?;
                return self.describe(now).into_iter().find(|info| info.kid == kid).ok_or(KeyError::NoSigningKey);
            }
        }
        Err(KeyError::Unexpected(anyhow::anyhow!("another instance kept rotating at the same time; try again")))
    }

    /// Revokes a key at once, for a suspected compromise: it leaves the JWKS, tokens it
    /// signed are refused, and when it was the signing key a fresh key signs from now on
    /// (returned). Other instances follow within `keys.refresh_interval_secs`.
    pub async fn revoke(&self, db: &Db, kid: &str, now: UnixTime) -> Result<Option<KeyInfo>, KeyError> {
        self.load(db::signing_keys::list(db).await?, now)?;
        let was_signing = self.signing_key(now).is_ok_and(|key| key.kid == kid);
        if !db::signing_keys::revoke(db, kid, now).await? {
            return Err(KeyError::UnknownKey(kid.to_string()));
        }
        self.load(db::signing_keys::list(db).await?, now)?;
        if was_signing || self.signing_key(now).is_err() {
            return Ok(Some(self.add_key(db, now, now).await?));
        }
        Ok(None)
    }

    /// Generates, seals and stores a key of `generation`; `None` if another instance stored
    /// that generation first.
    async fn create(
        &self,
        db: &Db,
        generation: i64,
        activates_at: UnixTime,
        now: UnixTime,
    ) -> Result<Option<String>, KeyError> {
        let bits = self.policy.bits;
        let generated = tokio::task::spawn_blocking(move || signing_key::generate(bits))
            .await
            .map_err(|e| KeyError::Unexpected(anyhow::anyhow!("key generation task failed: {e}")))??;
        let sealed = SealedKey {
            sealed_private_key: self.master.seal(&generated.kid, &generated.pkcs8.0)?,
            kid: generated.kid.clone(),
            generation,
            bits,
            n: generated.n,
            e: generated.e,
            created_at: now,
            activates_at,
            revoked_at: None,
        };
        match db::signing_keys::insert(db, &sealed).await {
            Ok(()) => Ok(Some(generated.kid)),
            Err(WriteError::Duplicate) => Ok(None),
            Err(WriteError::Unexpected(error)) => Err(KeyError::Unexpected(error)),
        }
    }

    /// Replaces the snapshot with `stored`, reusing keys already parsed and unsealing new
    /// ones; revoked keys are left out.
    fn load(&self, stored: Vec<SealedKey>, now: UnixTime) -> Result<(), KeyError> {
        let previous = self.snapshot();
        let next_generation = stored.iter().map(|key| key.generation).max().unwrap_or(0) + 1;
        let mut keys = Vec::with_capacity(stored.len());
        for sealed in stored.into_iter().filter(|key| key.revoked_at.is_none()) {
            match previous.find(&sealed.kid) {
                Some(key) => keys.push(key.clone()),
                None => keys.push(Arc::new(self.unseal(sealed)?)),
            }
        }
        let set = Arc::new(KeySet::build(keys, next_generation, now, self.policy.retention)?);
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = set;
        Ok(())
    }

    fn unseal(&self, sealed: SealedKey) -> Result<SigningKey, KeyError> {
        let pkcs8 = self.master.open(&sealed.kid, &sealed.sealed_private_key)?;
        SigningKey::new(sealed, &pkcs8)
    }

    /// A MAC key for `purpose` (CSRF tokens), derived from the master key.
    pub fn derive_mac_key(&self, purpose: &str) -> aws_lc_rs::hmac::Key {
        self.master.derive_mac_key(purpose)
    }

    /// The key that signs at `now`.
    pub fn signing_key(&self, now: UnixTime) -> Result<Arc<SigningKey>, KeyError> {
        self.snapshot().signing_key(now).cloned().ok_or(KeyError::NoSigningKey)
    }

    /// A published key by `kid`, for verifying tokens this server issued.
    pub fn verification_key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let set = self.snapshot();
        set.keys
            .iter()
            .zip(&set.states)
            .find(|(key, state)| key.kid == kid && state.is_published())
            .map(|(key, _)| key.clone())
    }

    /// Every key with its state at `now`, newest first.
    pub fn describe(&self, now: UnixTime) -> Vec<KeyInfo> {
        let set = self.snapshot();
        let activations: Vec<UnixTime> = set.keys.iter().map(|key| key.activates_at).collect();
        let states = states_at(&activations, now, self.policy.retention);
        set.keys
            .iter()
            .zip(states)
            .rev()
            .map(|(key, state)| KeyInfo {
                kid: key.kid.clone(),
                generation: key.generation,
                bits: key.bits,
                created_at: key.created_at,
                activates_at: key.activates_at,
                state,
            })
            .collect()
    }
}

/// Stores `key` (made elsewhere, e.g. once for a whole test run) as the first signing key,
/// active from `now` and sealed under the master key, which is created when missing.
/// Returns `false`, changing nothing, when the database holds keys already.
pub async fn install_first_key(
    db: &Db,
    settings: &Settings,
    key: &GeneratedKey,
    now: UnixTime,
) -> Result<bool, KeyError> {
    if !db::signing_keys::list(db).await?.is_empty() {
        return Ok(false);
    }
    let master = MasterKey::load_or_create(&settings.keys, false)?;
    let sealed = SealedKey {
        sealed_private_key: master.seal(&key.kid, &key.pkcs8.0)?,
        kid: key.kid.clone(),
        generation: 1,
        bits: settings.keys.rsa_bits,
        n: key.n.clone(),
        e: key.e.clone(),
        created_at: now,
        activates_at: now,
        revoked_at: None,
    };
    match db::signing_keys::insert(db, &sealed).await {
        Ok(()) => Ok(true),
        Err(WriteError::Duplicate) => Ok(false),
        Err(WriteError::Unexpected(error)) => Err(KeyError::Unexpected(error)),
    }
}

/// Revokes a signing key at once (an admin's or the operator's action, for a suspected
/// compromise); returns the fresh key that signs instead, when one was needed.
pub async fn revoke(state: &AppState, actor: &Actor, kid: &str, now: UnixTime) -> Result<Option<KeyInfo>, KeyError> {
    let fresh = state.keyring.revoke(&state.db, kid, now).await?;
    let mut event = audit::AuditEvent::new(audit::AuditKind::Admin(AdminAction::RevokeKey), now).by(actor);
    event = event.details(serde_json::json!({ "kid": kid, "new_kid": fresh.as_ref().map(|key| &key.kid) }));
    audit::record(&state.db, event).await;
    Ok(fresh)
}

/// Rotates now (an admin's or the operator's action): adds a key that is published at once
/// and signs after `keys.publish_lead_secs`.
pub async fn rotate(state: &AppState, actor: &Actor, now: UnixTime) -> Result<KeyInfo, KeyError> {
    let key = state.keyring.rotate(&state.db, now).await?;
    audit::record_admin(&state.db, actor, AdminAction::RotateKeys, None, None, now).await;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::KeyState::*;
    use super::states_at;

    #[test]
    fn a_single_key_is_active_from_its_activation() {
        assert_eq!(states_at(&[100], 100, 10), vec![Active]);
        assert_eq!(states_at(&[100], 99, 10), vec![Next]);
    }

    #[test]
    fn the_next_key_is_published_before_it_signs() {
        assert_eq!(states_at(&[0, 100], 50, 10), vec![Active, Next]);
    }

    #[test]
    fn a_superseded_key_stays_published_for_the_retention_time() {
        assert_eq!(states_at(&[0, 100], 100, 10), vec![Previous, Active]);
        assert_eq!(states_at(&[0, 100], 109, 10), vec![Previous, Active]);
        assert_eq!(states_at(&[0, 100], 110, 10), vec![Retired, Active]);
    }

    #[test]
    fn retention_counts_from_when_the_successor_took_over() {
        assert_eq!(states_at(&[0, 100, 200], 205, 10), vec![Retired, Previous, Active]);
    }
}
