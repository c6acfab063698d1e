//! `/sync`: batches made offline.

use utoipa::OpenApi;

use crate::sync::handlers;

#[derive(OpenApi)]
#[openapi(
    paths(handlers::sync),
    components(schemas(
        handlers::Batch,
        handlers::Item,
        handlers::Kind,
        handlers::Op,
        handlers::Outcome,
        handlers::Answer,
        handlers::SyncResponse,
    ))
)]
pub struct Api;
