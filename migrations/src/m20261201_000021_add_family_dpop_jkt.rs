//! A public client's refresh tokens bound to its DPoP key (RFC 9449 §5).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokenFamilies {
    Table,
    /// The JWK SHA-256 thumbprint of the key every refresh must prove possession of.
    DpopJkt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(RefreshTokenFamilies::DpopJkt).string_len(64).null().to_owned();
        manager.alter_table(Table::alter().table(RefreshTokenFamilies::Table).add_column(column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(RefreshTokenFamilies::Table).drop_column(RefreshTokenFamilies::DpopJkt).to_owned(),
            )
            .await
    }
}
