//! Sealing an event's content so that it can be proven later, exactly, for
//! any value it holds, and so that single fields can be erased while the
//! rest stays proven.
//!
//! An event's `before` and `after` are cut into leaves: every member of an
//! object, at any depth, whose value is not itself an object (a scalar, a
//! `null` or an array) is one leaf, named by its path (`after/position/
//! latitude`). Each leaf is committed to as `SHA-256(salt || text)`, where
//! `text` is the leaf's canonical JSON and `salt` 16 bytes of its own. The
//! sealed document is the event's other columns with `before` and `after`
//! replaced by the same objects holding commitments in place of leaves, as
//! canonical JSON; its SHA-256 is the event's content hash.
//!
//! Both texts are stored as they were made (`sealed`, and `openings`: each
//! leaf's salt and text), in `text` columns, which keep every byte. So
//! verification hashes the very bytes that were hashed, and nothing it
//! checks ever goes through a float parser: a number is compared as the
//! text that was written, and the `jsonb` copies that clients read are
//! compared with those texts by PostgreSQL, whose `jsonb` numbers are exact
//! decimals. Erasing a leaf drops its opening (salt and text) and keeps its
//! commitment: without the salt, the commitment says nothing of the value.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::record::canonical;

/// The version of the sealed document (the first, version 1, hashed the
/// values read back from `jsonb`; see `chain`).
pub const VERSION: u64 = 2;

/// What an event's content hash covers, and what opens it.
pub struct Sealed {
    /// The exact text whose SHA-256 is the content hash.
    pub text: String,
    /// Canonical JSON of `{path: [salt, text]}`, one entry per leaf.
    pub openings: String,
    pub hash: Vec<u8>,
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn text_of(value: &Value) -> String {
    let mut out = String::new();
    canonical(value, &mut out);
    out
}

fn commitment(salt: &[u8], text: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(text.as_bytes());
    hex(&h.finalize())
}

/// A member's path: the parent's, `/`, and the key with `~` and `/`
/// escaped as in a JSON pointer.
fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The keys along a path, unescaped (the first, `before` or `after`, left out).
pub fn keys(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .skip(1)
        .map(|k| k.replace("~1", "/").replace("~0", "~"))
}

fn shape(value: &Value, path: &str, seed: &[u8], openings: &mut Map<String, Value>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shape(v, &child(path, k), seed, openings)))
                .collect(),
        ),
        leaf => {
            let text = text_of(leaf);
            let mut h = Sha256::new();
            h.update(seed);
            h.update(path.as_bytes());
            let salt = &h.finalize()[..16];
            let c = commitment(salt, &text);
            openings.insert(path.to_string(), json!([hex(salt), text]));
            Value::String(c)
        }
    }
}

/// Seals an event: `envelope` holds its other columns as JSON values (the
/// `record::Content` of the event). `seed` is random for every event; the
/// salts are derived from it and stored one by one, the seed is not.
pub fn seal(
    mut envelope: Map<String, Value>,
    before: Option<&Value>,
    after: Option<&Value>,
    seed: &[u8],
) -> Sealed {
    let mut openings = Map::new();
    envelope.insert("v".into(), json!(VERSION));
    if let Some(b) = before {
        envelope.insert("before".into(), shape(b, "before", seed, &mut openings));
    }
    if let Some(a) = after {
        envelope.insert("after".into(), shape(a, "after", seed, &mut openings));
    }
    let text = text_of(&Value::Object(envelope));
    let hash = Sha256::digest(text.as_bytes()).to_vec();
    Sealed {
        text,
        openings: text_of(&Value::Object(openings)),
        hash,
    }
}

/// What a sealed event opens to: the exact JSON texts of `before` and
/// `after` (erased leaves left out), and how many leaves were erased.
#[derive(Debug)]
pub struct Opened {
    pub before: Option<String>,
    pub after: Option<String>,
    pub erased: usize,
}

pub const EDITED: &str = "its content does not match its hash";
pub const UNERASED_GAP: &str = "a field is missing that no erasure removed";

type Openings = Map<String, Value>;

fn opening<'a>(openings: &'a Openings, path: &str) -> Option<(&'a str, &'a str)> {
    match openings.get(path)? {
        Value::Array(pair) if pair.len() == 2 => Some((pair[0].as_str()?, pair[1].as_str()?)),
        _ => None,
    }
}

struct Reveal<'a> {
    openings: &'a Openings,
    erased: &'a dyn Fn(&str) -> bool,
    used: usize,
    dropped: usize,
}

impl Reveal<'_> {
    /// Writes the text a shape opens to; `Ok(false)` for an erased leaf,
    /// which its parent leaves out.
    fn walk(&mut self, shape: &Value, path: &str, out: &mut String) -> Result<bool, &'static str> {
        match shape {
            Value::Object(map) => {
                out.push('{');
                let mut first = true;
                for (k, v) in map {
                    let mut member = String::new();
                    if !self.walk(v, &child(path, k), &mut member)? {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    out.push_str(&member);
                }
                out.push('}');
                Ok(true)
            }
            Value::String(c) => match opening(self.openings, path) {
                Some((salt, text)) => {
                    let salt = unhex(salt).ok_or(EDITED)?;
                    if &commitment(&salt, text) != c {
                        return Err(EDITED);
                    }
                    self.used += 1;
                    out.push_str(text);
                    Ok(true)
                }
                None if path.contains('/') && (self.erased)(path) => {
                    self.dropped += 1;
                    Ok(false)
                }
                None => Err(UNERASED_GAP),
            },
            _ => Err(EDITED),
        }
    }
}

/// Checks a stored event against its seal: `sealed` must be exactly the
/// document made of `envelope` (the stored columns) and its own shapes, and
/// every leaf must open to its commitment, unless `erased` says an erasure
/// removed it. The content hash is checked by the caller (SHA-256 of
/// `sealed`).
pub fn open(
    sealed: &str,
    openings: &str,
    mut envelope: Map<String, Value>,
    erased: &dyn Fn(&str) -> bool,
) -> Result<Opened, &'static str> {
    let Ok(Value::Object(mut doc)) = serde_json::from_str::<Value>(sealed) else {
        return Err(EDITED);
    };
    let Ok(Value::Object(openings)) = serde_json::from_str::<Value>(openings) else {
        return Err(EDITED);
    };
    let shapes = (doc.remove("before"), doc.remove("after"));
    envelope.insert("v".into(), json!(VERSION));
    if let Some(b) = &shapes.0 {
        envelope.insert("before".into(), b.clone());
    }
    if let Some(a) = &shapes.1 {
        envelope.insert("after".into(), a.clone());
    }
    if text_of(&Value::Object(envelope)) != sealed {
        return Err(EDITED);
    }
    let mut reveal = Reveal {
        openings: &openings,
        erased,
        used: 0,
        dropped: 0,
    };
    let mut side = |shape: &Option<Value>, name: &str| -> Result<Option<String>, &'static str> {
        let Some(shape) = shape else { return Ok(None) };
        let mut out = String::new();
        reveal.walk(shape, name, &mut out)?;
        Ok(Some(out))
    };
    let before = side(&shapes.0, "before")?;
    let after = side(&shapes.1, "after")?;
    if reveal.used != openings.len() {
        return Err(EDITED);
    }
    Ok(Opened {
        before,
        after,
        erased: reveal.dropped,
    })
}

/// An erasure of some leaves of one event: the openings left, the texts
/// `before` and `after` now open to, and the paths removed.
pub struct Erased {
    pub openings: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub paths: Vec<String>,
}

/// Removes the openings of the leaves `drop` selects (by path). `None` when
/// the event holds none of them.
pub fn erase(
    sealed: &str,
    openings: &str,
    envelope: Map<String, Value>,
    drop: &dyn Fn(&str) -> bool,
) -> Result<Option<Erased>, &'static str> {
    let Ok(Value::Object(mut all)) = serde_json::from_str::<Value>(openings) else {
        return Err(EDITED);
    };
    let paths: Vec<String> = all.keys().filter(|p| drop(p)).cloned().collect();
    if paths.is_empty() {
        return Ok(None);
    }
    for p in &paths {
        all.remove(p);
    }
    let left = text_of(&Value::Object(all));
    let opened = open(sealed, &left, envelope, &|p| paths.iter().any(|q| q == p))?;
    Ok(Some(Erased {
        openings: left,
        before: opened.before,
        after: opened.after,
        paths,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("action".into(), json!("create"));
        m
    }

    #[test]
    fn opens_to_the_exact_texts_and_finds_an_edit() {
        let after =
            json!({"a": 1.21f32, "p": {"lat": 22.665712, "n": null}, "l": [1, "x"], "e": {}});
        let s = seal(envelope(), None, Some(&after), &[7; 32]);
        let o = open(&s.text, &s.openings, envelope(), &|_| false).unwrap();
        assert_eq!(o.before, None);
        assert_eq!(o.after.as_deref(), Some(text_of(&after).as_str()));
        let edited = s.openings.replace("22.665712", "22.665713");
        assert_eq!(
            open(&s.text, &edited, envelope(), &|_| false).unwrap_err(),
            EDITED
        );
        let mut other = envelope();
        other.insert("action".into(), json!("update"));
        assert_eq!(
            open(&s.text, &s.openings, other, &|_| false).unwrap_err(),
            EDITED
        );
    }

    #[test]
    fn an_erased_leaf_is_left_out_and_the_rest_still_proven() {
        let after = json!({"code": "HN-01", "size": 4, "position": {"latitude": 22.1}});
        let s = seal(envelope(), None, Some(&after), &[1; 32]);
        let drop = |p: &str| keys(p).any(|k| k == "code" || k == "position");
        let e = erase(&s.text, &s.openings, envelope(), &drop)
            .unwrap()
            .unwrap();
        assert_eq!(e.paths, vec!["after/code", "after/position/latitude"]);
        assert_eq!(e.after.as_deref(), Some(r#"{"position":{},"size":4}"#));
        assert!(!e.openings.contains("HN-01"));
        let o = open(&s.text, &e.openings, envelope(), &drop).unwrap();
        assert_eq!(o.erased, 2);
        // Without an erasure that names it, a missing leaf is refused.
        assert_eq!(
            open(&s.text, &e.openings, envelope(), &|_| false).unwrap_err(),
            UNERASED_GAP
        );
    }
}
