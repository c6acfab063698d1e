//! What operators and their tools read: `/health/live` (the process
//! answers), `/health/ready` (the database is reachable and every migration
//! is applied) and `/metrics` (see `metrics.rs`).

use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use diesel::{QueryableByName, RunQueryDsl};
use ipnet::IpNet;

use crate::auth::{AuthUser, Role};
use crate::db;
use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health/live").route(web::get().to(live)))
        .service(web::resource("/health/ready").route(web::get().to(ready)))
        .service(web::resource("/metrics").route(web::get().to(scrape)));
}

/// What `/health/live` and `/health/ready` answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HealthStatus {
    pub status: Health,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Live,
    Ready,
}

/// Liveness
///
/// The process serves HTTP, with or without a database. No token.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    operation_id = "getLive",
    security(()),
    responses((status = 200, description = "`{\"status\": \"live\"}`.", body = HealthStatus))
)]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: Health::Live,
    })
}

/// Readiness
///
/// A database connection can be checked out and every migration built
/// into the binary is applied; otherwise 503. No token.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    operation_id = "getReady",
    security(()),
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`.", body = HealthStatus),
        (status = 503, response = crate::openapi::problems::Unavailable),
    )
)]
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let current = db::run(&state.pool, db::migrations_current).await?;
    if current {
        Ok(HttpResponse::Ok().json(HealthStatus {
            status: Health::Ready,
        }))
    } else {
        Err(ApiError::Unavailable)
    }
}

/// Whether `ip` is one of the networks allowed to read `/metrics` without
/// a token (`BANSO_METRICS_ALLOW`).
pub fn metrics_allowed(allow: &[IpNet], ip: IpAddr) -> bool {
    // An IPv4 peer may come as ::ffff:a.b.c.d on a dual-stack socket.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    allow.iter().any(|net| net.contains(&ip))
}

#[derive(QueryableByName)]
struct Lag {
    #[diesel(sql_type = diesel::sql_types::Double)]
    oldest: f64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    unlinked: i64,
}

/// `GET /metrics`: from an allowed address (the TCP peer, never a forwarded
/// header), or with an admin's token.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    operation_id = "getMetrics",
    summary = "Metrics (Prometheus text)",
    description = "Requests by route pattern and status with latency histograms, requests in flight, pool connections and checkout waits, the activity writers' queue and batch sizes, the audit linker's lag, login failures and throttles, exports, and `banso_instance_info`. Served without a token to the networks in `BANSO_METRICS_ALLOW` (default: this machine), otherwise only with an admin's token. Labels carry no ids and no personal data.",
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "The Prometheus text format, version 0.0.4.", body = String, content_type = "text/plain"),
        (status = 401, response = crate::openapi::problems::Unauthorized),
        (status = 403, description = "A token of a role other than admin.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn scrape(
    req: HttpRequest,
    state: web::Data<AppState>,
    queues: web::Data<metrics::WriterQueues>,
) -> Result<HttpResponse, ApiError> {
    let allowed = req
        .peer_addr()
        .is_some_and(|a| metrics_allowed(&state.settings.metrics_allow, a.ip()));
    if !allowed {
        let user = AuthUser::extract(&req).await?;
        if user.role != Role::Admin {
            return Err(ApiError::Forbidden(
                "metrics are for administrators and the monitoring address".into(),
            ));
        }
    }
    // The audit linker's lag, from the trail itself. A database that is
    // away must not hide the rest of the metrics.
    let lag = db::run(&state.pool, |conn| {
        let lag = diesel::sql_query(
            "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(at)), 0)::float8 AS oldest, \
                    count(*) AS unlinked \
             FROM audit_events WHERE seq IS NULL",
        )
        .get_result::<Lag>(conn)?;
        Ok((lag.oldest, lag.unlinked))
    })
    .await
    .ok();
    let pool = state.pool.state();
    let body = metrics::render(
        &state.settings.instance,
        metrics::PoolState {
            open: pool.connections,
            idle: pool.idle_connections,
            max: state.pool.max_size(),
        },
        &queues,
        lag,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_allowed_by_network() {
        let allow: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.1.0.0/16".parse().unwrap(),
        ];
        assert!(metrics_allowed(&allow, "127.0.0.1".parse().unwrap()));
        assert!(metrics_allowed(&allow, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(!metrics_allowed(&allow, "10.2.0.1".parse().unwrap()));
        assert!(!metrics_allowed(&allow, "::1".parse().unwrap()));
    }
}
