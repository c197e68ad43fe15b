//! `latchkey serve`: the HTTP server (also what runs with no subcommand).

use crate::config::Settings;
use crate::startup::Application;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let issuer = settings.issuer.clone();
    let application = Application::build(settings).await?;
    tracing::info!(%issuer, port = application.port(), "latchkey is serving");
    // Beside serving, not before it: with no admin this reads the whole user table.
    let state = application.state().clone();
    tokio::spawn(async move {
        match crate::domain::setup::issue_link(&state).await {
            Ok(Some(link)) => tracing::warn!(
                setup_link = %link,
                "no admin exists yet: open the setup link (it works once, for an hour) to create one, or run `latchkey user add NAME --admin --password-stdin`, then open {issuer}/admin"
            ),
            Ok(None) => {}
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "cannot make a setup link"),
        }
    });
    application.run_until_stopped().await?;
    tracing::info!("latchkey stopped");
    Ok(())
}
