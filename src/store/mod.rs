//! Storage: the durable database (`db`) and the ephemeral store (`ephemeral`). Nothing
//! here names HTTP or templates; queries return domain types.

pub mod db;
pub mod ephemeral;

/// Whether `error` comes from a store that cannot be reached (the database or Redis down,
/// a connection lost or timed out): the edge answers 503 then, not 500, and the request
/// can be retried.
pub fn is_outage(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(ephemeral::EphemeralError::Redis(_) | ephemeral::EphemeralError::Full) =
            cause.downcast_ref::<ephemeral::EphemeralError>()
        {
            return true;
        }
        if cause.downcast_ref::<::redis::RedisError>().is_some() {
            return true;
        }
        matches!(
            cause.downcast_ref::<sea_orm::DbErr>(),
            Some(sea_orm::DbErr::Conn(_) | sea_orm::DbErr::ConnectionAcquire(_))
        )
    })
}
