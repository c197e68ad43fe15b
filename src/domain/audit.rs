//! The audit log: who did what, when, from where. Writing an event never fails the action
//! it records; a failure to write is logged.

use serde_json::Value;

use super::UnixTime;
use crate::store::db::{self, Db};

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub occurred_at: UnixTime,
    pub event_type: String,
    pub actor_user_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub client_id: Option<String>,
    pub source_ip: Option<String>,
    pub details: Value,
}

impl AuditEvent {
    pub fn new(event_type: &str, at: UnixTime) -> AuditEvent {
        AuditEvent {
            occurred_at: at,
            event_type: event_type.to_string(),
            actor_user_id: None,
            subject_user_id: None,
            client_id: None,
            source_ip: None,
            details: Value::Object(Default::default()),
        }
    }

    pub fn actor(mut self, user_id: Option<&str>) -> AuditEvent {
        self.actor_user_id = user_id.map(str::to_string);
        self
    }

    pub fn client(mut self, client_id: &str) -> AuditEvent {
        self.client_id = Some(client_id.to_string());
        self
    }

    pub fn subject(mut self, user_id: &str) -> AuditEvent {
        self.subject_user_id = Some(user_id.to_string());
        self
    }

    pub fn source_ip(mut self, ip: Option<String>) -> AuditEvent {
        self.source_ip = ip;
        self
    }

    pub fn details(mut self, details: Value) -> AuditEvent {
        self.details = details;
        self
    }
}

pub async fn record(db: &Db, event: AuditEvent) {
    if let Err(error) = db::audit::insert(db, &event).await {
        tracing::error!(error = %format!("{error:#}"), event_type = %event.event_type, "cannot write the audit log");
    }
}
