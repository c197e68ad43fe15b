//! `latchkey api add|list|delete`.

use super::{open_state, print_json};
use crate::cli::{AddApi, ApiCommand, ListArgs, Output, list_values};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::domain::resources::{self, ApiSettings};

pub async fn run(command: ApiCommand, settings: Settings) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    match command {
        ApiCommand::Add(AddApi { identifier, scopes, name, access_token_ttl, require_dpop }) => {
            let scopes = list_values(&scopes);
            let settings = ApiSettings { name, scopes, access_token_ttl_secs: access_token_ttl, require_dpop };
            let api = resources::add_api(&state, &Actor::Cli, &identifier, settings).await?;
            println!("added API {} with scopes {}", api.identifier, api.scopes);
        }
        ApiCommand::List(ListArgs { output: Output::Json }) => {
            let list: Vec<_> = resources::list_apis(&state.db)
                .await?
                .into_iter()
                .map(|api| {
                    serde_json::json!({
                        "identifier": api.identifier,
                        "name": api.name,
                        "scope": api.scopes.to_string(),
                        "access_token_ttl": api.access_token_ttl_secs,
                        "require_dpop": api.require_dpop,
                    })
                })
                .collect();
            print_json(&list)?;
        }
        ApiCommand::List(_) => {
            println!("{:<48}  {:<24}  {:<5}  SCOPES", "IDENTIFIER", "NAME", "DPOP");
            for api in resources::list_apis(&state.db).await? {
                let dpop = if api.require_dpop { "yes" } else { "no" };
                println!("{:<48}  {:<24}  {:<5}  {}", api.identifier, api.name, dpop, api.scopes);
            }
        }
        ApiCommand::Delete { identifier } => {
            resources::delete_api(&state, &Actor::Cli, &identifier).await?;
            println!("deleted API {identifier}");
        }
    }
    Ok(())
}
