//! `/clients`: admins register integration clients, rotate their secrets
//! and revoke them.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::repo::{self, ClientRow, NewClient};
use super::scopes::ClientScopes;
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Role, Scope, password};
use crate::db;
use crate::domain::{Check, Name};
use crate::error::ApiError;
use crate::json::Json;
use crate::records;
use crate::state::AppState;

pub const DEFAULT_RATE_PER_MINUTE: i32 = 600;
pub const MAX_RATE_PER_MINUTE: i32 = 100_000;
/// How long the previous secret works after a rotation unless asked.
pub const DEFAULT_GRACE_HOURS: i64 = 24;
pub const MAX_GRACE_HOURS: i64 = 168;

/// An integration client (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Client)]
pub struct ClientDto {
    pub id: Uuid,
    /// The name the client logs in with at `/auth/token`.
    pub client_id: String,
    pub name: String,
    /// The unit its tokens are limited to; `null` for a client of the whole
    /// country (made with the command line).
    #[schema(required = true)]
    pub area_id: Option<Uuid>,
    #[schema(schema_with = crate::openapi::clients::scopes)]
    pub scopes: Vec<String>,
    /// Requests a minute its tokens may make (a token bucket).
    pub rate_limit_per_minute: i32,
    /// `false` once revoked.
    pub active: bool,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still works; `null`
    /// when it no longer does.
    #[schema(required = true)]
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(minimum = 1)]
    pub version: i32,
}

impl From<ClientRow> for ClientDto {
    fn from(row: ClientRow) -> Self {
        let now = Utc::now();
        ClientDto {
            scopes: row.scope_set().names(),
            previous_secret_valid_until: row.previous_secret_until.filter(|u| *u > now),
            id: row.id,
            client_id: row.client_id,
            name: row.name,
            area_id: row.area_unit_id,
            rate_limit_per_minute: row.rate_per_minute,
            active: row.active,
            revoked_at: row.revoked_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A client with the secret it was just given; the only answers that
/// carry a secret, sent with `Cache-Control: no-store`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ClientWithSecret)]
pub struct WithSecret {
    pub client: ClientDto,
    /// The secret, shown in this answer only: it is stored as a hash.
    #[schema(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub client_secret: String,
}

/// A new integration client.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewClient)]
pub struct NewClientBody {
    /// A name unique among clients (409 if taken).
    #[schema(schema_with = crate::openapi::users::username)]
    pub client_id: String,
    #[schema(value_type = crate::domain::Name)]
    pub name: String,
    /// A unit inside the admin's own area (422 otherwise).
    pub area_id: Uuid,
    #[schema(schema_with = crate::openapi::clients::scopes_given)]
    pub scopes: Vec<String>,
    /// 1 to 100000; 600 when absent or `null`.
    #[schema(minimum = 1, maximum = 100_000, default = 600)]
    pub rate_limit_per_minute: Option<i32>,
}

/// The body of a secret's rotation, for clients and webhooks alike; the
/// body itself may be left out.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SecretRotation)]
pub struct RotateBody {
    /// Hours the previous secret keeps working, 0 to 168 (a week); 24 when
    /// absent or `null`, 0 ends it at once.
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 168, default = 24)]
    pub grace_hours: Option<i64>,
}

impl RotateBody {
    /// The hours the old secret keeps working: 24 unless asked, at most a
    /// week; a bad value is a 422 naming `grace_hours`.
    pub fn grace(body: crate::json::OptionalJson<RotateBody>) -> Result<i64, ApiError> {
        let grace = body
            .into_inner()
            .unwrap_or_default()
            .grace_hours
            .unwrap_or(DEFAULT_GRACE_HOURS);
        if !(0..=MAX_GRACE_HOURS).contains(&grace) {
            return Err(ApiError::validation(
                "grace_hours",
                "out_of_range",
                format!("must be between 0 and {MAX_GRACE_HOURS}"),
            ));
        }
        Ok(grace)
    }
}

fn event(action: Action, row: &ClientRow, at: Place) -> Event {
    let e = Event::new(action, Entity::Client, row.id);
    match at {
        Some((unit, path)) => e.at(unit, &path),
        None => e,
    }
}

/// A client's area, as its events are placed: the unit's id and path.
type Place = Option<(Uuid, String)>;

/// The client, if it lies inside the caller's area (`NotFound` otherwise),
/// with its place.
fn visible(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<(ClientRow, Place), ApiError> {
    let row = repo::find(conn, id)?;
    let place = match row.area_unit_id {
        Some(area) => crate::auth::access::unit_path(conn, area)?.map(|p| (area, p)),
        None => None,
    };
    match (scope, &place) {
        (Scope::All, _) => Ok((row, place)),
        (scope, Some((_, p))) if scope.contains_path(p) => Ok((row, place)),
        _ => Err(ApiError::NotFound),
    }
}

fn range(scope: &Scope) -> Option<(String, String)> {
    match scope {
        Scope::All => None,
        Scope::Subtree { lo, hi } => Some((lo.clone(), hi.clone())),
    }
}

async fn new_secret() -> Result<(String, String), ApiError> {
    web::block(new_secret_blocking)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

fn with_secret(
    status: actix_web::http::StatusCode,
    row: ClientRow,
    secret: String,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(WithSecret {
            client: row.into(),
            client_secret: secret,
        })
}

/// Register an integration client
///
/// Admins only, for an area inside their own. The answer carries the
/// secret, once; it is stored as a hash.
#[utoipa::path(
    post,
    path = "/api/v1/clients",
    tag = "clients",
    operation_id = "createClient",
    request_body = NewClientBody,
    responses(
        (status = 201, description = "The client and its secret.", body = WithSecret,
            headers(
                ("ETag" = String, description = "The client's version, `\"1\"`."),
                ("Location" = String, description = "The client's address."),
                ("Cache-Control" = String, description = "`no-store`: the answer holds a secret."),
            )),
        (status = 409, response = crate::openapi::problems::Conflict),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<NewClientBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let body = body.into_inner();
    let mut check = Check::new();
    let client_id = repo::parse_client_id(&body.client_id)
        .map_err(|why| check.fail("client_id", "invalid", why))
        .ok();
    let name = check.take("name", Name::parse(&body.name));
    let scopes = match ClientScopes::parse(body.scopes.iter().map(String::as_str)) {
        Ok(s) if s.iter().next().is_some() => Some(s),
        Ok(_) => {
            check.fail("scopes", "required", "give at least one scope");
            None
        }
        Err(bad) => {
            check.fail(
                "scopes",
                "unknown",
                format!(
                    "unknown scope {bad:?}; the scopes are {}",
                    super::scopes::ClientScope::ALL
                        .map(|s| s.as_str())
                        .join(", ")
                ),
            );
            None
        }
    };
    let rate = body
        .rate_limit_per_minute
        .unwrap_or(DEFAULT_RATE_PER_MINUTE);
    if !(1..=MAX_RATE_PER_MINUTE).contains(&rate) {
        check.fail(
            "rate_limit_per_minute",
            "out_of_range",
            format!("must be between 1 and {MAX_RATE_PER_MINUTE}"),
        );
    }
    let area = body.area_id;
    let caller = user.clone();
    let check = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &caller)?;
        let mut check = check;
        match crate::auth::access::unit_path(conn, area)? {
            None => check.fail("area_id", "unknown", "no unit has this id"),
            Some(p) if !scope.contains_path(&p) && scope != Scope::All => check.fail(
                "area_id",
                "outside_area",
                "the client's area must lie inside your own",
            ),
            Some(_) => {}
        }
        Ok(check)
    })
    .await?;
    check.finish()?;
    let (Some(client_id), Some(name), Some(scopes)) = (client_id, name, scopes) else {
        return Err(ApiError::internal(
            "client passed its check with a missing field",
        ));
    };
    let (secret, hash) = new_secret().await?;
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if repo::by_client_id(conn, &client_id)?.is_some() {
                return Err(ApiError::conflict(format!(
                    "client id {client_id} is taken"
                )));
            }
            let row = repo::create(
                conn,
                &NewClient {
                    client_id: &client_id,
                    secret_hash: &hash,
                    name: name.as_str(),
                    area: Some(area),
                    scopes,
                    rate_per_minute: rate,
                },
            )?;
            let e = Event::new(Action::Create, Entity::Client, row.id)
                .at_unit(conn, area)?
                .after(&row);
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    let location = format!("/api/v1/clients/{}", row.id);
    let mut res = with_secret(actix_web::http::StatusCode::CREATED, row, secret);
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// List integration clients
///
/// Admins only: the clients whose area lies inside their own, all of them
/// in one answer.
#[utoipa::path(
    get,
    path = "/api/v1/clients",
    tag = "clients",
    operation_id = "listClients",
    responses(
        (status = 200, description = "The clients.", body = crate::openapi::clients::ClientList),
    )
)]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let rows = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        repo::list(conn, range(&scope))
    })
    .await?;
    let items: Vec<ClientDto> = rows.into_iter().map(ClientDto::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// Get an integration client
///
/// Admins only, for a client whose area lies inside their own (404
/// otherwise).
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}",
    tag = "clients",
    operation_id = "getClient",
    params(("id" = Uuid, Path, description = "The client's id (not its `client_id`).")),
    responses(
        (status = 200, description = "The client.", body = ClientDto,
            headers(("ETag" = String, description = "The client's version."))),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let id = id.into_inner();
    let row = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        visible(conn, &scope, id).map(|(row, _)| row)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(ClientDto::from(row)))
}

/// Give a client a new secret
///
/// The old secret keeps working for `grace_hours` (24 unless asked, 0 ends
/// it at once), so a portal can change its configuration without a gap.
/// A revoked client gets none (409). Admins only, for a client whose area
/// lies inside their own.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/rotate",
    tag = "clients",
    operation_id = "rotateClientSecret",
    params(("id" = Uuid, Path, description = "The client's id.")),
    request_body = Option<RotateBody>,
    responses(
        (status = 200, description = "The client and its new secret.", body = WithSecret,
            headers(
                ("ETag" = String, description = "The client's new version."),
                ("Cache-Control" = String, description = "`no-store`: the answer holds a secret."),
            )),
        (status = 409, response = crate::openapi::problems::Conflict),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn rotate(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: crate::json::OptionalJson<RotateBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let grace = RotateBody::grace(body)?;
    let (secret, hash) = new_secret().await?;
    let id = id.into_inner();
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            rotate_in(conn, &ctx, &scope, id, &hash, grace)
        })
    })
    .await?;
    Ok(with_secret(actix_web::http::StatusCode::OK, row, secret))
}

/// Revoke a client
///
/// The client gets no new token and the tokens it holds stop at once, on
/// every instance; revoking twice is a 409. Admins only, for a client
/// whose area lies inside their own.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/revoke",
    tag = "clients",
    operation_id = "revokeClient",
    params(("id" = Uuid, Path, description = "The client's id.")),
    request_body = crate::openapi::clients::Revocation,
    responses(
        (status = 200, description = "The revoked client.", body = ClientDto,
            headers(("ETag" = String, description = "The client's new version."))),
        (status = 409, response = crate::openapi::problems::Conflict),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<crate::activities::ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let reason = crate::activities::reason(&body.into_inner())?;
    let id = id.into_inner();
    let ctx = Ctx::user(&user, &req);
    let (row, ended) = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            revoke_in(conn, &ctx, &scope, id, &reason)
        })
    })
    .await?;
    if let Some(tokens) = req.app_data::<web::Data<crate::auth::tokens::TokenService>>() {
        tokens.sessions().ended_here(ended).await;
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, records::etag(row.version)))
        .json(ClientDto::from(row)))
}

/// Gives client `id` (inside `scope`) the secret of `hash`, the old one
/// working `grace_hours` more, in the caller's transaction; audited.
pub fn rotate_in(
    conn: &mut PgConnection,
    ctx: &Ctx,
    scope: &Scope,
    id: Uuid,
    hash: &str,
    grace_hours: i64,
) -> Result<ClientRow, ApiError> {
    let (before, at) = visible(conn, scope, id)?;
    if !before.active {
        return Err(ApiError::conflict("a revoked client gets no new secret"));
    }
    let row = repo::rotate(conn, id, hash, Utc::now() + Duration::hours(grace_hours))?;
    let e = event(Action::RotateSecret, &row, at)
        .before(&before)
        .after(&row);
    audit::record(conn, ctx, e)?;
    Ok(row)
}

/// Revokes client `id` (inside `scope`) in the caller's transaction and
/// ends its tokens; audited with `reason`.
pub fn revoke_in(
    conn: &mut PgConnection,
    ctx: &Ctx,
    scope: &Scope,
    id: Uuid,
    reason: &str,
) -> Result<(ClientRow, crate::auth::sessions::Ended), ApiError> {
    let (before, at) = visible(conn, scope, id)?;
    if !before.active {
        return Err(ApiError::conflict("the client is already revoked"));
    }
    let ended = crate::auth::sessions::end_client(conn, id)?;
    let row = repo::revoke(conn, id)?;
    let e = event(Action::Revoke, &row, at)
        .before(&before)
        .after(serde_json::json!({ "client": &row, "reason": reason }));
    audit::record(conn, ctx, e)?;
    Ok((row, ended))
}

/// A new secret: 32 random bytes, base64url, and its argon2id hash (on the
/// calling thread: the command line's, or a blocking one).
pub fn new_secret_blocking() -> Result<(String, String), String> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| e.to_string())?;
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    let hash = password::hash(&secret).map_err(|e| e.to_string())?;
    Ok((secret, hash))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/clients/{id}").route(web::get().to(get)))
    .service(web::resource("/clients/{id}/rotate").route(web::post().to(rotate)))
    .service(web::resource("/clients/{id}/revoke").route(web::post().to(revoke)));
}
