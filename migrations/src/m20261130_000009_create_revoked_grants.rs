use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A durable record of every ended grant, kept until the last token of the grant has
/// expired: access tokens carry their grant id, and a revocation must outlive the loss of
/// the ephemeral store.
#[derive(DeriveIden, Clone)]
pub enum RevokedGrants {
    Table,
    GrantId,
    RevokedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RevokedGrants::Table)
                    .col(string_len(RevokedGrants::GrantId, 64).primary_key())
                    .col(big_integer(RevokedGrants::RevokedAt))
                    .col(big_integer(RevokedGrants::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index(RevokedGrants::Table, &["expires_at"], false)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RevokedGrants::Table).to_owned()).await
    }
}
