//! API resources (RFC 8707 resource indicators): the APIs tokens can be issued for, and the
//! resources each grant was authorized for.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiResources {
    Table,
    /// The absolute URI that is the `aud` of its access tokens.
    Identifier,
    Name,
    /// Space-separated scope names this API defines.
    Scopes,
    /// Access-token lifetime for this API; null: `tokens.access_token_ttl_secs`.
    AccessTokenTtlSecs,
    /// Tokens for this API must be sender-constrained (DPoP).
    RequireDpop,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokenFamilies {
    Table,
    /// Space-separated identifiers of the API resources the grant was authorized for.
    Resources,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiResources::Table)
                    .col(string_len(ApiResources::Identifier, 255).primary_key())
                    .col(string_len(ApiResources::Name, 255))
                    .col(text(ApiResources::Scopes))
                    .col(big_integer_null(ApiResources::AccessTokenTtlSecs))
                    .col(boolean(ApiResources::RequireDpop).default(false))
                    .col(big_integer(ApiResources::CreatedAt))
                    .col(big_integer(ApiResources::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokenFamilies::Table)
                    .add_column(text(RefreshTokenFamilies::Resources).default(""))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokenFamilies::Table)
                    .drop_column(RefreshTokenFamilies::Resources)
                    .to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(ApiResources::Table).to_owned()).await
    }
}
