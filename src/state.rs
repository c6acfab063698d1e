//! What the handlers share, registered once by `startup.rs`.
//!
//! `AppState` holds only values whose types come from the lowest modules
//! (`db`, `config`), so any handler may import this module without making a
//! circle. Everything else reaches the handlers as a narrow `web::Data`
//! value of its own type, which needs no import of this module:
//!
//! - `web::Data<TokenService>`, read by the `AuthUser` extractor and the
//!   `/auth` handlers;
//! - `web::Data<Settings>` (the same settings as `AppState::settings`), read
//!   by the low modules that need a setting, such as `telemetry`;
//! - `web::Data<Writer<Visit>>` and `web::Data<Writer<Session>>`, the
//!   activity writers, taken by the create handler of each kind.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::PgPool;

pub struct AppState {
    pub pool: PgPool,
    /// The read replica's pool (`DATABASE_READ_URL`), for reports and
    /// exports: see `db::replica::run_read`.
    pub read_pool: Option<PgPool>,
    pub settings: Arc<Settings>,
}
