//! The one door to the database: the pool, the `run` helper that does a unit
//! of work on the blocking pool, and the embedded migrations.

pub mod backup;
pub mod embedded;
pub mod errors;
pub mod replica;
pub mod schema;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::Settings;
use crate::error::ApiError;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Held while migrations run, so that several instances starting together
/// migrate once. The number spells "banso" in ASCII.
const MIGRATION_LOCK: i64 = 0x62_61_6e_73_6f;

#[derive(Debug)]
struct SessionSettings {
    statement_timeout_ms: u128,
    lock_timeout_ms: u128,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        errors::pin_messages(conn).map_err(diesel::r2d2::Error::QueryError)?;
        conn.batch_execute(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; SET TIME ZONE 'UTC'",
            self.statement_timeout_ms, self.lock_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds the pool without connecting, so a start never hangs on a database
/// that is down: a checkout then fails after `pool_timeout` and the request
/// gets 503. No health query runs on checkout; a connection that broke is
/// dropped when it is returned.
pub fn build_pool(database_url: &str, settings: &Settings) -> PgPool {
    let manager = ConnectionManager::<PgConnection>::new(database_url);
    Pool::builder()
        .max_size(settings.pool_size)
        .min_idle(Some(settings.pool_size.min(2)))
        .test_on_check_out(false)
        .connection_timeout(settings.pool_timeout)
        .connection_customizer(Box::new(SessionSettings {
            statement_timeout_ms: settings.statement_timeout.as_millis(),
            lock_timeout_ms: settings.lock_timeout.as_millis(),
        }))
        .build_unchecked(manager)
}

/// Runs one unit of database work on the blocking thread pool. The connection
/// is checked out inside the closure and returned before the future resolves,
/// so no connection is ever held across an `.await`.
pub async fn run<T, F>(pool: &PgPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        let idle = pool.state().idle_connections > 0;
        let started = std::time::Instant::now();
        let conn = pool.get();
        crate::metrics::pool_checkout(started.elapsed(), idle, conn.is_ok());
        let mut conn = conn?;
        work(&mut conn)
    })
    .await
    .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?
}

/// Runs every pending migration under an advisory lock.
pub fn migrate(
    conn: &mut PgConnection,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(conn)?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|done| done.iter().map(|v| v.to_string()).collect::<Vec<_>>());
    let unlock =
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(conn);
    let applied = result?;
    unlock?;
    Ok(applied)
}

/// True when the schema has every embedded migration.
pub fn migrations_current(conn: &mut PgConnection) -> Result<bool, ApiError> {
    conn.has_pending_migration(MIGRATIONS)
        .map(|pending| !pending)
        .map_err(|_| ApiError::Unavailable)
}

/// Connects once, retrying for up to `patience` while the server starts.
pub fn connect_with_patience(
    url: &str,
    patience: Duration,
) -> Result<PgConnection, diesel::ConnectionError> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        match PgConnection::establish(url) {
            Ok(conn) => return Ok(conn),
            Err(e) if std::time::Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Quotes an identifier for the few statements that cannot take parameters
/// (CREATE DATABASE and the like).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
