//! The one API error type and its RFC 9457 problem+json rendering.
//!
//! Handlers, extractors and the fallback for responses that actix-web makes
//! itself (unknown route, wrong method) all end here, so a client sees one
//! shape for every failure. Causes of 500s go to the log, never to the body.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::Value;

use crate::messages::{Lang, en, text};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying when the database is away.
pub const RETRY_AFTER_UNAVAILABLE: u64 = 2;

/// One bad field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    /// The field as named in the request, with a path for nested values
    /// (`attendees.women`, `help[1].reason`), or `body`, `If-Match`,
    /// `limit`, `cursor`, ...
    pub field: String,
    /// Stable, for programs (`required`, `too_long`, `not_allowed`,
    /// `out_of_range`, `immutable`, ...).
    pub code: String,
    /// For people, in the language the request prefers; may change.
    pub message: String,
    /// The line of an uploaded file the error is on, for imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub line: Option<u64>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
            line: None,
        }
    }

    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{detail}")]
    Conflict {
        detail: String,
        /// The record as the server has it, for stale-version answers.
        current: Option<Value>,
    },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The `Accept` header names no type the route can give (406).
    #[error("{0}")]
    NotAcceptable(String),
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// Query or path parameters of the wrong form (400), each named.
    #[error("invalid parameters")]
    InvalidParameters(Vec<FieldError>),
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("the database is unavailable")]
    Unavailable,
    /// Anything unexpected. The cause is kept for the log (`Display` shows
    /// it) and never shown to the client, whose body is a fixed text.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    pub fn validation(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            current: None,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not-found",
            ApiError::Conflict { .. } => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::Validation(_) => "validation",
            ApiError::InvalidParameters(_) => "bad-request",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// The title of a problem type, from the message table.
fn title_of(slug: &str) -> String {
    crate::messages::en(&format!("title.{slug}"))
}

/// The problem document as it goes over the wire: RFC 9457, sent as
/// `application/problem+json`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `/problems/<slug>`: bad-request, unauthorized, forbidden, not-found,
    /// method-not-allowed, not-acceptable, conflict, payload-too-large,
    /// unsupported-media-type, validation, rate-limited, internal,
    /// unavailable, uri-too-long, headers-too-large.
    #[serde(rename = "type")]
    #[schema(pattern = "^/problems/[a-z-]+$", example = "/problems/validation")]
    pub kind: String,
    #[schema(example = "Invalid input")]
    pub title: String,
    #[schema(minimum = 400, maximum = 599, example = 422)]
    pub status: u16,
    /// For people, in the language the request prefers.
    pub detail: String,
    /// Validation failures (422) only: every bad field of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Conflicts (409) only, when there is something to show: the record as
    /// the server has it now (stale version, status change that does not
    /// apply), `{id}` of a record whose id was reused, likely duplicate
    /// households, or the month lock that refuses the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<Value>,
}

fn problem_type(slug: &str) -> String {
    format!("/problems/{slug}")
}

/// A problem document with no field errors and no current record.
fn simple_problem(status: StatusCode, slug: &str, detail: String) -> HttpResponse {
    problem_response(
        status,
        &Problem {
            kind: problem_type(slug),
            title: title_of(slug),
            status: status.as_u16(),
            detail,
            errors: None,
            current: None,
        },
    )
}

pub fn problem_response(status: StatusCode, problem: &Problem) -> HttpResponse {
    let body = serde_json::to_string(problem).unwrap_or_else(|_| {
        r#"{"type":"/problems/internal","title":"Internal error","status":500,"detail":"internal error"}"#.to_string()
    });
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(body)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::InvalidParameters(_) => StatusCode::BAD_REQUEST,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let status = self.status_code();
        let slug = self.slug();
        let title = title_of(slug);
        let detail = match self {
            ApiError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                en("detail.internal")
            }
            ApiError::Unavailable => {
                tracing::warn!("database unavailable");
                en("detail.unavailable")
            }
            ApiError::NotFound => en("detail.not_found"),
            ApiError::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                text(
                    Lang::En,
                    "detail.invalid_fields",
                    &[("fields", &fields.join(", "))],
                )
            }
            ApiError::InvalidParameters(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                text(
                    Lang::En,
                    "detail.invalid_parameters",
                    &[("fields", &fields.join(", "))],
                )
            }
            other => other.to_string(),
        };
        let (errors, current) = match self {
            ApiError::Validation(errors) | ApiError::InvalidParameters(errors) => {
                (Some(errors.clone()), None)
            }
            ApiError::Conflict { current, .. } => (None, current.clone()),
            _ => (None, None),
        };
        let mut response = problem_response(
            status,
            &Problem {
                kind: problem_type(slug),
                title,
                status: status.as_u16(),
                detail,
                errors,
                current,
            },
        );
        let retry_after = match self {
            ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            ApiError::Unavailable => Some(RETRY_AFTER_UNAVAILABLE),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if let ApiError::Unauthorized(_) = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"banso\""),
            );
        }
        response
    }
}

/// Extractor failures: malformed JSON is 400, a body of the wrong shape 422,
/// a body too large 413 and the wrong content type 415.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let api = match &err {
        J::OverflowKnownLength { limit, .. } | J::Overflow { limit } => {
            ApiError::PayloadTooLarge { limit: *limit }
        }
        J::ContentType => ApiError::UnsupportedMediaType(
            "expected a body with Content-Type: application/json".into(),
        ),
        J::Deserialize(e) if e.is_data() => {
            ApiError::Validation(vec![crate::json::field_error("", &e.to_string())])
        }
        J::Deserialize(e) => ApiError::BadRequest(format!("malformed JSON: {e}")),
        J::Payload(actix_web::error::PayloadError::Overflow) => ApiError::PayloadTooLarge {
            limit: crate::config::MAX_BODY_BYTES,
        },
        other => ApiError::BadRequest(format!("could not read the body: {other}")),
    };
    api.into()
}

/// For `web::Query` (the handlers use `json::Query`, which names the
/// parameter).
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    let actix_web::error::QueryPayloadError::Deserialize(e) = err else {
        return ApiError::BadRequest("invalid query string".into()).into();
    };
    let mut fe = crate::json::field_error("", &e.to_string());
    if fe.field == "body" {
        fe.field = "query".into();
    }
    ApiError::InvalidParameters(vec![fe]).into()
}

/// A path segment of the wrong form: every route's path parameters are
/// UUIDs but for a few named ones (a month), so the segment that is not a
/// UUID is the one named.
pub fn path_error(_err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    let bad = req
        .match_info()
        .iter()
        .find(|(_, value)| uuid::Uuid::parse_str(value).is_err())
        .map(|(name, _)| name.to_string());
    match bad {
        Some(name) => ApiError::InvalidParameters(vec![FieldError::new(
            name,
            "invalid",
            "must be a UUID, such as 0192f0c1-7d3e-7a4b-9c5d-6e7f8a9b0c1d",
        )]),
        None => ApiError::BadRequest("a part of the path has the wrong form".into()),
    }
    .into()
}

pub fn form_error(err: actix_web::error::UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError as U;
    match err {
        U::Overflow { limit, .. } => ApiError::PayloadTooLarge { limit },
        U::ContentType => {
            ApiError::UnsupportedMediaType("expected application/x-www-form-urlencoded".into())
        }
        U::Parse(e) => ApiError::Validation(vec![crate::json::field_error("", &e.to_string())]),
        _ => ApiError::BadRequest("the form body could not be read".into()),
    }
    .into()
}

/// Middleware fallback: responses that actix-web builds itself (404 for an
/// unknown route, 405 for a wrong method, 413 from the payload limit) get a
/// problem document like every other failure.
pub fn render_plain_error<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (slug, title, detail) = match status {
        StatusCode::NOT_FOUND => ("not-found", None, en("detail.not_found")),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            None,
            text(
                Lang::En,
                "detail.method",
                &[("method", res.request().method().as_str())],
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", None, en("detail.too_large")),
        s if s.is_server_error() => ("internal", None, en("detail.internal")),
        s => (
            "bad-request",
            Some(s.canonical_reason().unwrap_or("Error")),
            s.canonical_reason().unwrap_or("error").to_string(),
        ),
    };
    // A client's mistake is not the service's: 4xx are logged only by the
    // request line (and here at debug level), 5xx as warnings.
    if let Some(err) = res.response().error() {
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = %err, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %err, "request refused");
        }
    }
    let mut problem = simple_problem(status, slug, detail);
    if let Some(title) = title {
        // Another 4xx of actix-web's own: its standard reason is the title.
        problem = problem_response(
            status,
            &Problem {
                kind: problem_type(slug),
                title: title.to_string(),
                status: status.as_u16(),
                detail: title.to_string(),
                errors: None,
                current: None,
            },
        );
    }
    let (req, old) = res.into_parts();
    let mut new = problem.map_into_boxed_body();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && name != header::CONTENT_ENCODING
        {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

/// The longest request target (path and query) served; a longer one is
/// answered 414.
pub const MAX_TARGET_BYTES: usize = 8 * 1024;
/// The longest header line (name and value) served; a longer one, or more
/// than `MAX_HEADER_TOTAL_BYTES` or `MAX_HEADERS` in all, is answered 431.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
pub const MAX_HEADER_TOTAL_BYTES: usize = 32 * 1024;
pub const MAX_HEADERS: usize = 64;

/// Middleware: a request line or headers too long get a problem document.
///
/// actix-http refuses a request head only beyond 128 KiB or 96 headers, and
/// then with an empty 431 before any middleware runs; these tighter limits
/// answer every ordinary case here, as problem+json.
pub async fn limit_head<B: actix_web::body::MessageBody + 'static>(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let headers = req.headers();
    let too_long = headers
        .iter()
        .find(|(name, value)| name.as_str().len() + value.len() > MAX_HEADER_BYTES)
        .map(|(name, _)| name.as_str().to_string());
    let total: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let refusal = if target > MAX_TARGET_BYTES {
        Some((
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            format!("the request path and query must be at most {MAX_TARGET_BYTES} bytes"),
        ))
    } else if let Some(name) = too_long {
        Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header-too-large",
            format!("the header {name} is longer than {MAX_HEADER_BYTES} bytes"),
        ))
    } else if total > MAX_HEADER_TOTAL_BYTES || headers.len() > MAX_HEADERS {
        Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header-too-large",
            format!(
                "send at most {MAX_HEADERS} headers of at most {MAX_HEADER_TOTAL_BYTES} bytes in all"
            ),
        ))
    } else {
        None
    };
    match refusal {
        None => Ok(next.call(req).await?.map_into_left_body()),
        Some((status, slug, detail)) => {
            let problem = localized(
                Lang::from_header(accept_language(req.request())),
                simple_problem(status, slug, detail),
            );
            Ok(req.into_response(problem).map_into_right_body())
        }
    }
}

fn accept_language(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

/// A problem response with its texts in `lang` (see `messages`), and the
/// headers that say so. Other responses pass as they are.
fn localized(lang: Lang, mut res: HttpResponse) -> HttpResponse {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !is_problem {
        return res;
    }
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    res.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    if lang == Lang::En {
        return res;
    }
    let (head, body) = res.into_parts();
    match actix_web::body::MessageBody::try_into_bytes(body) {
        Ok(bytes) => {
            let body = crate::messages::localize(lang, &bytes)
                .map(actix_web::web::Bytes::from)
                .unwrap_or(bytes);
            head.set_body(BoxBody::new(body))
        }
        Err(body) => head.set_body(body),
    }
}

/// Middleware: problem documents in the language the request prefers
/// (`Accept-Language`; English unless it prefers Vietnamese), with
/// `Content-Language` and `Vary: Accept-Language`.
pub async fn localize<B: actix_web::body::MessageBody + 'static>(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let lang = Lang::from_header(accept_language(req.request()));
    let (req, res) = next.call(req).await?.into_parts();
    Ok(ServiceResponse::new(
        req,
        localized(lang, res.map_into_boxed_body()),
    ))
}
