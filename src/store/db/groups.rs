//! Queries on `groups`, `group_users` (a user in a group) and `group_groups` (a group in a
//! group).

use anyhow::Context;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, Set, TransactionTrait};

use super::entities::{group_groups, group_users, groups, users};
use super::{Db, WriteError, insert_error};
use crate::domain::model::{Group, UnixTime};

fn to_domain(model: groups::Model) -> Group {
    Group { name: model.name, description: model.description, created_at: model.created_at }
}

pub async fn insert(db: &Db, group: &Group) -> Result<(), WriteError> {
    let model = groups::ActiveModel {
        name: Set(group.name.clone()),
        description: Set(group.description.clone()),
        created_at: Set(group.created_at),
        updated_at: Set(group.created_at),
    };
    groups::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| insert_error(e, "cannot insert group"))?;
    Ok(())
}

pub async fn set_description(db: &Db, name: &str, description: &str, at: UnixTime) -> anyhow::Result<bool> {
    let updated = groups::Entity::update_many()
        .col_expr(groups::Column::Description, sea_orm::sea_query::Expr::value(description))
        .col_expr(groups::Column::UpdatedAt, sea_orm::sea_query::Expr::value(at))
        .filter(groups::Column::Name.eq(name))
        .exec(db)
        .await
        .context("cannot update group")?;
    Ok(updated.rows_affected == 1)
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<Group>> {
    let models =
        groups::Entity::find().order_by_asc(groups::Column::Name).all(db).await.context("cannot list groups")?;
    Ok(models.into_iter().map(to_domain).collect())
}

pub async fn find(db: &Db, name: &str) -> anyhow::Result<Option<Group>> {
    Ok(groups::Entity::find_by_id(name.to_string()).one(db).await.context("cannot look up group")?.map(to_domain))
}

/// Deletes a group and every membership in, of and under it, in one transaction.
pub async fn delete(db: &Db, name: &str) -> anyhow::Result<bool> {
    let txn = db.begin().await.context("cannot start transaction")?;
    group_users::Entity::delete_many()
        .filter(group_users::Column::GroupName.eq(name))
        .exec(&txn)
        .await
        .context("cannot delete memberships")?;
    group_groups::Entity::delete_many()
        .filter(group_groups::Column::ParentName.eq(name).or(group_groups::Column::ChildName.eq(name)))
        .exec(&txn)
        .await
        .context("cannot delete memberships")?;
    let deleted = groups::Entity::delete_by_id(name.to_string()).exec(&txn).await.context("cannot delete group")?;
    txn.commit().await.context("cannot commit")?;
    Ok(deleted.rows_affected == 1)
}

/// Adds a user to a group; `false` when they were a member already.
pub async fn add_user(db: &Db, group: &str, user_id: &str, at: UnixTime) -> anyhow::Result<bool> {
    let model = group_users::ActiveModel {
        group_name: Set(group.to_string()),
        user_id: Set(user_id.to_string()),
        created_at: Set(at),
    };
    inserted(group_users::Entity::insert(model).exec_without_returning(db).await)
}

/// A membership insert: `true` when added, `false` when it was there already.
fn inserted<T>(result: Result<T, sea_orm::DbErr>) -> anyhow::Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(error) => match insert_error(error, "cannot add group member") {
            WriteError::Duplicate => Ok(false),
            WriteError::Unexpected(error) => Err(error),
        },
    }
}

pub async fn remove_user(db: &Db, group: &str, user_id: &str) -> anyhow::Result<bool> {
    let deleted = group_users::Entity::delete_many()
        .filter(group_users::Column::GroupName.eq(group))
        .filter(group_users::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .context("cannot remove group member")?;
    Ok(deleted.rows_affected == 1)
}

/// Puts group `child` in group `parent`; `false` when it was there already.
pub async fn add_group(db: &Db, parent: &str, child: &str, at: UnixTime) -> anyhow::Result<bool> {
    let model = group_groups::ActiveModel {
        parent_name: Set(parent.to_string()),
        child_name: Set(child.to_string()),
        created_at: Set(at),
    };
    inserted(group_groups::Entity::insert(model).exec_without_returning(db).await)
}

pub async fn remove_group(db: &Db, parent: &str, child: &str) -> anyhow::Result<bool> {
    let deleted = group_groups::Entity::delete_many()
        .filter(group_groups::Column::ParentName.eq(parent))
        .filter(group_groups::Column::ChildName.eq(child))
        .exec(db)
        .await
        .context("cannot remove group member")?;
    Ok(deleted.rows_affected == 1)
}

/// The groups `user_id` is a direct member of.
pub async fn direct_groups_of_user(db: &Db, user_id: &str) -> anyhow::Result<Vec<String>> {
    let rows = group_users::Entity::find()
        .filter(group_users::Column::UserId.eq(user_id))
        .all(db)
        .await
        .context("cannot read memberships")?;
    Ok(rows.into_iter().map(|row| row.group_name).collect())
}

/// The groups that directly contain any of `children`.
pub async fn parents_of(db: &Db, children: &[String]) -> anyhow::Result<Vec<String>> {
    let rows = group_groups::Entity::find()
        .filter(group_groups::Column::ChildName.is_in(children.iter().cloned()))
        .all(db)
        .await
        .context("cannot read nested groups")?;
    Ok(rows.into_iter().map(|row| row.parent_name).collect())
}

/// The groups directly inside any of `parents`.
pub async fn children_of(db: &Db, parents: &[String]) -> anyhow::Result<Vec<String>> {
    let rows = group_groups::Entity::find()
        .filter(group_groups::Column::ParentName.is_in(parents.iter().cloned()))
        .order_by_asc(group_groups::Column::ChildName)
        .all(db)
        .await
        .context("cannot read nested groups")?;
    Ok(rows.into_iter().map(|row| row.child_name).collect())
}

/// The direct user members of any of `groups`: (id, username), by username.
pub async fn users_in(db: &Db, groups: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let ids: Vec<String> = group_users::Entity::find()
        .filter(group_users::Column::GroupName.is_in(groups.iter().cloned()))
        .all(db)
        .await
        .context("cannot read memberships")?
        .into_iter()
        .map(|row| row.user_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .order_by_asc(users::Column::UsernameKey)
        .all(db)
        .await
        .context("cannot read members")?;
    Ok(found.into_iter().map(|user| (user.id, user.username)).collect())
}

/// Sets `users.admin` to whether each user is in `admins` (every other admin flag is
/// cleared); returns the ids whose flag changed.
pub async fn set_admin_flags(db: &Db, admins: &[String], at: UnixTime) -> anyhow::Result<Vec<String>> {
    let txn = db.begin().await.context("cannot start transaction")?;
    let mut changed = flip_admin(&txn, users::Column::Id.is_not_in(admins.iter().cloned()), false, at).await?;
    if !admins.is_empty() {
        changed.extend(flip_admin(&txn, users::Column::Id.is_in(admins.iter().cloned()), true, at).await?);
    }
    txn.commit().await.context("cannot commit")?;
    Ok(changed)
}

/// Sets `admin = to` on the users matching `which` whose flag differs; returns their ids.
async fn flip_admin(
    txn: &sea_orm::DatabaseTransaction,
    which: sea_orm::sea_query::SimpleExpr,
    to: bool,
    at: UnixTime,
) -> anyhow::Result<Vec<String>> {
    use sea_orm::sea_query::Expr;
    let ids: Vec<String> = users::Entity::find()
        .filter(users::Column::Admin.eq(!to))
        .filter(which)
        .all(txn)
        .await
        .context("cannot read admins")?
        .into_iter()
        .map(|user| user.id)
        .collect();
    if !ids.is_empty() {
        users::Entity::update_many()
            .col_expr(users::Column::Admin, Expr::value(to))
            .col_expr(users::Column::UpdatedAt, Expr::value(at))
            .filter(users::Column::Id.is_in(ids.clone()))
            .exec(txn)
            .await
            .context("cannot update admins")?;
    }
    Ok(ids)
}

/// Removes a user from every group (when the user is deleted).
pub(super) async fn remove_user_everywhere(db: &impl sea_orm::ConnectionTrait, user_id: &str) -> anyhow::Result<()> {
    group_users::Entity::delete_many()
        .filter(group_users::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .context("cannot delete memberships")?;
    Ok(())
}
