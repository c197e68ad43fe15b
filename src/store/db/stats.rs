//! Figures for the admin dashboard: the hourly sign-in rollup and a few counts, each one
//! aggregate query.

use anyhow::Context;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::Db;
use super::entities::{audit_events, clients, refresh_token_families as families, sign_in_hourly, users};
use crate::domain::model::{AuditEvent, UnixTime};

/// Adds one sign-in (`method`, `outcome`) to the hour that holds `at`.
pub async fn count_sign_in(db: &Db, at: UnixTime, method: &str, outcome: &str) -> anyhow::Result<()> {
    let row = sign_in_hourly::ActiveModel {
        hour: Set(at - at.rem_euclid(3600)),
        method: Set(method.to_string()),
        outcome: Set(outcome.to_string()),
        count: Set(1),
    };
    sign_in_hourly::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                sign_in_hourly::Column::Hour,
                sign_in_hourly::Column::Method,
                sign_in_hourly::Column::Outcome,
            ])
            .value(
                sign_in_hourly::Column::Count,
                Expr::col((sign_in_hourly::Entity, sign_in_hourly::Column::Count)).add(1),
            )
            .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .context("cannot count a sign-in")?;
    Ok(())
}

/// The rollup's rows from `since` on: (hour, method, outcome, count).
pub async fn sign_ins_since(db: &Db, since: UnixTime) -> anyhow::Result<Vec<(i64, String, String, i64)>> {
    let rows = sign_in_hourly::Entity::find()
        .filter(sign_in_hourly::Column::Hour.gte(since))
        .all(db)
        .await
        .context("cannot read sign-in counts")?;
    Ok(rows.into_iter().map(|row| (row.hour, row.method, row.outcome, row.count)).collect())
}

/// Deletes rollup rows older than `before`.
pub async fn purge_sign_ins(db: &Db, before: UnixTime) -> anyhow::Result<u64> {
    let result = sign_in_hourly::Entity::delete_many()
        .filter(sign_in_hourly::Column::Hour.lt(before))
        .exec(db)
        .await
        .context("cannot purge sign-in counts")?;
    Ok(result.rows_affected)
}

/// (users, clients, live grants) now.
pub async fn counts(db: &Db, now: UnixTime) -> anyhow::Result<(u64, u64, u64)> {
    let users = users::Entity::find().count(db).await.context("cannot count users")?;
    let clients = clients::Entity::find().count(db).await.context("cannot count clients")?;
    let grants = families::Entity::find()
        .filter(families::Column::RevokedAt.is_null())
        .filter(families::Column::ExpiresAt.gt(now))
        .count(db)
        .await
        .context("cannot count grants")?;
    Ok((users, clients, grants))
}

/// The latest `limit` events of these types, newest first.
pub async fn latest_events(db: &Db, event_types: &[&str], limit: u64) -> anyhow::Result<Vec<AuditEvent>> {
    let rows = audit_events::Entity::find()
        .filter(audit_events::Column::EventType.is_in(event_types.iter().copied()))
        .order_by_desc(audit_events::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .context("cannot read the audit log")?;
    Ok(rows.into_iter().map(super::audit::to_event).collect())
}

/// Usernames of these user ids (ids not found are left out).
pub async fn usernames(db: &Db, ids: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    names(
        db,
        users::Entity::find().select_only().column(users::Column::Id).column(users::Column::Username),
        users::Column::Id,
        ids,
    )
    .await
}

/// Names of these client ids (ids not found are left out).
pub async fn client_names(db: &Db, ids: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    names(
        db,
        clients::Entity::find().select_only().column(clients::Column::Id).column(clients::Column::Name),
        clients::Column::Id,
        ids,
    )
    .await
}

/// (id, name) pairs of a `select` of those two columns, for these ids.
async fn names<E: EntityTrait>(
    db: &Db,
    select: sea_orm::Select<E>,
    id: impl ColumnTrait,
    ids: &[String],
) -> anyhow::Result<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    select.filter(id.is_in(ids.iter().cloned())).into_tuple().all(db).await.context("cannot read names")
}
