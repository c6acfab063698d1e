//! Builds the application: binds the listener (port 0 in tests), wires the
//! middleware and routes, and registers what the handlers share (see
//! `state`). The one module that knows every route.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};

use crate::activities::batch::Writer;
use crate::assistances::handlers::Visit;
use crate::auth::tokens::TokenService;
use crate::config::{MAX_BODY_BYTES, Settings};
use crate::db::PgPool;
use crate::error;
use crate::state::AppState;
use crate::trainings::handlers::Session;
use crate::{
    assistances, audit, auth, catalog, changes, conditional, cors, health, households, members,
    openapi, periods, sync, teams, telemetry, trainings, units, users,
};

/// How often committed audit events are linked into the chain.
pub const AUDIT_LINK_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// How long start-up waits for the first read of ended sessions.
const SESSIONS_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a stop waits for the requests in flight before cutting them off.
pub const DRAIN_SECONDS: u64 = 30;

/// Writer threads per kind of activity (see `activities::batch`).
const WRITERS: usize = 2;

pub struct Application {
    port: u16,
    server: Server,
}

/// The routes and their error handling, shared by the server and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(error::json_error),
    )
    .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
    .app_data(
        web::FormConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(error::form_error),
    )
    .app_data(web::QueryConfig::default().error_handler(error::query_error))
    .app_data(web::PathConfig::default().error_handler(error::path_error))
    .configure(health::routes)
    .service(web::resource("/.well-known/jwks.json").route(web::get().to(auth::handlers::jwks)))
    .configure(openapi::page_routes)
    .service(
        web::scope("/api/v1")
            .configure(openapi::routes)
            .configure(auth::routes)
            .configure(units::routes)
            .configure(teams::routes)
            .configure(members::routes)
            .configure(households::routes)
            .configure(catalog::routes)
            .configure(users::routes)
            .configure(audit::routes)
            .configure(changes::routes)
            .configure(assistances::routes)
            .configure(trainings::routes)
            .configure(periods::routes)
            .configure(sync::routes)
            .configure(crate::reports::routes)
            .configure(crate::clients::handlers::routes)
            .configure(crate::webhooks::routes),
    )
    .configure(crate::web::routes);
}

impl Application {
    pub fn build(settings: Settings, pool: PgPool, tokens: TokenService) -> std::io::Result<Self> {
        let listener = TcpListener::bind(settings.listen)?;
        let port = listener.local_addr()?.port();
        let workers = settings.workers;
        let checkpoints = audit::checkpoint::Writer::new(&settings.keys_dir, &settings.data_dir)
            .map_err(|e| tracing::warn!(error = %e, "audit checkpoints are not written"))
            .ok();
        audit::chain::spawn_linker(pool.clone(), AUDIT_LINK_EVERY, checkpoints);
        auth::sessions::start(
            tokens.sessions(),
            settings.database_url.as_deref(),
            SESSIONS_PATIENCE,
        );
        let sealer = crate::webhooks::secrets::Sealer::load(&settings.keys_dir)?;
        crate::webhooks::sender::spawn(pool.clone(), sealer.clone(), settings.webhooks.clone())?;
        let sealer = web::Data::new(sealer);
        let visits = web::Data::new(Writer::<Visit>::start(pool.clone(), WRITERS)?);
        let sessions = web::Data::new(Writer::<Session>::start(pool.clone(), WRITERS)?);
        let queues = {
            let (v, s) = (visits.clone(), sessions.clone());
            web::Data::new(
                crate::metrics::WriterQueues::default()
                    .with(v.kind(), move || v.waiting())
                    .with(s.kind(), move || s.waiting()),
            )
        };
        let tokens = web::Data::new(tokens);
        let settings = Arc::new(settings);
        let settings_data = web::Data::from(settings.clone());
        let cors_origins = settings.cors_origins.clone();
        let limiter = web::Data::new(crate::ratelimit::RateLimiter::default());
        let read_pool = settings
            .database_read_url
            .as_deref()
            .map(|u| crate::db::build_pool(u, &settings));
        let state = web::Data::new(AppState {
            pool,
            read_pool,
            settings,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(settings_data.clone())
                .app_data(tokens.clone())
                .app_data(visits.clone())
                .app_data(sessions.clone())
                .app_data(queues.clone())
                .app_data(limiter.clone())
                .app_data(sealer.clone())
                .wrap(from_fn(conditional::etags))
                .wrap(from_fn(crate::ratelimit::headers))
                .wrap(ErrorHandlers::new().default_handler(error::render_plain_error))
                .wrap(from_fn(error::localize))
                .wrap(Compress::default())
                .wrap(cors::middleware(&cors_origins))
                .wrap(from_fn(error::limit_head))
                .wrap(from_fn(telemetry::request_span))
                .configure(configure)
        })
        .workers(workers)
        // Signals are handled by `run_until_stopped`, which logs the drain.
        .disable_signals()
        .shutdown_timeout(DRAIN_SECONDS)
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (tests, and the embedded database's
    /// owner, which must outlive it).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT (or a stop through the handle), then
    /// drains: no new connection is accepted, and the requests in flight
    /// are answered, for up to `DRAIN_SECONDS`. A second signal cuts them
    /// off at once. Each step is logged.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let watcher = actix_web::rt::spawn(on_signals(self.server.handle()));
        let result = self.server.await;
        watcher.abort();
        match crate::metrics::requests_in_flight() {
            0 => tracing::info!("stopped serving: every request was answered"),
            n => tracing::warn!(
                unanswered = n,
                "stopped serving: requests still running were cut off"
            ),
        }
        result
    }
}

/// The first SIGTERM or SIGINT starts the drain, a second one ends it.
async fn on_signals(handle: actix_web::dev::ServerHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("signals cannot be handled: stop the service through its handle");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(
        signal = name,
        in_flight = crate::metrics::requests_in_flight(),
        drain_seconds = DRAIN_SECONDS,
        "draining: no new connections; answering the requests in flight"
    );
    let stopping = actix_web::rt::spawn(handle.clone().stop(true));
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = stopping => return,
    };
    tracing::warn!(
        signal = name,
        in_flight = crate::metrics::requests_in_flight(),
        "second signal: stopping now, cutting off the requests in flight"
    );
    handle.stop(false).await;
}
