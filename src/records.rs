//! What every registry resource shares: the list parameters, the area and
//! unit filters over `area_path`, versions carried by `If-Match` or a
//! `version` field, merge-patch updates, and the village a record lives in.

use actix_web::HttpRequest;
use actix_web::http::header;
use chrono::{DateTime, Utc};
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Scope;
use crate::db::schema::units;
use crate::error::ApiError;
use crate::units::model::UnitRow;

/// Query parameters every registry list takes.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// A unit: records in it or anywhere below it.
    pub unit_id: Option<Uuid>,
    pub q: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub include_archived: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Related records to carry in each item (`include=household`), where
    /// the list offers any.
    pub include: Option<String>,
    /// The order: a key of the list, `-` before it for descending.
    pub sort: Option<String>,
}

pub const MAX_Q_CHARS: usize = 100;

impl ListParams {
    pub fn check(&self) -> Result<(), ApiError> {
        if self
            .q
            .as_deref()
            .is_some_and(|q| q.chars().count() > MAX_Q_CHARS)
        {
            return Err(ApiError::validation(
                "q",
                "too_long",
                format!("q must be at most {MAX_Q_CHARS} characters"),
            ));
        }
        Ok(())
    }

    /// Whether `include` (a comma-separated list) names `what`; anything
    /// but the names in `allowed` is a 422 that lists them.
    pub fn includes(&self, what: &str, allowed: &[&str]) -> Result<bool, ApiError> {
        let Some(list) = self.include.as_deref() else {
            return Ok(false);
        };
        let mut found = false;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !allowed.contains(&name) {
                return Err(ApiError::validation(
                    "include",
                    "invalid",
                    if allowed.is_empty() {
                        "this list has nothing to include".to_string()
                    } else {
                        format!("must be one of: {}", allowed.join(", "))
                    },
                ));
            }
            found |= name == what;
        }
        Ok(found)
    }
}

/// A boolean filter usable on table `T`.
pub type Filter<T> = Box<dyn BoxableExpression<T, Pg, SqlType = Bool>>;

/// `column` (a materialised path, as `table.column`) inside `[lo, hi)`:
/// the one way every query keeps the rows of an area.
fn path_range<T>(column: &str, lo: String, hi: String) -> Filter<T>
where
    T: 'static,
{
    Box::new(
        diesel::dsl::sql::<Bool>(&format!("({column} >= "))
            .bind::<Text, _>(lo)
            .sql(&format!(" AND {column} < "))
            .bind::<Text, _>(hi)
            .sql(")"),
    )
}

impl Scope {
    /// The record if its path lies inside the scope, else 404: a record
    /// outside the caller's area is simply not found.
    pub fn admit<T>(&self, row: T, path: impl Fn(&T) -> &str) -> Result<T, ApiError> {
        if self.contains_path(path(&row)) {
            Ok(row)
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// Keeps the records of `table` whose village lies inside the scope.
    pub fn area_filter<T: 'static>(&self, table: &str) -> Filter<T> {
        self.filter_on(&format!("{table}.area_path"))
    }

    /// Keeps the rows whose path in `column` (`table.column`) lies inside
    /// the scope; every row for `Scope::All`, rows without a path included.
    pub fn filter_on<T: 'static>(&self, column: &str) -> Filter<T> {
        match self {
            Scope::All => Box::new(diesel::dsl::sql::<Bool>("TRUE")),
            Scope::Subtree { lo, hi } => path_range(column, lo.clone(), hi.clone()),
        }
    }
}

/// The filter for `?unit_id=`: the unit and everything below it. An unknown
/// unit filters everything out rather than failing, like any other filter.
pub fn unit_filter<T: 'static>(
    conn: &mut PgConnection,
    table: &str,
    unit_id: Option<Uuid>,
) -> Result<Option<Filter<T>>, ApiError> {
    unit_filter_on(conn, &format!("{table}.area_path"), unit_id)
}

/// `unit_filter` on a path column of another name (`table.column`).
pub fn unit_filter_on<T: 'static>(
    conn: &mut PgConnection,
    column: &str,
    unit_id: Option<Uuid>,
) -> Result<Option<Filter<T>>, ApiError> {
    let Some(id) = unit_id else { return Ok(None) };
    Ok(Some(match crate::auth::access::subtree_range(conn, id)? {
        Some((lo, hi)) => path_range(column, lo, hi),
        None => Box::new(diesel::dsl::sql::<Bool>("FALSE")),
    }))
}

/// An optional JSON body: none when empty, else JSON of the right shape
/// with the right content type. Unlike `Option<web::Json<T>>`, a body that
/// is there but wrong is an error, never silently ignored.
pub fn optional_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "expected a body with Content-Type: application/json".into(),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    crate::json::from_value(value).map(Some)
}

/// The unit a materialised path ends with (the record's village).
pub fn last_unit(path: &str) -> Option<Uuid> {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|hex| Uuid::parse_str(hex).ok())
}

/// The version an update is based on: `If-Match` (an ETag this service
/// sent) or the body's `version`.
pub fn expected_version(req: &HttpRequest, body_version: Option<i64>) -> Result<i32, ApiError> {
    if let Some(value) = req.headers().get(header::IF_MATCH) {
        let raw = value.to_str().unwrap_or("").trim();
        let raw = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
        return raw.parse::<i32>().map_err(|_| {
            ApiError::validation(
                "If-Match",
                "invalid",
                "If-Match must be an ETag this service sent",
            )
        });
    }
    match body_version {
        Some(v) => i32::try_from(v)
            .map_err(|_| ApiError::validation("version", "invalid", "version is out of range")),
        None => Err(ApiError::validation(
            "version",
            "required",
            "send the version the change is based on, in If-Match or a version field",
        )),
    }
}

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// RFC 7396 JSON merge patch: `null` removes, objects merge, the rest
/// replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Archived records are kept as they were: 409 for any change.
pub fn refuse_archived(archived_at: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match archived_at {
        Some(at) => Err(ApiError::conflict(format!(
            "the record was archived on {}; it is kept as it was",
            at.format("%Y-%m-%d")
        ))),
        None => Ok(()),
    }
}

/// A 409 for a stale version, carrying the record as it is now.
pub fn stale<T: serde::Serialize>(current: &T) -> ApiError {
    ApiError::Conflict {
        detail: "the record was changed since the version you sent; here it is as it is now".into(),
        current: serde_json::to_value(current).ok(),
    }
}

/// A record whose writers name the version they read: users, teams,
/// members, households, trainings, visits and catalogue entries.
pub trait Versioned: Sized {
    /// What names the record in its path: an id, or a catalogue entry's
    /// kind and code.
    type Key;
    /// The record as a client reads it, which a 409 carries as `current`.
    type Dto: serde::Serialize;

    /// Reads the record with its row lock taken (`SELECT … FOR UPDATE`),
    /// inside the caller's area: 404 when it is missing or outside.
    fn lock(conn: &mut PgConnection, scope: &Scope, key: Self::Key) -> Result<Self, ApiError>;
    fn version(&self) -> i32;
    fn dto(&self) -> Self::Dto;
}

/// How every write of a versioned record begins: the record, locked in the
/// writing transaction, if it still has the version the writer read (none
/// given: any version), else 409 with `current`.
///
/// The row lock is taken before the version is compared, so of two writers
/// sending the same version, the second waits for the first to commit and
/// then reads the version the first made: exactly one of them wins.
pub fn claim<R: Versioned>(
    conn: &mut PgConnection,
    scope: &Scope,
    key: R::Key,
    expected: Option<i32>,
) -> Result<R, ApiError> {
    let row = R::lock(conn, scope, key)?;
    match expected {
        Some(v) if v != row.version() => Err(stale(&row.dto())),
        _ => Ok(row),
    }
}

/// The village a record is for: a village unit in force today, inside the
/// caller's scope. Anything else is a validation failure of `field`.
pub fn village_in_scope(
    conn: &mut PgConnection,
    scope: &Scope,
    village_id: Uuid,
) -> Result<Result<UnitRow, crate::domain::Invalid>, ApiError> {
    let row: Option<UnitRow> = units::table
        .find(village_id)
        .select(UnitRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(u) if !scope.contains_path(&u.path) => Err(not_a_village()),
        Some(u) if u.level != "village" => Err(crate::domain::Invalid {
            code: "not_a_village",
            message: format!("unit {} is a {}, not a village", u.code, u.level),
        }),
        Some(u) if u.valid_to.is_some() => Err(crate::domain::Invalid {
            code: "not_current",
            message: format!("village {} is no longer in force", u.code),
        }),
        Some(u) => Ok(u),
        None => Err(not_a_village()),
    })
}

fn not_a_village() -> crate::domain::Invalid {
    crate::domain::Invalid {
        code: "unknown_village",
        message: "no such village in your area".into(),
    }
}

/// Applies a merge patch to the writable fields of a record and reads the
/// result back as the input type, so an update is checked exactly like a
/// create. `version` in the patch is the caller's base version, not a field.
pub fn apply_patch<I>(current: &I, mut patch: Value) -> Result<I, ApiError>
where
    I: serde::Serialize + serde::de::DeserializeOwned,
{
    let Value::Object(map) = &mut patch else {
        return Err(ApiError::validation(
            "body",
            "not_an_object",
            "the body must be a JSON object",
        ));
    };
    map.remove("version");
    let mut merged = serde_json::to_value(current).map_err(ApiError::internal)?;
    // A field the resource does not have is refused even as `null`, which
    // merging alone would pass over (removing what is not there).
    if let (Value::Object(fields), Value::Object(patch)) = (&merged, &patch)
        && let Some(unknown) = patch.keys().find(|k| !fields.contains_key(*k))
    {
        return Err(ApiError::validation(
            unknown,
            "unknown",
            "is not a field of this resource",
        ));
    }
    merge_patch(&mut merged, &patch);
    crate::json::from_value(merged)
}

/// The `version` field of a JSON body: `None` when absent or `null`, a 422
/// naming it when it is not an integer (even when `If-Match` is sent).
pub fn body_version(body: &Value) -> Result<Option<i64>, ApiError> {
    let mut version = match body.get("version") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v.clone(),
    };
    crate::json::whole_numbers(&mut version);
    version
        .as_i64()
        .map(Some)
        .ok_or_else(|| ApiError::validation("version", "invalid_type", "must be an integer"))
}

/// A registry record that `DELETE` archives (teams, members, households).
pub trait Archivable: 'static {
    type Row: Versioned<Key = Uuid> + Send + 'static;
    /// The roles that may archive it.
    const WRITERS: &'static [crate::auth::Role];

    fn archived(row: &Self::Row) -> bool;
    fn archive(conn: &mut PgConnection, id: Uuid) -> Result<Self::Row, ApiError>;
    /// The audit event of archiving, with the record as it was.
    fn archive_event(before: &Self::Row, after: &Self::Row) -> crate::audit::Event;
}

/// `DELETE /{records}/{id}`: archives (nothing is destroyed). An `If-Match`
/// is checked when sent; archiving twice answers the archived record.
pub async fn archive<R: Archivable>(
    state: actix_web::web::Data<crate::state::AppState>,
    user: crate::auth::AuthUser,
    req: HttpRequest,
    id: actix_web::web::Path<Uuid>,
) -> Result<actix_web::HttpResponse, ApiError> {
    user.require(R::WRITERS)?;
    let id = id.into_inner();
    let expected = req
        .headers()
        .contains_key(header::IF_MATCH)
        .then(|| expected_version(&req, None))
        .transpose()?;
    let ctx = crate::audit::Ctx::user(&user, &req);
    let row = crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let current: R::Row = claim(conn, &scope, id, expected)?;
            if R::archived(&current) {
                return Ok(current);
            }
            let row = R::archive(conn, id)?;
            crate::audit::record(conn, &ctx, R::archive_event(&current, &row))?;
            Ok(row)
        })
    })
    .await?;
    Ok(actix_web::HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version())))
        .json(row.dto()))
}

/// The queries every record table with `area_path`, `version` and
/// `archived_at` runs the same way: a read by primary key (a statement
/// diesel prepares once) with the area checked in memory, the same for an
/// update, and archiving; and the row as a [`Versioned`] record, read
/// as `$dto`.
macro_rules! record_queries {
    ($t:ident, $row:ty, $dto:ty) => {
        impl $crate::records::Versioned for $row {
            type Key = ::uuid::Uuid;
            type Dto = $dto;

            fn lock(
                conn: &mut ::diesel::PgConnection,
                scope: &$crate::auth::Scope,
                id: ::uuid::Uuid,
            ) -> Result<Self, $crate::error::ApiError> {
                get_for_update(conn, scope, id)
            }

            fn version(&self) -> i32 {
                self.version
            }

            fn dto(&self) -> $dto {
                <$dto>::from(self.clone())
            }
        }

        pub fn get(
            conn: &mut ::diesel::PgConnection,
            scope: &$crate::auth::Scope,
            id: ::uuid::Uuid,
        ) -> Result<$row, $crate::error::ApiError> {
            let row: $row = $t::table.find(id).select(<$row>::as_select()).first(conn)?;
            scope.admit(row, |r| &r.area_path)
        }

        pub fn get_for_update(
            conn: &mut ::diesel::PgConnection,
            scope: &$crate::auth::Scope,
            id: ::uuid::Uuid,
        ) -> Result<$row, $crate::error::ApiError> {
            let row: $row = $t::table
                .find(id)
                .select(<$row>::as_select())
                .for_update()
                .first(conn)?;
            scope.admit(row, |r| &r.area_path)
        }

        pub fn archive(
            conn: &mut ::diesel::PgConnection,
            id: ::uuid::Uuid,
        ) -> Result<$row, $crate::error::ApiError> {
            Ok(::diesel::update($t::table.find(id))
                .set((
                    $t::archived_at.eq(::diesel::dsl::now),
                    $t::version.eq($t::version + 1),
                    $t::updated_at.eq(::diesel::dsl::now),
                ))
                .returning(<$row>::as_returning())
                .get_result(conn)?)
        }
    };
}
pub(crate) use record_queries;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut t = json!({ "a": 1, "b": { "c": 2, "d": 3 }, "e": [1] });
        merge_patch(
            &mut t,
            &json!({ "a": null, "b": { "c": 9 }, "e": [2], "f": "new" }),
        );
        assert_eq!(t, json!({ "b": { "c": 9, "d": 3 }, "e": [2], "f": "new" }));
    }
}
