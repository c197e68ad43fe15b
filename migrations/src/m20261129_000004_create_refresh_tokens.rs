use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A family is one grant: the chain of refresh tokens that rotation derives from one
/// authorization code. Reuse of any used member revokes the whole family.
#[derive(DeriveIden, Clone)]
pub enum RefreshTokenFamilies {
    Table,
    Id,
    UserId,
    ClientId,
    SessionId,
    Scope,
    Amr,
    AuthTime,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone)]
pub enum RefreshTokens {
    Table,
    TokenHash,
    FamilyId,
    CreatedAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokenFamilies::Table)
                    .col(string_len(RefreshTokenFamilies::Id, 64).primary_key())
                    .col(string_len(RefreshTokenFamilies::UserId, 64))
                    .col(string_len(RefreshTokenFamilies::ClientId, 255))
                    .col(string_len_null(RefreshTokenFamilies::SessionId, 64))
                    .col(text(RefreshTokenFamilies::Scope))
                    .col(text(RefreshTokenFamilies::Amr))
                    .col(big_integer(RefreshTokenFamilies::AuthTime))
                    .col(big_integer(RefreshTokenFamilies::CreatedAt))
                    .col(big_integer(RefreshTokenFamilies::ExpiresAt))
                    .col(big_integer_null(RefreshTokenFamilies::RevokedAt))
                    .to_owned(),
            )
            .await?;
        for column in ["user_id", "client_id", "session_id"] {
            manager.create_index(index(RefreshTokenFamilies::Table, &[column], false)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    // SHA-256 of the token, base64url: the token itself is never stored.
                    .col(string_len(RefreshTokens::TokenHash, 64).primary_key())
                    .col(string_len(RefreshTokens::FamilyId, 64))
                    .col(big_integer(RefreshTokens::CreatedAt))
                    .col(big_integer_null(RefreshTokens::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::FamilyId)
                            .to(RefreshTokenFamilies::Table, RefreshTokenFamilies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index(RefreshTokens::Table, &["family_id"], false)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RefreshTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RefreshTokenFamilies::Table).to_owned()).await
    }
}
