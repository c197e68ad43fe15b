//! `latchkey migrate`: apply pending database migrations.

use crate::config::Settings;
use crate::store::db;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let database = db::connect(&settings.database).await?;
    let pending = db::pending_migrations(&database).await?;
    db::migrate(&database).await?;
    if pending.is_empty() {
        println!("the database is up to date");
    }
    for name in pending {
        println!("applied {name}");
    }
    Ok(())
}
