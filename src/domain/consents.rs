//! Consent: which scopes a user has allowed a client. Remembered per user and client, and
//! grown, never replaced, by each new answer.

use super::UnixTime;
use super::model::ScopeSet;
use crate::store::db::{self, Db};

/// The scopes `user_id` has allowed `client_id`, if they ever answered.
pub async fn granted(db: &Db, user_id: &str, client_id: &str) -> anyhow::Result<Option<ScopeSet>> {
    db::consents::find(db, user_id, client_id).await
}

/// Records that `user_id` allows `client_id` the `scopes`, on top of what they allowed before.
pub async fn allow(db: &Db, user_id: &str, client_id: &str, scopes: &ScopeSet, now: UnixTime) -> anyhow::Result<()> {
    let before = granted(db, user_id, client_id).await?.unwrap_or_default();
    db::consents::save(db, user_id, client_id, &before.union(scopes), now).await
}
