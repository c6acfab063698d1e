//! `/teams`, `/teams/{id}` and `/teams/{id}/members`, and their links.

use utoipa::OpenApi;

use super::links::{self, Link, first, next_page, same};
use super::registry::archive_path;
use crate::teams::{dto, handlers};

archive_path!(
    archive,
    "/api/v1/teams/{id}",
    "teams",
    "archiveTeam",
    "a team",
    crate::teams::dto::TeamDto,
    "`admin` and `officer`."
);

#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create,
        handlers::get,
        handlers::update,
        archive,
        handlers::members,
    ),
    components(schemas(
        crate::domain::TeamStatus,
        dto::TeamDto,
        dto::TeamInput,
        dto::TeamPatch,
        dto::TeamPage,
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
    next_page("listTeams", &[("cursor", "$response.body#/next_cursor")]),
    next_page(
        "listTeamMembers",
        &[
            ("id", "$request.path.id"),
            ("cursor", "$response.body#/next_cursor"),
        ],
    ),
    first("listTeams", "get", "getTeam"),
    first("listTeams", "members", "listTeamMembers"),
    same("createTeam", "201", "get", "getTeam"),
    same("createTeam", "201", "update", "updateTeam"),
    same("createTeam", "201", "archive", "archiveTeam"),
    same("createTeam", "201", "members", "listTeamMembers"),
    same("getTeam", "200", "update", "updateTeam"),
    same("getTeam", "200", "archive", "archiveTeam"),
    same("getTeam", "200", "members", "listTeamMembers"),
    same("updateTeam", "200", "get", "getTeam"),
];

#[cfg(test)]
mod tests {
    use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
    use crate::records::MAX_Q_CHARS;
    use crate::teams::dto::MAX_DECISION_NUMBER_CHARS;

    /// The limits written as literals in the attributes are the code's.
    #[test]
    fn the_limits_are_the_codes() {
        let doc = super::super::value();
        let param = |path, name| super::super::registry::param_schema(&doc, path, name);
        for path in ["/api/v1/teams", "/api/v1/teams/{id}/members"] {
            assert_eq!(param(path, "q")["maxLength"], MAX_Q_CHARS);
            assert_eq!(param(path, "limit")["maximum"], MAX_LIMIT);
            assert_eq!(param(path, "limit")["default"], DEFAULT_LIMIT);
        }
        let schemas = &doc["components"]["schemas"];
        for schema in ["TeamInput", "TeamPatch"] {
            assert_eq!(
                schemas[schema]["properties"]["decision_number"]["maxLength"],
                MAX_DECISION_NUMBER_CHARS
            );
        }
    }
}
