//! What every operation of the served document says without its handler
//! having to: the error answers that follow from its shape, the headers
//! every answer carries, and the keys in one order.
//!
//! - every operation: 405, 414, 431 and 500 and, unless it never touches the
//!   database, 503;
//! - with a token (no `security: []`): 401, 403 and 429, and the security
//!   requirements: a person's token, or a client's with the scope the
//!   route needs (`clients::scopes::needed`);
//! - with query or path parameters: 400; with path parameters: 404;
//! - with a body: 400 (malformed), 413, 415 and 422;
//! - every answer: `X-Request-Id`; every `GET` under `/api/v1`: 304, and
//!   `ETag` on its 200 (but for streamed files) and 304; 401: `WWW-Authenticate`; 429 and 503: `Retry-After`.

use actix_web::http::Method;
use serde_json::{Map, Value, json};

use super::{BEARER, CLIENT};
use crate::clients::scopes::{Need, needed};

/// Operations answered without the database: no 503.
const NO_DATABASE: &[&str] = &[
    "/health/live",
    "/docs",
    "/api/v1/openapi.json",
    "/.well-known/jwks.json",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn add(responses: &mut Map<String, Value>, status: u16, name: &str) {
    responses
        .entry(status.to_string())
        .or_insert_with(|| reference(name));
}

/// Adds the shared answers to every operation of `doc`.
pub fn errors(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        let shared_params = item.get("parameters").cloned();
        for (method, op) in item.iter_mut() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let public = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| s.is_empty() || s.iter().any(|r| r == &json!({})));
            if !public {
                op.insert("security".into(), security(method, path));
            }
            let mut params: Vec<Value> = op
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(Value::Array(shared)) = &shared_params {
                params.extend(shared.iter().cloned());
            }
            let in_path = path.contains('{');
            let in_query = params.iter().any(|p| {
                // A `$ref` parameter is a query one unless it is a path's.
                p.get("in").is_none_or(|i| i == "query") && !is_path_ref(p)
            });
            let body = op.contains_key("requestBody");
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            let Some(responses) = responses else {
                continue;
            };
            add(responses, 405, "MethodNotAllowed");
            add(responses, 414, "UriTooLong");
            add(responses, 431, "HeadersTooLarge");
            add(responses, 500, "Internal");
            if !NO_DATABASE.contains(&path.as_str()) {
                add(responses, 503, "Unavailable");
            }
            if !public {
                add(responses, 401, "Unauthorized");
                add(responses, 403, "Forbidden");
                add(responses, 429, "TooManyRequests");
            }
            if in_query || in_path || body {
                add(responses, 400, "BadRequest");
            }
            if in_path {
                add(responses, 404, "NotFound");
            }
            if body {
                add(responses, 413, "PayloadTooLarge");
                add(responses, 415, "UnsupportedMediaType");
                add(responses, 422, "Validation");
            }
            let etag = method == "get" && path.starts_with("/api/v1/");
            // Streamed files (CSV, XLSX) leave without one.
            let files = responses
                .get("200")
                .and_then(|r| r.get("content"))
                .and_then(Value::as_object)
                .is_some_and(|c| c.keys().any(|k| !k.contains("json")));
            if etag {
                responses.entry("304").or_insert_with(|| {
                    json!({
                        "description": "Not modified: `If-None-Match` names the answer's `ETag`, which still holds.",
                        "headers": { "ETag": etag_header() }
                    })
                });
            }
            for (status, response) in responses.iter_mut() {
                link_keys(response);
                if let Some(headers) = inline_headers(response) {
                    if etag && status == "200" {
                        let mut header = etag_header();
                        if files {
                            header["required"] = Value::Bool(false);
                        }
                        headers.entry("ETag").or_insert(header);
                    }
                    headers
                        .entry("X-Request-Id")
                        .or_insert_with(request_id_header);
                }
            }
        }
    }
    if let Some(Value::Object(shared)) = doc.pointer_mut("/components/responses") {
        for (name, response) in shared.iter_mut() {
            if let Some(headers) = inline_headers(response) {
                headers
                    .entry("X-Request-Id")
                    .or_insert_with(request_id_header);
                for (header, wanted) in [
                    ("WWW-Authenticate", name == "Unauthorized"),
                    (
                        "Retry-After",
                        name == "TooManyRequests" || name == "Unavailable",
                    ),
                ] {
                    if let (true, Some(Value::Object(h))) = (wanted, headers.get_mut(header)) {
                        h.insert("required".into(), Value::Bool(true));
                    }
                }
            }
        }
    }
}

/// The links of an answer with their keys as OpenAPI spells them
/// (`operationId`, `operationRef`, `requestBody`): utoipa writes them in
/// snake case.
fn link_keys(response: &mut Value) {
    let Some(Value::Object(links)) = response.get_mut("links") else {
        return;
    };
    for link in links.values_mut() {
        let Some(link) = link.as_object_mut() else {
            continue;
        };
        for (from, to) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(v) = link.remove(from) {
                link.insert(to.into(), v);
            }
        }
    }
}

/// Who may call `method` on `path`: people's tokens always (the handler
/// checks the role), a client's when its scopes admit the route.
fn security(method: &str, path: &str) -> Value {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
    match needed(&method, path) {
        Need::Nothing => json!([{ BEARER: [] }, { CLIENT: [] }]),
        Need::Scope(scope) => json!([{ BEARER: [] }, { CLIENT: [scope.as_str()] }]),
        Need::Refused => json!([{ BEARER: [] }]),
    }
}

fn is_path_ref(p: &Value) -> bool {
    p.get("$ref").and_then(Value::as_str).is_some_and(|r| {
        [
            "Id",
            "CatalogKind",
            "CatalogCode",
            "PeriodUnit",
            "PeriodMonth",
        ]
        .iter()
        .any(|name| r == format!("#/components/parameters/{name}"))
    })
}

/// The `headers` map of an answer written in place (not a `$ref`).
fn inline_headers(response: &mut Value) -> Option<&mut Map<String, Value>> {
    let response = response.as_object_mut()?;
    if response.contains_key("$ref") {
        return None;
    }
    response
        .entry("headers")
        .or_insert_with(|| json!({}))
        .as_object_mut()
}

fn request_id_header() -> Value {
    json!({
        "description": "The request's id (a UUID v7), also in the service's log line for it.",
        "required": true,
        "schema": { "type": "string", "format": "uuid" }
    })
}

fn etag_header() -> Value {
    json!({
        "description": "The answer's version: the record's version (`\"3\"`) or a weak tag of the bytes; send it in `If-None-Match` to be answered 304 while it holds.",
        "required": true,
        "schema": { "type": "string" }
    })
}

/// Every object's keys in order, so the document reads the same whatever
/// order its parts were built in.
pub fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut v) in entries {
                sort_keys(&mut v);
                map.insert(key, v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}
