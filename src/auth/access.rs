//! The one rule every resource obeys: a caller sees and changes only what
//! lies inside its area. An area is a unit and everything below it, which
//! is a range of the units' materialised paths.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use diesel::prelude::*;
use uuid::Uuid;

use super::AuthUser;
use crate::db::schema::units;
use crate::error::ApiError;

/// Unit paths by unit id. A unit's path is made of its own and its
/// ancestors' ids, which never change, so an entry never goes stale; it
/// saves a query on every request of a caller with an area.
static PATHS: LazyLock<RwLock<HashMap<Uuid, String>>> = LazyLock::new(Default::default);
const MAX_CACHED_PATHS: usize = 100_000;

fn cached_path(unit: Uuid) -> Option<String> {
    PATHS.read().ok()?.get(&unit).cloned()
}

fn remember_path(unit: Uuid, path: &str) {
    if let Ok(mut paths) = PATHS.write() {
        if paths.len() >= MAX_CACHED_PATHS {
            paths.clear();
        }
        paths.insert(unit, path.to_string());
    }
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
        // Paths end with '/', and '0' is the byte after '/', so [p, p'0')
        // holds exactly the strings that start with p (under "C" collation).
        let hi = format!("{}0", &path[..path.len().saturating_sub(1)]);
        Scope::Subtree {
            lo: path.to_string(),
            hi,
        }
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
        let path = match cached_path(area) {
            Some(p) => Some(p),
            None => {
                let found: Option<String> = units::table
                    .find(area)
                    .select(units::path)
                    .first(conn)
                    .optional()?;
                if let Some(p) = &found {
                    remember_path(area, p);
                }
                found
            }
        };
        match path {
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

    /// A filter on `units` keeping the units inside the scope; join the
    /// units of a record's village or commune and apply it.
    pub fn units_filter(
        &self,
    ) -> Box<dyn BoxableExpression<units::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>
    {
        match self {
            Scope::All => Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE")),
            Scope::Subtree { lo, hi } => {
                Box::new(units::path.ge(lo.clone()).and(units::path.lt(hi.clone())))
            }
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
