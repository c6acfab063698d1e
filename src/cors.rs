//! Cross-origin calls from the browser-based portals an admin names in
//! `BANSO_CORS_ORIGINS`; with none named (the default) no CORS header is
//! ever sent and browsers keep other sites out, as before.

use actix_cors::Cors;
use actix_web::http::{Method, header};
use actix_web::middleware::Condition;

/// What a preflight answer may be kept for by the browser.
const PREFLIGHT_MAX_AGE_SECS: usize = 600;

pub fn middleware(origins: &[String]) -> Condition<Cors> {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("ratelimit"),
            header::HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(PREFLIGHT_MAX_AGE_SECS)
        // A request from an origin not on the list is served as if CORS did
        // not exist (the browser then keeps its answer from the page); the
        // app's own same-origin requests carry an Origin header too.
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    Condition::new(!origins.is_empty(), cors)
}
