//! Queries on refresh-token families and tokens. Tokens are stored as SHA-256 hashes.

use anyhow::Context;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, Iterable, QueryFilter, Set};

use super::Db;
use super::entities::{refresh_token_families as families, refresh_tokens as tokens, revoked_grants};
use crate::domain::model::{RefreshFamily, ScopeSet, UnixTime};

fn split(list: &str) -> Vec<String> {
    list.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn to_domain(model: families::Model) -> RefreshFamily {
    RefreshFamily {
        scope: ScopeSet::from_stored(&model.scope),
        amr: split(&model.amr),
        resources: split(&model.resources),
        dpop_jkt: model.dpop_jkt,
        id: model.id,
        user_id: model.user_id,
        client_id: model.client_id,
        session_id: model.session_id,
        auth_time: model.auth_time,
        created_at: model.created_at,
        expires_at: model.expires_at,
        revoked_at: model.revoked_at,
    }
}

pub async fn create_family(db: &Db, family: &RefreshFamily) -> anyhow::Result<()> {
    let model = families::ActiveModel {
        id: Set(family.id.clone()),
        user_id: Set(family.user_id.clone()),
        client_id: Set(family.client_id.clone()),
        session_id: Set(family.session_id.clone()),
        scope: Set(family.scope.to_string()),
        amr: Set(family.amr.join(" ")),
        auth_time: Set(family.auth_time),
        created_at: Set(family.created_at),
        expires_at: Set(family.expires_at),
        revoked_at: Set(None),
        resources: Set(family.resources.join(" ")),
        dpop_jkt: Set(family.dpop_jkt.clone()),
    };
    families::Entity::insert(model).exec_without_returning(db).await.context("cannot create refresh-token family")?;
    Ok(())
}

pub async fn insert_token(db: &Db, token_hash: &str, family_id: &str, at: UnixTime) -> anyhow::Result<()> {
    let model = tokens::ActiveModel {
        token_hash: Set(token_hash.to_string()),
        family_id: Set(family_id.to_string()),
        created_at: Set(at),
        used_at: Set(None),
    };
    tokens::Entity::insert(model).exec_without_returning(db).await.context("cannot store refresh token")?;
    Ok(())
}

/// A presented refresh token as [`find_token`] finds it.
#[derive(Debug, Clone)]
pub struct FoundToken {
    /// When it was spent, if it was.
    pub used_at: Option<UnixTime>,
    pub family: RefreshFamily,
    /// Whether the grant is in `revoked_grants` (ended, perhaps before its family existed).
    pub grant_revoked: bool,
}

/// A refresh token by hash, with its family and whether its grant was revoked: one query.
pub async fn find_token(db: &Db, token_hash: &str) -> anyhow::Result<Option<FoundToken>> {
    let revoked = Query::select()
        .expr(Expr::val(1))
        .from(revoked_grants::Entity)
        .and_where(
            Expr::col((revoked_grants::Entity, revoked_grants::Column::GrantId))
                .equals((families::Entity, families::Column::Id)),
        )
        .to_owned();
    let query = Query::select()
        .columns(families::Column::iter().map(|column| (families::Entity, column)))
        .expr_as(Expr::col((tokens::Entity, tokens::Column::UsedAt)), Alias::new("token_used_at"))
        .expr_as(Expr::exists(revoked), Alias::new("grant_revoked"))
        .from(tokens::Entity)
        .inner_join(
            families::Entity,
            Expr::col((families::Entity, families::Column::Id)).equals((tokens::Entity, tokens::Column::FamilyId)),
        )
        .and_where(Expr::col((tokens::Entity, tokens::Column::TokenHash)).eq(token_hash))
        .to_owned();
    let Some(row) = db.query_one(&query).await.context("cannot read refresh token")? else {
        return Ok(None);
    };
    let family = families::Model::from_query_result(&row, "").context("cannot read refresh-token family")?;
    Ok(Some(FoundToken {
        used_at: row.try_get("", "token_used_at").context("cannot read refresh token")?,
        family: to_domain(family),
        grant_revoked: row.try_get("", "grant_revoked").context("cannot read revoked grants")?,
    }))
}

/// Spends `spent` and stores `next` in its place, in one transaction: `false` (and
/// nothing stored) when `spent` was spent already, by a concurrent request.
pub async fn rotate(db: &Db, spent: &str, next: &str, family_id: &str, at: UnixTime) -> anyhow::Result<bool> {
    let (_writer, txn) = super::begin_write(db).await?;
    let marked = tokens::Entity::update_many()
        .col_expr(tokens::Column::UsedAt, Expr::value(at))
        .filter(tokens::Column::TokenHash.eq(spent))
        .filter(tokens::Column::UsedAt.is_null())
        .exec(&txn)
        .await
        .context("cannot mark refresh token used")?;
    if marked.rows_affected != 1 {
        return Ok(false);
    }
    let model = tokens::ActiveModel {
        token_hash: Set(next.to_string()),
        family_id: Set(family_id.to_string()),
        created_at: Set(at),
        used_at: Set(None),
    };
    tokens::Entity::insert(model).exec_without_returning(&txn).await.context("cannot store refresh token")?;
    txn.commit().await.context("cannot finish a refresh-token rotation")?;
    Ok(true)
}

pub async fn revoke_family(db: &Db, family_id: &str, at: UnixTime) -> anyhow::Result<()> {
    families::Entity::update_many()
        .col_expr(families::Column::RevokedAt, Expr::value(at))
        .filter(families::Column::Id.eq(family_id))
        .filter(families::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .context("cannot revoke refresh-token family")?;
    Ok(())
}

/// Whose families to revoke.
#[derive(Debug, Clone, Copy)]
pub enum FamiliesOf<'a> {
    Session(&'a str),
    User(&'a str),
    Client(&'a str),
    /// One user's grants to one client.
    UserAndClient(&'a str, &'a str),
}

impl FamiliesOf<'_> {
    fn condition(self) -> sea_orm::sea_query::SimpleExpr {
        match self {
            FamiliesOf::Session(id) => families::Column::SessionId.eq(id),
            FamiliesOf::User(id) => families::Column::UserId.eq(id),
            FamiliesOf::Client(id) => families::Column::ClientId.eq(id),
            FamiliesOf::UserAndClient(user_id, client_id) => {
                families::Column::UserId.eq(user_id).and(families::Column::ClientId.eq(client_id))
            }
        }
    }
}

/// Deletes the families of a user or client and their tokens (inside the caller's
/// transaction, when it deletes the owner).
pub(super) async fn delete_families(db: &impl sea_orm::ConnectionTrait, of: FamiliesOf<'_>) -> anyhow::Result<()> {
    let ids: Vec<String> = families::Entity::find()
        .filter(of.condition())
        .all(db)
        .await
        .context("cannot read grants")?
        .into_iter()
        .map(|family| family.id)
        .collect();
    tokens::Entity::delete_many()
        .filter(tokens::Column::FamilyId.is_in(ids))
        .exec(db)
        .await
        .context("cannot delete refresh tokens")?;
    families::Entity::delete_many().filter(of.condition()).exec(db).await.context("cannot delete grants")?;
    Ok(())
}

/// Revokes every family of a session, user or client not revoked yet; returns them.
pub async fn revoke_families(db: &Db, of: FamiliesOf<'_>, at: UnixTime) -> anyhow::Result<Vec<RefreshFamily>> {
    let live = families::Entity::find()
        .filter(of.condition())
        .filter(families::Column::RevokedAt.is_null())
        .all(db)
        .await
        .context("cannot read refresh-token families")?;
    for family in &live {
        revoke_family(db, &family.id, at).await?;
    }
    Ok(live.into_iter().map(to_domain).collect())
}

/// The user's grants that are still live, newest first.
pub async fn live_grants_of_user(db: &Db, user_id: &str, now: UnixTime) -> anyhow::Result<Vec<RefreshFamily>> {
    use sea_orm::QueryOrder;
    let families = families::Entity::find()
        .filter(families::Column::UserId.eq(user_id))
        .filter(families::Column::RevokedAt.is_null())
        .filter(families::Column::ExpiresAt.gt(now))
        .order_by_desc(families::Column::CreatedAt)
        .all(db)
        .await
        .context("cannot read grants")?;
    Ok(families.into_iter().map(to_domain).collect())
}

/// When each of these families last issued a refresh token (a refresh is a use).
pub async fn last_refreshed(
    db: &Db,
    family_ids: &[String],
) -> anyhow::Result<std::collections::HashMap<String, UnixTime>> {
    use sea_orm::QuerySelect;
    if family_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, Option<i64>)> = tokens::Entity::find()
        .select_only()
        .column(tokens::Column::FamilyId)
        .column_as(Expr::col(tokens::Column::CreatedAt).max(), "last")
        .filter(tokens::Column::FamilyId.is_in(family_ids.iter().cloned()))
        .group_by(tokens::Column::FamilyId)
        .into_tuple()
        .all(db)
        .await
        .context("cannot read refresh times")?;
    Ok(rows.into_iter().filter_map(|(id, last)| Some((id, last?))).collect())
}

/// Deletes families that ended (revoked before `revoked_before`, or expired by `now`) with
/// their tokens; returns how many families went. A token of a deleted family is unknown,
/// which a client sees as the same `invalid_grant` as a revoked one.
pub async fn purge_ended(db: &Db, revoked_before: UnixTime, now: UnixTime) -> anyhow::Result<u64> {
    use sea_orm::sea_query::{Condition, Query};
    let ended =
        Condition::any().add(families::Column::RevokedAt.lt(revoked_before)).add(families::Column::ExpiresAt.lt(now));
    let (_writer, txn) = super::begin_write(db).await?;
    let ended_ids =
        Query::select().column(families::Column::Id).from(families::Entity).cond_where(ended.clone()).to_owned();
    tokens::Entity::delete_many()
        .filter(tokens::Column::FamilyId.in_subquery(ended_ids))
        .exec(&txn)
        .await
        .context("cannot purge refresh tokens")?;
    let purged = families::Entity::delete_many().filter(ended).exec(&txn).await.context("cannot purge grants")?;
    txn.commit().await.context("cannot finish purging grants")?;
    Ok(purged.rows_affected)
}
