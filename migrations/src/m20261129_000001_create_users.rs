use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
pub enum Users {
    Table,
    Id,
    Username,
    UsernameKey,
    Email,
    DisplayName,
    PasswordHash,
    Disabled,
    Admin,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(string_len(Users::Id, 64).primary_key())
                    .col(string_len(Users::Username, 255))
                    // The lower-cased username: what makes usernames unique case-insensitively
                    // on both backends, and what a sign-in looks up.
                    .col(string_len(Users::UsernameKey, 255))
                    .col(string_len_null(Users::Email, 320))
                    .col(string_len_null(Users::DisplayName, 255))
                    .col(text_null(Users::PasswordHash))
                    .col(boolean(Users::Disabled).default(false))
                    .col(boolean(Users::Admin).default(false))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index(Users::Table, &["username_key"], true)).await?;
        manager.create_index(index(Users::Table, &["email"], false)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Users::Table).to_owned()).await
    }
}
