//! Second factors: a user's TOTP secret (sealed with the master key) with the last time
//! step accepted, and their recovery codes (hashed, single use).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TotpFactors {
    Table,
    UserId,
    /// base64 of the sealed base32 secret.
    SealedSecret,
    /// The last time step whose code was accepted: a code is accepted once.
    LastStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TotpFactors::Table)
                    .col(string_len(TotpFactors::UserId, 64).primary_key())
                    .col(text(TotpFactors::SealedSecret))
                    .col(big_integer(TotpFactors::LastStep))
                    .col(big_integer(TotpFactors::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(string_len(RecoveryCodes::UserId, 64))
                    .col(string_len(RecoveryCodes::CodeHash, 64))
                    .col(big_integer_null(RecoveryCodes::UsedAt))
                    .col(big_integer(RecoveryCodes::CreatedAt))
                    .primary_key(Index::create().col(RecoveryCodes::UserId).col(RecoveryCodes::CodeHash))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RecoveryCodes::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TotpFactors::Table).to_owned()).await
    }
}
