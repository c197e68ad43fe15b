use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub parent_name: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub child_name: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
