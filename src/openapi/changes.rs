//! `/changes`: the change feed.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(crate::changes::list),
    components(schemas(crate::changes::Change, crate::changes::ChangesPage))
)]
pub struct Api;
