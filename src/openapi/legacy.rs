//! The paths still described by hand, in `legacy.json` (OpenAPI 3.1), for
//! the modules whose handlers do not carry `#[utoipa::path]` yet. An
//! operation generated from the code always wins over its hand-written
//! entry; a module's entries are deleted from `legacy.json` when its
//! handlers are described.

use serde_json::{Map, Value};

const LEGACY: &str = include_str!("legacy.json");

/// Adds to `doc` the hand-written operations and components it lacks.
pub fn add(doc: &mut Value) -> Result<(), serde_json::Error> {
    let legacy: Value = serde_json::from_str(LEGACY)?;
    let Value::Object(legacy) = legacy else {
        return Ok(());
    };
    if let Some(Value::Object(paths)) = legacy.get("paths") {
        let target = object_at(doc, &["paths"]);
        for (path, item) in paths {
            let Value::Object(item) = item else { continue };
            let Value::Object(existing) = target
                .entry(path.clone())
                .or_insert_with(|| Value::Object(Map::new()))
            else {
                continue;
            };
            for (method, op) in item {
                existing.entry(method.clone()).or_insert_with(|| op.clone());
            }
        }
    }
    if let Some(Value::Object(components)) = legacy.get("components") {
        for (kind, entries) in components {
            let Value::Object(entries) = entries else {
                continue;
            };
            let target = object_at(doc, &["components", kind]);
            for (name, entry) in entries {
                target.entry(name.clone()).or_insert_with(|| entry.clone());
            }
        }
    }
    Ok(())
}

/// The object at `keys` under `doc`, made (empty) where missing.
fn object_at<'a>(doc: &'a mut Value, keys: &[&str]) -> &'a mut Map<String, Value> {
    let mut node = doc;
    for key in keys {
        node = as_object(node)
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    as_object(node)
}

/// `value` as an object, replacing anything else by an empty one.
fn as_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object just above"),
    }
}
