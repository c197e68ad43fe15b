//! Groups: named sets of users and of other groups, resolved transitively. They reach
//! relying apps as the `groups` claim (filtered per client) and decide who may use a
//! client (its access policy). The admin role is membership of the built-in group
//! [`ADMINS`]; `User::admin` is kept as the resolved answer by [`sync_admins`].

use std::collections::BTreeSet;

use serde_json::json;

use super::access_cache;
use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
use super::model::Client;
pub use super::model::Group;
use super::{UnixTime, now};
use crate::state::AppState;
use crate::store::db::{self, Db, WriteError};

/// The built-in group whose members (directly or through nested groups) are admins.
pub const ADMINS: &str = "latchkey-admins";

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("group name must be 1 to 64 characters: a-z, 0-9, '_', '.' or '-'")]
    InvalidName,
    #[error("description must be at most 1024 characters")]
    InvalidDescription,
    #[error("group {0:?} already exists")]
    AlreadyExists(String),
    #[error("no group named {0:?}")]
    NotFound(String),
    #[error("group {0:?} is built in and cannot be deleted")]
    BuiltIn(String),
    #[error("group {group:?} is named by the access policy of client(s) {clients}: change those first")]
    InUse { group: String, clients: String },
    #[error("group {child:?} cannot go in {parent:?}: {parent:?} is already inside it")]
    Cycle { parent: String, child: String },
    #[error("only an admin may do this")]
    Forbidden,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Who or what is a member of a group.
#[derive(Debug, Clone, Copy)]
pub enum Member<'a> {
    /// A user, by id.
    User(&'a str),
    /// Another group, by name.
    Group(&'a str),
}

/// A group with its direct members and the groups it is directly in.
#[derive(Debug, Clone)]
pub struct GroupDetail {
    pub group: Group,
    /// (id, username) of the users directly in the group.
    pub users: Vec<(String, String)>,
    pub groups: Vec<String>,
    pub member_of: Vec<String>,
}

/// A group name: 1–64 of `a-z 0-9 _ . -`.
pub fn parse_name(raw: &str) -> Result<String, GroupError> {
    let valid = (1..=64).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
    if valid { Ok(raw.to_string()) } else { Err(GroupError::InvalidName) }
}

fn require_admin(actor: &Actor) -> Result<(), GroupError> {
    if actor.is_admin() { Ok(()) } else { Err(GroupError::Forbidden) }
}

async fn record(state: &AppState, actor: &Actor, action: AdminAction, group: &str, member: Option<Member<'_>>) {
    let mut event = AuditEvent::new(AuditKind::Admin(action), now()).by(actor).details(json!({ "group": group }));
    match member {
        Some(Member::User(id)) => event = event.subject(id),
        Some(Member::Group(name)) => event = event.details(json!({ "member_group": name })),
        None => {}
    }
    audit::record(&state.db, event).await;
}

pub async fn add_group(state: &AppState, actor: &Actor, name: &str, description: &str) -> Result<Group, GroupError> {
    require_admin(actor)?;
    let name = parse_name(name)?;
    if description.chars().count() > 1024 {
        return Err(GroupError::InvalidDescription);
    }
    let group = Group { name, description: description.to_string(), created_at: now() };
    db::groups::insert(&state.db, &group).await.map_err(|error| match error {
        WriteError::Duplicate => GroupError::AlreadyExists(group.name.clone()),
        WriteError::Unexpected(error) => GroupError::Unexpected(error),
    })?;
    record(state, actor, AdminAction::CreateGroup, &group.name, None).await;
    Ok(group)
}

pub async fn set_description(state: &AppState, actor: &Actor, name: &str, description: &str) -> Result<(), GroupError> {
    require_admin(actor)?;
    if description.chars().count() > 1024 {
        return Err(GroupError::InvalidDescription);
    }
    if !db::groups::set_description(&state.db, name, description, now()).await? {
        return Err(GroupError::NotFound(name.to_string()));
    }
    record(state, actor, AdminAction::UpdateGroup, name, None).await;
    Ok(())
}

/// Deletes a group and its memberships; refused for the built-in group and while a
/// client's access policy names it (its members would silently lose access).
pub async fn delete_group(state: &AppState, actor: &Actor, name: &str) -> Result<(), GroupError> {
    require_admin(actor)?;
    if name == ADMINS {
        return Err(GroupError::BuiltIn(name.to_string()));
    }
    let naming: Vec<String> = db::clients::list(&state.db)
        .await?
        .into_iter()
        .filter(|client| client.policy.allowed_groups.as_ref().is_some_and(|groups| groups.iter().any(|g| g == name)))
        .map(|client| client.id)
        .collect();
    if !naming.is_empty() {
        return Err(GroupError::InUse { group: name.to_string(), clients: naming.join(", ") });
    }
    if !db::groups::delete(&state.db, name).await? {
        return Err(GroupError::NotFound(name.to_string()));
    }
    sync_admins(state, now()).await?;
    record(state, actor, AdminAction::DeleteGroup, name, None).await;
    Ok(())
}

pub async fn list_groups(db: &Db) -> Result<Vec<Group>, GroupError> {
    Ok(db::groups::list(db).await?)
}

pub async fn group_detail(db: &Db, name: &str) -> Result<GroupDetail, GroupError> {
    let group = db::groups::find(db, name).await?.ok_or_else(|| GroupError::NotFound(name.to_string()))?;
    let names = [name.to_string()];
    Ok(GroupDetail {
        users: db::groups::users_in(db, &names).await?,
        groups: db::groups::children_of(db, &names).await?,
        member_of: sorted(db::groups::parents_of(db, &names).await?),
        group,
    })
}

/// Puts a user or a group in `group`; `false` when it was there already. A group may not
/// go inside itself, directly or through others.
pub async fn add_member(state: &AppState, actor: &Actor, group: &str, member: Member<'_>) -> Result<bool, GroupError> {
    require_admin(actor)?;
    db::groups::find(&state.db, group).await?.ok_or_else(|| GroupError::NotFound(group.to_string()))?;
    let at = now();
    let added = match member {
        Member::User(user_id) => db::groups::add_user(&state.db, group, user_id, at).await?,
        Member::Group(child) => {
            db::groups::find(&state.db, child).await?.ok_or_else(|| GroupError::NotFound(child.to_string()))?;
            if child == group || descendants(&state.db, child).await?.contains(group) {
                return Err(GroupError::Cycle { parent: group.to_string(), child: child.to_string() });
            }
            db::groups::add_group(&state.db, group, child, at).await?
        }
    };
    if added {
        sync_admins(state, at).await?;
        record(state, actor, AdminAction::AddGroupMember, group, Some(member)).await;
    }
    Ok(added)
}

/// Takes a user or a group out of `group`; `false` when it was not in it.
pub async fn remove_member(
    state: &AppState,
    actor: &Actor,
    group: &str,
    member: Member<'_>,
) -> Result<bool, GroupError> {
    require_admin(actor)?;
    db::groups::find(&state.db, group).await?.ok_or_else(|| GroupError::NotFound(group.to_string()))?;
    let removed = match member {
        Member::User(user_id) => db::groups::remove_user(&state.db, group, user_id).await?,
        Member::Group(child) => db::groups::remove_group(&state.db, group, child).await?,
    };
    if removed {
        sync_admins(state, now()).await?;
        record(state, actor, AdminAction::RemoveGroupMember, group, Some(member)).await;
    }
    Ok(removed)
}

/// Makes a user a direct member of [`ADMINS`] or not, as part of a user operation that
/// is audited on its own (creating an admin, an admin's PATCH of `admin`).
pub async fn set_direct_admin(state: &AppState, user_id: &str, admin: bool) -> anyhow::Result<()> {
    if admin {
        db::groups::add_user(&state.db, ADMINS, user_id, now()).await?;
    } else {
        db::groups::remove_user(&state.db, ADMINS, user_id).await?;
    }
    sync_admins(state, now()).await
}

/// The groups `user_id` is directly in, by name.
pub async fn direct_groups_of(db: &Db, user_id: &str) -> anyhow::Result<Vec<String>> {
    Ok(sorted(db::groups::direct_groups_of_user(db, user_id).await?))
}

/// Every group `user_id` is in, directly or through nested groups, by name.
pub async fn groups_of(db: &Db, user_id: &str) -> anyhow::Result<Vec<String>> {
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut frontier = db::groups::direct_groups_of_user(db, user_id).await?;
    while !frontier.is_empty() {
        frontier.retain(|name| found.insert(name.clone()));
        if frontier.is_empty() {
            break;
        }
        frontier = db::groups::parents_of(db, &frontier).await?;
    }
    Ok(found.into_iter().collect())
}

/// The groups `client` may learn of, among `groups`.
pub fn released_to(client: &Client, groups: Vec<String>) -> Vec<String> {
    match &client.policy.released_groups {
        None => groups,
        Some(patterns) => groups
            .into_iter()
            .filter(|group| {
                patterns.iter().any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => group.starts_with(prefix),
                    None => pattern == group,
                })
            })
            .collect(),
    }
}

/// Whether `user_id` may use `client`: its access policy names none, or a group the user
/// is in (directly or nested).
pub async fn may_use(db: &Db, client: &Client, user_id: &str) -> anyhow::Result<bool> {
    let Some(allowed) = &client.policy.allowed_groups else { return Ok(true) };
    let groups = groups_of(db, user_id).await?;
    Ok(allowed.iter().any(|name| groups.contains(name)))
}

/// Records a refusal by a client's access policy.
pub async fn record_refusal(db: &Db, client: &Client, user_id: &str, at_step: &str, source_ip: Option<String>) {
    let event = AuditEvent::new(AuditKind::AccessDenied, now())
        .client(&client.id)
        .subject(user_id)
        .source_ip(source_ip)
        .details(json!({ "step": at_step, "allowed_groups": client.policy.allowed_groups }));
    audit::record(db, event).await;
}

/// `group` and every group inside it, directly or nested.
async fn descendants(db: &Db, group: &str) -> anyhow::Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    let mut frontier = vec![group.to_string()];
    while !frontier.is_empty() {
        frontier.retain(|name| found.insert(name.clone()));
        if frontier.is_empty() {
            break;
        }
        frontier = db::groups::children_of(db, &frontier).await?;
    }
    Ok(found)
}

/// Brings every `users.admin` in line with membership of [`ADMINS`]; a user whose flag
/// changed is told to every instance (their admin tokens and sessions are re-checked).
async fn sync_admins(state: &AppState, at: UnixTime) -> anyhow::Result<()> {
    let groups: Vec<String> = descendants(&state.db, ADMINS).await?.into_iter().collect();
    let admins: Vec<String> = db::groups::users_in(&state.db, &groups).await?.into_iter().map(|(id, _)| id).collect();
    for user_id in db::groups::set_admin_flags(&state.db, &admins, at).await? {
        access_cache::user_changed(state, &user_id).await?;
    }
    Ok(())
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_lower_case_and_short() {
        for good in ["staff", "app1-admins", "a.b_c", &"x".repeat(64)] {
            assert!(parse_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Staff", "has space", "é", &"x".repeat(65), "a*"] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }
}
