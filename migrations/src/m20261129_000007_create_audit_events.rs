use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
pub enum AuditEvents {
    Table,
    Id,
    OccurredAt,
    EventType,
    ActorUserId,
    SubjectUserId,
    ClientId,
    SourceIp,
    Details,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(big_integer(AuditEvents::OccurredAt))
                    .col(string_len(AuditEvents::EventType, 64))
                    .col(string_len_null(AuditEvents::ActorUserId, 64))
                    .col(string_len_null(AuditEvents::SubjectUserId, 64))
                    .col(string_len_null(AuditEvents::ClientId, 255))
                    .col(string_len_null(AuditEvents::SourceIp, 64))
                    .col(text(AuditEvents::Details))
                    .to_owned(),
            )
            .await?;
        for column in ["occurred_at", "event_type", "actor_user_id", "subject_user_id", "client_id"] {
            manager.create_index(index(AuditEvents::Table, &[column], false)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditEvents::Table).to_owned()).await
    }
}
