//! The one rule every resource obeys: a caller sees and changes only what
//! lies inside its area. An area is a unit and everything below it, which
//! is a range of the units' materialised paths.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use uuid::Uuid;

use super::AuthUser;
use crate::db::schema::units;
use crate::error::ApiError;

/// Unit paths by unit id. A unit's path is made of its own and its
/// ancestors' ids. Those of provinces, districts and communes never change,
/// so their entries never go stale; a village moves when its commune is
/// merged or split (`units::repo::move_village`), so its entry is dropped
/// there and, for other instances of the service, kept only for
/// `VILLAGE_PATH_TTL`. It saves a query on every request of a caller with
/// an area.
static PATHS: LazyLock<RwLock<HashMap<Uuid, CachedPath>>> = LazyLock::new(Default::default);
/// A path, and for a village the instant it stops being trusted.
type CachedPath = (String, Option<Instant>);
const MAX_CACHED_PATHS: usize = 100_000;
const VILLAGE_PATH_TTL: Duration = Duration::from_secs(30);

fn cached_path(unit: Uuid) -> Option<String> {
    let paths = PATHS.read().ok()?;
    let (path, until) = paths.get(&unit)?;
    match until {
        Some(t) if *t <= Instant::now() => None,
        _ => Some(path.clone()),
    }
}

fn remember_path(unit: Uuid, path: &str, village: bool) {
    if let Ok(mut paths) = PATHS.write() {
        if paths.len() >= MAX_CACHED_PATHS {
            paths.clear();
        }
        let until = village.then(|| Instant::now() + VILLAGE_PATH_TTL);
        paths.insert(unit, (path.to_string(), until));
    }
}

/// Drops a unit's cached path, after the unit moved.
pub fn forget_path(unit: Uuid) {
    if let Ok(mut paths) = PATHS.write() {
        paths.remove(&unit);
    }
}

/// A unit's materialised path, from the cache or the database; `None` for
/// an unknown unit. Every lookup of a unit's path goes through here.
pub fn unit_path(conn: &mut PgConnection, unit: Uuid) -> Result<Option<String>, ApiError> {
    if let Some(p) = cached_path(unit) {
        return Ok(Some(p));
    }
    let found: Option<(String, String)> = units::table
        .find(unit)
        .select((units::path, units::level))
        .first(conn)
        .optional()?;
    if let Some((p, level)) = &found {
        remember_path(unit, p, level == "village");
    }
    Ok(found.map(|(p, _)| p))
}

/// The `[lo, hi)` range of paths of a unit and everything below it, for
/// `?unit_id=` filters; `None` for an unknown unit.
pub fn subtree_range(
    conn: &mut PgConnection,
    unit: Uuid,
) -> Result<Option<(String, String)>, ApiError> {
    Ok(unit_path(conn, unit)?.map(|p| path_range(&p)))
}

/// Paths end with '/', and '0' is the byte after '/', so [p, p'0') holds
/// exactly the strings that start with p (under "C" collation).
fn path_range(path: &str) -> (String, String) {
    (
        path.to_string(),
        format!("{}0", &path[..path.len().saturating_sub(1)]),
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Admins without an area.
    All,
    /// Paths `p` with `lo <= p < hi`: the area's own path and every path
    /// that starts with it.
    Subtree { lo: String, hi: String },
}

impl Scope {
    /// The scope of a unit's path: every path that starts with it.
    pub fn from_path(path: &str) -> Scope {
        let (lo, hi) = path_range(path);
        Scope::Subtree { lo, hi }
    }

    /// Looks up the caller's area. An area that no longer exists leaves the
    /// caller an empty scope rather than a wide one.
    pub fn of(conn: &mut PgConnection, user: &AuthUser) -> Result<Scope, ApiError> {
        let Some(area) = user.area else {
            return if user.role == super::Role::Admin {
                Ok(Scope::All)
            } else {
                Err(ApiError::Forbidden("this account has no area".into()))
            };
        };
        match unit_path(conn, area)? {
            Some(p) => Ok(Scope::from_path(&p)),
            None => Err(ApiError::Forbidden(
                "this account's area no longer exists".into(),
            )),
        }
    }

    pub fn contains_path(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Subtree { lo, hi } => lo.as_str() <= path && path < hi.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_holds_descendants_only() {
        let s = Scope::from_path("aa/bb/");
        assert!(s.contains_path("aa/bb/"));
        assert!(s.contains_path("aa/bb/cc/"));
        assert!(!s.contains_path("aa/bbc/"));
        assert!(!s.contains_path("aa/"));
        assert!(!s.contains_path("aa/bc/"));
        assert!(Scope::All.contains_path("zz/"));
    }
}
