//! Email: whether a user's address is verified, and the single-use links mailed to users
//! (verification, password reset, invitation), stored by the hash of their token.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    EmailVerified,
}

#[derive(DeriveIden)]
enum EmailLinks {
    Table,
    /// base64url SHA-256 of the token in the link.
    TokenHash,
    /// `verify`, `reset` or `invite`.
    Purpose,
    UserId,
    /// The address the link was sent to (for `verify`: the address it proves).
    Email,
    /// The authorization request the user was on, to continue after a reset.
    RequestId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(boolean(Users::EmailVerified).default(false)).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailLinks::Table)
                    .col(string_len(EmailLinks::TokenHash, 64).primary_key())
                    .col(string_len(EmailLinks::Purpose, 16))
                    .col(string_len(EmailLinks::UserId, 64))
                    .col(string_len(EmailLinks::Email, 320))
                    .col(string_len_null(EmailLinks::RequestId, 64))
                    .col(big_integer(EmailLinks::CreatedAt))
                    .col(big_integer(EmailLinks::ExpiresAt))
                    .col(big_integer_null(EmailLinks::UsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("email_links_by_user")
                    .table(EmailLinks::Table)
                    .col(EmailLinks::UserId)
                    .col(EmailLinks::Purpose)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(EmailLinks::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::EmailVerified).to_owned()).await
    }
}
