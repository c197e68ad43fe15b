//! Initial access tokens (RFC 7591 §3): what an admin hands out so that a client may
//! register itself at `/register` when `clients.registration = "token"`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InitialAccessTokens {
    Table,
    /// base64url SHA-256 of the token.
    TokenHash,
    /// What the admin noted it is for.
    Description,
    /// Registrations it may still make.
    UsesLeft,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InitialAccessTokens::Table)
                    .col(string_len(InitialAccessTokens::TokenHash, 64).primary_key())
                    .col(string_len(InitialAccessTokens::Description, 255))
                    .col(big_integer(InitialAccessTokens::UsesLeft))
                    .col(big_integer(InitialAccessTokens::CreatedAt))
                    .col(big_integer(InitialAccessTokens::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(InitialAccessTokens::Table).to_owned()).await
    }
}
