//! `/periods` and the lock and unlock of a unit's month.

use utoipa::OpenApi;

use crate::periods::handlers;

const LOCK_BODY: super::activities::OptionalBody =
    super::activities::OptionalBody("/api/v1/periods/{unit_id}/{month}/lock");

#[derive(OpenApi)]
#[openapi(
    paths(handlers::list, handlers::lock, handlers::unlock),
    components(schemas(
        handlers::Lock,
        handlers::LockAnswer,
        handlers::LockRequest,
        handlers::LockBody,
        handlers::Unchecked,
        handlers::UncheckedIn,
        handlers::PeriodLockPage,
    )),
    modifiers(&LOCK_BODY)
)]
pub struct Api;
