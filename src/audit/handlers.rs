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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events placed in this unit or below it.
    pub unit_id: Option<Uuid>,
    /// Events of one account.
    pub actor_id: Option<Uuid>,
    /// Events of one account, by its username (case and spaces around do
    /// not matter); a username no account has gives an empty list. One
    /// that cannot be a username is a 422 naming `actor`.
    #[param(schema_with = crate::openapi::users::username)]
    pub actor: Option<String>,
    /// Events about one kind of record; another name is a 422.
    #[param(schema_with = crate::openapi::audit::entities)]
    pub entity: Option<String>,
    /// Events about one record (its id, or a code for records named by
    /// code).
    #[param(pattern = r"^[^\u0000]*$")]
    pub entity_id: Option<String>,
    /// One action; another name is a 422.
    #[param(schema_with = crate::openapi::audit::actions)]
    pub action: Option<String>,
    /// `at` on or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// `at` before this instant; one not after `from` is a 422 naming `to`.
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1 to 500 (default 50; 422 otherwise).
    #[param(minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page, as it was (422 if not one
    /// this list issued): base64url without padding.
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// One audit event as stored.
#[derive(Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_events)]
#[schema(as = AuditRecord)]
pub struct AuditDto {
    /// Order of writing.
    pub id: i64,
    pub event_id: Uuid,
    pub at: DateTime<Utc>,
    /// Who acted: an account, an integration client, the service itself or
    /// someone not logged in.
    #[schema(schema_with = crate::openapi::audit::actor_kinds)]
    pub actor_kind: String,
    #[schema(required = true)]
    pub actor_id: Option<Uuid>,
    /// For `anonymous`: the username tried; for `system`: the task.
    #[schema(required = true)]
    pub actor_name: Option<String>,
    #[schema(schema_with = crate::openapi::audit::actions)]
    pub action: String,
    #[schema(schema_with = crate::openapi::audit::entities)]
    pub entity: String,
    #[schema(required = true)]
    pub entity_id: Option<String>,
    /// The unit the event is placed in.
    #[schema(required = true)]
    pub unit_id: Option<Uuid>,
    /// The record before, or what the action needs.
    #[schema(required = true)]
    pub before: Option<Value>,
    /// The record after, or what the action needs.
    #[schema(required = true)]
    pub after: Option<Value>,
    /// The `X-Request-Id` of the request that wrote it.
    #[schema(required = true)]
    pub request_id: Option<Uuid>,
    /// The client's IP address as the server saw it.
    #[schema(required = true)]
    pub address: Option<String>,
    /// Place in the hash chain; `null` until linked.
    #[schema(required = true)]
    pub seq: Option<i64>,
}

/// An event as listed, with the names a person reads it by: the account's
/// username and the unit's name, looked up once per page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
pub struct AuditItem {
    #[serde(flatten)]
    pub event: AuditDto,
    /// The acting account's username, read when the list is; `null`
    /// without an account.
    #[schema(required = true)]
    pub actor_username: Option<String>,
    /// The name of the unit the event is placed in, read when the list is.
    #[schema(required = true)]
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

/// List audit events
///
/// Newest first. Officers (and admins with an area) see the events placed
/// inside their area; events with no place only an admin without an area.
/// `admin` and `officer`. Answered with `Cache-Control: no-store`: events
/// hold what records were before and after.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    operation_id = "listAuditEvents",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events.", body = crate::openapi::audit::AuditPage,
            headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// A checkpoint's `token` from `GET /api/v1/audit/checkpoints` (or a
    /// copy kept elsewhere); absent: the newest one this server wrote. A
    /// token that is not a checkpoint, or whose signature does not verify
    /// with this service's keys, is a 422 on `checkpoint`. It is
    /// base64url without padding.
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+$")]
    pub checkpoint: Option<String>,
}

/// Verify the audit chain
///
/// Chains whatever is waiting, then recomputes every event's hash and
/// link, and checks that the chain still reaches a signed checkpoint: the
/// one given, else the newest this server wrote. Reads the whole trail.
/// `admin` only.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    operation_id = "verifyAuditChain",
    params(VerifyQuery),
    responses(
        (status = 200, description = "The verdict.", body = chain::Verdict),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditCheckpoint)]
pub struct CheckpointDto {
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// The checkpoint as one string, for `GET /api/v1/audit/verify?checkpoint=`.
    pub token: String,
}

/// List the newest audit checkpoints
///
/// The newest signed checkpoints of the chain's head that this server
/// wrote (at most once a minute, when the head moved), newest first, at
/// most 100. Each is also a line of `$BANSO_DATA_DIR/audit/checkpoints.jsonl`
/// and of the log. `admin` only.
#[utoipa::path(
    get,
    path = "/api/v1/audit/checkpoints",
    tag = "audit",
    operation_id = "listAuditCheckpoints",
    responses(
        (status = 200, description = "The checkpoints.", body = crate::openapi::audit::CheckpointList),
    )
)]
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
