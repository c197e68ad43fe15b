//! Queries on the `passkeys` table. The credential (public key, counter, flags) is stored
//! as webauthn-rs's JSON.

use anyhow::Context;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};
use webauthn_rs::prelude::Passkey;

use super::entities::passkeys;
use super::{Db, WriteError, insert_error};
use crate::domain::model::{StoredPasskey, UnixTime};

fn to_domain(model: passkeys::Model) -> anyhow::Result<StoredPasskey> {
    let passkey: Passkey = serde_json::from_str(&model.credential).context("malformed passkey credential")?;
    Ok(StoredPasskey {
        id: model.id,
        user_id: model.user_id,
        credential_id: model.credential_id,
        name: model.name,
        passkey,
        created_at: model.created_at,
        last_used_at: model.last_used_at,
    })
}

/// Stores a new passkey; a duplicate when the credential id is registered already.
pub async fn insert(db: &Db, passkey: &StoredPasskey) -> Result<(), WriteError> {
    let model = passkeys::ActiveModel {
        id: Set(passkey.id.clone()),
        user_id: Set(passkey.user_id.clone()),
        credential_id: Set(passkey.credential_id.clone()),
        name: Set(passkey.name.clone()),
        credential: Set(serde_json::to_string(&passkey.passkey).context("cannot encode passkey")?),
        created_at: Set(passkey.created_at),
        last_used_at: Set(passkey.last_used_at),
    };
    passkeys::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| insert_error(e, "cannot store passkey"))?;
    Ok(())
}

pub async fn list_for_user(db: &Db, user_id: &str) -> anyhow::Result<Vec<StoredPasskey>> {
    let models = passkeys::Entity::find()
        .filter(passkeys::Column::UserId.eq(user_id))
        .order_by_asc(passkeys::Column::CreatedAt)
        .all(db)
        .await
        .context("cannot list passkeys")?;
    models.into_iter().map(to_domain).collect()
}

pub async fn find_by_credential_id(db: &Db, credential_id: &str) -> anyhow::Result<Option<StoredPasskey>> {
    let model = passkeys::Entity::find()
        .filter(passkeys::Column::CredentialId.eq(credential_id))
        .one(db)
        .await
        .context("cannot look up passkey")?;
    model.map(to_domain).transpose()
}

/// Saves the credential's new counter and flags after a successful sign-in.
pub async fn record_use(db: &Db, passkey: &StoredPasskey, at: UnixTime) -> anyhow::Result<()> {
    let Some(model) = passkeys::Entity::find_by_id(passkey.id.clone()).one(db).await.context("cannot read passkey")?
    else {
        return Ok(());
    };
    let mut active = model.into_active_model();
    active.credential = Set(serde_json::to_string(&passkey.passkey).context("cannot encode passkey")?);
    active.last_used_at = Set(Some(at));
    active.update(db).await.context("cannot update passkey")?;
    Ok(())
}

/// Renames a passkey of `user_id`; `false` when there is no such passkey.
pub async fn rename(db: &Db, user_id: &str, id: &str, name: &str) -> anyhow::Result<bool> {
    let result = passkeys::Entity::update_many()
        .col_expr(passkeys::Column::Name, sea_orm::sea_query::Expr::value(name))
        .filter(passkeys::Column::Id.eq(id))
        .filter(passkeys::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .context("cannot rename passkey")?;
    Ok(result.rows_affected == 1)
}

/// Deletes every passkey of `user_id`.
pub async fn delete_all_for_user(db: &Db, user_id: &str) -> anyhow::Result<u64> {
    let result = passkeys::Entity::delete_many()
        .filter(passkeys::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .context("cannot delete passkeys")?;
    Ok(result.rows_affected)
}

/// Deletes a passkey of `user_id`; `false` when there is no such passkey.
pub async fn delete(db: &Db, user_id: &str, id: &str) -> anyhow::Result<bool> {
    let result = passkeys::Entity::delete_many()
        .filter(passkeys::Column::Id.eq(id))
        .filter(passkeys::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .context("cannot delete passkey")?;
    Ok(result.rows_affected == 1)
}
