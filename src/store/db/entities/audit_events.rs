use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: i64,
    pub event_type: String,
    pub actor_user_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub client_id: Option<String>,
    pub source_ip: Option<String>,
    pub details: String,
}

impl ActiveModelBehavior for ActiveModel {}
