//! Erasing personal fields from the trail without breaking the chain.
//!
//! A sealed event (see `seal`) loses the openings of the fields erased and
//! the same fields in its `before`/`after`; their commitments stay in the
//! sealed text, so the content hash and every link still verify and the
//! rest of the event is still proven. An event sealed the first way (before
//! seals) has no commitments to keep: its fields are removed all the same,
//! and verification then reports its content as explained by the erasure
//! rather than proven. The erasure event lists what it removed (event ids
//! and field paths, never values); verification reads those lists to know
//! which missing fields are accounted for.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde_json::{Value, json};

use super::kinds::Entity;
use super::record::Stored;
use super::seal;
use crate::db::schema::audit_events;
use crate::error::ApiError;

/// The events about some records of one kind, and the keys (at any depth of
/// `before` and `after`) that hold personal data in them.
pub struct Target<'a> {
    pub entity: Entity,
    pub ids: Vec<String>,
    pub keys: &'a [&'a str],
}

/// Removes `keys` from a value at every depth; whether anything was removed.
fn strip(value: &mut Value, keys: &[&str]) -> bool {
    match value {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !keys.contains(&k.as_str()));
            let mut changed = map.len() != before;
            for v in map.values_mut() {
                changed |= strip(v, keys);
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, v| strip(v, keys) | c),
        _ => false,
    }
}

/// Erases the personal fields of the targets' events, in the caller's
/// transaction; answers the list the erasure event must carry.
pub fn erase(conn: &mut PgConnection, targets: &[Target]) -> Result<Vec<Value>, ApiError> {
    let mut listing = Vec::new();
    for t in targets {
        if t.ids.is_empty() {
            continue;
        }
        let rows: Vec<Stored> = audit_events::table
            .filter(audit_events::entity.eq(t.entity.as_str()))
            .filter(audit_events::entity_id.eq_any(&t.ids))
            .order(audit_events::id)
            .select(Stored::as_select())
            .for_update()
            .load(conn)?;
        let drop = |path: &str| seal::keys(path).any(|k| t.keys.contains(&k.as_str()));
        for r in rows {
            match (&r.sealed, &r.openings) {
                (Some(sealed), Some(openings)) => {
                    let envelope = r.content().envelope();
                    // An event that does not open is left as it is, for
                    // verification to report.
                    let Ok(Some(e)) = seal::erase(sealed, openings, envelope, &drop) else {
                        continue;
                    };
                    diesel::sql_query(
                        "UPDATE audit_events SET openings = $2, before = $3::jsonb, after = $4::jsonb \
                         WHERE id = $1",
                    )
                    .bind::<BigInt, _>(r.id)
                    .bind::<Text, _>(&e.openings)
                    .bind::<Nullable<Text>, _>(&e.before)
                    .bind::<Nullable<Text>, _>(&e.after)
                    .execute(conn)?;
                    listing.push(json!({ "event": r.who.event_id, "fields": e.paths }));
                }
                _ => {
                    let (mut before, mut after) = (r.before.clone(), r.after.clone());
                    let b = before.as_mut().is_some_and(|v| strip(v, t.keys));
                    let a = after.as_mut().is_some_and(|v| strip(v, t.keys));
                    if !(a || b) {
                        continue;
                    }
                    diesel::update(audit_events::table.find(r.id))
                        .set((
                            audit_events::before.eq(before),
                            audit_events::after.eq(after),
                        ))
                        .execute(conn)?;
                    listing.push(json!({ "event": r.who.event_id, "whole": true }));
                }
            }
        }
    }
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_removes_keys_at_every_depth() {
        let mut v = json!({"code": "A", "record": {"code": "B", "size": 2}, "l": [{"code": 1}]});
        assert!(strip(&mut v, &["code"]));
        assert_eq!(v, json!({"record": {"size": 2}, "l": [{}]}));
        assert!(!strip(&mut v, &["code"]));
    }
}
