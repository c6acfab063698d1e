//! The answers every operation may give that are not its own: the problem
//! documents of the shared error statuses, with their headers, as
//! reusable components (`#/components/responses/...`). A handler names
//! the ones particular to it in its `#[utoipa::path]` (`response =
//! Conflict`); `complete` adds those that follow from the operation's
//! shape (a token, parameters, a body) to every operation.

use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::{
    ContentBuilder, Object, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
};

use crate::error::PROBLEM_JSON;

/// A problem answer with `description` and the given headers.
fn problem(description: &str, headers: Vec<(&str, Header)>) -> Response {
    let mut builder = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    for (name, header) in headers {
        builder = builder.header(name, header);
    }
    builder.build()
}

/// `Retry-After`, in whole seconds.
pub fn retry_after() -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .description(Some("Seconds to wait before trying again."))
        .build()
}

fn string_header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Object::with_type(Type::String))
        .description(Some(description))
        .build()
}

macro_rules! shared_response {
    ($name:ident, $description:expr $(, $header:expr => $value:expr)* $(,)?) => {
        #[doc = $description]
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (
                    stringify!($name),
                    problem($description, vec![$(($header, $value)),*]).into(),
                )
            }
        }
    };
}

shared_response!(
    BadRequest,
    "Malformed JSON, or a path or query parameter that does not parse (an id that is not a UUID, an unknown enumeration value, a bad date, a cursor that is not one of this list's)."
);
shared_response!(
    Unauthorized,
    "Missing, malformed, expired or otherwise invalid credentials.",
    "WWW-Authenticate" => string_header("`Bearer realm=\"banso\"`, with `error=\"invalid_token\"` when a token was sent but refused.")
);
shared_response!(
    Forbidden,
    "Signed in but not allowed: the role may not do this, the account has no area, or the client's token lacks the scope this route needs."
);
shared_response!(
    NotFound,
    "No such resource, or a record outside the caller's area (never told apart)."
);
shared_response!(
    MethodNotAllowed,
    "The path exists but not with this method."
);
shared_response!(
    NotAcceptable,
    "The `Accept` header admits none of the types this operation answers."
);
shared_response!(
    Conflict,
    "A conflict with what is stored: a stale version (with `current`), a duplicate, a status change that does not apply, a locked month (with `current.lock`), ..."
);
shared_response!(
    PayloadTooLarge,
    "The body is larger than the endpoint's limit (1 MiB; 8 MiB for `/sync`, 16 MiB for the household import)."
);
shared_response!(
    UnsupportedMediaType,
    "The body is not sent with a content type the endpoint reads."
);
shared_response!(
    Validation,
    "Well-formed but invalid: `errors` names every bad field."
);
shared_response!(
    TooManyRequests,
    "Too many requests: the client's rate limit, or too many failed logins. `Retry-After` says when to try again; a client's answers also carry `RateLimit` and `RateLimit-Policy`.",
    "Retry-After" => retry_after(),
);
shared_response!(
    Unavailable,
    "The database is unavailable or the server is shutting down; retry after `Retry-After` seconds.",
    "Retry-After" => retry_after(),
);
shared_response!(
    UriTooLong,
    "The request target (path and query) is longer than 8 KiB."
);
shared_response!(
    HeadersTooLarge,
    "The request's headers are too long or too many."
);
shared_response!(
    Internal,
    "An unexpected error; it has been logged with the request's `X-Request-Id`, and nothing of it is stored."
);
