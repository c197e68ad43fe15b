use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upstream_providers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub kind: String,
    pub display_name: String,
    pub icon_url: Option<String>,
    pub issuer: String,
    pub api_url: Option<String>,
    pub client_id: String,
    pub sealed_secret: Vec<u8>,
    /// Space-separated scopes.
    pub scopes: String,
    pub enabled: bool,
    pub auto_create: bool,
    pub trust_email: bool,
    pub trust_mfa: bool,
    pub username_claim: String,
    /// JSON object: profile field → claim.
    pub profile_claims: String,
    pub groups_claim: Option<String>,
    /// JSON object: upstream value → Latchkey group.
    pub group_map: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
