//! Upstream identity providers ("Continue with …"), the links from their accounts to
//! Latchkey users, and a client's choice to offer only them on its login page.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UpstreamProviders {
    Table,
    /// A short slug: the URL path part (`/login/upstream/{name}`) and the CLI's handle.
    Name,
    /// `oidc` or `github`.
    Kind,
    DisplayName,
    IconUrl,
    /// `oidc`: the issuer; `github`: the web base URL (`https://github.com`).
    Issuer,
    /// `github`: the REST API base URL (`https://api.github.com`).
    ApiUrl,
    ClientId,
    /// The client secret, sealed under the master key.
    SealedSecret,
    /// Space-separated scopes asked for.
    Scopes,
    Enabled,
    AutoCreate,
    TrustEmail,
    TrustMfa,
    UsernameClaim,
    /// JSON object: profile field → upstream claim.
    ProfileClaims,
    GroupsClaim,
    /// JSON object: upstream group value → Latchkey group.
    GroupMap,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum UpstreamLinks {
    Table,
    Upstream,
    /// The upstream's `sub` (GitHub: the numeric user id).
    Subject,
    UserId,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    /// The login page offers only the upstream providers, not the password form.
    UpstreamOnly,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UpstreamProviders::Table)
                    .col(string_len(UpstreamProviders::Name, 64).primary_key())
                    .col(string_len(UpstreamProviders::Kind, 16))
                    .col(string_len(UpstreamProviders::DisplayName, 255))
                    .col(string_len_null(UpstreamProviders::IconUrl, 512))
                    .col(string_len(UpstreamProviders::Issuer, 512))
                    .col(string_len_null(UpstreamProviders::ApiUrl, 512))
                    .col(string_len(UpstreamProviders::ClientId, 255))
                    .col(blob(UpstreamProviders::SealedSecret))
                    .col(text(UpstreamProviders::Scopes))
                    .col(boolean(UpstreamProviders::Enabled).default(true))
                    .col(boolean(UpstreamProviders::AutoCreate).default(false))
                    .col(boolean(UpstreamProviders::TrustEmail).default(false))
                    .col(boolean(UpstreamProviders::TrustMfa).default(false))
                    .col(string_len(UpstreamProviders::UsernameClaim, 64))
                    .col(text(UpstreamProviders::ProfileClaims))
                    .col(string_len_null(UpstreamProviders::GroupsClaim, 64))
                    .col(text(UpstreamProviders::GroupMap))
                    .col(big_integer(UpstreamProviders::CreatedAt))
                    .col(big_integer(UpstreamProviders::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UpstreamLinks::Table)
                    .col(string_len(UpstreamLinks::Upstream, 64))
                    .col(string_len(UpstreamLinks::Subject, 255))
                    .col(string_len(UpstreamLinks::UserId, 64))
                    .col(big_integer(UpstreamLinks::CreatedAt))
                    .col(big_integer_null(UpstreamLinks::LastUsedAt))
                    .primary_key(Index::create().col(UpstreamLinks::Upstream).col(UpstreamLinks::Subject))
                    .to_owned(),
            )
            .await?;
        manager.create_index(crate::index(UpstreamLinks::Table, &["user_id"], false)).await?;
        let column = ColumnDef::new(Clients::UpstreamOnly).boolean().not_null().default(false).to_owned();
        manager.alter_table(Table::alter().table(Clients::Table).add_column(column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Clients::Table).drop_column(Clients::UpstreamOnly).to_owned()).await?;
        manager.drop_table(Table::drop().table(UpstreamLinks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(UpstreamProviders::Table).to_owned()).await
    }
}
