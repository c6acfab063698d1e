//! Cursor pagination as the contract fixes it: `?limit=` (default 50, at most
//! 500) and an opaque `?cursor=`, answered as `{items, next_cursor}`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// A page of a list, in the list's order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Give it as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The page size asked for, checked against the contract's bounds.
pub fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(
            "limit",
            "out_of_range",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// Encodes the sort key of the last row returned.
pub fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub fn decode<K: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<K>, ApiError> {
    let Some(raw) = cursor else { return Ok(None) };
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::validation("cursor", "invalid", "cursor is not one this service issued")
        })
}

/// Rows were fetched with `limit + 1`: trims the extra one and makes the
/// cursor from the last row kept.
pub fn page<T, K: Serialize>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| encode(&key(r)))
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// A column a list may be sorted by, as `sort` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub name: &'static str,
    /// `table.column`.
    pub column: &'static str,
    /// The column's SQL type, which a cursor's text is cast back to.
    pub sql_type: &'static str,
}

/// A row of a list that `sort` applies to: its id (the order of ties, and
/// the order without `sort`) and the text of each of its sort keys.
pub trait Sortable {
    /// `table.id`.
    const ID_COLUMN: &'static str;
    const KEYS: &'static [SortKey];
    fn id(&self) -> uuid::Uuid;
    /// The key's value, as its cursor holds it.
    fn sort_value(&self, key: &str) -> String;
}

/// Declares the keys of a row type: `sortable!(AssistanceRow, assistances,
/// visited_on: date, created_at: instant, updated_at: instant)`.
macro_rules! sortable {
    ($row:ty, $table:ident, $($key:ident: $kind:ident),* $(,)?) => {
        impl $crate::pagination::Sortable for $row {
            const ID_COLUMN: &'static str = concat!(stringify!($table), ".id");
            const KEYS: &'static [$crate::pagination::SortKey] = &[$(
                $crate::pagination::SortKey {
                    name: stringify!($key),
                    column: concat!(stringify!($table), ".", stringify!($key)),
                    sql_type: $crate::pagination::sortable!(@type $kind),
                },
            )*];
            fn id(&self) -> ::uuid::Uuid {
                self.id
            }
            fn sort_value(&self, key: &str) -> String {
                match key {
                    $(stringify!($key) => $crate::pagination::sortable!(@text $kind, self.$key),)*
                    _ => String::new(),
                }
            }
        }
    };
    (@type date) => { "date" };
    (@type instant) => { "timestamptz" };
    (@text date, $v:expr) => { $v.format("%Y-%m-%d").to_string() };
    (@text instant, $v:expr) => { $v.to_rfc3339_opts(::chrono::SecondsFormat::Micros, true) };
}
pub(crate) use sortable;

/// Where a sorted page ends: the order it was made under, the key's value
/// and the id of its last row.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SortedCursor {
    sort: String,
    key: String,
    id: uuid::Uuid,
}

/// The order of a list and where its page starts: by id without `sort`,
/// else by the key (ties by id, in the same direction).
#[derive(Debug, Clone)]
pub struct Order {
    key: Option<SortKey>,
    desc: bool,
    id_column: &'static str,
    /// After this row: the key's text (none when by id) and its id.
    after: Option<(Option<String>, uuid::Uuid)>,
}

fn sort_name(key: Option<SortKey>, desc: bool) -> String {
    let name = key.map_or("id", |k| k.name);
    if desc {
        format!("-{name}")
    } else {
        name.to_string()
    }
}

impl Order {
    /// By id, from the start.
    pub fn by_id<R: Sortable>() -> Order {
        Order {
            key: None,
            desc: false,
            id_column: R::ID_COLUMN,
            after: None,
        }
    }

    /// By id, after the row `after` (exports walk a list this way).
    pub fn by_id_after<R: Sortable>(after: Option<uuid::Uuid>) -> Order {
        Order {
            after: after.map(|id| (None, id)),
            ..Order::by_id::<R>()
        }
    }

    /// Reads `sort` and `cursor`: an unknown key is a 422 listing the
    /// allowed ones, and a cursor made under another order a 422 naming
    /// `cursor`.
    pub fn parse<R: Sortable>(sort: Option<&str>, cursor: Option<&str>) -> Result<Order, ApiError> {
        let raw = sort.map(str::trim).filter(|s| !s.is_empty());
        let (desc, name) = match raw {
            Some(s) => match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s),
            },
            None => (false, "id"),
        };
        let key = match name {
            "id" => None,
            _ => Some(
                R::KEYS
                    .iter()
                    .find(|k| k.name == name)
                    .copied()
                    .ok_or_else(|| unknown_sort::<R>())?,
            ),
        };
        let mut order = Order {
            key,
            desc,
            id_column: R::ID_COLUMN,
            after: None,
        };
        let Some(raw_cursor) = cursor else {
            return Ok(order);
        };
        let value: serde_json::Value = decode(Some(raw_cursor))?.unwrap_or_default();
        let expected = sort_name(key, desc);
        let other = |made: &str| {
            ApiError::validation(
                "cursor",
                "other_order",
                format!(
                    "this cursor was made for sort={made}; repeat that request's sort, or start again without a cursor"
                ),
            )
        };
        order.after = Some(match value {
            // Pages by id (without `sort`) carry the bare id.
            serde_json::Value::String(id) => {
                let id = uuid::Uuid::parse_str(&id).map_err(|_| bad_cursor())?;
                if key.is_some() || desc {
                    return Err(other("id"));
                }
                (None, id)
            }
            v => {
                let c: SortedCursor = serde_json::from_value(v).map_err(|_| bad_cursor())?;
                if c.sort != expected {
                    return Err(other(&c.sort));
                }
                (Some(c.key), c.id)
            }
        });
        Ok(order)
    }

    /// Keeps the rows after the cursor's, in this order.
    pub fn after<T: 'static>(&self) -> Option<crate::records::Filter<T>> {
        use diesel::sql_types::{Bool, Text, Uuid};
        let (value, id) = self.after.clone()?;
        let cmp = if self.desc { "<" } else { ">" };
        Some(match (self.key, value) {
            (Some(k), Some(v)) => Box::new(
                diesel::dsl::sql::<Bool>(&format!(
                    "({}, {}) {cmp} (CAST(",
                    k.column, self.id_column
                ))
                .bind::<Text, _>(v)
                .sql(&format!(" AS {}), ", k.sql_type))
                .bind::<Uuid, _>(id)
                .sql(")"),
            ),
            _ => Box::new(
                diesel::dsl::sql::<Bool>(&format!("{} {cmp} ", self.id_column)).bind::<Uuid, _>(id),
            ),
        })
    }

    /// The `ORDER BY` of this order (column names from the allowed keys,
    /// never from the request).
    pub fn sql(&self) -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
        let dir = if self.desc { "DESC" } else { "ASC" };
        diesel::dsl::sql(&match self.key {
            Some(k) => format!("{} {dir}, {} {dir}", k.column, self.id_column),
            None => format!("{} {dir}", self.id_column),
        })
    }

    /// The page of rows fetched with `limit + 1`, its cursor made in this
    /// order.
    pub fn page<R: Sortable>(&self, rows: Vec<R>, limit: i64) -> Page<R> {
        page(rows, limit, |r| match self.key {
            None if !self.desc => serde_json::json!(r.id()),
            _ => serde_json::to_value(SortedCursor {
                sort: sort_name(self.key, self.desc),
                key: self.key.map(|k| r.sort_value(k.name)).unwrap_or_default(),
                id: r.id(),
            })
            .unwrap_or_default(),
        })
    }
}

fn bad_cursor() -> ApiError {
    ApiError::validation("cursor", "invalid", "cursor is not one this service issued")
}

fn unknown_sort<R: Sortable>() -> ApiError {
    let names: Vec<&str> = std::iter::once("id")
        .chain(R::KEYS.iter().map(|k| k.name))
        .collect();
    ApiError::validation(
        "sort",
        "invalid",
        format!(
            "must be one of {}, with - before it for descending",
            names.join(", ")
        ),
    )
}

/// `sort` on a list that keeps one order (units, by code): anything but
/// that order is a 422.
pub fn only_sort(sort: Option<&str>, name: &str) -> Result<(), ApiError> {
    match sort.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(()),
        Some(s) if s == name => Ok(()),
        Some(_) => Err(ApiError::validation(
            "sort",
            "invalid",
            format!("must be {name}: this list keeps that order"),
        )),
    }
}

/// The common list parameters.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = encode(&("00715", 3));
        let back: Option<(String, i32)> = decode(Some(&c)).unwrap();
        assert_eq!(back, Some(("00715".to_string(), 3)));
    }

    #[test]
    fn garbage_cursor_is_rejected() {
        assert!(decode::<(String, i32)>(Some("not*base64")).is_err());
        assert!(decode::<(String, i32)>(Some("e30")).is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None).unwrap(), 50);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(501)).is_err());
        assert_eq!(limit(Some(500)).unwrap(), 500);
    }

    #[test]
    fn page_trims_and_points_past_last() {
        let p = page(vec![1, 2, 3], 2, |x| *x);
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(decode::<i32>(p.next_cursor.as_deref()).unwrap(), Some(2));
        let p = page(vec![1, 2], 2, |x| *x);
        assert!(p.next_cursor.is_none());
    }
}
