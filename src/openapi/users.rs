//! `/users` and `/users/{id}`, the schemas their attributes cannot say
//! alone, and their links.

use utoipa::OpenApi;
use utoipa::openapi::{ObjectBuilder, Type};

use super::links::{self, Link, next_page, same};
use crate::users::dto;

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::users::handlers::list,
        crate::users::handlers::create,
        crate::users::handlers::get,
        crate::users::handlers::update,
    ),
    components(schemas(dto::UserDto, dto::NewUser, dto::UserPatch, dto::UserPage))
)]
struct Api;

/// The piece, with its links.
pub fn api() -> utoipa::openapi::OpenApi {
    let mut doc = Api::openapi();
    links::add(&mut doc, LINKS);
    doc
}

/// The links between the accounts' operations.
const LINKS: &[Link] = &[
    same("createUser", "201", "get", "getUser"),
    same("createUser", "201", "update", "updateUser"),
    same("updateUser", "200", "get", "getUser"),
    next_page("listUsers", &[("cursor", "$response.body#/next_cursor")]),
];

/// A username as `users::repo::parse_username` takes it: trimmed and
/// lower-cased, then 3 to 64 of a-z, 0-9, `.`, `_`, `-`.
pub fn username() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^\s*[A-Za-z0-9._-]{3,64}\s*$"))
        .description(Some(
            "3 to 64 characters of a-z, 0-9, `.`, `_`, `-` (after trimming and lower-casing).",
        ))
}

/// `display_name` of a new account: `null`, or a name.
pub fn display_name() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .min_length(Some(1))
        .max_length(Some(crate::domain::NAME_MAX_CHARS))
        .pattern(Some(crate::domain::NAME_PATTERN))
        .description(Some(
            "1 to 200 characters once trimmed; no control characters but white space.",
        ))
}

/// `display_name` of a change: `null` or blank clears it, else a name.
pub fn display_name_patch() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(crate::domain::NAME_MAX_CHARS))
        .pattern(Some(format!(r"^\s*$|{}", crate::domain::NAME_PATTERN)))
        .description(Some(
            "`null` or a blank text clears it; else 1 to 200 characters once trimmed, no control characters but white space.",
        ))
}

/// A new password in a change, or `null` for none.
pub fn new_password_patch() -> ObjectBuilder {
    super::auth::new_password().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
        Type::String,
        Type::Null,
    ]))
}
