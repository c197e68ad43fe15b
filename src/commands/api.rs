//! `latchkey api add|list|delete`.

use super::open_state;
use crate::cli::{AddApi, ApiCommand};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::domain::resources::{self, ApiSettings};

pub async fn run(command: ApiCommand, settings: Settings) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    match command {
        ApiCommand::Add(AddApi { identifier, scopes, name, access_token_ttl, require_dpop }) => {
            let settings = ApiSettings { name, scopes, access_token_ttl_secs: access_token_ttl, require_dpop };
            let api = resources::add_api(&state, &Actor::Cli, &identifier, settings).await?;
            println!("added API {} with scopes {}", api.identifier, api.scopes);
        }
        ApiCommand::List => {
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
