//! `/clients`: integration clients, their scopes and their links.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{OpenApi, ToSchema};

use super::links::{self, Link, first, same};
use crate::clients::handlers;
use crate::clients::scopes::ClientScope;

#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create,
        handlers::get,
        handlers::rotate,
        handlers::revoke,
    ),
    components(schemas(
        Scope,
        handlers::ClientDto,
        handlers::WithSecret,
        handlers::NewClientBody,
        handlers::RotateBody,
        ClientList,
        Revocation,
    ))
)]
struct Api;

/// The piece, with its links.
pub fn api() -> utoipa::openapi::OpenApi {
    let mut doc = Api::openapi();
    links::add(&mut doc, LINKS);
    doc
}

const LINKS: &[Link] = &[
    Link {
        parameters: &[("id", "$response.body#/client/id")],
        ..same("createClient", "201", "get", "getClient")
    },
    Link {
        parameters: &[("id", "$response.body#/client/id")],
        ..same("createClient", "201", "rotate", "rotateClientSecret")
    },
    Link {
        parameters: &[("id", "$response.body#/client/id")],
        ..same("createClient", "201", "revoke", "revokeClient")
    },
    first("listClients", "get", "getClient"),
    same("getClient", "200", "rotate", "rotateClientSecret"),
    same("getClient", "200", "revoke", "revokeClient"),
];

/// A scope of an integration client, in the document as `ClientScope`.
pub struct Scope;

impl utoipa::PartialSchema for Scope {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ClientScope::ALL.map(ClientScope::as_str)))
            .description(Some("What a client's tokens may do."))
            .into()
    }
}

impl ToSchema for Scope {
    fn name() -> std::borrow::Cow<'static, str> {
        "ClientScope".into()
    }
}

/// A client's scopes, as answered.
pub fn scopes() -> ArrayBuilder {
    ArrayBuilder::new().items(RefOr::Ref(Ref::from_schema_name("ClientScope")))
}

/// The scopes of a new client: at least one (a scope given twice counts
/// once).
pub fn scopes_given() -> ArrayBuilder {
    scopes().min_items(Some(1))
}

/// The clients of the caller's area.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ClientList {
    items: Vec<handlers::ClientDto>,
}

/// The body of a revocation: why, kept in the audit trail.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Revocation {
    #[schema(schema_with = super::activities::required_reason)]
    reason: String,
    /// Accepted and not used: a revocation applies to any version.
    #[schema(value_type = Option<i32>)]
    version: Option<i64>,
}

#[cfg(test)]
mod tests {
    use crate::clients::handlers::{MAX_GRACE_HOURS, MAX_RATE_PER_MINUTE};

    /// The limits written as literals in the attributes are the code's.
    #[test]
    fn the_limits_are_the_codes() {
        let doc = super::super::value();
        let schemas = &doc["components"]["schemas"];
        let rate = &schemas["NewClient"]["properties"]["rate_limit_per_minute"];
        assert_eq!(rate["maximum"], MAX_RATE_PER_MINUTE);
        assert_eq!(
            rate["default"],
            crate::clients::handlers::DEFAULT_RATE_PER_MINUTE
        );
        let grace = &schemas["SecretRotation"]["properties"]["grace_hours"];
        assert_eq!(grace["maximum"], MAX_GRACE_HOURS);
        assert_eq!(
            grace["default"],
            crate::clients::handlers::DEFAULT_GRACE_HOURS
        );
        assert_eq!(
            schemas["ClientScope"]["enum"]
                .as_array()
                .map(Vec::len)
                .unwrap_or_default(),
            crate::clients::scopes::ClientScope::ALL.len()
        );
    }
}
