//! `latchkey group add|list|show|delete|add-member|remove-member`.

use super::{open_state, print_json};
use crate::cli::{GroupCommand, ListArgs, Output};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::domain::groups::{self, Member};
use crate::domain::users;
use crate::state::AppState;

pub async fn run(command: GroupCommand, settings: Settings) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    match command {
        GroupCommand::Add { name, description } => {
            let group = groups::add_group(&state, &Actor::Cli, &name, &description).await?;
            println!("added group {}", group.name);
        }
        GroupCommand::List(ListArgs { output: Output::Json }) => {
            let list: Vec<_> = groups::list_groups(&state.db)
                .await?
                .into_iter()
                .map(|group| serde_json::json!({ "name": group.name, "description": group.description }))
                .collect();
            print_json(&list)?;
        }
        GroupCommand::List(_) => {
            println!("{:<32}  DESCRIPTION", "NAME");
            for group in groups::list_groups(&state.db).await? {
                println!("{:<32}  {}", group.name, group.description);
            }
        }
        GroupCommand::Show { name } => {
            let detail = groups::group_detail(&state.db, &name).await?;
            println!("group {}: {}", detail.group.name, detail.group.description);
            for (_, username) in &detail.users {
                println!("user   {username}");
            }
            for child in &detail.groups {
                println!("group  {child}");
            }
            if !detail.member_of.is_empty() {
                println!("in     {}", detail.member_of.join(", "));
            }
        }
        GroupCommand::Delete { name } => {
            groups::delete_group(&state, &Actor::Cli, &name).await?;
            println!("deleted group {name}");
        }
        GroupCommand::AddMember { group, member, group_member } => {
            let id = member_id(&state, member, group_member).await?;
            let added = groups::add_member(&state, &Actor::Cli, &group, as_member(&id, group_member)).await?;
            println!("{}", if added { "added" } else { "already a member" });
        }
        GroupCommand::RemoveMember { group, member, group_member } => {
            let id = member_id(&state, member, group_member).await?;
            let removed = groups::remove_member(&state, &Actor::Cli, &group, as_member(&id, group_member)).await?;
            println!("{}", if removed { "removed" } else { "not a member" });
        }
    }
    Ok(())
}

/// The user id of the username `member`, or with `--group` the group name as given.
async fn member_id(state: &AppState, member: String, is_group: bool) -> anyhow::Result<String> {
    Ok(if is_group { member } else { users::find_by_username(&state.db, &member).await?.id })
}

fn as_member(id: &str, is_group: bool) -> Member<'_> {
    if is_group { Member::Group(id) } else { Member::User(id) }
}
