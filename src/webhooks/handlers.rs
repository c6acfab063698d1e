//! `/webhooks`: an integration client registers, lists, edits and deletes
//! its webhooks, rotates their signing secrets, and reads and redelivers
//! their deliveries. Only clients (with `changes:read`) call these; a
//! client sees its own webhooks only, and another's is not found.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::repo::{self, Changes, DeliveredChange, DeliveryRow, NewWebhook, WebhookRow};
use super::secrets::{self, Sealer};
use super::target;
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Role};
use crate::clients::handlers::RotateBody;
use crate::db;
use crate::domain::Check;
use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::pagination;
use crate::records;
use crate::state::AppState;

/// The most webhooks one client may have.
pub const MAX_PER_CLIENT: i64 = 10;

#[derive(Debug, Serialize)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub entities: Vec<String>,
    pub active: bool,
    /// Until when deliveries are also signed with the secret before the
    /// last rotation.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<&WebhookRow> for WebhookDto {
    fn from(row: &WebhookRow) -> Self {
        let now = Utc::now();
        WebhookDto {
            id: row.id,
            url: row.url.clone(),
            entities: row.entity_names(),
            active: row.active,
            previous_secret_valid_until: row
                .previous_secret
                .as_ref()
                .and(row.previous_secret_until)
                .filter(|u| *u > now),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A webhook with the signing secret it was just given: the only answers
/// that carry one, sent with `Cache-Control: no-store`.
#[derive(Debug, Serialize)]
pub struct WithSecret {
    pub webhook: WebhookDto,
    pub secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    pub url: String,
    pub entities: Vec<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    pub url: Option<String>,
    pub entities: Option<Vec<String>>,
    pub active: Option<bool>,
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// `pending`, `delivered` or `failed` (retried for the configured time,
    /// a day by default, without a 2xx answer).
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due; only while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status the receiver last answered, if it answered.
    pub last_status: Option<i32>,
    /// Why the last attempt failed, in a few words.
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub change: DeliveredChange,
}

impl From<DeliveryRow> for DeliveryDto {
    fn from(row: DeliveryRow) -> Self {
        let r = row.delivery;
        DeliveryDto {
            next_attempt_at: (r.status == "pending").then_some(r.next_attempt_at),
            id: r.id,
            webhook_id: r.webhook_id,
            status: r.status,
            attempts: r.attempts,
            last_attempt_at: r.last_attempt_at,
            last_status: r.last_status,
            last_error: r.last_error,
            delivered_at: r.delivered_at,
            created_at: r.created_at,
            change: row.change,
        }
    }
}

/// Webhooks belong to integration clients: the caller's client id.
fn client_of(user: &AuthUser) -> Result<Uuid, ApiError> {
    if user.role == Role::Client {
        Ok(user.id)
    } else {
        Err(ApiError::Forbidden(
            "webhooks belong to integration clients: call with a client's token".into(),
        ))
    }
}

/// The record types asked for, each a name of the change feed's, without
/// repeats, in the feed's order.
fn parse_entities(names: &[String]) -> Result<Vec<String>, (&'static str, String)> {
    let feed = Entity::feed();
    let mut wanted = Vec::new();
    for raw in names {
        match Entity::parse(raw.trim()) {
            Ok(e) if e.in_feed() => wanted.push(e),
            _ => {
                let known: Vec<&str> = feed.iter().map(|e| e.as_str()).collect();
                return Err((
                    "unknown",
                    format!(
                        "unknown record type {:?}; the types are {}",
                        raw.trim(),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    if wanted.is_empty() {
        return Err(("required", "give at least one record type".into()));
    }
    Ok(feed
        .into_iter()
        .filter(|e| wanted.contains(e))
        .map(|e| e.as_str().to_string())
        .collect())
}

/// Checks a URL, its host's addresses included; a failure is noted in
/// `check` against `url`.
async fn check_url(check: &mut Check, raw: &str, allow_loopback: bool) -> Option<String> {
    let checked = match target::check(raw, allow_loopback) {
        Ok(c) => c,
        Err(why) => {
            check.fail("url", "invalid", format!("url {why}"));
            return None;
        }
    };
    if let Err(why) = target::resolve_check(&checked, allow_loopback).await {
        check.fail("url", "invalid", format!("url {why}"));
        return None;
    }
    Some(checked.url.to_string())
}

/// `parse_entities`, a failure noted in `check` against `entities`.
fn check_entities(check: &mut Check, names: &[String]) -> Option<Vec<String>> {
    parse_entities(names)
        .map_err(|(code, why)| check.fail("entities", code, why))
        .ok()
}

fn event(
    conn: &mut PgConnection,
    action: Action,
    row: &WebhookRow,
    area: Option<Uuid>,
) -> Result<Event, ApiError> {
    let e = Event::new(action, Entity::Webhook, row.id);
    match area {
        Some(unit) => e.at_unit(conn, unit),
        None => Ok(e),
    }
}

fn with_secret(status: StatusCode, row: &WebhookRow, secret: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(WithSecret {
            webhook: row.into(),
            secret,
        })
}

fn answer(row: &WebhookRow) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(WebhookDto::from(row))
}

fn new_sealed(sealer: &Sealer, id: Uuid) -> Result<(String, String), ApiError> {
    let secret = secrets::new_secret().map_err(ApiError::internal)?;
    let sealed = sealer.seal(id, &secret).map_err(ApiError::internal)?;
    Ok((secret, sealed))
}

/// `POST /webhooks`
pub async fn create(
    state: web::Data<AppState>,
    sealer: web::Data<Sealer>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<NewWebhookBody>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let body = body.into_inner();
    let mut check = Check::new();
    let allow_loopback = state.settings.webhooks.allow_loopback;
    let url = check_url(&mut check, &body.url, allow_loopback).await;
    let entities = check_entities(&mut check, &body.entities);
    check.finish()?;
    let (Some(url), Some(entities)) = (url, entities) else {
        return Err(ApiError::internal(
            "webhook passed its check with a missing field",
        ));
    };
    let id = Uuid::now_v7();
    let (secret, sealed) = new_sealed(&sealer, id)?;
    let ctx = Ctx::user(&user, &req);
    let area = user.area;
    let active = body.active.unwrap_or(true);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            // One client's registrations one at a time, so the limit holds.
            crate::db::schema::clients::table
                .find(client)
                .select(crate::db::schema::clients::id)
                .for_update()
                .first::<Uuid>(conn)?;
            if repo::list(conn, client)?.len() as i64 >= MAX_PER_CLIENT {
                return Err(ApiError::conflict(format!(
                    "a client may have at most {MAX_PER_CLIENT} webhooks; delete one first"
                )));
            }
            let row = repo::create(
                conn,
                &NewWebhook {
                    id,
                    client_id: client,
                    url: &url,
                    entities: &entities,
                    active,
                    sealed_secret: &sealed,
                },
            )?;
            let e = event(conn, Action::Create, &row, area)?.after(&row);
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    let mut res = with_secret(StatusCode::CREATED, &row, secret);
    if let Ok(v) = header::HeaderValue::from_str(&format!("/api/v1/webhooks/{}", row.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `GET /webhooks`: the caller's webhooks, oldest first.
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let rows = db::run(&state.pool, move |conn| repo::list(conn, client)).await?;
    let items: Vec<WebhookDto> = rows.iter().map(WebhookDto::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// `GET /webhooks/{id}`
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let id = id.into_inner();
    let row = db::run(&state.pool, move |conn| repo::find(conn, client, id, false)).await?;
    Ok(answer(&row))
}

/// `PATCH /webhooks/{id}`: a new URL, record types or `active`, based on
/// the version read (`If-Match` or `version`).
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let body = body.into_inner();
    let expected = records::expected_version(&req, body.version)?;
    let mut check = Check::new();
    let url = match &body.url {
        None => None,
        Some(raw) => check_url(&mut check, raw, state.settings.webhooks.allow_loopback).await,
    };
    let entities = match &body.entities {
        None => None,
        Some(list) => check_entities(&mut check, list),
    };
    check.finish()?;
    let id = id.into_inner();
    let ctx = Ctx::user(&user, &req);
    let area = user.area;
    let active = body.active;
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let before = repo::find(conn, client, id, true)?;
            if before.version != expected {
                return Err(records::stale(&WebhookDto::from(&before)));
            }
            let row = repo::update(
                conn,
                &before,
                Changes {
                    url,
                    entities,
                    active,
                },
            )?;
            let e = event(conn, Action::Update, &row, area)?
                .before(&before)
                .after(&row);
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(answer(&row))
}

/// `DELETE /webhooks/{id}`: the webhook and its deliveries, sent or not.
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let id = id.into_inner();
    let ctx = Ctx::user(&user, &req);
    let area = user.area;
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let before = repo::find(conn, client, id, true)?;
            repo::delete(conn, id)?;
            let e = event(conn, Action::Delete, &before, area)?.before(&before);
            audit::record(conn, &ctx, e)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /webhooks/{id}/rotate`: a new signing secret, shown once; the old
/// one also signs for `grace_hours` (24 unless asked, 0 ends it at once),
/// so a receiver can change its configuration without a gap.
pub async fn rotate(
    state: web::Data<AppState>,
    sealer: web::Data<Sealer>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: crate::json::OptionalJson<RotateBody>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let grace = RotateBody::grace(body)?;
    let id = id.into_inner();
    let (secret, sealed) = new_sealed(&sealer, id)?;
    let ctx = Ctx::user(&user, &req);
    let area = user.area;
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let before = repo::find(conn, client, id, true)?;
            let previous =
                (grace > 0).then(|| (before.secret.clone(), Utc::now() + Duration::hours(grace)));
            let row = repo::rotate(conn, id, &sealed, previous)?;
            let e = event(conn, Action::RotateSecret, &row, area)?
                .before(&before)
                .after(&row);
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(with_secret(StatusCode::OK, &row, secret))
}

/// `GET /webhooks/{id}/deliveries`: newest change first, `status=` to
/// filter, paged with `limit` and `cursor`.
pub async fn deliveries(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<DeliveriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let before = pagination::decode::<i64>(q.cursor.as_deref())?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s @ ("pending" | "delivered" | "failed")) => Some(s.to_string()),
        Some(_) => {
            return Err(ApiError::validation(
                "status",
                "not_allowed",
                "must be one of pending, delivered, failed",
            ));
        }
    };
    let id = id.into_inner();
    let rows = db::run(&state.pool, move |conn| {
        repo::find(conn, client, id, false)?;
        repo::deliveries(conn, id, status.as_deref(), before, limit)
    })
    .await?;
    let page = pagination::page(rows, limit, |r| r.delivery.event_id);
    let items: Vec<DeliveryDto> = page.items.into_iter().map(DeliveryDto::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items,
        "next_cursor": page.next_cursor,
    })))
}

/// `GET /webhooks/{id}/deliveries/{delivery_id}`
pub async fn delivery(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let (id, delivery) = path.into_inner();
    let row = db::run(&state.pool, move |conn| {
        repo::find(conn, client, id, false)?;
        repo::delivery(conn, id, delivery)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DeliveryDto::from(row)))
}

/// `POST /webhooks/{id}/deliveries/{delivery_id}/redeliver`: the delivery
/// is sent again, whatever its state, with the same `webhook-id`, as soon
/// as the record's earlier deliveries still waiting are done; retried for
/// another day if it fails.
pub async fn redeliver(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let (id, delivery) = path.into_inner();
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            repo::find(conn, client, id, true)?;
            repo::delivery(conn, id, delivery)?;
            repo::redeliver(conn, delivery)?;
            repo::delivery(conn, id, delivery)
        })
    })
    .await?;
    Ok(HttpResponse::Accepted().json(DeliveryDto::from(row)))
}
