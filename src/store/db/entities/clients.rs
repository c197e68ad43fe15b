use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub public: bool,
    pub first_party: bool,
    pub require_pkce: bool,
    pub require_par: bool,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub dynamic: bool,
    pub registration_token_hash: Option<String>,
    /// JSON array of strings.
    pub redirect_uris: String,
    /// JSON array of strings.
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    pub logo_uri: Option<String>,
    /// Space-separated scopes.
    pub allowed_scopes: String,
    /// Space-separated grant types.
    pub allowed_grants: String,
    pub enabled: bool,
    /// JSON array of group names; NULL: everyone may use the client.
    pub allowed_groups: Option<String>,
    /// JSON array of group names and `prefix*` patterns; NULL: every group is released.
    pub released_groups: Option<String>,
    /// JSON array of claim mappings.
    pub claim_mappings: String,
    pub require_mfa: bool,
    pub upstream_only: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
