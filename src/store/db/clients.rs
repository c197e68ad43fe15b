//! Queries on the `clients` table.

use anyhow::Context;
use sea_orm::{EntityTrait, QueryOrder, Set};

use super::entities::clients;
use super::{Db, WriteError, insert_error};
use crate::domain::model::{Client, ClientKeys, ClientPolicy, GrantType, ScopeSet, UnixTime};

fn to_domain(model: clients::Model) -> anyhow::Result<Client> {
    let list = |json: &str| serde_json::from_str::<Vec<String>>(json).context("malformed URI list in clients table");
    Ok(Client {
        redirect_uris: list(&model.redirect_uris)?,
        post_logout_redirect_uris: list(&model.post_logout_redirect_uris)?,
        allowed_scopes: ScopeSet::from_stored(&model.allowed_scopes),
        allowed_grants: model.allowed_grants.split(' ').filter_map(GrantType::from_name).collect(),
        id: model.id,
        name: model.name,
        public: model.public,
        first_party: model.first_party,
        require_pkce: model.require_pkce,
        require_par: model.require_par,
        keys: match (model.jwks, model.jwks_uri) {
            (Some(jwks), _) => Some(ClientKeys::Jwks(jwks)),
            (None, Some(uri)) => Some(ClientKeys::JwksUri(uri)),
            (None, None) => None,
        },
        dynamic: model.dynamic,
        backchannel_logout_uri: model.backchannel_logout_uri,
        logo_uri: model.logo_uri,
        enabled: model.enabled,
        created_at: model.created_at,
        policy: ClientPolicy {
            allowed_groups: model
                .allowed_groups
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .context("malformed allowed_groups")?,
            released_groups: model
                .released_groups
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .context("malformed released_groups")?,
            claim_mappings: serde_json::from_str(&model.claim_mappings).context("malformed claim_mappings")?,
            require_mfa: model.require_mfa,
            upstream_only: model.upstream_only,
        },
    })
}

fn jwks(client: &Client) -> Option<String> {
    match &client.keys {
        Some(ClientKeys::Jwks(jwks)) => Some(jwks.clone()),
        _ => None,
    }
}

fn jwks_uri(client: &Client) -> Option<String> {
    match &client.keys {
        Some(ClientKeys::JwksUri(uri)) => Some(uri.clone()),
        _ => None,
    }
}

pub async fn insert(db: &Db, client: &Client, secret_hash: Option<&str>) -> Result<(), WriteError> {
    let json = |list: &Vec<String>| serde_json::to_string(list).context("cannot encode URI list");
    let model = clients::ActiveModel {
        id: Set(client.id.clone()),
        name: Set(client.name.clone()),
        secret_hash: Set(secret_hash.map(str::to_string)),
        public: Set(client.public),
        first_party: Set(client.first_party),
        require_pkce: Set(client.require_pkce),
        require_par: Set(client.require_par),
        jwks: Set(jwks(client)),
        jwks_uri: Set(jwks_uri(client)),
        dynamic: Set(client.dynamic),
        registration_token_hash: Set(None),
        redirect_uris: Set(json(&client.redirect_uris)?),
        post_logout_redirect_uris: Set(json(&client.post_logout_redirect_uris)?),
        backchannel_logout_uri: Set(client.backchannel_logout_uri.clone()),
        logo_uri: Set(client.logo_uri.clone()),
        allowed_scopes: Set(client.allowed_scopes.to_string()),
        allowed_grants: Set(client.allowed_grants.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" ")),
        enabled: Set(client.enabled),
        allowed_groups: Set(None),
        released_groups: Set(None),
        claim_mappings: Set("[]".into()),
        require_mfa: Set(false),
        upstream_only: Set(false),
        created_at: Set(client.created_at),
        updated_at: Set(client.created_at),
    };
    clients::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| insert_error(e, "cannot insert client"))?;
    Ok(())
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<Client>> {
    let models =
        clients::Entity::find().order_by_asc(clients::Column::Id).all(db).await.context("cannot list clients")?;
    models.into_iter().map(to_domain).collect()
}

/// A client and its secret hash.
pub async fn find(db: &Db, id: &str) -> anyhow::Result<Option<(Client, Option<String>)>> {
    let Some(model) = clients::Entity::find_by_id(id.to_string()).one(db).await.context("cannot look up client")?
    else {
        return Ok(None);
    };
    let hash = model.secret_hash.clone();
    Ok(Some((to_domain(model)?, hash)))
}

/// Replaces a client's settings (not its id or secret); `false` when no such client.
pub async fn update(db: &Db, client: &Client, at: UnixTime) -> anyhow::Result<bool> {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    let Some(model) = clients::Entity::find_by_id(client.id.clone()).one(db).await.context("cannot look up client")?
    else {
        return Ok(false);
    };
    let json = |list: &Vec<String>| serde_json::to_string(list).context("cannot encode URI list");
    let mut active = model.into_active_model();
    active.name = Set(client.name.clone());
    active.first_party = Set(client.first_party);
    active.require_pkce = Set(client.require_pkce);
    active.require_par = Set(client.require_par);
    active.jwks = Set(jwks(client));
    active.jwks_uri = Set(jwks_uri(client));
    active.redirect_uris = Set(json(&client.redirect_uris)?);
    active.post_logout_redirect_uris = Set(json(&client.post_logout_redirect_uris)?);
    active.backchannel_logout_uri = Set(client.backchannel_logout_uri.clone());
    active.logo_uri = Set(client.logo_uri.clone());
    active.allowed_scopes = Set(client.allowed_scopes.to_string());
    active.allowed_grants = Set(client.allowed_grants.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" "));
    active.enabled = Set(client.enabled);
    active.updated_at = Set(at);
    active.update(db).await.context("cannot update client")?;
    Ok(true)
}

/// Stores a client's group and claim policy; `false` when no such client.
pub async fn set_policy(db: &Db, id: &str, policy: &ClientPolicy, at: UnixTime) -> anyhow::Result<bool> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let list = |list: &Option<Vec<String>>| list.as_ref().map(serde_json::to_string).transpose();
    let updated = clients::Entity::update_many()
        .col_expr(clients::Column::AllowedGroups, Expr::value(list(&policy.allowed_groups)?))
        .col_expr(clients::Column::ReleasedGroups, Expr::value(list(&policy.released_groups)?))
        .col_expr(clients::Column::ClaimMappings, Expr::value(serde_json::to_string(&policy.claim_mappings)?))
        .col_expr(clients::Column::RequireMfa, Expr::value(policy.require_mfa))
        .col_expr(clients::Column::UpstreamOnly, Expr::value(policy.upstream_only))
        .col_expr(clients::Column::UpdatedAt, Expr::value(at))
        .filter(clients::Column::Id.eq(id))
        .exec(db)
        .await
        .context("cannot update client policy")?;
    Ok(updated.rows_affected == 1)
}

pub async fn set_registration_token_hash(db: &Db, id: &str, token_hash: &str) -> anyhow::Result<bool> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let result = clients::Entity::update_many()
        .col_expr(clients::Column::RegistrationTokenHash, sea_orm::sea_query::Expr::value(token_hash))
        .filter(clients::Column::Id.eq(id))
        .exec(db)
        .await
        .context("cannot store the registration access token")?;
    Ok(result.rows_affected == 1)
}

/// A self-registered client and the hash of its registration access token.
pub async fn find_registered(db: &Db, id: &str) -> anyhow::Result<Option<(Client, String)>> {
    let Some(model) = clients::Entity::find_by_id(id.to_string()).one(db).await.context("cannot look up client")?
    else {
        return Ok(None);
    };
    let Some(hash) = model.registration_token_hash.clone() else { return Ok(None) };
    Ok(Some((to_domain(model)?, hash)))
}

pub async fn set_secret_hash(db: &Db, id: &str, secret_hash: &str) -> anyhow::Result<bool> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let result = clients::Entity::update_many()
        .col_expr(clients::Column::SecretHash, sea_orm::sea_query::Expr::value(secret_hash))
        .filter(clients::Column::Id.eq(id))
        .exec(db)
        .await
        .context("cannot store client secret")?;
    Ok(result.rows_affected == 1)
}

/// Deletes a client with its refresh-token families and consents, in one transaction, so
/// a later client registered under the same id inherits nothing.
pub async fn delete_with_dependents(db: &Db, id: &str) -> anyhow::Result<bool> {
    use sea_orm::{ColumnTrait, QueryFilter, TransactionTrait};

    use super::entities::consents;
    use super::refresh_tokens::{FamiliesOf, delete_families};
    let txn = db.begin().await.context("cannot start transaction")?;
    delete_families(&txn, FamiliesOf::Client(id)).await?;
    consents::Entity::delete_many()
        .filter(consents::Column::ClientId.eq(id))
        .exec(&txn)
        .await
        .context("cannot delete consents")?;
    let deleted = clients::Entity::delete_by_id(id.to_string()).exec(&txn).await.context("cannot delete client")?;
    txn.commit().await.context("cannot commit")?;
    Ok(deleted.rows_affected == 1)
}
