//! Who is calling and what they may do: passwords, tokens, the `AuthUser`
//! extractor, area scope, and the `/auth` routes.

pub mod access;
pub mod handlers;
pub mod password;
pub mod repo;
pub mod sessions;
pub mod tokens;

use std::fmt;
use std::future::{Ready, ready};
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use access::Scope;

use crate::clients::scopes::{ClientScopes, Need, needed};
use crate::error::ApiError;
use crate::ratelimit::RateLimiter;
use tokens::TokenService;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Officer,
    TeamLeader,
    Member,
    /// An integration client (a provincial portal): works inside its area,
    /// limited to its scopes.
    Client,
}

impl Role {
    /// The roles of user accounts; clients are not accounts.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Officer, Role::TeamLeader, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::TeamLeader => "team_leader",
            Role::Member => "member",
            Role::Client => "client",
        }
    }
}

/// An account's role in the OpenAPI document: the roles of accounts
/// (`ALL`), not `client`.
impl utoipa::PartialSchema for Role {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(Role::ALL.map(Role::as_str)))
            .description(Some("An account's role."))
            .into()
    }
}

impl utoipa::ToSchema for Role {}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}; expected one of admin, officer, team_leader, member")
            })
    }
}

/// The authenticated caller, taken from a valid access token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: Role,
    /// The administrative unit the caller works in; `None` only for admins
    /// without an area, who see everything.
    pub area: Option<Uuid>,
    /// An integration client's scopes; `None` for accounts, whose role
    /// says what they may do.
    pub scopes: Option<crate::clients::scopes::ClientScopes>,
}

impl AuthUser {
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }
}

fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization header".into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::Unauthorized(
            "expected Authorization: Bearer <access token>".into(),
        )),
    }
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let tokens = req
        .app_data::<web::Data<TokenService>>()
        .ok_or_else(|| ApiError::internal("token service missing"))?;
    let token = bearer(req)?;
    let claims = tokens.verify(token).map_err(|e| {
        tracing::debug!(reason = %e, "access token refused");
        ApiError::Unauthorized("invalid or expired access token".into())
    })?;
    let id = Uuid::parse_str(&claims.sub)
        .map_err(|_| ApiError::Unauthorized("invalid or expired access token".into()))?;
    tracing::Span::current().record("user", tracing::field::display(id));
    let scopes = if claims.role == Role::Client {
        let scopes = ClientScopes::from_claim(claims.scope.as_deref().unwrap_or(""));
        admit_client(req, id, scopes, claims.rl)?;
        Some(scopes)
    } else {
        None
    };
    Ok(AuthUser {
        id,
        role: claims.role,
        area: claims.area,
        scopes,
    })
}

/// An integration client may call a route only with the scope it needs
/// (`clients::scopes::needed`), and only as fast as its rate limit lets it.
fn admit_client(
    req: &HttpRequest,
    id: Uuid,
    scopes: ClientScopes,
    per_minute: Option<u32>,
) -> Result<(), ApiError> {
    let pattern = req.match_pattern().unwrap_or_default();
    match needed(req.method(), &pattern) {
        Need::Nothing => {}
        Need::Scope(scope) if scopes.contains(scope) => {}
        Need::Scope(scope) => {
            return Err(ApiError::Forbidden(format!(
                "this client's token does not carry the {scope} scope"
            )));
        }
        Need::Refused => {
            return Err(ApiError::Forbidden(
                "integration clients may not use this route".into(),
            ));
        }
    }
    let (Some(limiter), Some(per_minute)) = (req.app_data::<web::Data<RateLimiter>>(), per_minute)
    else {
        return Ok(());
    };
    let taken = limiter.take(id, per_minute);
    let standing = match taken {
        Ok(s) | Err(s) => s,
    };
    req.extensions_mut().insert(standing);
    if taken.is_err() {
        crate::metrics::client_throttled();
        return Err(ApiError::TooManyRequests {
            detail: format!("this client may make {per_minute} requests a minute"),
            retry_after: standing.retry_after,
        });
    }
    Ok(())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/login").route(web::post().to(handlers::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(handlers::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(handlers::logout)))
        .service(web::resource("/auth/token").route(web::post().to(handlers::client_token)))
        .service(web::resource("/me").route(web::get().to(handlers::me)))
        .service(web::resource("/me/password").route(web::post().to(handlers::change_password)));
}
