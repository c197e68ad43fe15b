use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upstream_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub upstream: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
