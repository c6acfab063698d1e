//! The OpenAPI 3.1 document (`/api/v1/openapi.json`) that provincial
//! portals build on, and `/docs`, a page that shows it to a person. Both are
//! public, like any API reference, and served from the binary.
//!
//! The document is generated from the code: `ApiDoc` holds what is shared
//! (the info, the tags, the security schemes, the problem answers), each
//! module adds its handlers' `#[utoipa::path]` and its DTOs' `ToSchema`
//! through a piece listed in `pieces`, and `complete` adds to every
//! operation the answers that follow from its shape. `banso openapi` prints it; a copy is kept
//! in `docs/openapi.json`. See "OpenAPI" in `docs/architecture.md`.

pub(crate) mod activities;
mod assistances;
pub(crate) mod audit;
pub mod auth;
pub(crate) mod catalog;
mod changes;
pub mod clients;
mod complete;
mod health;
pub(crate) mod households;
mod links;
mod members;
mod periods;
pub mod problems;
pub(crate) mod registry;
pub(crate) mod reports;
mod sync;
mod teams;
mod trainings;
mod units;
pub mod users;
pub(crate) mod webhooks;

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::Value;
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use crate::clients::scopes::ClientScope;

const PAGE: &str = include_str!("docs.html");

/// The page's Content-Security-Policy: its own inline script and style
/// (by hash) and requests to this service only, nothing from another host.
static PAGE_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
         img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
        inline_hash("script"),
        inline_hash("style"),
    )
});

/// `sha256-…` of the page's one inline `<tag>` element.
fn inline_hash(tag: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let body = PAGE
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map_or("", |(inner, _)| inner);
    let digest = Sha256::digest(body.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The security scheme of people's tokens (`/auth/login`, `/auth/refresh`).
pub const BEARER: &str = "bearer";
/// The security scheme of integration clients' tokens (`/auth/token`).
pub const CLIENT: &str = "client_credentials";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bản Số API",
        version = "1",
        license(name = "MIT OR Apache-2.0"),
    ),
    servers((url = "/")),
    security(("bearer" = []), ("client_credentials" = [])),
    tags(
        (name = "health", description = "Liveness and readiness; no token."),
        (name = "auth", description = "Login, tokens, the caller, the public signing keys."),
        (name = "openapi", description = "This document and the page that shows it."),
        (name = "units", description = "Administrative units of every period and their lineage."),
        (name = "teams", description = "Village teams (Tổ công nghệ số cộng đồng)."),
        (name = "members", description = "Team memberships."),
        (name = "households", description = "Households (personal data): consents, export, erasure, import."),
        (name = "catalog", description = "Assistance kinds and training topics."),
        (name = "users", description = "User accounts."),
        (name = "assistances", description = "Household assistance visits."),
        (name = "trainings", description = "Training sessions."),
        (name = "periods", description = "Reporting-month locks."),
        (name = "sync", description = "Offline batches."),
        (name = "audit", description = "The audit trail."),
        (name = "changes", description = "The change feed that portals mirror the registry and the activities from."),
        (name = "reports", description = "Indicators per unit and period, exact and live, across the 2025 reform."),
        (name = "clients", description = "Integration clients: registration, secrets, revocation."),
        (name = "webhooks", description = "Changes of the client's area sent to its HTTPS URLs, signed (Standard Webhooks), in order per record, retried for a day."),
    ),
    components(
        schemas(crate::error::Problem, crate::error::FieldError),
        responses(
            problems::BadRequest,
            problems::Unauthorized,
            problems::Forbidden,
            problems::NotFound,
            problems::MethodNotAllowed,
            problems::NotAcceptable,
            problems::Conflict,
            problems::PayloadTooLarge,
            problems::UnsupportedMediaType,
            problems::Validation,
            problems::TooManyRequests,
            problems::Unavailable,
            problems::UriTooLong,
            problems::HeadersTooLarge,
            problems::Internal,
        ),
    ),
    paths(serve_document, page),
    modifiers(&Shared),
)]
struct ApiDoc;

/// What the attributes cannot say: the long description and the
/// security schemes with the clients' scopes.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.info.description = Some(include_str!("description.md").trim_end().to_string());
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A person's access token from `POST /api/v1/auth/login` or `/api/v1/auth/refresh` (EdDSA JWT, 15 minutes at most).",
                    ))
                    .build(),
            ),
        );
        let scopes =
            Scopes::from_iter(ClientScope::ALL.map(|s| (s.as_str(), scope_description(s))));
        components.add_security_scheme(
            CLIENT,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/api/v1/auth/token",
                    scopes,
                ))],
                "An integration client's token from `POST /api/v1/auth/token` (client credentials, RFC 6749 §4.4): limited to the client's area and scopes; a route outside its scopes is 403.",
            )),
        );
    }
}

fn scope_description(scope: ClientScope) -> &'static str {
    match scope {
        ClientScope::RegistryRead => "Read units, teams, members, households and the catalogue.",
        ClientScope::ActivitiesRead => "Read visits, training sessions and month locks.",
        ClientScope::ActivitiesWrite => {
            "Record and correct visits and training sessions as a team would."
        }
        ClientScope::ReportsRead => "Read the summary reports.",
        ClientScope::AuditRead => "Read the audit trail.",
        ClientScope::ChangesRead => "Follow the change feed.",
    }
}

/// The pieces of the modules whose handlers are described in the code.
fn pieces() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        health::Api::openapi(),
        auth::Api::openapi(),
        users::api(),
        units::api(),
        households::api(),
        activities::Api::openapi(),
        assistances::Api::openapi(),
        trainings::Api::openapi(),
        periods::Api::openapi(),
        changes::Api::openapi(),
        sync::Api::openapi(),
        clients::api(),
        audit::api(),
        reports::Api::openapi(),
        teams::api(),
        members::api(),
        catalog::api(),
        webhooks::api(),
    ]
}

/// The document as a value: generated, and completed with the shared
/// answers.
pub fn value() -> Value {
    let mut doc = ApiDoc::openapi();
    for piece in pieces() {
        doc.merge(piece);
    }
    let mut value = serde_json::to_value(&doc).unwrap_or_default();
    complete::errors(&mut value);
    complete::sort_keys(&mut value);
    value
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut text = serde_json::to_string_pretty(&value()).unwrap_or_default();
    text.push('\n');
    text
});

/// The document as served, and as `banso openapi` prints it.
pub fn document() -> &'static str {
    &DOCUMENT
}

/// `/openapi.json`, registered inside the `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/openapi.json").route(web::get().to(serve_document)));
}

/// `/docs`, at the root.
pub fn page_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/docs").route(web::get().to(page)));
}

/// This OpenAPI document
///
/// The OpenAPI 3.1 document of the API, generated from the code. No token.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "openapi",
    operation_id = "getOpenApiDocument",
    security(()),
    responses((
        status = 200,
        description = "The document.",
        body = Object,
        headers(("Cache-Control" = String, description = "`public, max-age=300`.")),
    ))
)]
async fn serve_document() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(document())
}

/// API reference page
///
/// An HTML page that shows this document to a person, with a form to try
/// an operation with a token. No token; nothing is loaded from another
/// host.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "openapi",
    operation_id = "getDocsPage",
    security(()),
    responses((
        status = 200,
        description = "The page.",
        body = String,
        content_type = "text/html",
        headers(
            ("Cache-Control" = String, description = "`public, max-age=300`."),
            ("Content-Security-Policy" = String, description = "The page's own script and style only, and requests to this service only."),
        ),
    ))
)]
async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP.as_str()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(PAGE)
}
