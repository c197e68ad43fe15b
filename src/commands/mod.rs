//! One module per CLI verb. Each is a thin shell over the same domain functions the
//! HTTP handlers call.

mod client;
mod keys;
mod migrate;
mod serve;
mod user;

use std::io::Read;

use anyhow::Context;
use secrecy::SecretString;

use crate::cli::Command;
use crate::config::Settings;
use crate::store::db::{self, Db};

pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve::run(settings).await,
        Command::Migrate => migrate::run(settings).await,
        Command::User(command) => user::run(command, settings).await,
        Command::Client(command) => client::run(command, settings).await,
        Command::Keys(command) => keys::run(command, settings).await,
    }
}

/// Connects to the database and applies pending migrations, so that any command works
/// on a fresh database, even while a server runs on the same one.
async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = db::connect(&settings.database).await?;
    db::migrate(&db).await?;
    Ok(db)
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
