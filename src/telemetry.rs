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

/// The client's address, for the login throttle and the audit trail.
///
/// With `BANSO_TRUSTED_PROXY_HOPS` = 0 it is the TCP peer and
/// `X-Forwarded-For` is ignored. With N, each of the N proxies in front
/// appended the address it received the connection from, so the N-th entry
/// from the right end is the address the outermost trusted proxy saw;
/// anything further left was written by the client and is never used.
pub fn client_address(req: &actix_web::HttpRequest) -> Option<String> {
    let hops = req
        .app_data::<actix_web::web::Data<crate::config::Settings>>()
        .map_or(0, |s| s.trusted_proxy_hops);
    let peer = req.peer_addr().map(|a| a.ip().to_string());
    if hops == 0 {
        return peer;
    }
    let header = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    forwarded_client(&header, hops).or(peer)
}

/// The entry `hops` places from the right of an `X-Forwarded-For` value, as
/// a bare address; `None` when the list is shorter (a trusted proxy was
/// bypassed) or that entry is not an address.
fn forwarded_client(header: &str, hops: usize) -> Option<String> {
    let entries: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let entry = *entries.get(entries.len().checked_sub(hops)?)?;
    let ip = entry
        .parse::<std::net::IpAddr>()
        .or_else(|_| entry.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()?;
    Some(ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    #[test]
    fn the_entry_the_outermost_trusted_proxy_appended_is_taken() {
        let header = "6.6.6.6, 203.0.113.7, 10.0.0.2";
        assert_eq!(forwarded_client(header, 1).as_deref(), Some("10.0.0.2"));
        assert_eq!(forwarded_client(header, 2).as_deref(), Some("203.0.113.7"));
        assert_eq!(forwarded_client(header, 3).as_deref(), Some("6.6.6.6"));
        assert_eq!(forwarded_client(header, 4), None);
        assert_eq!(
            forwarded_client("[2001:db8::1]:443", 1).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            forwarded_client("198.51.100.9:5678", 1).as_deref(),
            Some("198.51.100.9")
        );
        assert_eq!(forwarded_client("unknown", 1), None);
        assert_eq!(forwarded_client("", 1), None);
    }
}
