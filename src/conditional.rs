//! Conditional GETs: every `200` answer of an API `GET` carries an `ETag`,
//! and a request whose `If-None-Match` names it is answered `304 Not
//! Modified` with no body, so a portal polling a list, or a phone reloading
//! its village's households, moves nothing when nothing changed.
//!
//! A handler that knows its record's version sets a strong `ETag` itself
//! (`"7"`, the one `If-Match` takes); any other answer gets a weak tag of
//! its bytes (`W/"…"`). Streamed answers (exports) are left alone: they are
//! never held in memory to be hashed.

use actix_web::HttpResponse;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Answers larger than this are sent without a tag of their bytes.
const MAX_HASHED_BYTES: u64 = 8 * 1024 * 1024;

/// The headers a `304` repeats from the answer it stands for (RFC 9110,
/// section 15.4.5).
const KEPT_ON_304: [header::HeaderName; 4] = [
    header::CACHE_CONTROL,
    header::VARY,
    header::EXPIRES,
    header::CONTENT_LOCATION,
];

pub async fn etags(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let candidate =
        matches!(*req.method(), Method::GET | Method::HEAD) && req.path().starts_with("/api/v1/");
    let res = next.call(req).await?;
    if !candidate || res.status() != StatusCode::OK {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let known_size = matches!(body.size(), BodySize::Sized(n) if n <= MAX_HASHED_BYTES);
    let tag = head.headers().get(header::ETAG).cloned();
    if tag.is_none() && !known_size {
        return Ok(ServiceResponse::new(
            req,
            head.set_body(body).map_into_boxed_body(),
        ));
    }
    let (tag, body) = match tag {
        Some(tag) => (tag, body.boxed()),
        None => {
            let bytes = actix_web::body::to_bytes(body).await.map_err(|e| {
                let e: Box<dyn std::error::Error> = e.into();
                actix_web::error::ErrorInternalServerError(e.to_string())
            })?;
            (weak_tag(&bytes), bytes.boxed())
        }
    };
    let wanted = req.headers().get(header::IF_NONE_MATCH);
    if wanted.is_some_and(|w| none_match_hits(w, &tag)) {
        let mut not_modified = HttpResponse::NotModified();
        not_modified.insert_header((header::ETAG, tag));
        for name in KEPT_ON_304 {
            for value in head.headers().get_all(&name) {
                not_modified.append_header((name.clone(), value.clone()));
            }
        }
        return Ok(ServiceResponse::new(req, not_modified.finish()));
    }
    let mut res = head.set_body(body);
    res.headers_mut().insert(header::ETAG, tag);
    Ok(ServiceResponse::new(req, res))
}

/// `W/"<22 characters of base64url>"`: 128 bits of the answer's SHA-256.
fn weak_tag(bytes: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(bytes);
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    HeaderValue::from_str(&format!("W/\"{text}\"")).unwrap_or(HeaderValue::from_static("W/\"\""))
}

/// Whether `If-None-Match` names `tag`, by the weak comparison RFC 9110
/// prescribes for it (`W/` ignored on both sides), or is `*`.
fn none_match_hits(if_none_match: &HeaderValue, tag: &HeaderValue) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let (Ok(list), Ok(tag)) = (if_none_match.to_str(), tag.to_str()) else {
        return false;
    };
    let tag = opaque(tag);
    list.split(',')
        .map(opaque)
        .any(|candidate| candidate == "*" || candidate == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let tag = HeaderValue::from_static("W/\"abc\"");
        let strong = HeaderValue::from_static("\"7\"");
        let hits =
            |h: &'static str, t: &HeaderValue| none_match_hits(&HeaderValue::from_static(h), t);
        assert!(hits("W/\"abc\"", &tag));
        assert!(hits("\"abc\"", &tag));
        assert!(hits("\"x\", W/\"abc\"", &tag));
        assert!(hits("*", &tag));
        assert!(hits("W/\"7\"", &strong));
        assert!(!hits("\"abd\"", &tag));
        assert!(!hits("\"8\"", &strong));
    }

    #[test]
    fn tags_of_different_bytes_differ() {
        assert_ne!(weak_tag(b"[1]"), weak_tag(b"[2]"));
        assert_eq!(weak_tag(b"[1]"), weak_tag(b"[1]"));
        assert!(weak_tag(b"").to_str().is_ok_and(|t| t.starts_with("W/\"")));
    }
}
