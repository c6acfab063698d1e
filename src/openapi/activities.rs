//! What the descriptions of assistance visits and training sessions share:
//! their list's query string, the bodies of verify, reject and reopen and
//! of the bulk routes, the text fields' schemas, and [`activity_paths!`],
//! which writes the ten operations of one kind (the handlers are generic
//! over the kind, so the operations are described here, once per kind).

use std::marker::PhantomData;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr, Required};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::activities::MAX_REASON_CHARS;
use crate::domain::SHORT_TEXT_PATTERN;
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT, Sortable};

/// A string `domain::short_text` admits: at most `max` characters once
/// trimmed, no control characters but line breaks; `null` when `nullable`.
pub fn text(max: usize, nullable: bool, description: &str) -> Object {
    let mut b = ObjectBuilder::new()
        .max_length(Some(max))
        .pattern(Some(SHORT_TEXT_PATTERN))
        .description(Some(description));
    b = if nullable {
        b.schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
    } else {
        b.schema_type(Type::String)
    };
    b.build()
}

/// The optional reason of a verification.
pub fn optional_reason() -> Object {
    text(
        MAX_REASON_CHARS,
        true,
        "Kept with the record when not blank; at most 500 characters.",
    )
}

/// The reason a rejection or a reopening must give.
pub fn required_reason() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_REASON_CHARS))
        .pattern(Some(crate::domain::REQUIRED_TEXT_PATTERN))
        .description(Some("1 to 500 characters, not blank."))
        .build()
}

/// The body of `verify`: optional, and so is each field.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct VerifyBody {
    #[schema(schema_with = optional_reason)]
    reason: Option<String>,
    /// The version the decision is based on; a stale one is a 409 with
    /// `current`. `If-Match` wins over it.
    #[schema(value_type = Option<i32>)]
    version: Option<i64>,
}

/// The body of `reject` and `reopen`: the reason is required.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ReasonBody {
    #[schema(schema_with = required_reason)]
    reason: String,
    /// The version the decision is based on; a stale one is a 409 with
    /// `current`. `If-Match` wins over it.
    #[schema(value_type = Option<i32>)]
    version: Option<i64>,
}

/// One record of a bulk call: its id, or its id and the version the
/// officer saw (a stale one answers `conflict`).
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum BulkTarget {
    Id(Uuid),
    WithVersion(BulkTargetVersion),
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BulkTargetVersion {
    id: Uuid,
    version: Option<i32>,
}

/// The query string of a list of activities, beside each kind's filters;
/// `sort` takes the keys of `R`.
pub struct ActivityList<R>(PhantomData<R>);

pub(crate) fn query(name: &str, description: &str, schema: impl Into<RefOr<Schema>>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn string_format(format: KnownFormat) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .build()
}

fn strings(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

impl<R: Sortable> IntoParams for ActivityList<R> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut sorts = vec!["id".to_string(), "-id".to_string()];
        for k in R::KEYS {
            sorts.push(k.name.to_string());
            sorts.push(format!("-{}", k.name));
        }
        let sorts: Vec<&str> = sorts.iter().map(String::as_str).collect();
        vec![
            query(
                "unit_id",
                "Only records in this unit or anywhere below it; an unknown unit gives an empty list.",
                string_format(KnownFormat::Uuid),
            ),
            query(
                "updated_since",
                "Only records created or changed at or after this instant.",
                string_format(KnownFormat::DateTime),
            ),
            query(
                "include_archived",
                "`true` to list archived records too.",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .default(Some(false.into())),
            ),
            query(
                "limit",
                "Page size, 1 to 500 (422 otherwise).",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(1))
                    .maximum(Some(MAX_LIMIT))
                    .default(Some(DEFAULT_LIMIT.into())),
            ),
            query(
                "cursor",
                "The `next_cursor` of the previous page, as it was, with the same `sort` (422 if not one this service issued, or made under another order).",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Za-z0-9_-]+$")),
            ),
            query(
                "include",
                "`household`: each visit carries `household` (`null` when it lies outside the caller's area now), each session `households` (its attendees' households). One audited read of those households per page, answered with `Cache-Control: no-store`. Anything else: 422.",
                strings(&["household"]),
            ),
            query(
                "sort",
                "The order: a key, `-` before it for descending; ties follow by id in the same direction. Without it: by id. Anything else: 422 naming `sort`.",
                strings(&sorts),
            ),
            query(
                "format",
                "`csv` or `xlsx` for the answer as a file (every matching row, no paging; wins over `Accept`), `json` for JSON. Another value is a 422 naming `format`.",
                strings(&["json", "csv", "xlsx"]),
            ),
            query(
                "lang",
                "The language of a file's headers, code names and file name: `vi` (the default) or `en`. Another value is a 422 naming `lang`.",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["vi", "en"]))
                    .default(Some("vi".into())),
            ),
        ]
    }
}

/// The ten operations of one kind of activity: `$base` is its path
/// `$tag` is its tag, `$noun` what one is called, then its description
/// functions, operation ids and paths, and its record, input, patch, page,
/// row and filter types.
macro_rules! activity_paths {
    (
        tag: $tag:tt, noun: $noun:tt, nouns: $nouns:tt,
        ops: [$list:ident, $create:ident, $get:ident, $update:ident, $archive:ident,
              $verify:ident, $reject:ident, $reopen:ident, $verify_many:ident, $reject_many:ident],
        ids: [$list_id:tt, $create_id:tt, $get_id:tt, $update_id:tt, $archive_id:tt,
              $verify_id:tt, $reject_id:tt, $reopen_id:tt, $verify_many_id:tt, $reject_many_id:tt],
        paths: [$p_list:tt, $p_id:tt, $p_verify:tt, $p_reject:tt, $p_reopen:tt,
                $p_verify_many:tt, $p_reject_many:tt],
        record: $record:ident, input: $input:ident, patch: $patch:ident, page: $page:ident,
        row: $row:ident, filters: $filters:ident $(,)?
    ) => {
        #[utoipa::path(
            get,
            summary = concat!("List ", $nouns),
            description = "The records inside the caller's area, by id unless `sort` says otherwise; no text search (`q` is refused with 422). Every role, inside its area. As a file (`format=csv|xlsx` or `Accept`): every matching row with the same filters, headers in Vietnamese or with `lang=en` in English; each export is one audit event `export`.",
            path = $p_list,
            tag = $tag,
            operation_id = $list_id,
            params(
                $crate::openapi::activities::ActivityList<$row>,
                $filters,
            ),
            responses(
                (
                    status = 200,
                    description = "A page of records, or every matching record as a file.",
                    content(
                        ($page = "application/json"),
                        (String = "text/csv"),
                        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                    ),
                    headers(
                        ("Content-Disposition" = String, description = "Files only: `attachment` with a file name that says what and when (Vietnam's time): an ASCII `filename` and the UTF-8 `filename*` (RFC 8187)."),
                        ("Cache-Control" = String, description = "`no-store` when the items carry households' names."),
                    ),
                    links(
                        ("next" = (operation_id = $list_id, parameters(("cursor" = "$response.body#/next_cursor"), ("sort" = "$request.query.sort")), description = "The next page, while `next_cursor` is not `null`.")),
                    ),
                ),
                (status = 406, response = $crate::openapi::problems::NotAcceptable),
                (status = 422, response = $crate::openapi::problems::Validation),
            )
        )]
        #[allow(dead_code)]
        fn $list() {}

        #[utoipa::path(
            post,
            summary = concat!("Record ", $noun),
            description = "Stores the record under the phone's `id`. Sent again with the same body, it answers 201 with the stored record and `Idempotent-Replay: true`; the same id with another body is a 409. A record dated in a locked month is refused (409 with `current.lock`). `admin`, `team_leader`, `member`, and clients with `activities:write`.",
            path = $p_list,
            tag = $tag,
            operation_id = $create_id,
            request_body = $input,
            responses(
                (
                    status = 201,
                    description = "The record (new, or stored before from the same body).",
                    body = $record,
                    headers(
                        ("ETag" = String, description = "The record's version, such as `\"1\"`; send it back in `If-Match`."),
                        ("Idempotent-Replay" = String, description = "`true` when the record was already stored under this id from the same body: nothing was written."),
                    ),
                    links(
                        ("get" = (operation_id = $get_id, parameters(("id" = "$response.body#/id")))),
                        ("update" = (operation_id = $update_id, parameters(("id" = "$response.body#/id"), ("header.If-Match" = "$response.header.ETag")))),
                        ("archive" = (operation_id = $archive_id, parameters(("id" = "$response.body#/id")))),
                        ("verify" = (operation_id = $verify_id, parameters(("id" = "$response.body#/id")))),
                        ("reject" = (operation_id = $reject_id, parameters(("id" = "$response.body#/id")))),
                        ("reopen" = (operation_id = $reopen_id, parameters(("id" = "$response.body#/id")))),
                    ),
                ),
                (status = 409, response = $crate::openapi::problems::Conflict),
            )
        )]
        #[allow(dead_code)]
        fn $create() {}

        #[utoipa::path(
            get,
            summary = concat!("Get ", $noun),
            description = "Every role, inside its area.",
            path = $p_id,
            tag = $tag,
            operation_id = $get_id,
            params(("id" = Uuid, Path, description = "The record's id.")),
            responses((
                status = 200,
                description = "The record.",
                body = $record,
            ))
        )]
        #[allow(dead_code)]
        fn $get() {}

        #[utoipa::path(
            patch,
            summary = concat!("Edit ", $noun),
            description = "Applies a JSON merge patch (RFC 7396); the result is checked as a create is. The version goes in `If-Match` or `version`. The record goes back to `submitted`. Archived records are refused (409), and so is a record dated in a locked month (409 with `current.lock`). `admin` and `team_leader` (any record of their area), `member` and clients (only their own records); verified records are read-only (409).",
            path = $p_id,
            tag = $tag,
            operation_id = $update_id,
            params(
                ("id" = Uuid, Path, description = "The record's id."),
                ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the change is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable, 409 with `current` if stale."),
            ),
            request_body(content(
                ($patch = "application/json"),
                ($patch = "application/merge-patch+json"),
            )),
            responses(
                (status = 200, description = "The updated record.", body = $record),
                (status = 409, response = $crate::openapi::problems::Conflict),
            )
        )]
        #[allow(dead_code)]
        fn $update() {}

        #[utoipa::path(
            delete,
            summary = concat!("Archive ", $noun),
            description = "Archives the record; archiving again answers the archived record. A record dated in a locked month is refused (409 with `current.lock`). Who may edit it may archive it; verified records are read-only (409).",
            path = $p_id,
            tag = $tag,
            operation_id = $archive_id,
            params(
                ("id" = Uuid, Path, description = "The record's id."),
                ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "Optional: the ETag of the version archiving is based on; 422 if unreadable, 409 with `current` if stale."),
            ),
            responses(
                (status = 200, description = "The archived record.", body = $record),
                (status = 409, response = $crate::openapi::problems::Conflict),
                (status = 422, response = $crate::openapi::problems::Validation),
            )
        )]
        #[allow(dead_code)]
        fn $archive() {}

        #[utoipa::path(
            post,
            summary = concat!("Verify ", $noun),
            description = "`submitted` → `verified`. The body is optional (empty, or JSON with `Content-Type: application/json`). A record in another status, or archived, is a 409 with `current`; a version (`If-Match` or `version`), if sent and stale, is a 409. A record dated in a locked month is refused (409 with `current.lock`). `admin` and `officer`, inside their area.",
            path = $p_verify,
            tag = $tag,
            operation_id = $verify_id,
            params(
                ("id" = Uuid, Path, description = "The record's id."),
                ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "Optional: the ETag of the version the decision is based on; 422 if unreadable, 409 with `current` if stale."),
            ),
            request_body(content = $crate::openapi::activities::VerifyBody, content_type = "application/json", description = "Optional."),
            responses(
                (status = 200, description = "The record with its new status.", body = $record),
                (status = 409, response = $crate::openapi::problems::Conflict),
            )
        )]
        #[allow(dead_code)]
        fn $verify() {}

        #[utoipa::path(
            post,
            summary = concat!("Reject ", $noun),
            description = "`submitted` → `rejected`, with a reason (422 without). A record in another status, or archived, is a 409 with `current`; a version (`If-Match` or `version`), if sent and stale, is a 409. A record dated in a locked month is refused (409 with `current.lock`). `admin` and `officer`, inside their area.",
            path = $p_reject,
            tag = $tag,
            operation_id = $reject_id,
            params(
                ("id" = Uuid, Path, description = "The record's id."),
                ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "Optional: the ETag of the version the decision is based on; 422 if unreadable, 409 with `current` if stale."),
            ),
            request_body(content = $crate::openapi::activities::ReasonBody, content_type = "application/json"),
            responses(
                (status = 200, description = "The record with its new status.", body = $record),
                (status = 409, response = $crate::openapi::problems::Conflict),
            )
        )]
        #[allow(dead_code)]
        fn $reject() {}

        #[utoipa::path(
            post,
            summary = concat!("Reopen ", $noun),
            description = "`verified` → `submitted`, with a reason (422 without), so that it can be corrected. A record in another status, or archived, is a 409 with `current`; a version (`If-Match` or `version`), if sent and stale, is a 409. A record dated in a locked month is refused (409 with `current.lock`). `admin` and `officer`, inside their area.",
            path = $p_reopen,
            tag = $tag,
            operation_id = $reopen_id,
            params(
                ("id" = Uuid, Path, description = "The record's id."),
                ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "Optional: the ETag of the version the decision is based on; 422 if unreadable, 409 with `current` if stale."),
            ),
            request_body(content = $crate::openapi::activities::ReasonBody, content_type = "application/json"),
            responses(
                (status = 200, description = "The record with its new status.", body = $record),
                (status = 409, response = $crate::openapi::problems::Conflict),
            )
        )]
        #[allow(dead_code)]
        fn $reopen() {}

        #[utoipa::path(
            post,
            summary = concat!("Verify many ", $nouns),
            description = "`submitted` → `verified` for up to 500 records; `reason` optional. Each record is answered on its own, by the rules of the one-by-one route: outside the caller's area or unknown → `not_found`; in another status, archived, of a stale version or in a locked month → `conflict` with `current`. Each record changed writes its audit event. The call is one transaction: a failure of the database stores nothing of it. `admin` and `officer`.",
            path = $p_verify_many,
            tag = $tag,
            operation_id = $verify_many_id,
            request_body = $crate::activities::bulk::BulkBody,
            responses((status = 200, description = "One answer per entry of `ids`.", body = $crate::activities::bulk::BulkResponse))
        )]
        #[allow(dead_code)]
        fn $verify_many() {}

        #[utoipa::path(
            post,
            summary = concat!("Reject many ", $nouns),
            description = "`submitted` → `rejected` for up to 500 records, with one reason for all (422 without). Each record is answered on its own, as for verifying many. `admin` and `officer`.",
            path = $p_reject_many,
            tag = $tag,
            operation_id = $reject_many_id,
            request_body = $crate::openapi::activities::BulkRejectBody,
            responses((status = 200, description = "One answer per entry of `ids`.", body = $crate::activities::bulk::BulkResponse))
        )]
        #[allow(dead_code)]
        fn $reject_many() {}
    };
}
pub(crate) use activity_paths;

/// The body of a bulk rejection: the reason is required.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BulkRejectBody {
    /// 1 to 500 records. An id listed twice is changed once (twice with
    /// two different versions: 422).
    #[schema(min_items = 1, max_items = 500)]
    ids: Vec<BulkTarget>,
    #[schema(schema_with = required_reason)]
    reason: String,
}

/// What a list of visits or sessions shows of a household, with
/// `include=household`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ActivityHousehold {
    id: Uuid,
    /// `null` once erased.
    head_name: Option<String>,
    village_id: Uuid,
    village_name: String,
}

/// Marks the body of `POST {path}` optional: verifying takes no body, an
/// empty one, or a [`VerifyBody`].
pub struct OptionalBody(pub &'static str);

impl utoipa::Modify for OptionalBody {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let body = doc
            .paths
            .paths
            .get_mut(self.0)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut());
        if let Some(body) = body {
            body.required = Some(Required::False);
        }
    }
}

/// The types both kinds of activity use.
#[derive(OpenApi)]
#[openapi(components(schemas(
    crate::activities::Status,
    VerifyBody,
    ReasonBody,
    BulkTarget,
    BulkTargetVersion,
    BulkRejectBody,
    ActivityHousehold,
    crate::activities::bulk::BulkBody,
    crate::activities::bulk::BulkResponse,
    crate::activities::bulk::Answer,
    crate::activities::bulk::Outcome,
)))]
pub struct Api;
