use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revoked_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub grant_id: String,
    pub revoked_at: i64,
    pub expires_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
