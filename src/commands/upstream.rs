//! `latchkey upstream add|list|delete`.

use std::collections::BTreeMap;

use super::{open_state, print_json, read_secret_from_stdin};
use crate::cli::{AddUpstream, ListArgs, Output, UpstreamCommand, list_values};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::domain::upstream::{self, ProviderSettings, UpstreamKind};

/// `KEY=VALUE` pairs from repeated flags.
pub fn pairs(values: &[String], flag: &str) -> anyhow::Result<BTreeMap<String, String>> {
    values
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.trim().to_string())),
            _ => anyhow::bail!("--{flag} takes KEY=VALUE, not {pair:?}"),
        })
        .collect()
}

pub async fn run(command: UpstreamCommand, settings: Settings) -> anyhow::Result<()> {
    let state = open_state(settings).await?;
    match command {
        UpstreamCommand::Add(add) => {
            let AddUpstream {
                name,
                kind,
                issuer,
                api_url,
                client_id,
                secret_stdin,
                scopes,
                display_name,
                icon_url,
                auto_create,
                trust_email,
                trust_mfa,
                username_claim,
                map_claims,
                groups_claim,
                map_groups,
                disabled,
            } = *add;
            let kind =
                UpstreamKind::parse(&kind).ok_or_else(|| anyhow::anyhow!("--kind is oidc or github, not {kind:?}"))?;
            anyhow::ensure!(
                secret_stdin,
                "an upstream needs its client secret: pass it on standard input with --secret-stdin"
            );
            let secret = read_secret_from_stdin("client secret")?;
            let settings = ProviderSettings {
                kind,
                display_name,
                icon_url,
                issuer: issuer.unwrap_or_default(),
                api_url,
                client_id,
                secret: Some(secret),
                scopes: list_values(&scopes),
                enabled: !disabled,
                auto_create,
                trust_email,
                trust_mfa,
                username_claim,
                profile_claims: pairs(&map_claims, "map-claim")?,
                groups_claim,
                group_map: pairs(&map_groups, "map-group")?,
            };
            let added = upstream::add_upstream(&state, &Actor::Cli, &name, settings).await?;
            println!("added upstream {} ({})", added.name, added.kind.as_str());
            println!("redirect URI to register upstream: {}", upstream::redirect_uri(&state, &added.name));
        }
        UpstreamCommand::List(ListArgs { output: Output::Json }) => {
            let list: Vec<_> = upstream::list_upstreams(&state.db).await?.iter().map(upstream::describe).collect();
            print_json(&list)?;
        }
        UpstreamCommand::List(_) => {
            println!("{:<16}  {:<6}  {:<8}  {:<24}  ISSUER", "NAME", "KIND", "ENABLED", "DISPLAY NAME");
            for provider in upstream::list_upstreams(&state.db).await? {
                let enabled = if provider.enabled { "yes" } else { "no" };
                println!(
                    "{:<16}  {:<6}  {:<8}  {:<24}  {}",
                    provider.name,
                    provider.kind.as_str(),
                    enabled,
                    provider.display_name,
                    provider.issuer
                );
            }
        }
        UpstreamCommand::Delete { name } => {
            upstream::delete_upstream(&state, &Actor::Cli, &name).await?;
            println!("deleted upstream {name}");
        }
    }
    Ok(())
}
