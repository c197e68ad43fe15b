//! `latchkey user add|list|disable|reset-mfa|invite`.

use super::{open_state, print_json, read_secret_from_stdin};
use crate::cli::{AddUser, ListArgs, Output, UserCommand};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::domain::email::Delivery;
use crate::domain::users::{self, NewUser};

pub async fn run(command: UserCommand, settings: Settings) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    match command {
        UserCommand::Add(AddUser { username, email, name, admin, password_stdin: _ }) => {
            let password = read_secret_from_stdin("password")?;
            let new = NewUser { username, email, display_name: name, admin, password };
            let user = users::add_user(&state, &Actor::Cli, new).await?;
            println!("added user {} (id {})", user.username, user.id);
        }
        UserCommand::List(ListArgs { output: Output::Json }) => {
            let mut list = Vec::new();
            let mut after = None;
            loop {
                let page = users::search_users(&state.db, "", after.as_deref(), 500).await?;
                list.extend(page.users.into_iter().map(|user| {
                    serde_json::json!({
                        "id": user.id,
                        "username": user.username,
                        "email": user.email,
                        "email_verified": user.email_verified,
                        "name": user.display_name,
                        "admin": user.admin,
                        "enabled": !user.disabled,
                    })
                }));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            print_json(&list)?;
        }
        UserCommand::List(_) => {
            println!("{:<36}  {:<24}  {:<32}  {:<5}  STATUS", "ID", "USERNAME", "EMAIL", "ADMIN");
            let mut after = None;
            loop {
                let page = users::search_users(&state.db, "", after.as_deref(), 500).await?;
                for user in page.users {
                    let status = if user.disabled { "disabled" } else { "enabled" };
                    let admin = if user.admin { "yes" } else { "no" };
                    println!(
                        "{:<36}  {:<24}  {:<32}  {:<5}  {}",
                        user.id,
                        user.username,
                        user.email.as_deref().unwrap_or("-"),
                        admin,
                        status
                    );
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        UserCommand::ResetMfa { username } => {
            let user = users::find_by_username(&state.db, &username).await?;
            crate::domain::mfa::reset(&state, &Actor::Cli, &user.id).await?;
            println!("reset the second factors of {}", user.username);
        }
        UserCommand::Invite { username, email } => {
            let (user, delivery) = crate::domain::email::invite(&state, &Actor::Cli, &username, &email).await?;
            match delivery {
                Delivery::Mailed => {
                    if let Some(mailer) = &state.mailer {
                        mailer.idle().await;
                    }
                    println!(
                        "invited {}: the invitation was handed to the mail server (see the audit log)",
                        user.username
                    );
                }
                Delivery::Link(url) => {
                    println!("invited {}; no mail is set up (smtp.url), so pass this link on: {url}", user.username);
                }
            }
        }
        UserCommand::Disable { username } => {
            let user = users::find_by_username(&state.db, &username).await?;
            let user = users::set_disabled(&state, &Actor::Cli, &user.id, true).await?;
            println!("disabled user {}", user.username);
        }
    }
    Ok(())
}
