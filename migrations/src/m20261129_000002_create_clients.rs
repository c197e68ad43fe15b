use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
pub enum Clients {
    Table,
    Id,
    Name,
    SecretHash,
    Public,
    FirstParty,
    RedirectUris,
    PostLogoutRedirectUris,
    BackchannelLogoutUri,
    AllowedScopes,
    AllowedGrants,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(string_len(Clients::Id, 255).primary_key())
                    .col(string_len(Clients::Name, 255))
                    .col(text_null(Clients::SecretHash))
                    .col(boolean(Clients::Public))
                    .col(boolean(Clients::FirstParty))
                    .col(text(Clients::RedirectUris))
                    .col(text(Clients::PostLogoutRedirectUris))
                    .col(text_null(Clients::BackchannelLogoutUri))
                    .col(text(Clients::AllowedScopes))
                    .col(text(Clients::AllowedGrants))
                    .col(boolean(Clients::Enabled).default(true))
                    .col(big_integer(Clients::CreatedAt))
                    .col(big_integer(Clients::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Clients::Table).to_owned()).await
    }
}
