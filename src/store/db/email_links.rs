//! Queries on `email_links`: single-use links, by the hash of their token.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::Db;
use super::entities::email_links;
use crate::domain::model::UnixTime;

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    pub purpose: String,
    pub user_id: String,
    pub email: String,
    pub request_id: Option<String>,
    pub expires_at: UnixTime,
}

pub async fn insert(db: &Db, token_hash: &str, link: &StoredLink, at: UnixTime) -> anyhow::Result<()> {
    let model = email_links::ActiveModel {
        token_hash: Set(token_hash.to_string()),
        purpose: Set(link.purpose.clone()),
        user_id: Set(link.user_id.clone()),
        email: Set(link.email.clone()),
        request_id: Set(link.request_id.clone()),
        created_at: Set(at),
        expires_at: Set(link.expires_at),
        used_at: Set(None),
    };
    email_links::Entity::insert(model).exec_without_returning(db).await.context("cannot store the link")?;
    Ok(())
}

/// The unused, unexpired link with this hash and purpose.
pub async fn find_live(db: &Db, token_hash: &str, purpose: &str, now: UnixTime) -> anyhow::Result<Option<StoredLink>> {
    let model = email_links::Entity::find_by_id(token_hash.to_string())
        .filter(email_links::Column::Purpose.eq(purpose))
        .filter(email_links::Column::UsedAt.is_null())
        .filter(email_links::Column::ExpiresAt.gt(now))
        .one(db)
        .await
        .context("cannot read the link")?;
    Ok(model.map(|m| StoredLink {
        purpose: m.purpose,
        user_id: m.user_id,
        email: m.email,
        request_id: m.request_id,
        expires_at: m.expires_at,
    }))
}

/// Marks the link used if it is live: `true` for exactly one caller (one conditional update).
pub async fn spend(db: &Db, token_hash: &str, purpose: &str, now: UnixTime) -> anyhow::Result<bool> {
    let updated = email_links::Entity::update_many()
        .col_expr(email_links::Column::UsedAt, Expr::value(now))
        .filter(email_links::Column::TokenHash.eq(token_hash))
        .filter(email_links::Column::Purpose.eq(purpose))
        .filter(email_links::Column::UsedAt.is_null())
        .filter(email_links::Column::ExpiresAt.gt(now))
        .exec(db)
        .await
        .context("cannot spend the link")?;
    Ok(updated.rows_affected == 1)
}

/// Ends every live link of `user_id` for `purpose` (a newer one replaces them).
pub async fn spend_all(db: &Db, user_id: &str, purpose: &str, now: UnixTime) -> anyhow::Result<()> {
    email_links::Entity::update_many()
        .col_expr(email_links::Column::UsedAt, Expr::value(now))
        .filter(email_links::Column::UserId.eq(user_id))
        .filter(email_links::Column::Purpose.eq(purpose))
        .filter(email_links::Column::UsedAt.is_null())
        .exec(db)
        .await
        .context("cannot end older links")?;
    Ok(())
}
