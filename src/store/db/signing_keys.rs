//! Queries on the `signing_keys` table.

use anyhow::Context;
use sea_orm::{EntityTrait, QueryOrder, Set};

use super::entities::signing_keys;
use super::{Db, WriteError, insert_error};
use crate::domain::model::SealedKey;

pub async fn list(db: &Db) -> anyhow::Result<Vec<SealedKey>> {
    let models = signing_keys::Entity::find()
        .order_by_asc(signing_keys::Column::Generation)
        .all(db)
        .await
        .context("cannot read signing keys")?;
    Ok(models
        .into_iter()
        .map(|model| SealedKey {
            kid: model.kid,
            generation: model.generation,
            bits: model.bits as usize,
            n: model.public_n,
            e: model.public_e,
            sealed_private_key: model.sealed_private_key,
            created_at: model.created_at,
            activates_at: model.activates_at,
            revoked_at: model.revoked_at,
        })
        .collect())
}

/// Marks a key revoked; `false` when there is no such key not revoked yet.
pub async fn revoke(db: &Db, kid: &str, at: i64) -> anyhow::Result<bool> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let result = signing_keys::Entity::update_many()
        .col_expr(signing_keys::Column::RevokedAt, sea_orm::sea_query::Expr::value(at))
        .filter(signing_keys::Column::Kid.eq(kid))
        .filter(signing_keys::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .context("cannot revoke signing key")?;
    Ok(result.rows_affected == 1)
}

/// Stores a key; a duplicate when its generation was taken by another instance meanwhile.
pub async fn insert(db: &Db, key: &SealedKey) -> Result<(), WriteError> {
    let model = signing_keys::ActiveModel {
        kid: Set(key.kid.clone()),
        generation: Set(key.generation),
        algorithm: Set("RS256".into()),
        bits: Set(key.bits as i32),
        public_n: Set(key.n.clone()),
        public_e: Set(key.e.clone()),
        sealed_private_key: Set(key.sealed_private_key.clone()),
        created_at: Set(key.created_at),
        activates_at: Set(key.activates_at),
        revoked_at: Set(key.revoked_at),
    };
    signing_keys::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| insert_error(e, "cannot store signing key"))?;
    Ok(())
}
