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
        cause.downcast_ref::<sea_orm::DbErr>().is_some_and(is_connection_failure)
    })
}

/// The two stores an error can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Database,
    Ephemeral,
}

/// Which store `error` came from, if any.
pub fn failed_store(error: &anyhow::Error) -> Option<Store> {
    error.chain().find_map(|cause| {
        if cause.downcast_ref::<ephemeral::EphemeralError>().is_some()
            || cause.downcast_ref::<::redis::RedisError>().is_some()
        {
            Some(Store::Ephemeral)
        } else if cause.downcast_ref::<sea_orm::DbErr>().is_some() {
            Some(Store::Database)
        } else {
            None
        }
    })
}

/// A database error that says the database cannot be reached, not that a query is wrong.
fn is_connection_failure(error: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(error)) | DbErr::Exec(RuntimeErr::SqlxError(error)) => {
            matches!(error.as_ref(), Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed)
        }
        _ => false,
    }
}
