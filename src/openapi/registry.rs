//! What the descriptions of the registry's lists share (teams, members):
//! their query string, `records::ListParams` with the keys `sort` takes,
//! and the parameters of a list that is also served as a file.

use std::marker::PhantomData;

use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::activities::{
    cursor, format, include_archived, lang, limit, query, sort, unit_id, updated_since,
};
use crate::pagination::Sortable;
use crate::records::MAX_Q_CHARS;

/// The query string of a registry list (`records::ListParams`), beside
/// each list's filters; `sort` takes the keys of `R`.
pub struct RegistryList<R>(PhantomData<R>);

impl<R: Sortable> IntoParams for RegistryList<R> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            unit_id(),
            q(),
            updated_since(),
            include_archived(),
            limit(),
            cursor(),
            sort::<R>(),
        ]
    }
}

/// `q`, as `ListParams::check` and `crate::json::Query` take it.
fn q() -> Parameter {
    query(
        "q",
        "Text search ignoring case and diacritics; blank searches nothing. At most 100 characters as sent (422 otherwise); no NUL (400).",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_Q_CHARS))
            .pattern(Some(r"^[^\u0000]*$")),
    )
}

/// `format` and `lang` of a list that `exports` also serves as a file.
pub struct AsFile;

impl IntoParams for AsFile {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![format(), lang()]
    }
}

/// `DELETE` of a registry record, answered by the generic
/// `records::archive` (which cannot carry the attribute): `$f` is the
/// stand-in function, then the path, tag, operation id, what one record
/// is called, its answer's type and who may archive it.
macro_rules! archive_path {
    ($f:ident, $path:literal, $tag:literal, $id:literal, $noun:literal, $record:ty, $who:literal) => {
        #[utoipa::path(
            delete,
            summary = concat!("Archive ", $noun),
            description = concat!("Archives the record (nothing is deleted); archiving again answers the archived record. ", $who),
            path = $path,
            tag = $tag,
            operation_id = $id,
            params(
                ("id" = Uuid, Path, description = "The record's id."),
                ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "Optional: the ETag of the version archiving is based on; 422 if unreadable, 409 with `current` if stale."),
            ),
            responses(
                (status = 200, description = "The archived record.", body = $record,
                    headers(("ETag" = String, description = "The record's new version."))),
                (status = 409, response = $crate::openapi::problems::Conflict),
                (status = 422, response = $crate::openapi::problems::Validation),
            )
        )]
        #[allow(dead_code)]
        fn $f() {}
    };
}
pub(crate) use archive_path;

/// The schema of `GET path`'s parameter `name` in `doc` (`null` if none),
/// for the tests that compare the document's limits with the code's.
#[cfg(test)]
pub(crate) fn param_schema(doc: &serde_json::Value, path: &str, name: &str) -> serde_json::Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .map(|p| p["schema"].clone())
        .unwrap_or_default()
}
