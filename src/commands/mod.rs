//! One module per CLI verb. Each is a thin shell over the same domain functions the
//! HTTP handlers call.

mod api;
mod client;
mod group;
mod keys;
mod migrate;
mod serve;
mod upstream;
mod user;

use std::io::Read;

use anyhow::Context;
use secrecy::SecretString;

use crate::cli::Command;
use crate::config::Settings;
use crate::state::AppState;

pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve::run(settings).await,
        Command::Migrate => migrate::run(settings).await,
        Command::User(command) => user::run(command, settings).await,
        Command::Group(command) => group::run(command, settings).await,
        Command::Client(command) => client::run(command, settings).await,
        Command::Api(command) => api::run(command, settings).await,
        Command::Upstream(command) => upstream::run(command, settings).await,
        Command::Keys(command) => keys::run(command, settings).await,
    }
}

/// Opens what the server opens (database with pending migrations applied, ephemeral
/// store, keyring), so that a command works on a fresh database, even while a server runs
/// on the same one, and calls the very domain functions the server calls.
async fn open_state(settings: Settings) -> anyhow::Result<AppState> {
    crate::startup::prepare(settings).await
}

/// Prints `value` as pretty JSON (`--output json`).
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Reads a secret from standard input, without its final line break.
fn read_secret_from_stdin(what: &str) -> anyhow::Result<SecretString> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .with_context(|| format!("cannot read the {what} from standard input"))?;
    let trimmed = input.strip_suffix('\n').unwrap_or(&input);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(SecretString::from(trimmed.to_string()))
}
