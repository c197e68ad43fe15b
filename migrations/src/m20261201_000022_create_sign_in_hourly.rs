//! Sign-ins per hour, method and outcome: a rollup the admin dashboard reads (a few hundred
//! rows for a week) instead of scanning the audit log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignInHourly {
    Table,
    /// The hour's start, Unix seconds.
    Hour,
    /// `password`, `passkey` or `mfa`.
    Method,
    /// `success` or `failure`.
    Outcome,
    Count,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignInHourly::Table)
                    .if_not_exists()
                    .col(big_integer(SignInHourly::Hour))
                    .col(string_len(SignInHourly::Method, 16))
                    .col(string_len(SignInHourly::Outcome, 16))
                    .col(big_integer(SignInHourly::Count))
                    .primary_key(
                        Index::create().col(SignInHourly::Hour).col(SignInHourly::Method).col(SignInHourly::Outcome),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SignInHourly::Table).to_owned()).await
    }
}
