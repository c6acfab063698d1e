//! `/units`: administrative units and their lineage.

use utoipa::OpenApi;

use super::links::{self, Link, first, next_page, same};
use crate::units::{dto, handlers};

#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create_village,
        handlers::get,
        handlers::assign_village,
        handlers::children,
        handlers::lineage,
    ),
    components(schemas(
        dto::Level,
        dto::UnitDto,
        dto::UnitSummary,
        dto::LineageRelation,
        dto::LineageLink,
        dto::LineageDto,
        dto::VillagePatch,
        handlers::NewVillage,
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
    next_page("listUnits", &[("cursor", "$response.body#/next_cursor")]),
    next_page(
        "listUnitChildren",
        &[
            ("id", "$request.path.id"),
            ("cursor", "$response.body#/next_cursor"),
        ],
    ),
    first("listUnits", "get", "getUnit"),
    first("listUnits", "children", "listUnitChildren"),
    first("listUnits", "lineage", "getUnitLineage"),
    first("listUnitChildren", "get", "getUnit"),
    first("listUnitChildren", "children", "listUnitChildren"),
    same("createVillage", "201", "get", "getUnit"),
    same("createVillage", "201", "lineage", "getUnitLineage"),
    same("createVillage", "201", "assign", "assignVillage"),
    same("getUnit", "200", "children", "listUnitChildren"),
    same("getUnit", "200", "lineage", "getUnitLineage"),
    same("getUnit", "200", "assign", "assignVillage"),
    same("assignVillage", "200", "get", "getUnit"),
];

#[cfg(test)]
mod tests {
    use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
    use crate::units::dto::MAX_Q_CHARS;
    use crate::units::handlers::MAX_TYPE_CHARS;

    /// The limits written as literals in the attributes are the code's.
    #[test]
    fn the_limits_are_the_codes() {
        let doc = super::super::value();
        let param = |path: &str, name: &str| {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .map(|p| p["schema"].clone())
                .unwrap_or_default()
        };
        assert_eq!(param("/api/v1/units", "q")["maxLength"], MAX_Q_CHARS);
        for path in ["/api/v1/units", "/api/v1/units/{id}/children"] {
            assert_eq!(param(path, "limit")["maximum"], MAX_LIMIT);
            assert_eq!(param(path, "limit")["default"], DEFAULT_LIMIT);
        }
        assert_eq!(
            doc["components"]["schemas"]["NewVillage"]["properties"]["type"]["maxLength"],
            MAX_TYPE_CHARS
        );
    }
}
