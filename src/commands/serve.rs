//! `latchkey serve`: the HTTP server (also what runs with no subcommand).

use crate::config::Settings;
use crate::startup::Application;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let issuer = settings.issuer.clone();
    let application = Application::build(settings).await?;
    tracing::info!(%issuer, port = application.port(), "latchkey is serving");
    application.run_until_stopped().await?;
    tracing::info!("latchkey stopped");
    Ok(())
}
