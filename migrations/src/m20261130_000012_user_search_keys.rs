//! Prefix search on users at scale: a case-folded `email_key` beside `username_key`, both
//! compared byte by byte (PostgreSQL's `"C"` collation; SQLite's default), so a prefix is
//! one index range on either backend and keyset pages follow the same order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len_null;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
enum Users {
    Table,
    EmailKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(string_len_null(Users::EmailKey, 320)).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Written since by the application with Rust's case folding; SQL's `lower` agrees
        // on every ASCII address.
        db.execute_unprepared("UPDATE users SET email_key = lower(email)").await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared(
                r#"ALTER TABLE users ALTER COLUMN username_key TYPE varchar(255) COLLATE "C",
                                   ALTER COLUMN email_key TYPE varchar(320) COLLATE "C""#,
            )
            .await?;
        }
        manager.drop_index(Index::drop().name("users_email_idx").table(Users::Table).to_owned()).await?;
        manager.create_index(index(Users::Table, &["email_key", "username_key"], false)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("users_email_key_username_key_idx").table(Users::Table).to_owned())
            .await?;
        manager.create_index(index(Users::Table, &["email"], false)).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::EmailKey).to_owned()).await
    }
}
