//! `/users` and `/users/{id}`, the schemas their attributes cannot say
//! alone, and `links`, which the other pieces of this file's kind use too.

use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::{ObjectBuilder, Type};

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

/// The piece.
pub fn api() -> utoipa::openapi::OpenApi {
    Api::openapi()
}

/// A link: from the `status` answer of operation `from`, named `name`, to
/// operation `to` with its parameters as runtime expressions.
pub type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const ID: &[(&str, &str)] = &[("id", "$response.body#/id")];

/// The links between the accounts' operations.
pub const LINKS: &[Link] = &[
    ("createUser", "201", "get", "getUser", ID),
    ("createUser", "201", "update", "updateUser", ID),
    ("updateUser", "200", "get", "getUser", ID),
    (
        "listUsers",
        "200",
        "next",
        "listUsers",
        &[("cursor", "$response.body#/next_cursor")],
    ),
];

/// Adds `links` to the answers of the served document they start from.
/// (Written into the JSON: utoipa's `Link` names its field `operation_id`,
/// not `operationId`.)
pub fn add_links(doc: &mut Value, links: &[Link]) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            for (from, status, name, to, parameters) in links {
                if op.get("operationId").and_then(Value::as_str) != Some(from) {
                    continue;
                }
                let Some(response) = op.pointer_mut(&format!("/responses/{status}")) else {
                    continue;
                };
                let Some(response) = response.as_object_mut() else {
                    continue;
                };
                let params: Map<String, Value> = parameters
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect();
                let links = response.entry("links").or_insert_with(|| json!({}));
                if let Some(links) = links.as_object_mut() {
                    links.insert(
                        name.to_string(),
                        json!({ "operationId": to, "parameters": params }),
                    );
                }
            }
        }
    }
}

/// The name of a character that is not a control character but white
/// space, as a JSON Schema class, for `Name::parse`'s rule.
const NAME_PATTERN: &str = r"^[^\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]*$";
/// `Name::parse`'s limit, in characters once trimmed.
const NAME_MAX_CHARS: usize = 200;

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
        .max_length(Some(NAME_MAX_CHARS))
        .pattern(Some(NAME_PATTERN))
        .description(Some(
            "1 to 200 characters once trimmed; no control characters but white space.",
        ))
}

/// `display_name` of a change: `null` or blank clears it, else a name.
pub fn display_name_patch() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(NAME_MAX_CHARS))
        .pattern(Some(format!(r"^\s*$|{}", NAME_PATTERN)))
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
