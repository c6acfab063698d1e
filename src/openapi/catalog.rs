//! `/catalog/{kind}` and `/catalog/{kind}/{code}`, and their links.

use utoipa::OpenApi;

use super::links::{self, Link};
use crate::catalog::handlers;

/// The catalogues of the path, as `catalog::handlers::kind_of` reads them.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
pub enum CatalogKind {
    AssistanceKinds,
    TrainingTopics,
}

#[derive(OpenApi)]
#[openapi(
    paths(handlers::list, handlers::create, handlers::update),
    components(schemas(
        CatalogKind,
        handlers::Entry,
        handlers::NewEntry,
        handlers::EntryPatch,
        handlers::EntryPage,
    ))
)]
struct Api;

/// The piece, with its links.
pub fn api() -> utoipa::openapi::OpenApi {
    let mut doc = Api::openapi();
    links::add(&mut doc, LINKS);
    doc
}

/// From an entry's `status` answer of `from` to its change.
const fn to_update(from: &'static str, status: &'static str) -> Link {
    Link {
        from,
        status,
        name: "update",
        to: "updateCatalogEntry",
        parameters: &[
            ("kind", "$request.path.kind"),
            ("code", "$response.body#/code"),
        ],
        description: "The same entry.",
    }
}

const LINKS: &[Link] = &[
    to_update("createCatalogEntry", "201"),
    to_update("updateCatalogEntry", "200"),
    Link {
        from: "listCatalogEntries",
        status: "200",
        name: "update",
        to: "updateCatalogEntry",
        parameters: &[
            ("kind", "$request.path.kind"),
            ("code", "$response.body#/items/0/code"),
        ],
        description: "The list's first entry.",
    },
];

#[cfg(test)]
mod tests {
    /// Every kind the document names is one the path takes, and the other
    /// way round.
    #[test]
    fn the_kinds_are_the_codes() {
        let doc = super::super::value();
        let kinds = doc["components"]["schemas"]["CatalogKind"]["enum"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(kinds.len(), 2);
        for kind in kinds {
            let kind = kind.as_str().unwrap_or_default();
            assert!(crate::catalog::handlers::kind_of(kind).is_ok(), "{kind}");
        }
    }
}
