//! Queries on `api_resources`.

use anyhow::Context;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};

use super::entities::api_resources;
use super::{Db, WriteError, insert_error};
use crate::domain::model::{ApiResource, ScopeSet, UnixTime};

fn to_domain(model: api_resources::Model) -> ApiResource {
    ApiResource {
        scopes: ScopeSet::from_stored(&model.scopes),
        access_token_ttl_secs: model.access_token_ttl_secs.map(|ttl| ttl.max(0) as u64),
        identifier: model.identifier,
        name: model.name,
        require_dpop: model.require_dpop,
        created_at: model.created_at,
    }
}

pub async fn insert(db: &Db, api: &ApiResource) -> Result<(), WriteError> {
    let model = api_resources::ActiveModel {
        identifier: Set(api.identifier.clone()),
        name: Set(api.name.clone()),
        scopes: Set(api.scopes.to_string()),
        access_token_ttl_secs: Set(api.access_token_ttl_secs.map(|ttl| ttl as i64)),
        require_dpop: Set(api.require_dpop),
        created_at: Set(api.created_at),
        updated_at: Set(api.created_at),
    };
    api_resources::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| insert_error(e, "cannot insert API resource"))?;
    Ok(())
}

/// Replaces an API's settings (not its identifier); `false` when there is no such API.
pub async fn update(db: &Db, api: &ApiResource, at: UnixTime) -> anyhow::Result<bool> {
    let found = api_resources::Entity::find_by_id(api.identifier.clone()).one(db).await.context("cannot read API")?;
    let Some(model) = found else { return Ok(false) };
    let mut active = model.into_active_model();
    active.name = Set(api.name.clone());
    active.scopes = Set(api.scopes.to_string());
    active.access_token_ttl_secs = Set(api.access_token_ttl_secs.map(|ttl| ttl as i64));
    active.require_dpop = Set(api.require_dpop);
    active.updated_at = Set(at);
    active.update(db).await.context("cannot update API")?;
    Ok(true)
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<ApiResource>> {
    let models = api_resources::Entity::find()
        .order_by_asc(api_resources::Column::Identifier)
        .all(db)
        .await
        .context("cannot list APIs")?;
    Ok(models.into_iter().map(to_domain).collect())
}

pub async fn find(db: &Db, identifier: &str) -> anyhow::Result<Option<ApiResource>> {
    let model = api_resources::Entity::find_by_id(identifier.to_string()).one(db).await.context("cannot read API")?;
    Ok(model.map(to_domain))
}

/// The APIs with these identifiers (those that exist), in one query.
pub async fn find_many(db: &Db, identifiers: &[String]) -> anyhow::Result<Vec<ApiResource>> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let models = api_resources::Entity::find()
        .filter(api_resources::Column::Identifier.is_in(identifiers.iter().cloned()))
        .all(db)
        .await
        .context("cannot read APIs")?;
    Ok(models.into_iter().map(to_domain).collect())
}

pub async fn delete(db: &Db, identifier: &str) -> anyhow::Result<bool> {
    let deleted =
        api_resources::Entity::delete_by_id(identifier.to_string()).exec(db).await.context("cannot delete API")?;
    Ok(deleted.rows_affected == 1)
}
