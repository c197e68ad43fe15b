//! `latchkey keys rotate|list`. Opening the keyring proves the master key first, so a
//! wrong master key can never seal a new key that the servers could not open.

use super::{open_state, print_json};
use crate::cli::{KeysCommand, ListArgs, Output};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::domain::{format_time, keys, now};

pub async fn run(command: KeysCommand, settings: Settings) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    match command {
        KeysCommand::Rotate => {
            let key = keys::rotate(&state, &Actor::Cli, now()).await?;
            println!("generated signing key {} (published now, signs from {})", key.kid, format_time(key.activates_at));
        }
        KeysCommand::Revoke { kid } => match keys::revoke(&state, &Actor::Cli, &kid, now()).await? {
            Some(fresh) => println!("revoked signing key {kid}; signing key {} signs from now on", fresh.kid),
            None => println!("revoked signing key {kid}"),
        },
        KeysCommand::List(ListArgs { output: Output::Json }) => {
            let list: Vec<_> = state
                .keyring
                .describe(now())
                .into_iter()
                .map(|key| {
                    serde_json::json!({
                        "kid": key.kid,
                        "generation": key.generation,
                        "bits": key.bits,
                        "state": key.state.as_str(),
                        "created_at": format_time(key.created_at),
                        "signs_from": format_time(key.activates_at),
                    })
                })
                .collect();
            print_json(&list)?;
        }
        KeysCommand::List(_) => {
            println!("{:<43}  {:>3}  {:>4}  {:<8}  {:<25}  SIGNS FROM", "KID", "GEN", "BITS", "STATE", "CREATED");
            for key in state.keyring.describe(now()) {
                println!(
                    "{:<43}  {:>3}  {:>4}  {:<8}  {:<25}  {}",
                    key.kid,
                    key.generation,
                    key.bits,
                    key.state.as_str(),
                    format_time(key.created_at),
                    format_time(key.activates_at)
                );
            }
        }
    }
    Ok(())
}
