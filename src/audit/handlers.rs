//! `GET /audit` and `GET /audit/verify`.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::chain;
use super::checkpoint::{self, Checkpoint};
use super::kinds::{Action, Entity};
use crate::auth::tokens::TokenService;
use crate::auth::{AuthUser, Role, Scope};
use crate::db;
use crate::db::schema::audit_events;
use crate::domain::Invalid;
use crate::error::ApiError;
use crate::json::Query;
use crate::pagination;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub unit_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// The username of the account that acted.
    pub actor: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditDto {
    pub id: i64,
    pub event_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub unit_id: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<Uuid>,
    pub address: Option<String>,
    pub seq: Option<i64>,
}

/// An event as listed, with the names a person reads it by: the account's
/// username and the unit's name, looked up once per page.
#[derive(Debug, Serialize)]
pub struct AuditItem {
    #[serde(flatten)]
    pub event: AuditDto,
    pub actor_username: Option<String>,
    pub unit_name: Option<String>,
}

/// The usernames and unit names of a page's events.
fn named(conn: &mut PgConnection, rows: Vec<AuditDto>) -> QueryResult<Vec<AuditItem>> {
    use crate::db::schema::{units, users};
    let actors: Vec<Uuid> = rows.iter().filter_map(|r| r.actor_id).collect();
    let places: Vec<Uuid> = rows.iter().filter_map(|r| r.unit_id).collect();
    let usernames: HashMap<Uuid, String> = users::table
        .filter(users::id.eq_any(actors))
        .select((users::id, users::username))
        .load(conn)?
        .into_iter()
        .collect();
    let unit_names: HashMap<Uuid, String> = units::table
        .filter(units::id.eq_any(places))
        .select((units::id, units::name))
        .load(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|event| AuditItem {
            actor_username: event.actor_id.and_then(|a| usernames.get(&a).cloned()),
            unit_name: event.unit_id.and_then(|u| unit_names.get(&u).cloned()),
            event,
        })
        .collect())
}

/// A filter given by name, refused by name when it is not one.
fn filter<T>(
    field: &'static str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, Invalid>,
) -> Result<Option<T>, ApiError> {
    raw.map(parse)
        .transpose()
        .map_err(|e| ApiError::validation(field, e.code, e.message))
}

/// Newest first. Officers see the events of their area; events with no
/// area (logins, accounts of admins) only admins see.
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Officer])?;
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let before = pagination::decode::<i64>(q.cursor.as_deref())?;
    let entity = filter("entity", q.entity.as_deref(), Entity::parse)?;
    let action = filter("action", q.action.as_deref(), Action::parse)?;
    let actor = q
        .actor
        .as_deref()
        .map(crate::users::repo::parse_username)
        .transpose()
        .map_err(|m| ApiError::validation("actor", "invalid", m))?;
    if let (Some(f), Some(t)) = (q.from, q.to)
        && t <= f
    {
        return Err(ApiError::validation(
            "to",
            "before_from",
            "must be after from",
        ));
    }
    let rows = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let mut query = audit_events::table
            .filter(scope.area_filter("audit_events"))
            .into_boxed();
        if let Some(f) = crate::records::unit_filter(conn, "audit_events", q.unit_id)? {
            query = query.filter(f);
        }
        if let Some(a) = q.actor_id {
            query = query.filter(audit_events::actor_id.eq(a));
        }
        if let Some(name) = actor {
            use crate::db::schema::users;
            let account = users::table
                .filter(users::username.eq(name))
                .select(users::id.nullable());
            query = query.filter(audit_events::actor_id.eq_any(account));
        }
        if let Some(e) = entity {
            query = query.filter(audit_events::entity.eq(e.as_str()));
        }
        if let Some(e) = q.entity_id {
            query = query.filter(audit_events::entity_id.eq(e));
        }
        if let Some(a) = action {
            query = query.filter(audit_events::action.eq(a.as_str()));
        }
        if let Some(f) = q.from {
            query = query.filter(audit_events::at.ge(f));
        }
        if let Some(t) = q.to {
            query = query.filter(audit_events::at.lt(t));
        }
        if let Some(b) = before {
            query = query.filter(audit_events::id.lt(b));
        }
        let rows = query
            .order(audit_events::id.desc())
            .limit(limit + 1)
            .select(AuditDto::as_select())
            .load(conn)?;
        Ok(named(conn, rows)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(pagination::page(rows, limit, |r| r.event.id)))
}

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    /// A checkpoint's `token`; absent: the newest one written here.
    pub checkpoint: Option<String>,
}

/// Links what is pending, then recomputes the whole chain and checks that
/// it still reaches the checkpoint.
pub async fn verify(
    state: web::Data<AppState>,
    tokens: web::Data<TokenService>,
    user: AuthUser,
    query: crate::json::Query<VerifyQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let bad = |message: &str| ApiError::validation("checkpoint", "invalid", message.to_string());
    let checkpoint = match query.into_inner().checkpoint {
        Some(token) => {
            let cp = Checkpoint::from_token(&token)
                .filter(checkpoint::well_formed)
                .ok_or_else(|| bad("not a checkpoint of this service's trail"))?;
            if !cp.signed_by(tokens.jwks()) {
                return Err(bad(
                    "its signature does not verify with any of this service's keys",
                ));
            }
            Some(cp)
        }
        None => newest_checkpoint(&state, &tokens)?,
    };
    let verdict = db::run(&state.pool, move |conn| {
        chain::link_all(conn)?;
        chain::verify(conn, checkpoint.as_ref())
    })
    .await?;
    Ok(HttpResponse::Ok().json(verdict))
}

/// The newest checkpoint of this server's file whose signature verifies.
fn newest_checkpoint(
    state: &AppState,
    tokens: &TokenService,
) -> Result<Option<Checkpoint>, ApiError> {
    let path = checkpoint::file(&state.settings.data_dir);
    Ok(checkpoint::recent(&path, 1)
        .map_err(ApiError::internal)?
        .into_iter()
        .find(|cp| cp.signed_by(tokens.jwks())))
}

#[derive(Debug, Serialize)]
pub struct CheckpointDto {
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// The whole checkpoint as one string, for `GET /audit/verify?checkpoint=`.
    pub token: String,
}

/// The newest checkpoints written by this server, newest first.
pub async fn checkpoints(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let path = checkpoint::file(&state.settings.data_dir);
    let items: Vec<CheckpointDto> =
        web::block(move || checkpoint::recent(&path, checkpoint::LISTED))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
            .into_iter()
            .map(|c| CheckpointDto {
                token: c.token(),
                checkpoint: c,
            })
            .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}
