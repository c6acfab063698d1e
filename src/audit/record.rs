//! Writing audit events.

use actix_web::{HttpMessage, HttpRequest};
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use super::kinds::{Action, Entity};
use crate::auth::AuthUser;
use crate::db::schema::audit_events;
use crate::error::ApiError;
use crate::telemetry::RequestId;

use super::seal;

/// Every `actor_kind` an event may hold (`Ctx` sets one of them).
pub const ACTOR_KINDS: &[&str] = &["user", "client", "system", "anonymous"];

/// Who did it, from where, in which request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor_kind: &'static str,
    pub actor_id: Option<Uuid>,
    /// Only for those without an account id: the username a failed login
    /// tried, or the name of a system task.
    pub actor_name: Option<String>,
    pub request_id: Option<Uuid>,
    pub address: Option<String>,
}

fn request_parts(req: &HttpRequest) -> (Option<Uuid>, Option<String>) {
    (
        req.extensions().get::<RequestId>().map(|r| r.0),
        crate::telemetry::client_address(req),
    )
}

impl Ctx {
    pub fn user(user: &AuthUser, req: &HttpRequest) -> Ctx {
        let mut ctx = Ctx::account(user.id, req);
        if user.role == crate::auth::Role::Client {
            ctx.actor_kind = "client";
        }
        ctx
    }

    /// An account acting, known by its id (a login, before any token).
    pub fn account(user_id: Uuid, req: &HttpRequest) -> Ctx {
        let (request_id, address) = request_parts(req);
        Ctx {
            actor_kind: "user",
            actor_id: Some(user_id),
            actor_name: None,
            request_id,
            address,
        }
    }

    /// A caller not (yet) authenticated: a login attempt.
    pub fn anonymous(name: &str, req: &HttpRequest) -> Ctx {
        let (request_id, address) = request_parts(req);
        Ctx {
            actor_kind: "anonymous",
            actor_id: None,
            actor_name: Some(name.chars().take(200).collect()),
            request_id,
            address,
        }
    }

    pub fn system(task: &str) -> Ctx {
        Ctx {
            actor_kind: "system",
            actor_id: None,
            actor_name: Some(task.to_string()),
            request_id: None,
            address: None,
        }
    }
}

/// What happened to which record.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: Action,
    pub entity: Entity,
    pub entity_id: Option<String>,
    pub unit_id: Option<Uuid>,
    pub area_path: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Event {
    pub fn new(action: Action, entity: Entity, entity_id: impl ToString) -> Event {
        Event {
            entity_id: Some(entity_id.to_string()),
            ..Event::of(action, entity)
        }
    }

    /// An event about no one record (a list read, an import, a failed login).
    pub fn of(action: Action, entity: Entity) -> Event {
        Event {
            action,
            entity,
            entity_id: None,
            unit_id: None,
            area_path: None,
            before: None,
            after: None,
        }
    }

    pub fn at(mut self, unit_id: Uuid, area_path: &str) -> Event {
        self.unit_id = Some(unit_id);
        self.area_path = Some(area_path.to_string());
        self
    }

    /// Places the event at a unit known by its id (its path from the cache).
    pub fn at_unit(self, conn: &mut PgConnection, unit_id: Uuid) -> Result<Event, ApiError> {
        Ok(match crate::auth::access::unit_path(conn, unit_id)? {
            Some(path) => self.at(unit_id, &path),
            None => self,
        })
    }

    pub fn before(mut self, value: impl serde::Serialize) -> Event {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: impl serde::Serialize) -> Event {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

/// JSON with object keys sorted at every level: the same value always
/// gives the same text, whatever order the database returns keys in.
pub fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The stored fields of an event, as hashed.
pub struct Content<'a> {
    pub event_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_kind: &'a str,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<&'a str>,
    pub unit_id: Option<Uuid>,
    pub area_path: Option<&'a str>,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
    pub request_id: Option<Uuid>,
    pub address: Option<&'a str>,
}

impl Content<'_> {
    /// Every hashed field but `before` and `after`, as JSON values.
    pub fn envelope(&self) -> serde_json::Map<String, Value> {
        let value = serde_json::json!({
            "event_id": self.event_id,
            "at": self.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "actor_kind": self.actor_kind,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "unit_id": self.unit_id,
            "area_path": self.area_path,
            "request_id": self.request_id,
            "address": self.address,
        });
        match value {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    /// The first way of hashing (events without a seal): canonical JSON of
    /// every field, `before` and `after` as read back from `jsonb`. Exact
    /// only when every number reads back to the bits it was written from.
    pub fn legacy_hash(&self) -> Vec<u8> {
        let mut map = self.envelope();
        map.insert("before".into(), self.before.cloned().unwrap_or(Value::Null));
        map.insert("after".into(), self.after.cloned().unwrap_or(Value::Null));
        let mut text = String::new();
        canonical(&Value::Object(map), &mut text);
        Sha256::digest(text.as_bytes()).to_vec()
    }
}

/// Who wrote an event, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct Who {
    pub event_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub request_id: Option<Uuid>,
    pub address: Option<String>,
}

/// An event as stored, with its seal and its place in the chain.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct Stored {
    pub id: i64,
    #[diesel(embed)]
    pub who: Who,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub unit_id: Option<Uuid>,
    pub area_path: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub content_hash: Vec<u8>,
    pub seq: Option<i64>,
    pub prev_hash: Option<Vec<u8>>,
    pub chain_hash: Option<Vec<u8>>,
    pub sealed: Option<String>,
    pub openings: Option<String>,
}

impl Stored {
    /// The hashed fields, `before` and `after` as read back.
    pub fn content(&self) -> Content<'_> {
        Content {
            event_id: self.who.event_id,
            at: self.who.at,
            actor_kind: &self.who.actor_kind,
            actor_id: self.who.actor_id,
            actor_name: self.who.actor_name.as_deref(),
            action: &self.action,
            entity: &self.entity,
            entity_id: self.entity_id.as_deref(),
            unit_id: self.unit_id,
            area_path: self.area_path.as_deref(),
            before: self.before.as_ref(),
            after: self.after.as_ref(),
            request_id: self.who.request_id,
            address: self.who.address.as_deref(),
        }
    }
}

/// Appends an event, in the caller's transaction.
pub fn record(conn: &mut PgConnection, ctx: &Ctx, event: Event) -> Result<(), ApiError> {
    record_many(conn, &[(ctx, event)])
}

/// Appends events in one statement, in the caller's transaction, in the
/// order given (which is the order the linker chains them in).
pub fn record_many(conn: &mut PgConnection, events: &[(&Ctx, Event)]) -> Result<(), ApiError> {
    if events.is_empty() {
        return Ok(());
    }
    // Stored with microseconds, so hash what will be read back.
    let now = Utc::now();
    let at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let mut rows = Vec::with_capacity(events.len());
    for (ctx, event) in events {
        let event_id = Uuid::now_v7();
        let envelope = Content {
            event_id,
            at,
            actor_kind: ctx.actor_kind,
            actor_id: ctx.actor_id,
            actor_name: ctx.actor_name.as_deref(),
            action: event.action.as_str(),
            entity: event.entity.as_str(),
            entity_id: event.entity_id.as_deref(),
            unit_id: event.unit_id,
            area_path: event.area_path.as_deref(),
            before: None,
            after: None,
            request_id: ctx.request_id,
            address: ctx.address.as_deref(),
        }
        .envelope();
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(ApiError::internal)?;
        let sealed = seal::seal(envelope, event.before.as_ref(), event.after.as_ref(), &seed);
        rows.push((
            audit_events::event_id.eq(event_id),
            audit_events::at.eq(at),
            audit_events::actor_kind.eq(ctx.actor_kind),
            audit_events::actor_id.eq(ctx.actor_id),
            audit_events::actor_name.eq(ctx.actor_name.as_deref()),
            audit_events::action.eq(event.action.as_str()),
            audit_events::entity.eq(event.entity.as_str()),
            audit_events::entity_id.eq(event.entity_id.as_deref()),
            audit_events::unit_id.eq(event.unit_id),
            audit_events::area_path.eq(event.area_path.as_deref()),
            audit_events::before.eq(event.before.as_ref()),
            audit_events::after.eq(event.after.as_ref()),
            audit_events::request_id.eq(ctx.request_id),
            audit_events::address.eq(ctx.address.as_deref()),
            audit_events::content_hash.eq(sealed.hash),
            (
                audit_events::sealed.eq(sealed.text),
                audit_events::openings.eq(sealed.openings),
            ),
        ));
    }
    diesel::insert_into(audit_events::table)
        .values(rows)
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_keys_at_every_level() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":1,"y":2}],"c":null}}"#).unwrap();
        let mut out = String::new();
        canonical(&a, &mut out);
        assert_eq!(out, r#"{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}"#);
    }
}
