//! What training sessions and assistance visits share: the client's id and
//! the hash that tells a resend from a different record, who may edit
//! what, the verification states, and reporting-month locks.

pub mod batch;
pub mod bulk;
pub mod http;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::record::canonical;
use crate::auth::{AuthUser, Role};
use crate::error::ApiError;

/// The hash of a request body, independent of key order and spacing.
pub fn body_hash(body: &Value) -> Vec<u8> {
    let mut text = String::new();
    canonical(body, &mut text);
    Sha256::digest(text.as_bytes()).to_vec()
}

/// How a create was answered: stored now, or stored before from the same
/// request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Created {
    Created,
    AlreadyHad,
}

/// The same id sent with another body.
pub fn id_reused<T: Serialize>(current: &T) -> ApiError {
    ApiError::Conflict {
        detail: "a different record was already sent with this id".into(),
        current: serde_json::to_value(current).ok(),
    }
}

crate::code_enum!(
    /// Where a record stands with the officers: `submitted` (new or
    /// corrected), `verified` (read-only until reopened) or `rejected`.
    #[derive(utoipa::ToSchema)]
    #[schema(as = ActivityStatus)]
    Status {
    Submitted = "submitted",
    Verified = "verified",
    Rejected = "rejected",
});

/// Whether `user` may change a record in `status` recorded by `recorded_by`.
/// The record is already known to lie inside the caller's scope.
pub fn check_editable(user: &AuthUser, recorded_by: Uuid, status: &str) -> Result<(), ApiError> {
    let allowed = match user.role {
        Role::Admin | Role::TeamLeader => true,
        // A client reaches here only with the activities:write scope.
        Role::Member | Role::Client => recorded_by == user.id,
        Role::Officer => false,
    };
    if !allowed {
        return Err(ApiError::Forbidden(match user.role {
            Role::Member => "members change only the records they made".into(),
            Role::Client => "integration clients change only the records they made".into(),
            _ => "officers verify, reject and reopen records; they do not edit them".into(),
        }));
    }
    if status == Status::Verified.as_str() {
        return Err(ApiError::conflict(
            "the record is verified and read-only; an officer can reopen it",
        ));
    }
    Ok(())
}

/// The roles that record activities (integration clients only with the
/// activities:write scope, which `clients::scopes::needed` asks for).
pub const RECORDERS: &[Role] = &[Role::Admin, Role::TeamLeader, Role::Member, Role::Client];
/// The roles that verify, reject, reopen and lock.
pub const CHECKERS: &[Role] = &[Role::Admin, Role::Officer];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: Option<String>,
    pub version: Option<i64>,
}

/// The longest reason of a decision on a record, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A reason of 1 to `MAX_REASON_CHARS` characters, or none when blank.
pub fn optional_reason(body: &ReasonBody) -> Result<Option<String>, ApiError> {
    crate::domain::short_text(body.reason.as_deref().unwrap_or(""), MAX_REASON_CHARS)
        .map_err(|e| ApiError::validation("reason", e.code, e.message))
}

/// A reason of 1 to `MAX_REASON_CHARS` characters, required for rejecting
/// and reopening.
pub fn reason(body: &ReasonBody) -> Result<String, ApiError> {
    optional_reason(body)?
        .ok_or_else(|| ApiError::validation("reason", "required", "give the reason"))
}

/// Of `ids`, those who were members of `team` on `day` (joined by then and
/// not yet left): a visit recorded late still counts who was there.
pub fn members_on(
    conn: &mut PgConnection,
    team: Uuid,
    ids: &[Uuid],
    day: NaiveDate,
) -> Result<Vec<Uuid>, ApiError> {
    use crate::db::schema::members;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(members::table
        .filter(members::team_id.eq(team))
        .filter(members::id.eq_any(ids))
        .filter(members::archived_at.is_null())
        .filter(members::joined_on.le(day))
        .filter(members::left_on.is_null().or(members::left_on.ge(day)))
        .select(members::id)
        .load(conn)?)
}

/// The team of a record: any team in scope when it is the record's team
/// already (it may have been dissolved since), else an active one.
pub fn record_team(
    conn: &mut PgConnection,
    scope: &crate::auth::Scope,
    team: Uuid,
    existing: Option<Uuid>,
) -> Result<Result<crate::teams::model::TeamRow, crate::domain::Invalid>, ApiError> {
    crate::members::handlers::team_visible(conn, scope, team, existing != Some(team))
}

/// The first day of `date`'s month.
pub fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// Every ancestor-or-self path of a materialised path.
pub fn ancestor_paths(path: &str) -> Vec<String> {
    path.match_indices('/')
        .map(|(i, _)| path[..=i].to_string())
        .collect()
}

/// The advisory-lock key of a reporting month: writers of records dated in
/// it hold it shared, whoever sets a lock on it holds it alone.
pub fn month_key(month: NaiveDate) -> i64 {
    // "lock" in ASCII, then the month as a number.
    (0x6c6f_636b_i64 << 24) | i64::from(month.year() * 12 + month.month0() as i32)
}

/// 409 when the month of `date` is locked for the record's unit or any unit
/// above it.
pub fn check_not_locked(
    conn: &mut PgConnection,
    area_path: &str,
    date: NaiveDate,
) -> Result<(), ApiError> {
    match locks_on(conn, &[(area_path.to_string(), date)])?.pop() {
        Some(Some(locked)) => Err(locked),
        _ => Ok(()),
    }
}

/// For each `(area_path, date)` of records about to be written, the 409 of
/// the lock on its month, if its unit or one above it has one. Holds each
/// month's shared lock to the end of the transaction, which keeps a lock
/// from being set between this check and the commit.
pub fn locks_on(
    conn: &mut PgConnection,
    places: &[(String, NaiveDate)],
) -> Result<Vec<Option<ApiError>>, ApiError> {
    use diesel::sql_types::{Array, BigInt, Date, Text};
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        unit_id: Uuid,
        #[diesel(sql_type = Text)]
        unit_name: String,
        #[diesel(sql_type = Text)]
        area_path: String,
        #[diesel(sql_type = Date)]
        month: NaiveDate,
    }
    if places.is_empty() {
        return Ok(Vec::new());
    }
    let mut months: Vec<NaiveDate> = places.iter().map(|(_, d)| month_of(*d)).collect();
    months.sort();
    months.dedup();
    let keys: Vec<i64> = months.iter().map(|m| month_key(*m)).collect();
    let mut paths: Vec<String> = places.iter().flat_map(|(p, _)| ancestor_paths(p)).collect();
    paths.sort();
    paths.dedup();
    // The months' locks first, in a statement of their own: a statement sees
    // the rows committed when it starts, so the lock rows must be read by a
    // later one, which then sees a lock set while this one waited.
    diesel::sql_query("SELECT count(pg_advisory_xact_lock_shared(k)) FROM unnest($1) AS k")
        .bind::<Array<BigInt>, _>(&keys)
        .execute(conn)?;
    let found: Vec<Found> = diesel::sql_query(
        "SELECT p.unit_id, u.name AS unit_name, p.area_path, p.month \
         FROM period_locks p JOIN units u ON u.id = p.unit_id \
         WHERE p.month = ANY($1) AND p.area_path = ANY($2) \
         ORDER BY p.area_path",
    )
    .bind::<Array<Date>, _>(&months)
    .bind::<Array<Text>, _>(&paths)
    .load(conn)?;
    let locks: Vec<(Uuid, String, String, NaiveDate)> = found
        .into_iter()
        .map(|f| (f.unit_id, f.unit_name, f.area_path, f.month))
        .collect();
    Ok(places
        .iter()
        .map(|(path, date)| {
            let month = month_of(*date);
            // The highest unit's lock is named: paths sort parents first.
            locks
                .iter()
                .find(|(_, _, p, m)| *m == month && path.starts_with(p.as_str()))
                .map(|(unit_id, name, _, month)| ApiError::Conflict {
                    detail: format!(
                        "the month {} is locked for {name}; an officer must unlock it first",
                        month.format("%Y-%m")
                    ),
                    current: Some(serde_json::json!({
                        "lock": { "unit_id": unit_id, "unit_name": name, "month": month.format("%Y-%m").to_string() }
                    })),
                })
        })
        .collect())
}

/// The queries both kinds of activity run the same way on their own table:
/// reads by id (scope checked in memory), the lookup by the phone's id, the
/// idempotent insert, edits, archiving and status changes.
macro_rules! activity_queries {
    ($t:ident, $row:ty, $changes:ty, $dto:ty) => {
        $crate::records::record_queries!($t, $row, $dto);

        /// The records stored under these phone ids, wherever they are.
        pub fn by_client_ids(
            conn: &mut ::diesel::PgConnection,
            ids: &[::uuid::Uuid],
        ) -> Result<Vec<$row>, $crate::error::ApiError> {
            Ok($t::table
                .filter($t::id.eq_any(ids))
                .select(<$row>::as_select())
                .load(conn)?)
        }

        /// Inserts new records in one statement; ids already taken (a
        /// concurrent resend) are skipped and not returned.
        pub fn insert_many(
            conn: &mut ::diesel::PgConnection,
            new: &[$crate::activities::http::NewRecord<'_, $changes>],
        ) -> Result<Vec<$row>, $crate::error::ApiError> {
            if new.is_empty() {
                return Ok(Vec::new());
            }
            // When the phone did not say when it recorded, it is when it arrived.
            let received_at = ::chrono::Utc::now();
            let values: Vec<_> = new
                .iter()
                .map(|n| {
                    (
                        $t::id.eq(n.id),
                        n.changes,
                        $t::recorded_at.eq(n.recorded_at.unwrap_or(received_at)),
                        $t::received_at.eq(received_at),
                        $t::recorded_by.eq(n.recorded_by),
                        $t::body_hash.eq(n.body_hash),
                    )
                })
                .collect();
            Ok(::diesel::insert_into($t::table)
                .values(values)
                .on_conflict_do_nothing()
                .returning(<$row>::as_returning())
                .get_results(conn)?)
        }

        /// Writes an edit; a rejected record goes back to `submitted`.
        pub fn update(
            conn: &mut ::diesel::PgConnection,
            id: ::uuid::Uuid,
            changes: &$changes,
        ) -> Result<$row, $crate::error::ApiError> {
            Ok(::diesel::update($t::table.find(id))
                .set((
                    changes,
                    $t::status.eq("submitted"),
                    $t::status_reason.eq(None::<String>),
                    $t::status_by.eq(None::<::uuid::Uuid>),
                    $t::status_at.eq(None::<::chrono::DateTime<::chrono::Utc>>),
                    $t::version.eq($t::version + 1),
                    $t::updated_at.eq(::diesel::dsl::now),
                ))
                .returning(<$row>::as_returning())
                .get_result(conn)?)
        }

        pub fn set_status(
            conn: &mut ::diesel::PgConnection,
            id: ::uuid::Uuid,
            status: &str,
            reason: Option<&str>,
            by: ::uuid::Uuid,
        ) -> Result<$row, $crate::error::ApiError> {
            Ok(::diesel::update($t::table.find(id))
                .set((
                    $t::status.eq(status),
                    $t::status_reason.eq(reason),
                    $t::status_by.eq(by),
                    $t::status_at.eq(::diesel::dsl::now),
                    $t::version.eq($t::version + 1),
                    $t::updated_at.eq(::diesel::dsl::now),
                ))
                .returning(<$row>::as_returning())
                .get_result(conn)?)
        }
    };
}
pub(crate) use activity_queries;

/// The part of an `Activity` implementation that is the same for both
/// kinds: forwarding to the queries of `activity_queries!` in the module's
/// `repo`, to its `parse` and `prefetch`, and reading the row fields both
/// kinds share. `$date` names the field month locks apply to.
macro_rules! activity_storage {
    ($date:ident) => {
        fn status_filter(filters: &Self::Filters) -> Option<&str> {
            filters.status.as_deref()
        }

        fn list(
            conn: &mut ::diesel::PgConnection,
            scope: &$crate::auth::Scope,
            params: &$crate::records::ListParams,
            filters: &Self::Filters,
            order: &$crate::pagination::Order,
            limit: i64,
        ) -> Result<Vec<Self::Row>, $crate::error::ApiError> {
            repo::list(conn, scope, params, filters, order, limit)
        }

        fn meta(r: &Self::Row) -> $crate::activities::http::Meta {
            $crate::activities::http::Meta {
                id: r.id,
                version: r.version,
                status: r.status.clone(),
                archived_at: r.archived_at,
                recorded_by: r.recorded_by,
                area_path: r.area_path.clone(),
                date: r.$date,
            }
        }

        fn get(
            conn: &mut ::diesel::PgConnection,
            scope: &$crate::auth::Scope,
            id: ::uuid::Uuid,
        ) -> Result<Self::Row, $crate::error::ApiError> {
            repo::get(conn, scope, id)
        }

        fn archive(
            conn: &mut ::diesel::PgConnection,
            id: ::uuid::Uuid,
        ) -> Result<Self::Row, $crate::error::ApiError> {
            repo::archive(conn, id)
        }

        fn set_status(
            conn: &mut ::diesel::PgConnection,
            id: ::uuid::Uuid,
            status: &str,
            reason: Option<&str>,
            by: ::uuid::Uuid,
        ) -> Result<Self::Row, $crate::error::ApiError> {
            repo::set_status(conn, id, status, reason, by)
        }

        fn by_client_ids(
            conn: &mut ::diesel::PgConnection,
            ids: &[::uuid::Uuid],
        ) -> Result<Vec<Self::Row>, $crate::error::ApiError> {
            repo::by_client_ids(conn, ids)
        }

        fn body_hash(row: &Self::Row) -> &[u8] {
            &row.body_hash
        }

        fn input_id(input: &Self::Input) -> ::uuid::Uuid {
            input.id
        }

        fn recorded_at(input: &Self::Input) -> Option<::chrono::DateTime<::chrono::Utc>> {
            input.recorded_at
        }

        fn prefetch(
            conn: &mut ::diesel::PgConnection,
            inputs: &[&Self::Input],
        ) -> Result<Self::Known, $crate::error::ApiError> {
            prefetch(conn, inputs)
        }

        fn parse(
            conn: &mut ::diesel::PgConnection,
            scope: &$crate::auth::Scope,
            input: &Self::Input,
            existing: Option<&Self::Row>,
            known: &Self::Known,
        ) -> Result<Self::Changes, $crate::error::ApiError> {
            parse(conn, scope, input, existing, known)
        }

        fn place(changes: &Self::Changes) -> (&str, ::chrono::NaiveDate) {
            (&changes.area_path, changes.$date)
        }

        fn insert_many(
            conn: &mut ::diesel::PgConnection,
            new: &[$crate::activities::http::NewRecord<'_, Self::Changes>],
        ) -> Result<Vec<Self::Row>, $crate::error::ApiError> {
            repo::insert_many(conn, new)
        }

        fn update(
            conn: &mut ::diesel::PgConnection,
            id: ::uuid::Uuid,
            changes: &Self::Changes,
        ) -> Result<Self::Row, $crate::error::ApiError> {
            repo::update(conn, id, changes)
        }
    };
}
pub(crate) use activity_storage;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_key_order_and_spacing() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":[1,2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "b": [1, 2], "a": 1 }"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"a":2,"b":[1,2]}"#).unwrap();
        assert_eq!(body_hash(&a), body_hash(&b));
        assert_ne!(body_hash(&a), body_hash(&c));
    }

    #[test]
    fn ancestors_of_a_path() {
        assert_eq!(
            ancestor_paths("aa/bb/cc/"),
            vec!["aa/", "aa/bb/", "aa/bb/cc/"]
        );
    }
}
