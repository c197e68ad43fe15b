//! Queries on `totp_factors` and `recovery_codes`.

use anyhow::Context;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait};

use super::Db;
use super::entities::{recovery_codes, totp_factors};
use crate::domain::model::UnixTime;

/// A user's TOTP factor: the sealed secret and the last step accepted.
pub struct StoredTotp {
    pub sealed_secret: String,
    pub last_step: i64,
}

/// Stores (or replaces) a user's TOTP factor.
pub async fn put_totp(db: &Db, user_id: &str, sealed_secret: &str, last_step: i64, at: UnixTime) -> anyhow::Result<()> {
    let model = totp_factors::ActiveModel {
        user_id: Set(user_id.to_string()),
        sealed_secret: Set(sealed_secret.to_string()),
        last_step: Set(last_step),
        created_at: Set(at),
    };
    totp_factors::Entity::insert(model)
        .on_conflict(
            OnConflict::column(totp_factors::Column::UserId)
                .update_columns([
                    totp_factors::Column::SealedSecret,
                    totp_factors::Column::LastStep,
                    totp_factors::Column::CreatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .context("cannot store the TOTP factor")?;
    Ok(())
}

pub async fn find_totp(db: &Db, user_id: &str) -> anyhow::Result<Option<StoredTotp>> {
    let model =
        totp_factors::Entity::find_by_id(user_id.to_string()).one(db).await.context("cannot read TOTP factor")?;
    Ok(model.map(|m| StoredTotp { sealed_secret: m.sealed_secret, last_step: m.last_step }))
}

/// Records `step` as accepted if it is later than the last one: `false` means the code (or
/// an earlier one) was used already. One conditional update, so two instances racing
/// with the same code cannot both accept it.
pub async fn accept_step(db: &Db, user_id: &str, step: i64) -> anyhow::Result<bool> {
    let updated = totp_factors::Entity::update_many()
        .col_expr(totp_factors::Column::LastStep, Expr::value(step))
        .filter(totp_factors::Column::UserId.eq(user_id))
        .filter(totp_factors::Column::LastStep.lt(step))
        .exec(db)
        .await
        .context("cannot record the TOTP step")?;
    Ok(updated.rows_affected == 1)
}

/// Removes a user's TOTP factor and recovery codes.
pub async fn delete_all(db: &Db, user_id: &str) -> anyhow::Result<()> {
    let txn = db.begin().await.context("cannot start transaction")?;
    delete_factors(&txn, user_id).await?;
    txn.commit().await.context("cannot commit")?;
    Ok(())
}

/// The same, inside the caller's transaction (deleting the user).
pub(super) async fn delete_factors(db: &impl sea_orm::ConnectionTrait, user_id: &str) -> anyhow::Result<()> {
    totp_factors::Entity::delete_by_id(user_id.to_string()).exec(db).await.context("cannot delete TOTP")?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .context("cannot delete recovery codes")?;
    Ok(())
}

/// Replaces a user's recovery codes with these hashes, in one transaction.
pub async fn replace_recovery_codes(db: &Db, user_id: &str, hashes: &[String], at: UnixTime) -> anyhow::Result<()> {
    let txn = db.begin().await.context("cannot start transaction")?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(&txn)
        .await
        .context("cannot delete recovery codes")?;
    let models = hashes.iter().map(|hash| recovery_codes::ActiveModel {
        user_id: Set(user_id.to_string()),
        code_hash: Set(hash.clone()),
        used_at: Set(None),
        created_at: Set(at),
    });
    recovery_codes::Entity::insert_many(models).exec_without_returning(&txn).await.context("cannot store codes")?;
    txn.commit().await.context("cannot commit")?;
    Ok(())
}

/// Spends an unused recovery code; `false` when there is none with this hash.
pub async fn spend_recovery_code(db: &Db, user_id: &str, hash: &str, at: UnixTime) -> anyhow::Result<bool> {
    let updated = recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::UsedAt, Expr::value(at))
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .filter(recovery_codes::Column::CodeHash.eq(hash))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .exec(db)
        .await
        .context("cannot spend a recovery code")?;
    Ok(updated.rows_affected == 1)
}

pub async fn recovery_codes_left(db: &Db, user_id: &str) -> anyhow::Result<u64> {
    recovery_codes::Entity::find()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .count(db)
        .await
        .context("cannot count recovery codes")
}
