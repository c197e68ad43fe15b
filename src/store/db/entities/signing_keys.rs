use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    pub generation: i64,
    pub algorithm: String,
    pub bits: i32,
    pub public_n: String,
    pub public_e: String,
    pub sealed_private_key: Vec<u8>,
    pub created_at: i64,
    pub activates_at: i64,
    pub revoked_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
