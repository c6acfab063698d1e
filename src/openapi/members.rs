//! `/members`, `/members/{id}`, `/members/{id}/move` and
//! `/members/{id}/history`, and their links.

use utoipa::OpenApi;

use super::links::{self, Link, first, next_page, same};
use super::registry::archive_path;
use crate::members::{dto, handlers};

archive_path!(
    archive,
    "/api/v1/members/{id}",
    "members",
    "archiveMember",
    "a membership",
    crate::members::dto::MemberDto,
    "`admin`, `officer` and `team_leader` (its own village's team)."
);

#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create,
        handlers::get,
        handlers::update,
        archive,
        handlers::move_to_team,
        handlers::history,
    ),
    components(schemas(
        crate::domain::Gender,
        crate::domain::TeamRole,
        crate::domain::Affiliation,
        dto::MemberDto,
        dto::MemberInput,
        dto::MemberPatch,
        dto::MoveRequest,
        dto::MemberPage,
        dto::MemberHistory,
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
    next_page("listMembers", &[("cursor", "$response.body#/next_cursor")]),
    first("listMembers", "get", "getMember"),
    first("listMembers", "history", "getMemberHistory"),
    first("listTeamMembers", "member", "getMember"),
    same("createMember", "201", "get", "getMember"),
    same("createMember", "201", "update", "updateMember"),
    same("createMember", "201", "move", "moveMember"),
    same("createMember", "201", "history", "getMemberHistory"),
    same("createMember", "201", "archive", "archiveMember"),
    same("getMember", "200", "update", "updateMember"),
    same("getMember", "200", "move", "moveMember"),
    same("getMember", "200", "history", "getMemberHistory"),
    same("updateMember", "200", "get", "getMember"),
    same("moveMember", "201", "get", "getMember"),
    same("moveMember", "201", "history", "getMemberHistory"),
];

#[cfg(test)]
mod tests {
    use crate::members::dto::MAX_ETHNICITY_CHARS;
    use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
    use crate::records::MAX_Q_CHARS;

    /// The limits written as literals in the attributes are the code's.
    #[test]
    fn the_limits_are_the_codes() {
        let doc = super::super::value();
        let param = |name| super::super::registry::param_schema(&doc, "/api/v1/members", name);
        assert_eq!(param("q")["maxLength"], MAX_Q_CHARS);
        assert_eq!(param("limit")["maximum"], MAX_LIMIT);
        assert_eq!(param("limit")["default"], DEFAULT_LIMIT);
        let schemas = &doc["components"]["schemas"];
        for schema in ["MemberInput", "MemberPatch"] {
            assert_eq!(
                schemas[schema]["properties"]["ethnicity"]["maxLength"],
                MAX_ETHNICITY_CHARS
            );
        }
    }

    /// The phone pattern admits what `Phone::parse` takes, and blanks.
    #[test]
    fn the_phone_pattern_is_the_parsers() {
        let schema =
            serde_json::json!({ "type": "string", "pattern": crate::domain::PHONE_PATTERN });
        let validator = jsonschema::validator_for(&schema).unwrap();
        let matches = |raw: &str| validator.is_valid(&serde_json::json!(raw));
        for raw in [
            "0912345678",
            "0912 345 678",
            "+84 912 345 678",
            "84912345678",
            "(+84) 91-234.5678",
            " 0332345678 ",
            "0862345678",
            "0912345679",
            "091234567",
            "09123456789",
            "0412345678",
            "0952345678",
            "+840912345678",
            "8491234567",
            "+84 91\t2345678",
            "phone",
            "---",
        ] {
            assert_eq!(
                matches(raw),
                crate::domain::Phone::parse(raw).is_ok(),
                "{raw:?}"
            );
        }
        assert!(matches(""));
        assert!(matches(" \u{3000}"));
    }
}
