//! Queries on `upstream_providers` and `upstream_links`.

use anyhow::Context;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};

use super::entities::{upstream_links, upstream_providers};
use super::{Db, WriteError, insert_error};
use crate::domain::model::UnixTime;
use crate::domain::model::upstream::{UpstreamKind, UpstreamLink, UpstreamProvider};

fn to_domain(model: upstream_providers::Model) -> anyhow::Result<UpstreamProvider> {
    Ok(UpstreamProvider {
        kind: UpstreamKind::parse(&model.kind).with_context(|| format!("unknown upstream kind {:?}", model.kind))?,
        scopes: model.scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        profile_claims: serde_json::from_str(&model.profile_claims).context("malformed profile_claims")?,
        group_map: serde_json::from_str(&model.group_map).context("malformed group_map")?,
        name: model.name,
        display_name: model.display_name,
        icon_url: model.icon_url,
        issuer: model.issuer,
        api_url: model.api_url,
        client_id: model.client_id,
        sealed_secret: model.sealed_secret,
        enabled: model.enabled,
        auto_create: model.auto_create,
        trust_email: model.trust_email,
        trust_mfa: model.trust_mfa,
        username_claim: model.username_claim,
        groups_claim: model.groups_claim,
        created_at: model.created_at,
        updated_at: model.updated_at,
    })
}

fn to_model(provider: &UpstreamProvider) -> anyhow::Result<upstream_providers::ActiveModel> {
    Ok(upstream_providers::ActiveModel {
        name: Set(provider.name.clone()),
        kind: Set(provider.kind.as_str().to_string()),
        display_name: Set(provider.display_name.clone()),
        icon_url: Set(provider.icon_url.clone()),
        issuer: Set(provider.issuer.clone()),
        api_url: Set(provider.api_url.clone()),
        client_id: Set(provider.client_id.clone()),
        sealed_secret: Set(provider.sealed_secret.clone()),
        scopes: Set(provider.scopes.join(" ")),
        enabled: Set(provider.enabled),
        auto_create: Set(provider.auto_create),
        trust_email: Set(provider.trust_email),
        trust_mfa: Set(provider.trust_mfa),
        username_claim: Set(provider.username_claim.clone()),
        profile_claims: Set(serde_json::to_string(&provider.profile_claims)?),
        groups_claim: Set(provider.groups_claim.clone()),
        group_map: Set(serde_json::to_string(&provider.group_map)?),
        created_at: Set(provider.created_at),
        updated_at: Set(provider.updated_at),
    })
}

pub async fn insert(db: &Db, provider: &UpstreamProvider) -> Result<(), WriteError> {
    upstream_providers::Entity::insert(to_model(provider)?)
        .exec_without_returning(db)
        .await
        .map_err(|e| insert_error(e, "cannot insert upstream provider"))?;
    Ok(())
}

/// Replaces a provider's settings (not its name); `false` when there is none.
pub async fn update(db: &Db, provider: &UpstreamProvider) -> anyhow::Result<bool> {
    let found =
        upstream_providers::Entity::find_by_id(provider.name.clone()).one(db).await.context("cannot read upstream")?;
    if found.is_none() {
        return Ok(false);
    }
    let mut active = to_model(provider)?;
    active.created_at = sea_orm::ActiveValue::NotSet;
    active.update(db).await.context("cannot update upstream")?;
    Ok(true)
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<UpstreamProvider>> {
    let models = upstream_providers::Entity::find()
        .order_by_asc(upstream_providers::Column::Name)
        .all(db)
        .await
        .context("cannot list upstream providers")?;
    models.into_iter().map(to_domain).collect()
}

pub async fn find(db: &Db, name: &str) -> anyhow::Result<Option<UpstreamProvider>> {
    let model =
        upstream_providers::Entity::find_by_id(name.to_string()).one(db).await.context("cannot read upstream")?;
    model.map(to_domain).transpose()
}

/// Deletes a provider and every link to it, in one transaction.
pub async fn delete(db: &Db, name: &str) -> anyhow::Result<bool> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.context("cannot start transaction")?;
    upstream_links::Entity::delete_many()
        .filter(upstream_links::Column::Upstream.eq(name))
        .exec(&txn)
        .await
        .context("cannot delete upstream links")?;
    let deleted = upstream_providers::Entity::delete_by_id(name.to_string())
        .exec(&txn)
        .await
        .context("cannot delete upstream")?;
    txn.commit().await.context("cannot commit")?;
    Ok(deleted.rows_affected == 1)
}

fn link_to_domain(model: upstream_links::Model) -> UpstreamLink {
    UpstreamLink {
        upstream: model.upstream,
        subject: model.subject,
        user_id: model.user_id,
        created_at: model.created_at,
        last_used_at: model.last_used_at,
    }
}

pub async fn find_link(db: &Db, upstream: &str, subject: &str) -> anyhow::Result<Option<UpstreamLink>> {
    let model = upstream_links::Entity::find_by_id((upstream.to_string(), subject.to_string()))
        .one(db)
        .await
        .context("cannot read upstream link")?;
    Ok(model.map(link_to_domain))
}

pub async fn links_of(db: &Db, user_id: &str) -> anyhow::Result<Vec<UpstreamLink>> {
    let models = upstream_links::Entity::find()
        .filter(upstream_links::Column::UserId.eq(user_id))
        .order_by_asc(upstream_links::Column::Upstream)
        .all(db)
        .await
        .context("cannot list upstream links")?;
    Ok(models.into_iter().map(link_to_domain).collect())
}

/// Links an upstream account to a user; `Duplicate` when that account is linked already.
pub async fn insert_link(db: &Db, link: &UpstreamLink) -> Result<(), WriteError> {
    let model = upstream_links::ActiveModel {
        upstream: Set(link.upstream.clone()),
        subject: Set(link.subject.clone()),
        user_id: Set(link.user_id.clone()),
        created_at: Set(link.created_at),
        last_used_at: Set(link.last_used_at),
    };
    upstream_links::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| insert_error(e, "cannot insert upstream link"))?;
    Ok(())
}

pub async fn touch_link(db: &Db, upstream: &str, subject: &str, at: UnixTime) -> anyhow::Result<()> {
    let found = upstream_links::Entity::find_by_id((upstream.to_string(), subject.to_string()))
        .one(db)
        .await
        .context("cannot read upstream link")?;
    if let Some(model) = found {
        let mut active = model.into_active_model();
        active.last_used_at = Set(Some(at));
        active.update(db).await.context("cannot update upstream link")?;
    }
    Ok(())
}

/// Removes a user's link to `upstream`; `false` when there was none.
pub async fn delete_link(db: &Db, user_id: &str, upstream: &str) -> anyhow::Result<bool> {
    let deleted = upstream_links::Entity::delete_many()
        .filter(upstream_links::Column::UserId.eq(user_id))
        .filter(upstream_links::Column::Upstream.eq(upstream))
        .exec(db)
        .await
        .context("cannot delete upstream link")?;
    Ok(deleted.rows_affected > 0)
}

/// Removes every link of a user (their deletion), inside the caller's transaction.
pub async fn delete_links_of<C: sea_orm::ConnectionTrait>(db: &C, user_id: &str) -> anyhow::Result<()> {
    upstream_links::Entity::delete_many()
        .filter(upstream_links::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .context("cannot delete upstream links")?;
    Ok(())
}
