//! Tracing: one span per request, carrying a request id that is also returned
//! in the `X-Request-Id` header; text or JSON log lines.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, for audit records and logs.
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub uuid::Uuid);

/// Installs the global subscriber once; later calls are ignored (tests).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("BANSO_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Middleware: opens the request span, stamps the request id on the
/// response, and logs one line per request with its status and duration.
/// The query string is not logged: it may carry search terms about people.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::now_v7();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = %route,
        user = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    req.extensions_mut().insert(RequestId(id));
    let method = req.method().to_string();
    let started = Instant::now();
    crate::metrics::request_started();
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    crate::metrics::request_finished(&route, &method, status.as_u16(), started.elapsed());
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            span.record("status", status);
            if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
                res.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if status >= 500 {
                tracing::warn!(status, ms, "request failed");
            } else {
                tracing::info!(status, ms, "request");
            }
            Ok(res)
        }
        Err(e) => {
            if status.is_server_error() {
                tracing::warn!(status = status.as_u16(), error = %e, "request failed");
            } else {
                tracing::info!(status = status.as_u16(), "request");
            }
            Err(e)
        }
    }
}

/// The client's address: the TCP peer, or, when `BANSO_TRUST_FORWARDED` is
/// set because a reverse proxy stands in front, the address the proxy
/// forwards. Used by the login throttle and the audit trail.
pub fn client_address(req: &actix_web::HttpRequest) -> Option<String> {
    let trust = req
        .app_data::<actix_web::web::Data<crate::config::Settings>>()
        .is_some_and(|s| s.trust_forwarded);
    if trust && let Some(addr) = req.connection_info().realip_remote_addr() {
        // "1.2.3.4:5678", "[::1]:5678" or a bare address.
        let host = match addr.parse::<std::net::SocketAddr>() {
            Ok(sock) => sock.ip().to_string(),
            Err(_) => addr.trim_matches(|c| c == '[' || c == ']').to_string(),
        };
        return Some(host);
    }
    req.peer_addr().map(|a| a.ip().to_string())
}
