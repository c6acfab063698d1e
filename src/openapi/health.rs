//! `/health/live`, `/health/ready` and `/metrics`.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(crate::health::live, crate::health::ready, crate::health::scrape),
    components(schemas(crate::health::HealthStatus, crate::health::Health))
)]
pub struct Api;
