//! `/auth/*`, `/me`, `/me/password` and `/.well-known/jwks.json`, and the
//! schemas their attributes cannot say alone.

use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Type};
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Role, password};

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::auth::handlers::login,
        crate::auth::handlers::refresh,
        crate::auth::handlers::logout,
        crate::auth::handlers::client_token,
        crate::auth::handlers::me,
        crate::auth::handlers::change_password,
        crate::auth::handlers::jwks,
    ),
    components(schemas(
        Role,
        Jwks,
        Jwk,
        crate::auth::handlers::LoginRequest,
        crate::auth::handlers::RefreshRequest,
        crate::auth::handlers::TokenResponse,
        crate::auth::handlers::MeResponse,
        crate::auth::handlers::PasswordChange,
        crate::auth::handlers::ClientTokenRequest,
        crate::auth::handlers::ClientTokenResponse,
    ))
)]
pub struct Api;

/// The public keys that verify access tokens (RFC 7517), as
/// `TokenService::jwks` builds them.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwks {
    /// Every key the server accepts now.
    pub keys: Vec<Jwk>,
}

/// An Ed25519 public key.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwk {
    #[schema(schema_with = okp)]
    pub kty: String,
    #[schema(schema_with = ed25519)]
    pub crv: String,
    #[schema(schema_with = eddsa)]
    pub alg: String,
    #[schema(rename = "use", schema_with = sig)]
    pub use_: String,
    /// The key id, as in a token's header.
    pub kid: String,
    /// The public key, base64url without padding (32 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub x: String,
}

/// A string that is always `value`.
fn constant(value: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([value]))
}

fn okp() -> ObjectBuilder {
    constant("OKP")
}

fn ed25519() -> ObjectBuilder {
    constant("Ed25519")
}

fn eddsa() -> ObjectBuilder {
    constant("EdDSA")
}

fn sig() -> ObjectBuilder {
    constant("sig")
}

/// `token_type`: always `Bearer`.
pub fn bearer_type() -> ObjectBuilder {
    constant("Bearer")
}

/// `grant_type`: only `client_credentials` (anything else is 422).
pub fn grant_type() -> ObjectBuilder {
    constant("client_credentials")
}

/// A new password, as `password::check_rules` takes it (it must not be the
/// username either, which no schema can say).
pub fn new_password() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Password,
        )))
        .min_length(Some(password::MIN_LEN))
        .max_length(Some(password::MAX_LEN))
        .pattern(Some(r"^[^\u0000]*$"))
        .description(Some(format!(
            "{} to {} characters, not the username.",
            password::MIN_LEN,
            password::MAX_LEN
        )))
}

/// `Me.role`: an account's role, or `client` for a client's token.
pub fn me_role() -> ObjectBuilder {
    let mut all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    all.push(Role::Client.as_str());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(all))
        .description(Some(
            "The account's role, or `client` for an integration client's token.",
        ))
}

/// `Me.area`: the unit the caller works in, `null` for an admin without
/// one.
pub fn me_area() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(Ref::from_schema_name("UnitSummary"))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "The unit the caller works in; `null` for an admin without an area, or a client of the whole country.",
        ))
        .into()
}
