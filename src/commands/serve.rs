//! `latchkey serve`: the HTTP server (also what runs with no subcommand).

use crate::config::Settings;
use crate::startup::Application;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let issuer = settings.issuer.clone();
    let application = Application::build(settings).await?;
    tracing::info!(%issuer, port = application.port(), "latchkey is serving");
    // Beside serving, not before it: with no admin this reads the whole user table.
    let db = application.state().db.clone();
    tokio::spawn(async move {
        if let Ok(false) = crate::domain::users::admin_exists(&db).await {
            tracing::warn!(
                "no admin exists yet: create one with `latchkey user add NAME --admin --password-stdin`, then open {issuer}/admin"
            );
        }
    });
    application.run_until_stopped().await?;
    tracing::info!("latchkey stopped");
    Ok(())
}
