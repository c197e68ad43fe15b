//! Queries on `initial_access_tokens`, by the hash of the token.

use anyhow::Context;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::Db;
use super::entities::initial_access_tokens as tokens;
use crate::domain::model::UnixTime;

pub async fn insert(
    db: &Db,
    token_hash: &str,
    description: &str,
    uses: u64,
    at: UnixTime,
    expires_at: UnixTime,
) -> anyhow::Result<()> {
    let model = tokens::ActiveModel {
        token_hash: Set(token_hash.to_string()),
        description: Set(description.to_string()),
        uses_left: Set(uses as i64),
        created_at: Set(at),
        expires_at: Set(expires_at),
    };
    tokens::Entity::insert(model).exec_without_returning(db).await.context("cannot store the initial access token")?;
    Ok(())
}

/// Spends one use of a live token: `true` for exactly as many callers as it had uses (one
/// conditional update each).
pub async fn spend(db: &Db, token_hash: &str, now: UnixTime) -> anyhow::Result<bool> {
    let updated = tokens::Entity::update_many()
        .col_expr(tokens::Column::UsesLeft, Expr::col(tokens::Column::UsesLeft).sub(1))
        .filter(tokens::Column::TokenHash.eq(token_hash))
        .filter(tokens::Column::UsesLeft.gt(0))
        .filter(tokens::Column::ExpiresAt.gt(now))
        .exec(db)
        .await
        .context("cannot spend the initial access token")?;
    Ok(updated.rows_affected == 1)
}
