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
        })
        .collect())
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
    };
    signing_keys::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| insert_error(e, "cannot store signing key"))?;
    Ok(())
}
