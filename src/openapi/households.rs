//! `/households` and its sub-resources: households (personal data), their
//! consents, export, erasure and import; the text rules their fields share,
//! the list's query string, and their links.

use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{IntoParams, OpenApi};

use super::activities::{ActivityList, query, text};
use super::links::{self, FIRST_ID, Link, next_page, same};
use crate::households::handlers::{MAX_CODE_CHARS, MAX_NOTE_CHARS, MAX_SHORT_CHARS};
use crate::households::model::HouseholdRow;
use crate::households::{dto, handlers};

#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::list,
        handlers::create,
        handlers::get,
        handlers::update,
        archive,
        handlers::consents,
        handlers::record_consent,
        handlers::export,
        handlers::erase,
        crate::households::import::handle,
    ),
    components(schemas(
        dto::HouseholdDto,
        dto::HouseholdInput,
        dto::HouseholdPatch,
        dto::HouseholdPage,
        dto::ConsentPurpose,
        dto::ConsentInput,
        dto::ConsentDto,
        dto::ConsentList,
        dto::HouseholdExport,
        dto::EraseRequest,
        crate::households::import::ImportResult,
        crate::domain::PovertyStatus,
        crate::domain::YesNoUnknown,
        crate::domain::Deprivation,
        crate::domain::Name,
    ))
)]
struct Api;

/// The piece, with its links.
pub fn api() -> utoipa::openapi::OpenApi {
    let mut doc = Api::openapi();
    links::add(&mut doc, LINKS);
    doc
}

/// The id of the household answered, and its `ETag` as `If-Match`.
const ID_AND_VERSION: &[(&str, &str)] = &[
    ("id", "$response.body#/id"),
    ("header.If-Match", "$response.header.ETag"),
];

const fn versioned(
    from: &'static str,
    status: &'static str,
    name: &'static str,
    to: &'static str,
) -> Link {
    Link {
        from,
        status,
        name,
        to,
        parameters: ID_AND_VERSION,
        description: "The same household, at the version answered.",
    }
}

/// The links between the households' operations.
const LINKS: &[Link] = &[
    next_page(
        "listHouseholds",
        &[
            ("cursor", "$response.body#/next_cursor"),
            ("sort", "$request.query.sort"),
        ],
    ),
    Link {
        from: "listHouseholds",
        status: "200",
        name: "get",
        to: "getHousehold",
        parameters: FIRST_ID,
        description: "The page's first household.",
    },
    same("createHousehold", "201", "get", "getHousehold"),
    versioned("createHousehold", "201", "update", "updateHousehold"),
    same("createHousehold", "201", "archive", "archiveHousehold"),
    same(
        "createHousehold",
        "201",
        "consents",
        "listHouseholdConsents",
    ),
    same(
        "createHousehold",
        "201",
        "consent",
        "recordHouseholdConsent",
    ),
    same("createHousehold", "201", "export", "exportHousehold"),
    versioned("createHousehold", "201", "erase", "eraseHousehold"),
    same("getHousehold", "200", "archive", "archiveHousehold"),
    versioned("getHousehold", "200", "update", "updateHousehold"),
    same("getHousehold", "200", "consents", "listHouseholdConsents"),
    same("getHousehold", "200", "consent", "recordHouseholdConsent"),
    same("getHousehold", "200", "export", "exportHousehold"),
    versioned("getHousehold", "200", "erase", "eraseHousehold"),
    same("updateHousehold", "200", "get", "getHousehold"),
    same("archiveHousehold", "200", "get", "getHousehold"),
    same("eraseHousehold", "200", "get", "getHousehold"),
    Link {
        from: "recordHouseholdConsent",
        status: "201",
        name: "consents",
        to: "listHouseholdConsents",
        parameters: &[("id", "$request.path.id")],
        description: "The household's consents, this one the newest.",
    },
];

/// Archive a household
///
/// Archives the household (nothing is destroyed; lists leave it out unless
/// `include_archived=true`); archiving again answers the archived one. An
/// `If-Match`, when sent, must name the current version. `admin`, `officer`
/// and `team_leader`, inside their area.
#[utoipa::path(
    delete,
    path = "/api/v1/households/{id}",
    tag = "households",
    operation_id = "archiveHousehold",
    params(
        ("id" = Uuid, Path, description = "The household's id."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "Optional: the ETag of the version archiving is based on; 422 if unreadable, 409 with `current` if stale."),
    ),
    responses(
        (status = 200, description = "The archived household.", body = dto::HouseholdDto,
            headers(
                ("ETag" = String, description = "The household's version, such as `\"3\"`."),
                ("Cache-Control" = String, description = "`no-store`: the answer holds personal data."),
            )),
        (status = 409, response = super::problems::Conflict),
        (status = 422, response = super::problems::Validation),
    )
)]
#[allow(dead_code)]
fn archive() {}

/// The white space `str::trim` removes, as a JSON Schema character class.
const SPACE: &str = r"[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// A household code as `handlers::household_code` takes it: blank or
/// `null` for none, else up to 30 letters, digits or `- _ . /` once
/// trimmed.
pub fn code() -> Object {
    nullable_string()
        .pattern(Some(format!(
            "^{SPACE}*(?:[A-Za-z0-9._/-]{{1,{MAX_CODE_CHARS}}}{SPACE}*)?$"
        )))
        .description(Some(
            "The household code of the poverty survey: up to 30 letters, digits or `- _ . /` once trimmed; unique among the live households of the commune (409). `null` or blank for none.",
        ))
        .build()
}

/// A phone as `domain::Phone::parse` takes it: a Vietnamese mobile number
/// (`0` and 9 digits, `+84` or `84` and 9 digits, with a mobile prefix),
/// spaces, dots, dashes and brackets anywhere between; blank or `null`
/// for none.
pub fn phone() -> Object {
    let sep = "[ .()-]*";
    let digit = format!("{sep}[0-9]");
    let prefix = format!("(?:3{sep}[2-9]|5{sep}[25689]|7{sep}[06-9]|8{sep}[1-9]|9{sep}[0-46-9])");
    nullable_string()
        .pattern(Some(format!(
            r"^{SPACE}*(?:{sep}(?:\+{sep}8{sep}4|8{sep}4|0){sep}{prefix}(?:{digit}){{7}}{sep}{SPACE}*)?$"
        )))
        .description(Some(
            "A Vietnamese mobile number: `0` and 9 digits, or `+84` (or `84`) and 9 digits, with a mobile prefix in use (032-039, 052, 055, 056, 058, 059, 070, 076-079, 081-089, 090-094, 096-099); spaces, dots, dashes and brackets between digits are ignored. Stored as ten digits starting with 0. `null` or blank for none.",
        ))
        .build()
}

/// The ethnicity, short free text.
pub fn ethnicity() -> Object {
    text(
        MAX_SHORT_CHARS,
        true,
        "At most 50 characters once trimmed, no control characters but line breaks; `null` or blank for none.",
    )
}

/// The poverty standard, short free text.
pub fn poverty_standard() -> Object {
    text(
        MAX_SHORT_CHARS,
        true,
        "The standard the survey applied, such as `2022-2025`: at most 50 characters once trimmed, no control characters but line breaks; `null` or blank for none.",
    )
}

/// The note of a consent, free text.
pub fn note() -> Object {
    text(
        MAX_NOTE_CHARS,
        true,
        "At most 500 characters once trimmed, no control characters but line breaks; `null` or blank for none.",
    )
}

/// The reason of an erasure: required text.
pub fn reason() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_NOTE_CHARS))
        .pattern(Some(crate::domain::REQUIRED_TEXT_PATTERN))
        .description(Some(
            "Why the data is erased: 1 to 500 characters once trimmed, not blank, no control characters but line breaks. Kept in the audit trail.",
        ))
        .build()
}

/// A spreadsheet file's bytes (XLSX), in a request or an answer.
pub struct Workbook;

impl utoipa::PartialSchema for Workbook {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("An XLSX workbook (Office Open XML)."))
            .into()
    }
}

impl utoipa::ToSchema for Workbook {}

/// The query string of the household list: that of every registry list
/// (as the activities' without `include`), with `q`.
pub struct HouseholdList;

impl IntoParams for HouseholdList {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params: Vec<Parameter> = ActivityList::<HouseholdRow>::into_params(parameter_in)
            .into_iter()
            .filter(|p| p.name != "include")
            .collect();
        params.insert(
            1,
            query(
                "q",
                "Part of the head's name (ignoring case and diacritics) or of the household code; at most 100 characters (422 otherwise), no NUL (400).",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(crate::records::MAX_Q_CHARS))
                    .pattern(Some(r"^[^\u0000]*$")),
            ),
        );
        params
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::domain::Phone;
    use crate::households::handlers::{FIRST_SURVEY_YEAR, MAX_CODE_CHARS, MAX_SIZE};

    fn schema(name: &str) -> Value {
        super::super::value()["components"]["schemas"][name].clone()
    }

    /// The limits written as literals in the attributes are the code's.
    #[test]
    fn the_limits_are_the_codes() {
        for name in ["HouseholdInput", "HouseholdPatch", "Household"] {
            let props = &schema(name)["properties"];
            assert_eq!(props["size"]["minimum"], 1, "{name}");
            assert_eq!(props["size"]["maximum"], MAX_SIZE, "{name}");
            assert_eq!(props["survey_year"]["minimum"], FIRST_SURVEY_YEAR, "{name}");
        }
        assert_eq!(
            schema("Household")["properties"]["code"]["maxLength"],
            MAX_CODE_CHARS
        );
        assert_eq!(
            schema("ImportResult")["properties"]["inserted"]["maximum"],
            crate::households::import::MAX_ROWS
        );
    }

    fn validator(schema: &Value) -> jsonschema::Validator {
        let Ok(v) = jsonschema::draft202012::new(schema) else {
            panic!("not a schema: {schema}");
        };
        v
    }

    /// The phone pattern admits what `Phone::parse` admits, and nothing
    /// else: every two-digit prefix after 0, in each of its forms.
    #[test]
    fn the_phone_pattern_is_the_parsers() {
        let v = validator(&serde_json::to_value(super::phone()).unwrap_or_default());
        let mut samples = vec![
            String::new(),
            "   ".into(),
            " (091) 234-5678 ".into(),
            "091.234.5678".into(),
            "+84 91 234 5678".into(),
            "+ 84912345678".into(),
            "09123456789".into(),
            "091234567".into(),
            "0912\t345678".into(),
            "+840912345678".into(),
            "8491234567".into(),
            "abc".into(),
            ".".into(),
        ];
        for prefix in 0..100 {
            let rest = format!("{prefix:02}1234567");
            samples.push(format!("0{rest}"));
            samples.push(format!("+84{rest}"));
            samples.push(format!("84{rest}"));
        }
        for raw in samples {
            let parsed = raw.trim().is_empty() || Phone::parse(&raw).is_ok();
            assert_eq!(v.is_valid(&json!(raw)), parsed, "{raw:?}");
        }
        assert!(v.is_valid(&Value::Null));
    }

    /// The code pattern admits what `household_code` admits.
    #[test]
    fn the_code_pattern_is_the_parsers() {
        let v = validator(&serde_json::to_value(super::code()).unwrap_or_default());
        let long = "A".repeat(MAX_CODE_CHARS);
        let longer = "A".repeat(MAX_CODE_CHARS + 1);
        for raw in [
            "",
            " ",
            "HN-01/2.3_a",
            " x ",
            &long,
            &longer,
            "a b",
            "ả",
            "a\u{0}",
            "#1",
        ] {
            let parsed = crate::households::handlers::household_code(raw).is_ok();
            assert_eq!(v.is_valid(&json!(raw)), parsed, "{raw:?}");
        }
    }
}
