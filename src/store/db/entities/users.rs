use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub username: String,
    pub username_key: String,
    pub email: Option<String>,
    /// The case-folded email: what prefix search ranges over.
    pub email_key: Option<String>,
    /// The user proved they receive mail at `email` (a link followed).
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub admin: bool,
    pub must_change_password: bool,
    /// JSON object of string attributes.
    pub attributes: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
