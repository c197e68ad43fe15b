//! Queries on the `consents` table: which scopes a user allowed a client.

use anyhow::Context;
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Set};

use super::Db;
use super::entities::consents;
use crate::domain::model::{ScopeSet, UnixTime};

/// The scopes `user_id` has allowed `client_id`, if any.
pub async fn find(db: &Db, user_id: &str, client_id: &str) -> anyhow::Result<Option<ScopeSet>> {
    let model = consents::Entity::find_by_id((user_id.to_string(), client_id.to_string()))
        .one(db)
        .await
        .context("cannot read consent")?;
    Ok(model.map(|m| ScopeSet::from_stored(&m.scope)))
}

/// Records (or replaces) the scopes `user_id` allows `client_id`.
pub async fn save(db: &Db, user_id: &str, client_id: &str, scopes: &ScopeSet, at: UnixTime) -> anyhow::Result<()> {
    let model = consents::ActiveModel {
        user_id: Set(user_id.to_string()),
        client_id: Set(client_id.to_string()),
        scope: Set(scopes.to_string()),
        granted_at: Set(at),
    };
    consents::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([consents::Column::UserId, consents::Column::ClientId])
                .update_columns([consents::Column::Scope, consents::Column::GrantedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .context("cannot save consent")?;
    Ok(())
}

/// Every client `user_id` has answered the consent page for: (client id, scopes, when).
pub async fn list_for_user(db: &Db, user_id: &str) -> anyhow::Result<Vec<(String, ScopeSet, UnixTime)>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let models = consents::Entity::find()
        .filter(consents::Column::UserId.eq(user_id))
        .all(db)
        .await
        .context("cannot read consents")?;
    Ok(models.into_iter().map(|m| (m.client_id, ScopeSet::from_stored(&m.scope), m.granted_at)).collect())
}

/// Forgets what `user_id` allowed `client_id`: the next sign-in asks again.
pub async fn delete(db: &Db, user_id: &str, client_id: &str) -> anyhow::Result<()> {
    consents::Entity::delete_by_id((user_id.to_string(), client_id.to_string()))
        .exec(db)
        .await
        .context("cannot delete consent")?;
    Ok(())
}
