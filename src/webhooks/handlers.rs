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

/// A webhook of an integration client; never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookDto {
    pub id: Uuid,
    /// Where the deliveries go.
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
    /// The record types sent, in the change feed's order.
    #[schema(schema_with = crate::openapi::webhooks::entities)]
    pub entities: Vec<String>,
    /// `false`: paused; deliveries wait.
    pub active: bool,
    /// Until when deliveries are also signed with the secret before the
    /// last rotation.
    #[schema(required = true)]
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(minimum = 1)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookWithSecret)]
pub struct WithSecret {
    pub webhook: WebhookDto,
    /// The signing secret, shown this once: `whsec_` and the base64 of
    /// the HMAC-SHA256 key.
    #[schema(pattern = "^whsec_[A-Za-z0-9+/=]+$")]
    pub secret: String,
}

/// A webhook to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewWebhook)]
pub struct NewWebhookBody {
    /// An absolute `https://` URL on the public internet: no user name or
    /// password, no fragment, no host that is or resolves to a loopback,
    /// private, link-local or reserved address (422 naming `url`).
    #[schema(
        max_length = 2048,
        examples("https://portal.example.vn/banso/webhooks")
    )]
    pub url: String,
    /// The record types wanted: at least one, each a type of the change
    /// feed's (a type given twice counts once).
    #[schema(schema_with = crate::openapi::webhooks::entities_given)]
    pub entities: Vec<String>,
    /// `false` registers it paused; `true` when absent or `null`.
    #[schema(default = true)]
    pub active: Option<bool>,
}

/// A change of a webhook: absent or `null` fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookPatch)]
pub struct PatchBody {
    /// A new URL, checked as at registration.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// New record types, at least one.
    #[schema(schema_with = crate::openapi::webhooks::entities_patched)]
    pub entities: Option<Vec<String>>,
    /// `false` pauses the deliveries, `true` resumes them.
    pub active: Option<bool>,
    /// The version the change is based on; `If-Match` wins over it, and
    /// one of the two is needed (422).
    #[schema(value_type = Option<i32>)]
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries in this state (422 for another).
    #[param(schema_with = crate::openapi::webhooks::statuses)]
    pub status: Option<String>,
    /// Page size, 1 to 500 (422 otherwise); default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the last page, as it was (422 if not one this
    /// service issued).
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// One change sent to one webhook, and how its sending went.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct DeliveryDto {
    /// Sent as `webhook-id`, the same on every attempt.
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// `pending`, `delivered` or `failed` (retried for the configured time,
    /// a day by default, without a 2xx answer).
    #[schema(schema_with = crate::openapi::webhooks::status)]
    pub status: String,
    #[schema(minimum = 0)]
    pub attempts: i32,
    /// When the next attempt is due; only while pending.
    #[schema(required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status the receiver last answered, if it answered.
    #[schema(required = true)]
    pub last_status: Option<i32>,
    /// Why the last attempt failed, in a few words (`answered 500`,
    /// `could not connect`).
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(required = true)]
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
        match Entity::parse(raw) {
            Ok(e) if e.in_feed() => wanted.push(e),
            _ => {
                let known: Vec<&str> = feed.iter().map(|e| e.as_str()).collect();
                return Err((
                    "unknown",
                    format!(
                        "unknown record type {:?}; the types are {}",
                        raw,
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

/// Register a webhook
///
/// An integration client's own token with `changes:read`. The signing
/// secret is in this answer only. At most 10 webhooks a client (409).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    operation_id = "createWebhook",
    request_body = NewWebhookBody,
    responses(
        (status = 201, description = "The webhook and its signing secret.", body = WithSecret,
            headers(
                ("ETag" = String, description = "The webhook's version, `\"1\"`."),
                ("Location" = String, description = "The webhook's address."),
                ("Cache-Control" = String, description = "`no-store`: the answer holds a secret."),
            )),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
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

/// List the client's webhooks
///
/// An integration client's own token with `changes:read`: its own
/// webhooks, oldest first; never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    operation_id = "listWebhooks",
    responses(
        (status = 200, description = "The webhooks.", body = crate::openapi::webhooks::WebhookList),
    )
)]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let client = client_of(&user)?;
    let rows = db::run(&state.pool, move |conn| repo::list(conn, client)).await?;
    let items: Vec<WebhookDto> = rows.iter().map(WebhookDto::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// Read a webhook
///
/// An integration client's own token with `changes:read`; another
/// client's webhook is not found (404).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "getWebhook",
    params(("id" = Uuid, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The webhook.", body = WebhookDto,
            headers(("ETag" = String, description = "The webhook's version; send it back in `If-Match`."))),
    )
)]
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

/// Change a webhook's URL, record types or state
///
/// An integration client's own token with `changes:read`. Based on the
/// version read: `If-Match` or `version` (422 without, 409 with `current`
/// if stale).
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "updateWebhook",
    params(
        ("id" = Uuid, Path, description = "The webhook's id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the change is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable, 409 with `current` if stale."),
    ),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The webhook as changed.", body = WebhookDto,
            headers(("ETag" = String, description = "The webhook's new version."))),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
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

/// Delete a webhook
///
/// An integration client's own token with `changes:read`. Its deliveries,
/// sent or not, go with it.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "deleteWebhook",
    params(("id" = Uuid, Path, description = "The webhook's id.")),
    responses((status = 204, description = "Deleted.")),
)]
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

/// Give a webhook a new signing secret
///
/// The new secret is shown once; the old one also signs for `grace_hours`
/// (24 unless asked, 0 ends it at once), so a receiver can change its
/// configuration without a gap. An integration client's own token with
/// `changes:read`.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate",
    tag = "webhooks",
    operation_id = "rotateWebhookSecret",
    params(("id" = Uuid, Path, description = "The webhook's id.")),
    request_body = Option<RotateBody>,
    responses(
        (status = 200, description = "The webhook and its new secret.", body = WithSecret,
            headers(
                ("ETag" = String, description = "The webhook's new version."),
                ("Cache-Control" = String, description = "`no-store`: the answer holds a secret."),
            )),
    )
)]
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

/// List a webhook's deliveries
///
/// Newest change first, `status` to filter, paged with `limit` and
/// `cursor`. An integration client's own token with `changes:read`.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "listWebhookDeliveries",
    params(("id" = Uuid, Path, description = "The webhook's id."), DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = crate::openapi::webhooks::DeliveryPage),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
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
    let status = match q.status {
        None => None,
        Some(s) if repo::STATUSES.contains(&s.as_str()) => Some(s),
        Some(_) => {
            return Err(ApiError::validation(
                "status",
                "not_allowed",
                format!("must be one of {}", repo::STATUSES.join(", ")),
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

/// Read a delivery
///
/// An integration client's own token with `changes:read`.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}",
    tag = "webhooks",
    operation_id = "getWebhookDelivery",
    params(("id" = Uuid, Path, description = "The webhook's id."), ("delivery_id" = Uuid, Path, description = "The delivery's id.")),
    responses((status = 200, description = "The delivery.", body = DeliveryDto)),
)]
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

/// Send a delivery again
///
/// Whatever its state, with the same `webhook-id`, as soon as the record's
/// earlier deliveries still waiting are done; retried for another day if
/// it fails. An integration client's own token with `changes:read`.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    operation_id = "redeliverWebhookDelivery",
    params(("id" = Uuid, Path, description = "The webhook's id."), ("delivery_id" = Uuid, Path, description = "The delivery's id.")),
    responses((status = 202, description = "The delivery, pending again.", body = DeliveryDto)),
)]
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
