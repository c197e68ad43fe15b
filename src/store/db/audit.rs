//! Writes to the `audit_events` table.

use anyhow::Context;
use sea_orm::{EntityTrait, Set};

use super::Db;
use super::entities::audit_events;
use crate::domain::model::{AuditEvent, AuditFilter};

pub async fn insert(db: &Db, event: &AuditEvent) -> anyhow::Result<()> {
    let model = audit_events::ActiveModel {
        id: sea_orm::NotSet,
        occurred_at: Set(event.occurred_at),
        event_type: Set(event.event_type.to_string()),
        actor_user_id: Set(event.actor_user_id.clone()),
        subject_user_id: Set(event.subject_user_id.clone()),
        client_id: Set(event.client_id.clone()),
        source_ip: Set(event.source_ip.clone()),
        details: Set(event.details.to_string()),
    };
    audit_events::Entity::insert(model).exec_without_returning(db).await.context("cannot write audit event")?;
    Ok(())
}

/// The most recent events of a type, newest first (for tests and, later, the admin pages).
pub async fn recent_of_type(db: &Db, event_type: &str, limit: u64) -> anyhow::Result<Vec<AuditEvent>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let models = audit_events::Entity::find()
        .filter(audit_events::Column::EventType.eq(event_type))
        .order_by_desc(audit_events::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .context("cannot read audit events")?;
    Ok(models.into_iter().map(to_event).collect())
}

/// A page of events matching `filter`, newest first, and the total count.
pub async fn search(
    db: &Db,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> anyhow::Result<(Vec<(i64, AuditEvent)>, u64)> {
    use sea_orm::{ColumnTrait, Condition, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut condition = Condition::all();
    if let Some(user) = &filter.user_id {
        condition = condition.add(
            Condition::any()
                .add(audit_events::Column::SubjectUserId.eq(user.clone()))
                .add(audit_events::Column::ActorUserId.eq(user.clone())),
        );
    }
    if let Some(client) = &filter.client_id {
        condition = condition.add(audit_events::Column::ClientId.eq(client.clone()));
    }
    if let Some(event_type) = &filter.event_type {
        condition = condition.add(audit_events::Column::EventType.eq(event_type.clone()));
    }
    if let Some(since) = filter.since {
        condition = condition.add(audit_events::Column::OccurredAt.gte(since));
    }
    if let Some(until) = filter.until {
        condition = condition.add(audit_events::Column::OccurredAt.lte(until));
    }
    let select = audit_events::Entity::find().filter(condition);
    let total = select.clone().count(db).await.context("cannot count audit events")?;
    let models = select
        .order_by_desc(audit_events::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
        .context("cannot read audit events")?;
    Ok((models.into_iter().map(|m| (m.id, to_event(m))).collect(), total))
}

pub(super) fn to_event(m: audit_events::Model) -> AuditEvent {
    AuditEvent {
        occurred_at: m.occurred_at,
        event_type: m.event_type,
        actor_user_id: m.actor_user_id,
        subject_user_id: m.subject_user_id,
        client_id: m.client_id,
        source_ip: m.source_ip,
        details: serde_json::from_str(&m.details).unwrap_or_default(),
    }
}
