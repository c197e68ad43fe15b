//! `latchkey client add|list`.

use secrecy::ExposeSecret;

use super::print_json;
use super::{open_state, read_secret_from_stdin};
use crate::cli::{AddClient, ClientCommand, ListArgs, Output, list_values};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::domain::clients::{self, NewClient};
use crate::domain::{format_time, registration};

pub async fn run(command: ClientCommand, settings: Settings) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    match command {
        ClientCommand::Add(add) => {
            let AddClient {
                client_id,
                redirect_uris,
                public,
                first_party,
                require_pkce,
                require_pushed_authorization_requests,
                require_mfa,
                upstream_only,
                secret_stdin,
                scopes,
                grants,
                post_logout_redirect_uris,
                backchannel_logout_uri,
                name,
                logo_uri,
                jwks_uri,
            } = add;
            let scopes = match list_values(&scopes) {
                scopes if scopes.is_empty() => clients::default_scope(),
                scopes => scopes.join(" "),
            };
            let grants = match list_values(&grants) {
                grants if grants.is_empty() => clients::default_grants(),
                grants => grants,
            };
            let secret = if secret_stdin { Some(read_secret_from_stdin("client secret")?) } else { None };
            let added = clients::add_client(
                &state,
                &Actor::Cli,
                NewClient {
                    id: client_id,
                    name,
                    public,
                    first_party,
                    require_pkce,
                    require_par: require_pushed_authorization_requests,
                    redirect_uris: list_values(&redirect_uris),
                    post_logout_redirect_uris: list_values(&post_logout_redirect_uris),
                    backchannel_logout_uri,
                    scopes,
                    grants,
                    secret,
                    keys: jwks_uri.map(clients::ClientKeys::JwksUri),
                    logo_uri,
                },
            )
            .await?;
            if require_mfa || upstream_only {
                let policy = clients::ClientPolicy { require_mfa, upstream_only, ..added.client.policy.clone() };
                clients::set_policy(&state, &Actor::Cli, &added.client.id, policy).await?;
            }
            let kind = if added.client.public { "public" } else { "confidential" };
            println!("added {kind} client {}", added.client.id);
            if let Some(secret) = added.generated_secret {
                println!("client secret (shown once, store it now): {}", secret.expose_secret());
            }
        }
        ClientCommand::RegistrationToken { uses, ttl, description } => {
            let ttl = std::time::Duration::from_secs(ttl);
            let (token, expires_at) =
                registration::issue_initial_access_token(&state, &Actor::Cli, &description, uses, ttl).await?;
            println!(
                "initial access token (shown once; good for {uses} registration(s) until {}):",
                format_time(expires_at)
            );
            println!("{}", token.expose_secret());
        }
        ClientCommand::List(ListArgs { output: Output::Json }) => {
            let list: Vec<_> = clients::list_clients(&state.db)
                .await?
                .into_iter()
                .map(|client| {
                    serde_json::json!({
                        "client_id": client.id,
                        "name": client.name,
                        "public": client.public,
                        "first_party": client.first_party,
                        "enabled": client.enabled,
                        "redirect_uris": client.redirect_uris,
                        "post_logout_redirect_uris": client.post_logout_redirect_uris,
                        "scope": client.allowed_scopes.to_string(),
                        "grant_types": client.allowed_grants.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            print_json(&list)?;
        }
        ClientCommand::List(_) => {
            println!("{:<32}  {:<12}  {:<11}  {:<8}  REDIRECT URIS", "CLIENT ID", "TYPE", "FIRST-PARTY", "STATUS");
            for client in clients::list_clients(&state.db).await? {
                let kind = if client.public { "public" } else { "confidential" };
                let first_party = if client.first_party { "yes" } else { "no" };
                let status = if client.enabled { "enabled" } else { "disabled" };
                println!(
                    "{:<32}  {:<12}  {:<11}  {:<8}  {}",
                    client.id,
                    kind,
                    first_party,
                    status,
                    client.redirect_uris.join(" ")
                );
            }
        }
    }
    Ok(())
}
