//! `/auth/login`, `/auth/refresh`, `/auth/logout`, `/me` and the JWKS.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tokens::TokenService;
use super::{AuthUser, Role, password, repo};
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::db;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;
use crate::units::dto::UnitSummary;

/// A username and its password. Any text is read: what is not an
/// account's name or password is the same 401.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Trimmed and compared in lower case.
    #[schema(pattern = r"^[^\u0000]*$", example = "admin")]
    pub username: String,
    #[schema(format = Password, pattern = r"^[^\u0000]*$")]
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from a login, a refresh or a password change.
    #[schema(pattern = r"^[^\u0000]*$")]
    pub refresh_token: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// A JWT signed with EdDSA.
    pub access_token: String,
    #[schema(schema_with = crate::openapi::auth::bearer_type)]
    pub token_type: &'static str,
    /// The access token's lifetime in seconds.
    #[schema(minimum = 1)]
    pub expires_in: u64,
    /// Works once; shown again more than a minute after its use, it
    /// revokes its whole family.
    pub refresh_token: String,
}

/// The caller: an account, or an integration client.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Me)]
pub struct MeResponse {
    pub id: Uuid,
    /// The account's username, or the client's id.
    pub username: String,
    /// The account's display name, or the client's name.
    #[schema(required = true)]
    pub display_name: Option<String>,
    #[schema(schema_with = crate::openapi::auth::me_role)]
    pub role: Role,
    #[schema(required = true, schema_with = crate::openapi::auth::me_area)]
    pub area: Option<UnitSummary>,
}

const LOGIN_FAILED: &str = "wrong username or password";

fn client_address(req: &HttpRequest) -> String {
    crate::telemetry::client_address(req).unwrap_or_else(|| "unknown".into())
}

fn tokens_for(
    tokens: &TokenService,
    user_id: Uuid,
    session: &repo::Session,
    refresh_token: String,
) -> Result<TokenResponse, ApiError> {
    let role = repo::parse_role(&session.role)?;
    let access_token = tokens
        .issue_session(user_id, role, session.area_unit_id, session.session_epoch)
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: tokens.ttl().as_secs(),
        refresh_token,
    })
}

/// Checks a secret against the identity `lookup` finds (its value, secret
/// hash and whether it is active), for logins and client tokens alike: the
/// throttle on `key` and the caller's address first, then the hash on the
/// blocking pool (a dummy one for an unknown key, so both take as long),
/// and a failure recorded for the throttle and the audit trail. Every
/// failure answers the same `failed` message.
async fn check_secret<C, L>(
    state: &AppState,
    req: &HttpRequest,
    key: String,
    secret: String,
    lookup: L,
    (action, entity): (Action, Entity),
    failed: &'static str,
) -> Result<C, ApiError>
where
    C: Send + 'static,
    L: FnOnce(&mut diesel::PgConnection) -> Result<Option<(C, Vec<String>, bool)>, ApiError>
        + Send
        + 'static,
{
    let address = client_address(req);
    let (k, a) = (key.clone(), address.clone());
    // The attempt is counted as a failure before its secret is checked, in
    // one transaction under a lock on its key: attempts sent in parallel
    // each see the ones before them, so no more than the limit get past.
    // A right secret withdraws its own row again.
    let (wait, found, attempt) = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            repo::lock_key(conn, &k)?;
            let wait = repo::throttled(conn, &k, &a)?;
            if wait.is_some() {
                return Ok((wait, None, None));
            }
            let attempt = repo::record_failure(conn, &k, &a)?;
            Ok((None, lookup(conn)?, Some(attempt)))
        })
    })
    .await?;
    if let Some(retry_after) = wait {
        tracing::warn!(action = action.as_str(), "throttled");
        crate::metrics::login_throttled();
        return Err(ApiError::TooManyRequests {
            detail: "too many failed attempts; try again later".into(),
            retry_after,
        });
    }
    let verified = web::block(move || match found {
        Some((value, hashes, active)) => {
            let right = hashes.iter().any(|h| password::verify(h, &secret));
            (right && active).then_some(value)
        }
        None => {
            password::verify_dummy(&secret);
            None
        }
    })
    .await
    .map_err(ApiError::internal)?;
    if let Some(value) = verified {
        if let Some(id) = attempt {
            db::run(&state.pool, move |conn| repo::withdraw_failure(conn, id)).await?;
        }
        return Ok(value);
    }
    let ctx = Ctx::anonymous(&key, req);
    db::run(&state.pool, move |conn| {
        audit::record(conn, &ctx, Event::of(action, entity))
    })
    .await?;
    tracing::info!(action = action.as_str(), "refused");
    crate::metrics::login_failed();
    Err(ApiError::Unauthorized(failed.into()))
}

/// Log in
///
/// Exchanges a username and password for an access token and a refresh
/// token. Every failure is the same 401 (a wrong name or password, an
/// account deactivated, a name or password that could be neither); after
/// 5 failures for a username or 20 from an address in 15 minutes, 429
/// with `Retry-After`. No token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    operation_id = "login",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "The tokens.", body = TokenResponse),
        (status = 401, response = crate::openapi::problems::Unauthorized),
        (status = 429, response = crate::openapi::problems::TooManyRequests),
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    tokens: web::Data<TokenService>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    // What is stored of an attempt (the throttle's key, the audit's actor)
    // is the name as an account name could be, never raw input that might
    // be a password typed in the wrong field or carry control characters.
    let username = match crate::users::repo::parse_username(&username) {
        Ok(name) => name,
        Err(_) => "(not a username)".to_string(),
    };
    if username.is_empty() || username.len() > 200 || password.len() > 1024 {
        return Err(ApiError::Unauthorized(LOGIN_FAILED.into()));
    }

    let u = username.clone();
    let user = check_secret(
        &state,
        &req,
        username.clone(),
        password,
        move |conn| {
            Ok(repo::credentials(conn, &u)?.map(|c| {
                let (hash, active) = (vec![c.password_hash.clone()], c.active);
                (c, hash, active)
            }))
        },
        (Action::LoginFailed, Entity::User),
        LOGIN_FAILED,
    )
    .await?;

    let (secret, hash) = repo::new_refresh_secret()?;
    let ttl = state.settings.refresh_token_ttl;
    let user_id = user.id;
    let ctx = Ctx::account(user_id, &req);
    let session = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            // The account as it is now: a password changed or the account
            // deactivated since the check above fails the login.
            let Some(session) = repo::lock_session(conn, user_id)?
                .filter(|s| s.active && s.password_hash == user.password_hash)
            else {
                return Ok(None);
            };
            repo::clear_failures(conn, &username)?;
            repo::store_refresh(conn, user_id, Uuid::now_v7(), &hash, ttl)?;
            let mut e = Event::new(Action::Login, Entity::User, user_id);
            if let Some(a) = session.area_unit_id {
                e = e.at_unit(conn, a)?;
            }
            audit::record(conn, &ctx, e)?;
            Ok(Some(session))
        })
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized(LOGIN_FAILED.into()))?;
    tracing::info!(user = %user_id, "login");
    let body = tokens_for(&tokens, user_id, &session, secret)?;
    Ok(HttpResponse::Ok().json(body))
}

/// A refresh token shown again within this long of its rotation is taken
/// for a phone that never got the answer, not for a stolen copy.
pub const REUSE_GRACE: chrono::Duration = chrono::Duration::seconds(60);

/// Refresh the tokens
///
/// Exchanges a refresh token (once) for a new access token and refresh
/// token. A used token shown again within a minute gets another successor
/// (an answer the phone never received); later, it revokes its whole
/// family and ends the account's access tokens (401). No token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    operation_id = "refreshTokens",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "The new tokens.", body = TokenResponse),
        (status = 401, response = crate::openapi::problems::Unauthorized),
    )
)]
pub async fn refresh(
    state: web::Data<AppState>,
    tokens: web::Data<TokenService>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let presented = repo::hash_refresh(body.refresh_token.trim());
    let (secret, new_hash) = repo::new_refresh_secret()?;
    let ttl = state.settings.refresh_token_ttl;

    enum Outcome {
        Issued {
            user_id: Uuid,
            session: repo::Session,
        },
        Reused(super::sessions::Ended),
        Invalid,
    }
    let outcome = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let Some(found) = repo::find_refresh(conn, &presented, false)? else {
                return Ok(Outcome::Invalid);
            };
            // The account's row first, then the token's: the order in which
            // ending its sessions takes them, so neither waits on the other
            // in a circle.
            let session = repo::lock_session(conn, found.user_id)?;
            let Some(stored) = repo::find_refresh(conn, &presented, true)? else {
                return Ok(Outcome::Invalid);
            };
            let now = chrono::Utc::now();
            if stored.revoked_at.is_some() || stored.expires_at <= now {
                return Ok(Outcome::Invalid);
            }
            if let Some(used) = stored.used_at
                && used <= now - REUSE_GRACE
            {
                // A used token shown again long after: someone holds a
                // copy. End the whole family, the legitimate holder's
                // session included, and the account's access tokens.
                let ended = super::sessions::end(conn, stored.user_id)?;
                repo::revoke_family(conn, stored.family_id)?;
                return Ok(Outcome::Reused(ended));
            }
            let Some(session) = session.filter(|s| s.active) else {
                repo::revoke_family(conn, stored.family_id)?;
                return Ok(Outcome::Invalid);
            };
            // Used within the grace period, the token gets another
            // successor in its family; the one it had stays good, in case
            // that answer did arrive after all.
            if stored.used_at.is_none() {
                repo::mark_used(conn, stored.id)?;
            }
            repo::store_refresh(conn, stored.user_id, stored.family_id, &new_hash, ttl)?;
            Ok(Outcome::Issued {
                user_id: stored.user_id,
                session,
            })
        })
    })
    .await?;
    match outcome {
        Outcome::Issued { user_id, session } => {
            Ok(HttpResponse::Ok().json(tokens_for(&tokens, user_id, &session, secret)?))
        }
        Outcome::Reused(ended) => {
            tokens.sessions().ended_here(ended).await;
            tracing::warn!("refresh token reused; its family is revoked");
            Err(ApiError::Unauthorized(
                "refresh token is no longer valid".into(),
            ))
        }
        Outcome::Invalid => Err(ApiError::Unauthorized(
            "refresh token is no longer valid".into(),
        )),
    }
}

/// Log out
///
/// Ends the session of the refresh token given: its family is revoked and
/// every access token of the account stops working at once. Answers 204
/// whether or not the token was known. No token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    operation_id = "logout",
    security(()),
    request_body = RefreshRequest,
    responses((status = 204, description = "Done, or nothing to end."))
)]
pub async fn logout(
    state: web::Data<AppState>,
    tokens: web::Data<TokenService>,
    req: HttpRequest,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let presented = repo::hash_refresh(body.refresh_token.trim());
    // Whose token it is is known only inside; the request's id and address
    // are taken now.
    let mut ctx = Ctx::account(Uuid::nil(), &req);
    let ended = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            // A token already revoked ends nothing more: an old copy cannot
            // be used to log its owner out again and again.
            let Some(stored) =
                repo::find_refresh(conn, &presented, false)?.filter(|t| t.revoked_at.is_none())
            else {
                return Ok(None);
            };
            let ended = super::sessions::end(conn, stored.user_id)?;
            repo::revoke_family(conn, stored.family_id)?;
            ctx.actor_id = Some(stored.user_id);
            audit::record(
                conn,
                &ctx,
                Event::new(Action::Logout, Entity::User, stored.user_id),
            )?;
            Ok(Some(ended))
        })
    })
    .await?;
    if let Some(ended) = ended {
        tokens.sessions().ended_here(ended).await;
    }
    // The same answer whether or not the token was known: logout reveals nothing.
    Ok(HttpResponse::NoContent().finish())
}

/// The caller
///
/// The caller's account, role and area; for an integration client's
/// token, the client. Every role and every client, whatever its scopes.
/// 401 when the account or client no longer exists.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    operation_id = "getMe",
    responses((status = 200, description = "The caller.", body = MeResponse))
)]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    if user.role == Role::Client {
        let body = db::run(&state.pool, move |conn| {
            let client = crate::clients::repo::find(conn, user.id).map_err(|e| match e {
                ApiError::NotFound => ApiError::Unauthorized("client no longer exists".into()),
                other => other,
            })?;
            let area = match client.area_unit_id {
                Some(id) => Some(crate::units::repo::summary(conn, id)?),
                None => None,
            };
            Ok(MeResponse {
                id: client.id,
                username: client.client_id,
                display_name: Some(client.name),
                role: Role::Client,
                area,
            })
        })
        .await?;
        return Ok(HttpResponse::Ok().json(body));
    }
    let body = db::run(&state.pool, move |conn| {
        let row = crate::users::repo::find(conn, user.id).map_err(|e| match e {
            ApiError::NotFound => ApiError::Unauthorized("account no longer exists".into()),
            other => other,
        })?;
        let area = match row.area_unit_id {
            Some(id) => Some(crate::units::repo::summary(conn, id)?),
            None => None,
        };
        Ok(MeResponse {
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            role: repo::parse_role(&row.role)?,
            area,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now; a wrong one is 422 and counts for the login
    /// throttle.
    #[schema(format = Password, pattern = r"^[^\u0000]*$")]
    pub current_password: String,
    /// 10 to 128 characters, not the username.
    #[schema(schema_with = crate::openapi::auth::new_password)]
    pub new_password: String,
}

/// Change one's own password
///
/// Given the current password, sets a new one. Every session of the
/// account ends, this one included, on every instance; the answer is a new
/// token pair, so the device that made the change stays logged in. A wrong
/// current password is 422 on `current_password` and counts for the login
/// throttle (429 after too many). Integration clients get 403. The audit
/// event never holds a password.
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    tag = "auth",
    operation_id = "changeOwnPassword",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "A new token pair; every other session of the account has ended.", body = TokenResponse),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn change_password(
    state: web::Data<AppState>,
    tokens: web::Data<TokenService>,
    user: AuthUser,
    req: HttpRequest,
    body: crate::json::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    if user.role == Role::Client {
        return Err(ApiError::Forbidden(
            "integration clients have no password to change".into(),
        ));
    }
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner();
    let id = user.id;
    let account = db::run(&state.pool, move |conn| {
        crate::users::repo::find(conn, id).map_err(|e| match e {
            ApiError::NotFound => ApiError::Unauthorized("account no longer exists".into()),
            other => other,
        })
    })
    .await?;
    password::check_rules(&new_password, &account.username)
        .map_err(|why| ApiError::validation("new_password", "weak", why))?;
    let username = account.username.clone();
    let verified = check_secret(
        &state,
        &req,
        username.clone(),
        current_password,
        move |conn| {
            Ok(repo::credentials(conn, &username)?
                .filter(|c| c.id == id)
                .map(|c| {
                    let (hash, active) = (vec![c.password_hash.clone()], c.active);
                    (c, hash, active)
                }))
        },
        (Action::PasswordChangeFailed, Entity::User),
        "the current password is not right",
    )
    .await
    .map_err(|e| match e {
        ApiError::Unauthorized(why) => ApiError::validation("current_password", "wrong", why),
        other => other,
    })?;
    let new_hash = web::block(move || password::hash(&new_password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let (secret, refresh_hash) = repo::new_refresh_secret()?;
    let ttl = state.settings.refresh_token_ttl;
    let ctx = Ctx::user(&user, &req);
    let session = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            // Changed by someone else since it was checked: start again.
            if repo::lock_session(conn, id)?
                .is_none_or(|s| s.password_hash != verified.password_hash)
            {
                return Err(ApiError::conflict(
                    "the password was changed meanwhile; try again",
                ));
            }
            let (row, ended) = crate::users::repo::set_password(conn, id, &new_hash)?;
            repo::clear_failures(conn, &row.username)?;
            repo::store_refresh(conn, id, Uuid::now_v7(), &refresh_hash, ttl)?;
            let e = crate::users::handlers::account_event(conn, Action::SetPassword, &row)?;
            audit::record(conn, &ctx, e)?;
            let session = repo::lock_session(conn, id)?.ok_or(ApiError::NotFound)?;
            Ok((session, ended))
        })
    })
    .await?;
    let (session, ended) = session;
    tokens.sessions().ended_here(ended).await;
    tracing::info!(user = %id, "password changed");
    Ok(HttpResponse::Ok().json(tokens_for(&tokens, id, &session, secret)?))
}

/// Public signing keys
///
/// The Ed25519 public keys that verify access tokens (RFC 7517), for
/// systems that verify them themselves. No token.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "auth",
    operation_id = "getJwks",
    security(()),
    responses((
        status = 200,
        description = "The key set: every key the server accepts now.",
        body = crate::openapi::auth::Jwks,
        headers(("Cache-Control" = String, description = "`public, max-age=300`.")),
    ))
)]
pub async fn jwks(tokens: web::Data<TokenService>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(tokens.jwks())
}

/// The client credentials grant (RFC 6749 §4.4), as a form or as JSON.
/// Other fields are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ClientTokenRequest {
    #[schema(schema_with = crate::openapi::auth::grant_type)]
    pub grant_type: String,
    /// The id the client was registered with; anything else is the same
    /// 401 as a wrong secret.
    #[schema(pattern = r"^[^\u0000]*$", example = "portal.caobang")]
    pub client_id: String,
    /// The secret shown when the client was registered or rotated.
    #[schema(format = Password, pattern = r"^[^\u0000]*$")]
    pub client_secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClientTokenResponse {
    /// An EdDSA JWT with role `client`, the client's area and scopes.
    pub access_token: String,
    #[schema(schema_with = crate::openapi::auth::bearer_type)]
    pub token_type: &'static str,
    /// The token's lifetime in seconds.
    #[schema(minimum = 1)]
    pub expires_in: u64,
}

const CLIENT_FAILED: &str = "unknown client or wrong secret";

/// Client-credentials token for an integration client
///
/// `grant_type=client_credentials` with the client's id and secret, as a
/// form (RFC 6749 §4.4) or as JSON: an access token limited to the
/// client's area and scopes, for portals and other systems an admin
/// registered (`POST /api/v1/clients`, `banso client create`). There is no
/// refresh token: ask again. Failures (an unknown client, a wrong secret,
/// a revoked client) are the same 401, throttled like logins (5 per
/// client id, 20 per address, 15 minutes: then 429) and audited.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    operation_id = "clientToken",
    security(()),
    request_body(
        description = "The client's credentials.",
        content(
            (ClientTokenRequest = "application/x-www-form-urlencoded"),
            (ClientTokenRequest = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "A token.", body = ClientTokenResponse),
        (status = 401, response = crate::openapi::problems::Unauthorized),
        (status = 413, response = crate::openapi::problems::PayloadTooLarge),
        (status = 415, response = crate::openapi::problems::UnsupportedMediaType),
        (status = 422, response = crate::openapi::problems::Validation),
        (status = 429, response = crate::openapi::problems::TooManyRequests),
    )
)]
pub async fn client_token(
    state: web::Data<AppState>,
    tokens: web::Data<TokenService>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ctype = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let form: ClientTokenRequest = match ctype.as_str() {
        "application/x-www-form-urlencoded" => crate::json::from_form(&body)?,
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
            crate::json::from_value(value)?
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send application/x-www-form-urlencoded or application/json".into(),
            ));
        }
    };
    if form.grant_type != "client_credentials" {
        return Err(ApiError::validation(
            "grant_type",
            "unsupported",
            "only client_credentials is supported here; users log in at /auth/login",
        ));
    }
    let client_id = match crate::clients::repo::parse_client_id(&form.client_id) {
        Ok(id) => id,
        Err(_) => "(not a client id)".to_string(),
    };
    // Failures share the login throttle, under a name no account can have.
    let key = format!("client:{client_id}");
    let client = check_secret(
        &state,
        &req,
        key.clone(),
        form.client_secret,
        move |conn| {
            Ok(
                crate::clients::repo::by_client_id(conn, &client_id)?.map(|c| {
                    let hashes = c.secret_hashes(chrono::Utc::now());
                    let active = c.active;
                    (c, hashes, active)
                }),
            )
        },
        (Action::TokenFailed, Entity::Client),
        CLIENT_FAILED,
    )
    .await?;
    let mut ctx = Ctx::account(client.id, &req);
    ctx.actor_kind = "client";
    let (id, area) = (client.id, client.area_unit_id);
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            repo::clear_failures(conn, &key)?;
            let mut e = Event::new(Action::Token, Entity::Client, id);
            if let Some(a) = area {
                e = e.at_unit(conn, a)?;
            }
            audit::record(conn, &ctx, e)
        })
    })
    .await?;
    let access_token = tokens
        .issue_client(&client.grant())
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(ClientTokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: tokens.ttl().as_secs(),
    }))
}
