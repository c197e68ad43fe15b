//! Queries on the `users` table.

use anyhow::Context;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};

use super::entities::users;
use super::{Db, WriteError, insert_error};
use crate::domain::model::{UnixTime, User, UserChange};

fn to_domain(model: users::Model) -> User {
    User {
        id: model.id,
        username: model.username,
        email: model.email,
        display_name: model.display_name,
        disabled: model.disabled,
        admin: model.admin,
        must_change_password: model.must_change_password,
        created_at: model.created_at,
        updated_at: model.updated_at,
    }
}

pub async fn insert(db: &Db, user: &User, username_key: &str, password_hash: Option<&str>) -> Result<(), WriteError> {
    let model = users::ActiveModel {
        id: Set(user.id.clone()),
        username: Set(user.username.clone()),
        username_key: Set(username_key.to_string()),
        email: Set(user.email.clone()),
        display_name: Set(user.display_name.clone()),
        password_hash: Set(password_hash.map(str::to_string)),
        disabled: Set(user.disabled),
        admin: Set(user.admin),
        must_change_password: Set(user.must_change_password),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
    };
    users::Entity::insert(model).exec_without_returning(db).await.map_err(|e| insert_error(e, "cannot insert user"))?;
    Ok(())
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<User>> {
    let models =
        users::Entity::find().order_by_asc(users::Column::UsernameKey).all(db).await.context("cannot list users")?;
    Ok(models.into_iter().map(to_domain).collect())
}

/// The user with this case-folded username, and their password hash.
pub async fn find_by_username_key(db: &Db, username_key: &str) -> anyhow::Result<Option<(User, Option<String>)>> {
    let model = users::Entity::find()
        .filter(users::Column::UsernameKey.eq(username_key))
        .one(db)
        .await
        .context("cannot look up user")?;
    Ok(model.map(|model| {
        let hash = model.password_hash.clone();
        (to_domain(model), hash)
    }))
}

/// The stored password hash of user `id`, if they have one.
pub async fn password_hash(db: &Db, id: &str) -> anyhow::Result<Option<String>> {
    let model = users::Entity::find_by_id(id.to_string()).one(db).await.context("cannot look up user")?;
    Ok(model.and_then(|model| model.password_hash))
}

pub async fn find_by_id(db: &Db, id: &str) -> anyhow::Result<Option<User>> {
    let model = users::Entity::find_by_id(id.to_string()).one(db).await.context("cannot look up user")?;
    Ok(model.map(to_domain))
}

/// Stores a new password hash; `must_change` makes it a temporary password.
pub async fn set_password_hash(
    db: &Db,
    id: &str,
    password_hash: &str,
    must_change: bool,
    at: UnixTime,
) -> anyhow::Result<()> {
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, sea_orm::sea_query::Expr::value(password_hash))
        .col_expr(users::Column::MustChangePassword, sea_orm::sea_query::Expr::value(must_change))
        .col_expr(users::Column::UpdatedAt, sea_orm::sea_query::Expr::value(at))
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await
        .context("cannot update password hash")?;
    Ok(())
}

/// A page of users whose username or email contains `query` (case-insensitive), by username.
pub async fn search(db: &Db, query: &str, offset: u64, limit: u64) -> anyhow::Result<(Vec<User>, u64)> {
    use sea_orm::{Condition, ExprTrait, PaginatorTrait, QuerySelect};
    let pattern = format!("%{}%", query.to_lowercase().replace(['\\', '%', '_'], ""));
    let condition = Condition::any().add(users::Column::UsernameKey.like(pattern.clone())).add(
        sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(sea_orm::sea_query::Expr::col(
            users::Column::Email,
        )))
        .like(pattern),
    );
    let select = users::Entity::find().filter(condition);
    let total = select.clone().count(db).await.context("cannot count users")?;
    let models = select
        .order_by_asc(users::Column::UsernameKey)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
        .context("cannot search users")?;
    Ok((models.into_iter().map(to_domain).collect(), total))
}

/// Applies an admin's changes; `None` when no such user.
pub async fn update(db: &Db, id: &str, change: &UserChange, at: UnixTime) -> anyhow::Result<Option<User>> {
    let Some(model) = users::Entity::find_by_id(id.to_string()).one(db).await.context("cannot look up user")? else {
        return Ok(None);
    };
    let mut active = model.into_active_model();
    if let Some(email) = &change.email {
        active.email = Set(email.clone());
    }
    if let Some(name) = &change.display_name {
        active.display_name = Set(name.clone());
    }
    if let Some(admin) = change.admin {
        active.admin = Set(admin);
    }
    if let Some(disabled) = change.disabled {
        active.disabled = Set(disabled);
    }
    active.updated_at = Set(at);
    Ok(Some(to_domain(active.update(db).await.context("cannot update user")?)))
}

/// Deletes a user with everything that hangs off them, in one transaction.
pub async fn delete_with_dependents(db: &Db, id: &str) -> anyhow::Result<bool> {
    use sea_orm::TransactionTrait;

    use super::entities::{consents, passkeys};
    use super::refresh_tokens::{FamiliesOf, delete_families};
    let txn = db.begin().await.context("cannot start transaction")?;
    delete_families(&txn, FamiliesOf::User(id)).await?;
    passkeys::Entity::delete_many()
        .filter(passkeys::Column::UserId.eq(id))
        .exec(&txn)
        .await
        .context("cannot delete passkeys")?;
    consents::Entity::delete_many()
        .filter(consents::Column::UserId.eq(id))
        .exec(&txn)
        .await
        .context("cannot delete consents")?;
    let deleted = users::Entity::delete_by_id(id.to_string()).exec(&txn).await.context("cannot delete user")?;
    txn.commit().await.context("cannot commit")?;
    Ok(deleted.rows_affected == 1)
}
