//! The HTTP side that training sessions and assistance visits share: read
//! one, record (idempotently), edit, archive, and verify, reject or reopen.
//! Each kind of activity says how its rows are read and written through
//! [`Activity`]; the rules of the trade are here, once.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::batch::Writer;
use super::{CHECKERS, Created, RECORDERS, ReasonBody, Status};
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Scope};
use crate::db;
use crate::error::ApiError;
use crate::households;
use crate::json::Query;
use crate::records;
use crate::state::AppState;

/// What the shared rules need to know of a stored activity.
pub struct Meta {
    pub id: Uuid,
    pub version: i32,
    pub status: String,
    pub archived_at: Option<DateTime<Utc>>,
    pub recorded_by: Uuid,
    pub area_path: String,
    /// The day it happened, which month locks apply to.
    pub date: NaiveDate,
}

/// A kind of activity (training session, assistance visit).
pub trait Activity: 'static {
    type Row: Clone
        + Send
        + records::Versioned<Key = Uuid, Dto = Self::Dto>
        + crate::pagination::Sortable
        + 'static;
    type Dto: Serialize + From<Self::Row>;
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The list filters beside the common `ListParams`.
    type Filters: DeserializeOwned + Send + 'static;
    const ENTITY: Entity;

    /// The `status` filter, checked before the query runs.
    fn status_filter(filters: &Self::Filters) -> Option<&str>;
    fn list(
        conn: &mut PgConnection,
        scope: &Scope,
        params: &records::ListParams,
        filters: &Self::Filters,
        order: &crate::pagination::Order,
        limit: i64,
    ) -> Result<Vec<Self::Row>, ApiError>;

    fn meta(row: &Self::Row) -> Meta;
    /// The households a record is about, for `include=household`: a
    /// visit's one, or the households of a session's attendees.
    fn household_ids(row: &Self::Row) -> Vec<Uuid>;
    /// Where an item carries them: `household` (one, or `null`) or
    /// `households` (a list).
    const HOUSEHOLD_KEY: &'static str;
    fn get(conn: &mut PgConnection, scope: &Scope, id: Uuid) -> Result<Self::Row, ApiError>;
    fn archive(conn: &mut PgConnection, id: Uuid) -> Result<Self::Row, ApiError>;
    fn set_status(
        conn: &mut PgConnection,
        id: Uuid,
        status: &str,
        reason: Option<&str>,
        by: Uuid,
    ) -> Result<Self::Row, ApiError>;
    /// The columns a create or an edit writes.
    type Changes: Send + 'static;
    /// What a phone wrote that never changes: a change is refused.
    const IMMUTABLE: &'static str;

    fn body_hash(row: &Self::Row) -> &[u8];
    fn input_id(input: &Self::Input) -> Uuid;
    fn recorded_at(input: &Self::Input) -> Option<DateTime<Utc>>;
    /// The input a stored record was made from, as a patch base.
    fn input_of(row: &Self::Row) -> Self::Input;
    /// Whether an edited input changes what may not change.
    fn changes_immutable(base: &Self::Input, input: &Self::Input) -> bool;
    /// What checking a batch of inputs needs from the database, fetched for
    /// all of them at once; `Default` fetches nothing (each check queries).
    type Known: Default;
    fn prefetch(conn: &mut PgConnection, inputs: &[&Self::Input]) -> Result<Self::Known, ApiError>;
    /// Checks an input into the columns to write; `existing` for an edit.
    fn parse(
        conn: &mut PgConnection,
        scope: &Scope,
        input: &Self::Input,
        existing: Option<&Self::Row>,
        known: &Self::Known,
    ) -> Result<Self::Changes, ApiError>;
    /// Where and when the written record lies (for month locks).
    fn place(changes: &Self::Changes) -> (&str, NaiveDate);
    /// Inserts new records in one statement, skipping ids already taken;
    /// returns the rows stored.
    fn insert_many(
        conn: &mut PgConnection,
        new: &[NewRecord<'_, Self::Changes>],
    ) -> Result<Vec<Self::Row>, ApiError>;
    fn by_client_ids(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Self::Row>, ApiError>;
    fn update(
        conn: &mut PgConnection,
        id: Uuid,
        changes: &Self::Changes,
    ) -> Result<Self::Row, ApiError>;
}

/// A record to insert, as checked.
pub struct NewRecord<'a, C> {
    pub id: Uuid,
    pub changes: &'a C,
    /// When the phone recorded it; when it arrived, if the phone did not say.
    pub recorded_at: Option<DateTime<Utc>>,
    pub recorded_by: Uuid,
    pub body_hash: &'a [u8],
}

/// The answer to a record sent under an id already stored: the stored
/// record if this is the same request (the same body hash, from inside the
/// area the record lies in), else 409 naming only the id.
pub fn resend<A: Activity>(
    scope: &Scope,
    existing: &A::Row,
    hash: &[u8],
) -> Result<(A::Row, Created), ApiError> {
    let m = A::meta(existing);
    if A::body_hash(existing) == hash && scope.contains_path(&m.area_path) {
        Ok((existing.clone(), Created::AlreadyHad))
    } else {
        Err(super::id_reused(&serde_json::json!({ "id": m.id })))
    }
}

/// Stores a new record under the phone's id, or recognises a resend of it.
pub fn create_in<A: Activity>(
    conn: &mut PgConnection,
    scope: &Scope,
    user: &AuthUser,
    ctx: &Ctx,
    input: &A::Input,
    hash: &[u8],
) -> Result<(A::Row, Created), ApiError> {
    let id = A::input_id(input);
    // A resend is answered with what is stored, before any check: its
    // household, team or month may have changed since.
    if let Some(existing) = A::by_client_ids(conn, &[id])?.pop() {
        return resend::<A>(scope, &existing, hash);
    }
    let changes = A::parse(conn, scope, input, None, &A::Known::default())?;
    let (path, date) = A::place(&changes);
    super::check_not_locked(conn, path, date)?;
    let new = NewRecord {
        id,
        changes: &changes,
        recorded_at: A::recorded_at(input),
        recorded_by: user.id,
        body_hash: hash,
    };
    match A::insert_many(conn, &[new])?.pop() {
        Some(row) => {
            let e = event::<A>(Action::Create, &row).after(A::Dto::from(row.clone()));
            audit::record(conn, ctx, e)?;
            Ok((row, Created::Created))
        }
        // Stored by a concurrent resend between the lookup and the insert.
        None => match A::by_client_ids(conn, &[id])?.pop() {
            Some(existing) => resend::<A>(scope, &existing, hash),
            None => Err(ApiError::internal("a conflicting record vanished")),
        },
    }
}

/// Applies a merge patch to a record the caller may edit.
pub fn update_in<A: Activity>(
    conn: &mut PgConnection,
    scope: &Scope,
    user: &AuthUser,
    ctx: &Ctx,
    id: Uuid,
    expected: i32,
    patch: Value,
) -> Result<A::Row, ApiError> {
    let current: A::Row = records::claim(conn, scope, id, Some(expected))?;
    let m = A::meta(&current);
    records::refuse_archived(m.archived_at)?;
    super::check_editable(user, m.recorded_by, &m.status)?;
    let base = A::input_of(&current);
    let input = records::apply_patch(&base, patch)?;
    if A::changes_immutable(&base, &input) {
        return Err(ApiError::validation(
            "body",
            "immutable",
            format!("{} do not change; record a new one instead", A::IMMUTABLE),
        ));
    }
    let changes = A::parse(conn, scope, &input, Some(&current), &A::Known::default())?;
    super::check_not_locked(conn, &m.area_path, m.date)?;
    let (path, date) = A::place(&changes);
    super::check_not_locked(conn, path, date)?;
    let row = A::update(conn, id, &changes)?;
    let e = event::<A>(Action::Update, &row)
        .before(A::Dto::from(current))
        .after(A::Dto::from(row.clone()));
    audit::record(conn, ctx, e)?;
    Ok(row)
}

/// The audit event of an activity, placed at its village.
pub fn event<A: Activity>(action: Action, row: &A::Row) -> Event {
    let m = A::meta(row);
    let mut e = Event::new(action, A::ENTITY, m.id);
    e.unit_id = records::last_unit(&m.area_path);
    e.area_path = Some(m.area_path);
    e
}

fn respond<A: Activity>(status: StatusCode, row: A::Row) -> HttpResponse {
    let version = A::meta(&row).version;
    HttpResponse::build(status)
        .insert_header((header::ETAG, records::etag(version)))
        .json(A::Dto::from(row))
}

pub async fn list<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    params: Query<records::ListParams>,
    filters: Query<A::Filters>,
) -> Result<HttpResponse, ApiError>
where
    A::Row: crate::exports::Record,
{
    let (params, filters) = (params.into_inner(), filters.into_inner());
    params.check()?;
    if params.q.is_some() {
        // Silently ignoring it would answer a search with everything.
        return Err(ApiError::validation(
            "q",
            "not_supported",
            "activities have no text search; filter by team_id, status, dates or kind",
        ));
    }
    if let Some(s) = A::status_filter(&filters) {
        Status::parse(s).map_err(|e| ApiError::validation("status", e.code, e.message))?;
    }
    let with_households = params.includes("household", &["household"])?;
    if let Some(wanted) = crate::exports::wanted(&req)? {
        return crate::exports::serve(&req, &state.pool, user, wanted, move |c, s, after, n| {
            A::list(
                c,
                s,
                &params,
                &filters,
                &crate::pagination::Order::by_id_after::<A::Row>(after),
                n,
            )
        })
        .await;
    }
    let limit = crate::pagination::limit(params.limit)?;
    let order = crate::pagination::Order::parse::<A::Row>(
        params.sort.as_deref(),
        params.cursor.as_deref(),
    )?;
    let ctx = Ctx::user(&user, &req);
    let (page, names) = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let page = order.page(
            A::list(conn, &scope, &params, &filters, &order, limit)?,
            limit,
        );
        let names = if with_households {
            Some(household_names::<A>(conn, &scope, &ctx, &page.items)?)
        } else {
            None
        };
        Ok((page, names))
    })
    .await?;
    let Some(names) = names else {
        return Ok(HttpResponse::Ok().json(crate::pagination::Page {
            items: page.items.into_iter().map(A::Dto::from).collect::<Vec<_>>(),
            next_cursor: page.next_cursor,
        }));
    };
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|row| {
            let found: Vec<&households::repo::HouseholdName> = A::household_ids(&row)
                .iter()
                .filter_map(|id| names.get(id))
                .collect();
            let mut item = serde_json::to_value(A::Dto::from(row)).unwrap_or_default();
            item[A::HOUSEHOLD_KEY] = if A::HOUSEHOLD_KEY == "household" {
                serde_json::to_value(found.first()).unwrap_or_default()
            } else {
                serde_json::to_value(found).unwrap_or_default()
            };
            item
        })
        .collect();
    // Names of households: never kept by a cache.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(crate::pagination::Page {
            items,
            next_cursor: page.next_cursor,
        }))
}

/// The names of the households of a page, read as one audited read of
/// those households.
fn household_names<A: Activity>(
    conn: &mut PgConnection,
    scope: &Scope,
    ctx: &Ctx,
    rows: &[A::Row],
) -> Result<HashMap<Uuid, households::repo::HouseholdName>, ApiError> {
    let mut ids: Vec<Uuid> = rows.iter().flat_map(A::household_ids).collect();
    ids.sort();
    ids.dedup();
    let names = households::repo::names(conn, scope, &ids)?;
    if !names.is_empty() {
        let read: Vec<Uuid> = names.iter().map(|h| h.id).collect();
        let e = households::handlers::list_read(scope)
            .after(serde_json::json!({ "ids": read, "via": A::ENTITY.as_str() }));
        households::handlers::read_event(conn, ctx, e)?;
    }
    Ok(names.into_iter().map(|h| (h.id, h)).collect())
}

pub async fn get<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        A::get(conn, &scope, id)
    })
    .await?;
    Ok(respond::<A>(StatusCode::OK, row))
}

pub async fn create<A: Activity>(
    writer: web::Data<Writer<A>>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    user.require(RECORDERS)?;
    let body = body.into_inner();
    let hash = super::body_hash(&body);
    let input: A::Input = crate::json::from_value(body)?;
    let ctx = Ctx::user(&user, &req);
    let (row, created) = writer.create(user, ctx, input, hash).await?;
    let mut res = respond::<A>(StatusCode::CREATED, row);
    if created == Created::AlreadyHad {
        res.headers_mut().insert(
            header::HeaderName::from_static("idempotent-replay"),
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(res)
}

pub async fn update<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    user.require(RECORDERS)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let expected = records::expected_version(&req, records::body_version(&body)?)?;
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            update_in::<A>(conn, &scope, &user, &ctx, id, expected, body)
        })
    })
    .await?;
    Ok(respond::<A>(StatusCode::OK, row))
}

pub async fn archive<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(RECORDERS)?;
    let id = id.into_inner();
    let expected = req
        .headers()
        .contains_key(header::IF_MATCH)
        .then(|| records::expected_version(&req, None))
        .transpose()?;
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let current: A::Row = records::claim(conn, &scope, id, expected)?;
            let m = A::meta(&current);
            if m.archived_at.is_some() {
                return Ok(current);
            }
            super::check_editable(&user, m.recorded_by, &m.status)?;
            super::check_not_locked(conn, &m.area_path, m.date)?;
            let row = A::archive(conn, id)?;
            let e = event::<A>(Action::Archive, &row).before(A::Dto::from(current));
            audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(respond::<A>(StatusCode::OK, row))
}

/// The statuses a status change goes from and to.
fn from_to(action: Action) -> (Status, Status) {
    match action {
        Action::Verify => (Status::Submitted, Status::Verified),
        Action::Reject => (Status::Submitted, Status::Rejected),
        _ => (Status::Verified, Status::Submitted),
    }
}

/// The reason a status change records: optional for verifying (kept when
/// not blank), required for rejecting and reopening; checked alike.
pub fn reason_for(action: Action, body: Option<&ReasonBody>) -> Result<Option<String>, ApiError> {
    match (body, action) {
        (None, Action::Verify) => Ok(None),
        (Some(b), Action::Verify) => super::optional_reason(b),
        (Some(b), _) => Ok(Some(super::reason(b)?)),
        (None, _) => Err(ApiError::validation(
            "reason",
            "required",
            "give the reason",
        )),
    }
}

/// Verifies, rejects or reopens one record in the caller's transaction: the
/// row locked and its version compared (when one is expected), its status
/// checked, its month not locked, then the change and its audit event.
#[allow(clippy::too_many_arguments)]
pub fn change_status<A: Activity>(
    conn: &mut PgConnection,
    scope: &Scope,
    user: &AuthUser,
    ctx: &Ctx,
    id: Uuid,
    expected: Option<i32>,
    action: Action,
    reason: Option<&str>,
) -> Result<A::Row, ApiError> {
    let (from, to) = from_to(action);
    let current: A::Row = records::claim(conn, scope, id, expected)?;
    let m = A::meta(&current);
    if m.status != from.as_str() || m.archived_at.is_some() {
        return Err(ApiError::Conflict {
            detail: format!("{action} needs a {from} record; this one is {}", m.status),
            current: serde_json::to_value(A::Dto::from(current)).ok(),
        });
    }
    super::check_not_locked(conn, &m.area_path, m.date)?;
    let row = A::set_status(conn, id, to.as_str(), reason, user.id)?;
    let e = event::<A>(action, &row)
        .before(serde_json::json!({ "status": m.status }))
        .after(serde_json::json!({ "status": to.as_str(), "reason": reason }));
    audit::record(conn, ctx, e)?;
    Ok(row)
}

/// Verify, reject or reopen: officers and admins, inside their area.
async fn transition<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: Uuid,
    body: &[u8],
    action: Action,
) -> Result<HttpResponse, ApiError> {
    user.require(CHECKERS)?;
    let body = records::optional_body::<ReasonBody>(&req, body)?;
    let reason = reason_for(action, body.as_ref())?;
    let body_version = body.as_ref().and_then(|b| b.version);
    let expected = if req.headers().contains_key(header::IF_MATCH) || body_version.is_some() {
        Some(records::expected_version(&req, body_version)?)
    } else {
        None
    };
    let ctx = Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            change_status::<A>(
                conn,
                &scope,
                &user,
                &ctx,
                id,
                expected,
                action,
                reason.as_deref(),
            )
        })
    })
    .await?;
    Ok(respond::<A>(StatusCode::OK, row))
}

pub async fn verify<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    transition::<A>(state, user, req, id.into_inner(), &body, Action::Verify).await
}

pub async fn reject<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    transition::<A>(state, user, req, id.into_inner(), &body, Action::Reject).await
}

pub async fn reopen<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    transition::<A>(state, user, req, id.into_inner(), &body, Action::Reopen).await
}
