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
        email_verified: model.email_verified,
        display_name: model.display_name,
        disabled: model.disabled,
        admin: model.admin,
        must_change_password: model.must_change_password,
        attributes: serde_json::from_str(&model.attributes).unwrap_or_default(),
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
        email_key: Set(user.email.as_deref().map(email_key)),
        email_verified: Set(user.email_verified),
        display_name: Set(user.display_name.clone()),
        password_hash: Set(password_hash.map(str::to_string)),
        disabled: Set(user.disabled),
        admin: Set(user.admin),
        must_change_password: Set(user.must_change_password),
        attributes: Set(serde_json::to_string(&user.attributes).context("cannot encode attributes")?),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
    };
    users::Entity::insert(model).exec_without_returning(db).await.map_err(|e| insert_error(e, "cannot insert user"))?;
    Ok(())
}

/// Whether some enabled user has the admin role.
pub async fn any_enabled_admin(db: &Db) -> anyhow::Result<bool> {
    let found = users::Entity::find()
        .filter(users::Column::Admin.eq(true))
        .filter(users::Column::Disabled.eq(false))
        .one(db)
        .await
        .context("cannot look up admins")?;
    Ok(found.is_some())
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

/// The case-folded form of an email address that search compares.
pub fn email_key(email: &str) -> String {
    email.to_lowercase()
}

/// Up to `limit` users whose username key starts with `prefix` (every user for ""), after
/// the key `after`, by username key: one range of the unique index on `username_key`.
pub async fn with_username_prefix(db: &Db, prefix: &str, after: Option<&str>, limit: u64) -> anyhow::Result<Vec<User>> {
    use sea_orm::QuerySelect;
    let mut select = users::Entity::find().filter(starts_with(users::Column::UsernameKey, prefix));
    if let Some(after) = after {
        select = select.filter(users::Column::UsernameKey.gt(after));
    }
    let models =
        select.order_by_asc(users::Column::UsernameKey).limit(limit).all(db).await.context("cannot search users")?;
    Ok(models.into_iter().map(to_domain).collect())
}

/// Up to `limit` users whose email key starts with `prefix` but whose username key does not
/// (those [`with_username_prefix`] finds), after `after` = (email key, username key), in
/// that order: one range of the index on (`email_key`, `username_key`).
pub async fn with_only_email_prefix(
    db: &Db,
    prefix: &str,
    after: Option<(&str, &str)>,
    limit: u64,
) -> anyhow::Result<Vec<User>> {
    use sea_orm::ExprTrait;
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, IntoCondition};
    let mut select = users::Entity::find()
        .filter(starts_with(users::Column::EmailKey, prefix))
        .filter(starts_with(users::Column::UsernameKey, prefix).not());
    if let Some((email, username)) = after {
        let keys = Expr::tuple([Expr::col(users::Column::EmailKey), Expr::col(users::Column::UsernameKey)]);
        select = select.filter(keys.gt(Expr::tuple([Expr::val(email), Expr::val(username)])).into_condition());
    }
    let models = select
        .order_by_asc(users::Column::EmailKey)
        .order_by_asc(users::Column::UsernameKey)
        .limit(limit)
        .all(db)
        .await
        .context("cannot search users")?;
    Ok(models.into_iter().map(to_domain).collect())
}

/// Up to `limit` users whose username or email contains `part`, after the username key
/// `after`, by username key. Walks the username index and tests every row: fine when
/// matches are common, a scan of the table when they are rare.
pub async fn containing(db: &Db, part: &str, after: Option<&str>, limit: u64) -> anyhow::Result<Vec<User>> {
    use sea_orm::sea_query::LikeExpr;
    use sea_orm::{Condition, QuerySelect};
    let escaped = part.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = || LikeExpr::new(format!("%{escaped}%")).escape('\\');
    let mut select = users::Entity::find().filter(
        Condition::any().add(users::Column::UsernameKey.like(pattern())).add(users::Column::EmailKey.like(pattern())),
    );
    if let Some(after) = after {
        select = select.filter(users::Column::UsernameKey.gt(after));
    }
    let models =
        select.order_by_asc(users::Column::UsernameKey).limit(limit).all(db).await.context("cannot search users")?;
    Ok(models.into_iter().map(to_domain).collect())
}

/// `column` starts with `prefix`, as a range (`>= prefix` and `<` the next string that does
/// not), which both backends answer from an index; key columns compare byte by byte.
fn starts_with(column: users::Column, prefix: &str) -> sea_orm::Condition {
    let mut condition = sea_orm::Condition::all();
    if prefix.is_empty() {
        return condition;
    }
    condition = condition.add(column.gte(prefix));
    if let Some(end) = prefix_end(prefix) {
        condition = condition.add(column.lt(end));
    }
    condition
}

/// The least string greater than every string that starts with `prefix`, if any.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            other => char::from_u32(other as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

pub async fn set_attributes(
    db: &Db,
    id: &str,
    attributes: &std::collections::BTreeMap<String, String>,
    at: UnixTime,
) -> anyhow::Result<()> {
    users::Entity::update_many()
        .col_expr(users::Column::Attributes, sea_orm::sea_query::Expr::value(serde_json::to_string(attributes)?))
        .col_expr(users::Column::UpdatedAt, sea_orm::sea_query::Expr::value(at))
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await
        .context("cannot update attributes")?;
    Ok(())
}

/// Applies an admin's changes; `None` when no such user.
pub async fn update(db: &Db, id: &str, change: &UserChange, at: UnixTime) -> anyhow::Result<Option<User>> {
    let Some(model) = users::Entity::find_by_id(id.to_string()).one(db).await.context("cannot look up user")? else {
        return Ok(None);
    };
    let mut active = model.into_active_model();
    if let Some(email) = &change.email {
        // A new address is not verified, whoever changed it (unless the change says so).
        if active.email.as_ref() != email {
            active.email_verified = Set(false);
        }
        active.email = Set(email.clone());
        active.email_key = Set(email.as_deref().map(email_key));
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
    super::groups::remove_user_everywhere(&txn, id).await?;
    super::mfa::delete_factors(&txn, id).await?;
    super::upstreams::delete_links_of(&txn, id).await?;
    let deleted = users::Entity::delete_by_id(id.to_string()).exec(&txn).await.context("cannot delete user")?;
    txn.commit().await.context("cannot commit")?;
    Ok(deleted.rows_affected == 1)
}

/// Up to 5 users whose case-folded email is `email_key`.
pub async fn find_by_email_key(db: &Db, email_key: &str) -> anyhow::Result<Vec<User>> {
    use sea_orm::QuerySelect;
    let models = users::Entity::find()
        .filter(users::Column::EmailKey.eq(email_key))
        .limit(5)
        .all(db)
        .await
        .context("cannot look up users by email")?;
    Ok(models.into_iter().map(to_domain).collect())
}

/// Marks user `id`'s address verified (or not), if it is still `email`; `false` when the
/// address changed meanwhile (or no such user).
pub async fn set_email_verified(db: &Db, id: &str, email: &str, verified: bool) -> anyhow::Result<bool> {
    let updated = users::Entity::update_many()
        .col_expr(users::Column::EmailVerified, sea_orm::sea_query::Expr::value(verified))
        .filter(users::Column::Id.eq(id))
        .filter(users::Column::EmailKey.eq(email_key(email)))
        .exec(db)
        .await
        .context("cannot mark the email verified")?;
    Ok(updated.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_its_last_character_plus_one() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
