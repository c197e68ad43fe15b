//! Clients that authenticate with a signed JWT (RFC 7523 `private_key_jwt`) and clients
//! that registered themselves (RFC 7591), with the hash of their registration access token
//! (RFC 7592).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    /// The client's public keys, a JWK Set as JSON.
    Jwks,
    /// Where the client publishes its JWK Set.
    JwksUri,
    /// Registered through `/register` rather than by an admin.
    Dynamic,
    /// base64url SHA-256 of the registration access token (RFC 7592).
    RegistrationTokenHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for column in [
            ColumnDef::new(Clients::Jwks).text().null().to_owned(),
            ColumnDef::new(Clients::JwksUri).string_len(2048).null().to_owned(),
            boolean(Clients::Dynamic).default(false).to_owned(),
            ColumnDef::new(Clients::RegistrationTokenHash).string_len(64).null().to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Clients::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Clients::Jwks, Clients::JwksUri, Clients::Dynamic, Clients::RegistrationTokenHash] {
            manager.alter_table(Table::alter().table(Clients::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
