//! `latchkey serve`: the HTTP server (also what runs with no subcommand).

use crate::config::Settings;
use crate::startup::Application;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let issuer = settings.issuer.clone();
    let application = Application::build(settings).await?;
    tracing::info!(%issuer, port = application.port(), "latchkey is serving");
    let users = crate::domain::users::list_users(&application.state().db).await?;
    if !users.iter().any(|user| user.admin && !user.disabled) {
        tracing::warn!(
            "no admin exists yet: create one with `latchkey user add NAME --admin --password-stdin`, then open {issuer}/admin"
        );
    }
    application.run_until_stopped().await?;
    tracing::info!("latchkey stopped");
    Ok(())
}
