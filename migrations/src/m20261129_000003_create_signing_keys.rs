use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
pub enum SigningKeys {
    Table,
    Kid,
    Generation,
    Algorithm,
    Bits,
    PublicN,
    PublicE,
    SealedPrivateKey,
    CreatedAt,
    ActivatesAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string_len(SigningKeys::Kid, 64).primary_key())
                    // One key per generation: when two instances rotate at the same moment,
                    // the unique index lets exactly one of them win.
                    .col(big_integer(SigningKeys::Generation))
                    .col(string_len(SigningKeys::Algorithm, 16))
                    .col(integer(SigningKeys::Bits))
                    .col(text(SigningKeys::PublicN))
                    .col(text(SigningKeys::PublicE))
                    // nonce || AES-256-GCM(PKCS#8 DER), the kid as associated data.
                    .col(blob(SigningKeys::SealedPrivateKey))
                    .col(big_integer(SigningKeys::CreatedAt))
                    .col(big_integer(SigningKeys::ActivatesAt))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index(SigningKeys::Table, &["generation"], true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SigningKeys::Table).to_owned()).await
    }
}
