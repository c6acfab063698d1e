//! Reading what clients send: JSON bodies and query strings whose bad values
//! are named by their field, in plain words.
//!
//! `Json<T>` and `Query<T>` stand in for actix-web's extractors of the same
//! names. They deserialize through `serde_path_to_error`, so a failure knows
//! where it happened (`visited_on`, `items[3].household_id`), and they turn
//! serde's messages, which quote Rust type names ("expected struct
//! HouseholdInput") and parser internals, into a `FieldError` a person can
//! act on. Text holding a NUL character, which PostgreSQL cannot store, is
//! refused here too, before any database work.

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldError};

/// A JSON body, read with the route's `JsonConfig` (size limit, content
/// type, syntax errors) and then deserialized field by field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            match value.await?.into_inner() {
                value @ Value::Object(_) => Ok(Json(from_value(value)?)),
                // Every body is an object; serde would read an array as
                // the fields in order.
                _ => Err(not_an_object("must be a JSON object").into()),
            }
        })
    }
}

/// A JSON body that may be left out: no body (or `null`) is `None`; a
/// body that is there is read as [`Json`] reads it, and refused the same
/// way when it is bad, never taken for a missing one.
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T> OptionalJson<T> {
    pub fn into_inner(self) -> Option<T> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
        let headers = req.headers();
        let empty = !headers.contains_key(TRANSFER_ENCODING)
            && headers
                .get(CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0");
        if empty {
            return Box::pin(async { Ok(OptionalJson(None)) });
        }
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            match value.await?.into_inner() {
                Value::Null => Ok(OptionalJson(None)),
                value @ Value::Object(_) => Ok(OptionalJson(Some(from_value(value)?))),
                // serde would read an array as the fields in order.
                _ => Err(not_an_object("must be a JSON object, or left out").into()),
            }
        })
    }
}

/// The 422 of a body that is not a JSON object.
fn not_an_object(message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new("body", "invalid_type", message)])
}

/// A query string, deserialized parameter by parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(from_query(req.query_string()).map(Query))
    }
}

/// Parses a query string as `T`; every bad parameter is named (400).
pub fn from_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    from_form(query.as_bytes()).map_err(|e| match e {
        ApiError::Validation(errors) => ApiError::InvalidParameters(errors),
        other => other,
    })
}

/// Parses `application/x-www-form-urlencoded` text (a query string or a
/// form body) as `T`; every bad parameter is named.
pub fn from_form<T: DeserializeOwned>(form: &[u8]) -> Result<T, ApiError> {
    let nul: Vec<FieldError> = form_urlencoded::parse(form)
        .filter(|(_, v)| v.contains('\0'))
        .map(|(k, _)| FieldError::new(k, "nul", "must not contain NUL characters"))
        .collect();
    if !nul.is_empty() {
        return Err(ApiError::Validation(nul));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(form));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        ApiError::Validation(vec![field_error(&e.path().to_string(), &message)])
    })
}

/// Deserializes a JSON value as `T`; the first bad field is named, and every
/// text holding a NUL character is.
pub fn from_value<T: DeserializeOwned>(mut value: Value) -> Result<T, ApiError> {
    whole_numbers(&mut value);
    let mut nul = Vec::new();
    find_nul(&value, &mut String::new(), &mut nul);
    if !nul.is_empty() {
        return Err(ApiError::Validation(nul));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        ApiError::Validation(vec![field_error(&e.path().to_string(), &message)])
    })
}

/// The largest integer a JSON number written with a fraction holds exactly.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Numbers written with a zero fraction (`3.0`) as the integers they are:
/// JSON Schema counts them as integers, so a field of whole numbers takes
/// them as a client's generator may write them.
pub fn whole_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT_INTEGER)
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

fn find_nul(value: &Value, path: &mut String, out: &mut Vec<FieldError>) {
    match value {
        Value::String(s) if s.contains('\0') => out.push(FieldError::new(
            field_or_body(path),
            "nul",
            "must not contain NUL characters",
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                find_nul(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if key.contains('\0') {
                    out.push(FieldError::new(
                        field_or_body(path),
                        "nul",
                        "field names must not contain NUL characters",
                    ));
                    continue;
                }
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                find_nul(item, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn field_or_body(path: &str) -> String {
    if path.is_empty() || path == "." {
        "body".to_string()
    } else {
        path.to_string()
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// The text between the first pair of backticks.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// serde's message, without the position serde_json appends.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// One bad field, from where it is and serde's message about it.
pub fn field_error(path: &str, message: &str) -> FieldError {
    let message = strip_position(message);
    let field = field_or_body(path);
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or("");
        return FieldError::new(join(path, name), "required", "is required");
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        // serde_path_to_error's path already ends with the unknown field.
        let name = quoted(rest).unwrap_or("");
        let field = if path.ends_with(name) {
            field
        } else {
            join(path, name)
        };
        return FieldError::new(field, "unknown", "is not a field of this resource");
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        let name = quoted(rest).unwrap_or("");
        return FieldError::new(join(path, name), "duplicate", "is given more than once");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let allowed = rest
            .split_once("expected ")
            .map(|(_, e)| e.replace('`', ""))
            .unwrap_or_default();
        let text = if allowed.is_empty() {
            "is not one of the allowed values".to_string()
        } else {
            format!("must be {allowed}")
        };
        return FieldError::new(field, "invalid", text);
    }
    if message.starts_with("invalid type: ") || message.starts_with("invalid value: ") {
        let expected = message
            .split_once(", expected ")
            .map(|(_, e)| e)
            .unwrap_or("");
        let code = if message.starts_with("invalid type") {
            "invalid_type"
        } else {
            "invalid"
        };
        return FieldError::new(field, code, format!("must be {}", plain(expected, path)));
    }
    if message.starts_with("invalid length ") {
        return FieldError::new(field, "invalid", "has the wrong number of items");
    }
    if looks_like_uuid_error(message) {
        return FieldError::new(
            field,
            "invalid",
            "must be a UUID, such as 0192f0c1-7d3e-7a4b-9c5d-6e7f8a9b0c1d",
        );
    }
    if looks_like_time_error(message) {
        return FieldError::new(field, "invalid", format!("must be {}", time_words(path)));
    }
    if message.is_empty() || mentions_rust(message) {
        return FieldError::new(field, "invalid", "has the wrong form");
    }
    // A message of this service's own parsers, already plain.
    FieldError::new(field, "invalid", message.to_string())
}

/// serde's `expected …` in plain words.
fn plain(expected: &str, path: &str) -> String {
    let e = expected.trim();
    let words = match e {
        _ if e.starts_with("struct ") || e.starts_with("a map") || e == "map" => "an object",
        _ if e.starts_with("a sequence") || e.contains("tuple") => "a list",
        "a string" | "a borrowed string" | "string" | "a character" | "char" => "text",
        "a boolean" | "bool" => "true or false",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        _ if e.contains("UUID") || e.contains("uuid") => "a UUID",
        _ if e.contains("date") || e.contains("time") => time_words(path),
        _ if e.starts_with("enum ") || e.starts_with("variant") => "one of the allowed values",
        _ if e.starts_with("one of ") => return e.replace('`', ""),
        _ => "of another type",
    };
    words.to_string()
}

/// The form of a date or time, for a field whose name says which it holds.
fn time_words(path: &str) -> &'static str {
    let name = path.rsplit('.').next().unwrap_or(path);
    if name.ends_with("_at") || name.ends_with("_since") || name.ends_with("time") {
        "a date and time in RFC 3339 form, such as 2026-12-01T08:30:00Z"
    } else if name.ends_with("month") {
        "a month in the form YYYY-MM, such as 2026-12"
    } else {
        "a date in the form YYYY-MM-DD, such as 2026-12-01"
    }
}

fn looks_like_uuid_error(message: &str) -> bool {
    message.contains("UUID")
        || message.starts_with("invalid character: expected")
        || message.starts_with("invalid length: expected")
        || message.starts_with("invalid group")
}

fn looks_like_time_error(message: &str) -> bool {
    [
        "input contains invalid characters",
        "premature end of input",
        "input is out of range",
        "trailing input",
        "input is not enough for unique date and time",
        "no possible date and time matching input",
        "bad or unsupported format string",
    ]
    .iter()
    .any(|m| message.starts_with(m))
}

/// Whether a message names Rust types or paths.
pub fn mentions_rust(message: &str) -> bool {
    message.contains("::")
        || message.contains("struct ")
        || message.contains("enum ")
        || message.contains("Option<")
        || message.contains("Vec<")
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, Utc};
    use serde::Deserialize;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        household_id: Uuid,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Visit {
        visited_on: NaiveDate,
        household_id: Option<Uuid>,
        recorded_at: Option<DateTime<Utc>>,
        size: Option<u32>,
        items: Option<Vec<Inner>>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Poor,
        NearPoor,
    }

    fn error_of(body: Value) -> FieldError {
        match from_value::<Visit>(body) {
            Err(ApiError::Validation(mut e)) => e.remove(0),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn bad_values_name_their_field_in_plain_words() {
        let cases = [
            (
                json!({"visited_on": "01/12/2026"}),
                "visited_on",
                "YYYY-MM-DD",
            ),
            (
                json!({"visited_on": "2026-12-01", "household_id": "abc"}),
                "household_id",
                "UUID",
            ),
            (
                json!({"visited_on": "2026-12-01", "recorded_at": "yesterday"}),
                "recorded_at",
                "RFC 3339",
            ),
            (
                json!({"visited_on": "2026-12-01", "size": -1}),
                "size",
                "0 or more",
            ),
            (
                json!({"visited_on": "2026-12-01", "size": "four"}),
                "size",
                "whole number",
            ),
            (
                json!({"visited_on": "2026-12-01", "items": [{"household_id": "x"}]}),
                "items[0].household_id",
                "UUID",
            ),
            (
                json!({"visited_on": "2026-12-01", "items": {}}),
                "items",
                "a list",
            ),
            (
                json!({"visited_on": "2026-12-01", "kind": "rich"}),
                "kind",
                "poor",
            ),
            (
                json!({"visited_on": "2026-12-01", "colour": 1}),
                "colour",
                "not a field",
            ),
            (json!({}), "visited_on", "required"),
            (
                json!({"visited_on": "2026-12-01", "household_id": "a\u{0}b"}),
                "household_id",
                "NUL",
            ),
            (json!("a visit"), "body", "an object"),
        ];
        for (body, field, words) in cases {
            let e = error_of(body.clone());
            assert_eq!(e.field, field, "{body}: {e:?}");
            assert!(e.message.contains(words), "{body}: {e:?}");
            assert!(!mentions_rust(&e.message), "{body}: {e:?}");
            assert!(!e.message.contains("line "), "{body}: {e:?}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Filters {
        unit_id: Option<Uuid>,
        updated_since: Option<DateTime<Utc>>,
        limit: Option<u32>,
    }

    #[test]
    fn bad_query_parameters_are_named() {
        for (query, field) in [
            ("unit_id=nope", "unit_id"),
            ("updated_since=today", "updated_since"),
            ("limit=lots", "limit"),
            ("unit_id=%00", "unit_id"),
        ] {
            match from_query::<Filters>(query) {
                Err(ApiError::InvalidParameters(e)) => {
                    assert_eq!(e[0].field, field, "{query}: {e:?}");
                    assert!(!mentions_rust(&e[0].message), "{query}: {e:?}");
                }
                other => panic!("{query}: {other:?}"),
            }
        }
        assert!(
            from_query::<Filters>("limit=5&unit_id=0192f0c1-7d3e-7a4b-9c5d-6e7f8a9b0c1d").is_ok()
        );
    }
}
