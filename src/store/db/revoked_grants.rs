//! Queries on `revoked_grants`: the durable list of ended grants, until their tokens expire.

use anyhow::Context;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::Db;
use super::entities::revoked_grants;
use crate::domain::model::UnixTime;

/// Records that `grant_id` has ended; recording it again changes nothing.
pub async fn insert(db: &Db, grant_id: &str, at: UnixTime, expires_at: UnixTime) -> anyhow::Result<()> {
    let model = revoked_grants::ActiveModel {
        grant_id: Set(grant_id.to_string()),
        revoked_at: Set(at),
        expires_at: Set(expires_at),
    };
    revoked_grants::Entity::insert(model)
        .on_conflict(OnConflict::column(revoked_grants::Column::GrantId).do_nothing().to_owned())
        .exec_without_returning(db)
        .await
        .context("cannot record a revoked grant")?;
    Ok(())
}

pub async fn contains(db: &Db, grant_id: &str) -> anyhow::Result<bool> {
    let found =
        revoked_grants::Entity::find_by_id(grant_id.to_string()).one(db).await.context("cannot read revoked grants")?;
    Ok(found.is_some())
}

/// Forgets revocations whose tokens have all expired.
pub async fn purge_expired(db: &Db, now: UnixTime) -> anyhow::Result<u64> {
    let result = revoked_grants::Entity::delete_many()
        .filter(revoked_grants::Column::ExpiresAt.lt(now))
        .exec(db)
        .await
        .context("cannot purge revoked grants")?;
    Ok(result.rows_affected)
}
