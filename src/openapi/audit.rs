//! `/audit`: the audit trail, its verification and its checkpoints.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{OpenApi, ToSchema};

use super::links::{self, Link, next_page};
use crate::audit::handlers::{self, AuditItem, CheckpointDto};
use crate::audit::{Action, Entity, chain, checkpoint};

#[derive(OpenApi)]
#[openapi(
    paths(handlers::list, handlers::verify, handlers::checkpoints),
    components(schemas(
        handlers::AuditDto,
        AuditItem,
        AuditPage,
        chain::Broken,
        chain::Verdict,
        checkpoint::Checkpoint,
        checkpoint::Reach,
        CheckpointDto,
        CheckpointList,
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
    next_page(
        "listAuditEvents",
        &[("cursor", "$response.body#/next_cursor")],
    ),
    Link {
        from: "listAuditCheckpoints",
        status: "200",
        name: "verify",
        to: "verifyAuditChain",
        parameters: &[("checkpoint", "$response.body#/items/0/token")],
        description: "Verify the chain against the newest checkpoint.",
    },
];

fn codes<'a>(codes: impl IntoIterator<Item = &'a str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes))
        .description(Some(description))
        .build()
}

/// The kinds of record an event is about.
pub fn entities() -> Object {
    codes(
        Entity::ALL.iter().map(|e| e.as_str()),
        "The kind of record an event is about.",
    )
}

/// What an event says happened.
pub fn actions() -> Object {
    codes(Action::ALL.iter().map(|a| a.as_str()), "What happened.")
}

/// Who acts in an event.
pub fn actor_kinds() -> Object {
    codes(
        crate::audit::record::ACTOR_KINDS.iter().copied(),
        "`user` (an account), `client` (an integration client), `system` (the service itself) or `anonymous` (someone not logged in).",
    )
}

/// A page of events, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AuditPage {
    items: Vec<AuditItem>,
    /// The cursor of the next page; `null` on the last.
    #[schema(required = true, pattern = "^[A-Za-z0-9_-]+$")]
    next_cursor: Option<String>,
}

/// The newest checkpoints, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CheckpointList {
    #[schema(max_items = 100)]
    items: Vec<CheckpointDto>,
}

#[cfg(test)]
mod tests {
    /// The limits written as literals in the attributes are the code's.
    #[test]
    fn the_limits_are_the_codes() {
        let doc = super::super::value();
        let limit = doc["paths"]["/api/v1/audit"]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "limit"))
            .map(|p| p["schema"].clone())
            .unwrap_or_default();
        assert_eq!(limit["maximum"], crate::pagination::MAX_LIMIT);
        assert_eq!(limit["default"], crate::pagination::DEFAULT_LIMIT);
        assert_eq!(
            doc["components"]["schemas"]["CheckpointList"]["properties"]["items"]["maxItems"],
            crate::audit::checkpoint::LISTED
        );
    }
}
