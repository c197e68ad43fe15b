//! Groups: named sets of users and of other groups, released to clients as the `groups`
//! claim and used by clients' access policies. The admin role becomes membership of the
//! built-in group `latchkey-admins`; `users.admin` stays, kept by the application as the
//! resolved answer ("a member, directly or through a nested group").

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
enum Groups {
    Table,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum GroupUsers {
    Table,
    GroupName,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden, Clone)]
enum GroupGroups {
    Table,
    ParentName,
    ChildName,
    CreatedAt,
}

#[derive(DeriveIden, Clone)]
enum Clients {
    Table,
    /// JSON array of group names whose members may use the client; NULL: everyone.
    AllowedGroups,
    /// JSON array of group names and `prefix*` patterns released in `groups`; NULL: all.
    ReleasedGroups,
    /// JSON array of {attribute, claim, scope}: user attributes released as claims.
    ClaimMappings,
}

#[derive(DeriveIden, Clone)]
enum Users {
    Table,
    /// JSON object of string attributes set by admins.
    Attributes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Groups::Table)
                    .col(string_len(Groups::Name, 64).primary_key())
                    .col(string_len(Groups::Description, 1024).default(""))
                    .col(big_integer(Groups::CreatedAt))
                    .col(big_integer(Groups::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupUsers::Table)
                    .col(string_len(GroupUsers::GroupName, 64))
                    .col(string_len(GroupUsers::UserId, 64))
                    .col(big_integer(GroupUsers::CreatedAt))
                    .primary_key(Index::create().col(GroupUsers::GroupName).col(GroupUsers::UserId))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index(GroupUsers::Table, &["user_id"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupGroups::Table)
                    .col(string_len(GroupGroups::ParentName, 64))
                    .col(string_len(GroupGroups::ChildName, 64))
                    .col(big_integer(GroupGroups::CreatedAt))
                    .primary_key(Index::create().col(GroupGroups::ParentName).col(GroupGroups::ChildName))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index(GroupGroups::Table, &["child_name"], false)).await?;
        for column in [Clients::AllowedGroups, Clients::ReleasedGroups] {
            manager.alter_table(Table::alter().table(Clients::Table).add_column(text_null(column)).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter().table(Clients::Table).add_column(text(Clients::ClaimMappings).default("[]")).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(text(Users::Attributes).default("{}")).to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO \"groups\" (name, description, created_at, updated_at) \
             VALUES ('latchkey-admins', 'Administrators: the admin console and API', 0, 0)",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO group_users (group_name, user_id, created_at) \
             SELECT 'latchkey-admins', id, created_at FROM users WHERE admin = true",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["group_groups", "group_users", "groups"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        for column in [Clients::AllowedGroups, Clients::ReleasedGroups, Clients::ClaimMappings] {
            manager.alter_table(Table::alter().table(Clients::Table).drop_column(column).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::Attributes).to_owned()).await
    }
}
