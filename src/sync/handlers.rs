//! The sync batch and its per-item answers.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::MAX_ITEMS;
use crate::activities::batch::{Record, write_batch};
use crate::activities::http::Activity;
use crate::activities::{self, Created, RECORDERS};
use crate::assistances::handlers::Visit;
use crate::audit::{Action, Ctx, Entity, Event, record};
use crate::auth::{AuthUser, Scope};
use crate::error::{ApiError, FieldError};
use crate::json::Json;
use crate::state::AppState;
use crate::trainings::handlers::Session;
use crate::{assistances, db, households, trainings};

/// Records made offline, in the order they were made.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SyncBatch)]
pub struct Batch {
    /// At most 500 items.
    #[schema(max_items = 500)]
    pub items: Vec<Item>,
}

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SyncKind)]
pub enum Kind {
    Training,
    Assistance,
    Household,
}

/// What to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SyncOp)]
pub enum Op {
    Create,
    Update,
}

/// One record made offline.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SyncItem)]
pub struct Item {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub op: Op,
    /// The record's id, made by the phone for new records.
    pub id: Uuid,
    /// For updates: the version the change is based on.
    pub version: Option<i32>,
    /// The record as its route takes it (`create`: the body of
    /// `POST /assistances`, `/trainings` or `/households`, its `id` the
    /// item's or absent) or a merge patch of it (`update`). Anything but
    /// an object answers the item `invalid`.
    #[schema(value_type = serde_json::Value)]
    pub data: Value,
}

/// What became of an item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SyncOutcome)]
pub enum Outcome {
    Created,
    AlreadyHad,
    Updated,
    Conflict,
    Invalid,
    NotFound,
    Forbidden,
}

/// The answer to one item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SyncAnswer)]
pub struct Answer {
    /// The item's place in `items`.
    #[schema(minimum = 0, maximum = 499)]
    pub index: usize,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub id: Uuid,
    pub status: Outcome,
    /// The record as stored, when `created`, `already_had` or `updated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, nullable = false)]
    pub record: Option<Value>,
    /// The server's version of the record, for conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, nullable = false)]
    pub current: Option<Value>,
    /// What is wrong, when `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldError>>,
    /// Why, for conflicts and refusals.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
}

/// What a batch answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncResponse {
    /// One answer per item, in their order.
    pub results: Vec<Answer>,
}

fn to_value<T: Serialize>(v: T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

/// The record's JSON with the item's id in it, for creates.
fn with_id(data: &Value, id: Uuid) -> Result<Value, ApiError> {
    let Value::Object(map) = data else {
        return Err(ApiError::validation(
            "data",
            "not_an_object",
            "data must be a JSON object",
        ));
    };
    match map.get("id") {
        Some(v) if v != &Value::String(id.to_string()) => Err(ApiError::validation(
            "data.id",
            "mismatch",
            "data.id differs from the item's id",
        )),
        _ => {
            let mut map = map.clone();
            map.insert("id".into(), Value::String(id.to_string()));
            Ok(Value::Object(map))
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    crate::json::from_value(value)
}

fn required_version(item: &Item) -> Result<i32, ApiError> {
    item.version.ok_or_else(|| {
        ApiError::validation(
            "version",
            "required",
            "an update names the version it is based on",
        )
    })
}

/// Does one item; the caller wraps it in a savepoint.
fn apply(
    conn: &mut PgConnection,
    scope: &Scope,
    user: &AuthUser,
    ctx: &Ctx,
    item: &Item,
) -> Result<(Outcome, Value), ApiError> {
    match (item.kind, item.op) {
        // New sessions and visits are stored in runs (`flush`).
        (Kind::Assistance | Kind::Training, Op::Create) => Err(ApiError::internal(
            "a new activity reached the item-by-item path of sync",
        )),
        (Kind::Household, Op::Create) => {
            user.require(households::handlers::WRITERS)?;
            let hash = activities::body_hash(&item.data);
            // A resend is answered with what is stored, before any check,
            // whatever was changed since: the same item (by its hash) or,
            // for a household made otherwise, the same fields.
            if let Some((existing, stored_hash)) = households::repo::by_client_id(conn, item.id)? {
                let same = scope.contains_path(&existing.area_path)
                    && match stored_hash {
                        Some(stored) => stored == hash,
                        None => households::handlers::matches(
                            conn,
                            scope,
                            &existing,
                            &parse(item.data.clone())?,
                        )?,
                    };
                if !same {
                    return Err(activities::id_reused(&serde_json::json!({ "id": item.id })));
                }
                return Ok((
                    Outcome::AlreadyHad,
                    to_value(households::dto::HouseholdDto::from(existing)).unwrap_or_default(),
                ));
            }
            let input: households::dto::HouseholdInput = parse(item.data.clone())?;
            let row = households::handlers::create_in(conn, scope, item.id, &input, Some(&hash))?;
            let e = Event::new(Action::Create, Entity::Household, row.id)
                .at(row.village_id, &row.area_path)
                .after(households::dto::audit_view(&row));
            record(conn, ctx, e)?;
            Ok((
                Outcome::Created,
                to_value(households::dto::HouseholdDto::from(row)).unwrap_or_default(),
            ))
        }
        (Kind::Assistance, Op::Update) => {
            user.require(RECORDERS)?;
            let row = activities::http::update_in::<assistances::handlers::Visit>(
                conn,
                scope,
                user,
                ctx,
                item.id,
                required_version(item)?,
                item.data.clone(),
            )?;
            Ok((
                Outcome::Updated,
                to_value(assistances::dto::AssistanceDto::from(row)).unwrap_or_default(),
            ))
        }
        (Kind::Training, Op::Update) => {
            user.require(RECORDERS)?;
            let row = activities::http::update_in::<trainings::handlers::Session>(
                conn,
                scope,
                user,
                ctx,
                item.id,
                required_version(item)?,
                item.data.clone(),
            )?;
            Ok((
                Outcome::Updated,
                to_value(trainings::dto::TrainingDto::from(row)).unwrap_or_default(),
            ))
        }
        (Kind::Household, Op::Update) => {
            user.require(households::handlers::WRITERS)?;
            let row = households::handlers::update_in(
                conn,
                scope,
                ctx,
                item.id,
                required_version(item)?,
                item.data.clone(),
            )?;
            Ok((
                Outcome::Updated,
                to_value(households::dto::HouseholdDto::from(row)).unwrap_or_default(),
            ))
        }
    }
}

/// A new session or visit of the batch, ready for `write_batch`.
fn record_of<A: Activity>(user: &AuthUser, ctx: &Ctx, item: &Item) -> Result<Record<A>, ApiError> {
    user.require(RECORDERS)?;
    let data = with_id(&item.data, item.id)?;
    let hash = activities::body_hash(&data);
    Ok(Record {
        user: user.clone(),
        ctx: ctx.clone(),
        input: parse(data)?,
        hash,
    })
}

/// Stores the pending run of new records of one kind, in the batch's
/// transaction, and answers each. The run needs no savepoints: its checks
/// only read, so a record they refuse leaves nothing behind, and an error
/// of the database fails the whole sync (sent again as it is), as it
/// always did.
fn flush<A: Activity>(
    conn: &mut PgConnection,
    pending: &mut Vec<(usize, Record<A>)>,
    items: &[Item],
    answers: &mut [Option<Answer>],
) -> Result<(), ApiError> {
    if pending.is_empty() {
        return Ok(());
    }
    let (indexes, records): (Vec<usize>, Vec<Record<A>>) = pending.drain(..).unzip();
    let results = write_batch::<A>(conn, &records)?;
    for (index, result) in indexes.into_iter().zip(results) {
        let item = &items[index];
        answers[index] = Some(match result {
            Ok((row, created)) => {
                let status = match created {
                    Created::Created => Outcome::Created,
                    Created::AlreadyHad => Outcome::AlreadyHad,
                };
                done_answer(
                    index,
                    item,
                    status,
                    to_value(A::Dto::from(row)).unwrap_or_default(),
                )
            }
            Err(e) => answer_error(index, item, e)?,
        });
    }
    Ok(())
}

fn done_answer(index: usize, item: &Item, status: Outcome, record: Value) -> Answer {
    Answer {
        index,
        kind: item.kind,
        id: item.id,
        status,
        record: Some(record),
        current: None,
        errors: None,
        detail: None,
    }
}

/// Turns an item's failure into its answer; failures of the database
/// itself fail the whole batch (it is then sent again as it is).
fn answer_error(index: usize, item: &Item, e: ApiError) -> Result<Answer, ApiError> {
    let mut answer = Answer {
        index,
        kind: item.kind,
        id: item.id,
        status: Outcome::Invalid,
        record: None,
        current: None,
        errors: None,
        detail: None,
    };
    match e {
        ApiError::Validation(errors) => answer.errors = Some(errors),
        ApiError::Conflict { detail, current } => {
            answer.status = Outcome::Conflict;
            answer.detail = Some(detail);
            answer.current = current;
        }
        ApiError::NotFound => answer.status = Outcome::NotFound,
        ApiError::Forbidden(detail) => {
            answer.status = Outcome::Forbidden;
            answer.detail = Some(detail);
        }
        ApiError::BadRequest(detail) => answer.detail = Some(detail),
        other => return Err(other),
    }
    Ok(answer)
}

/// Send a batch made offline
///
/// Up to 500 new or changed training sessions, assistance visits and
/// households, each answered on its own and stored in its own savepoint:
/// one bad item never fails the others, and a batch sent again stores
/// nothing twice (`already_had`). Items follow the rules of their own
/// routes, for the same roles. Answers carry households: `Cache-Control:
/// no-store`. The body may reach 8 MiB.
#[utoipa::path(
    post,
    path = "/api/v1/sync",
    tag = "sync",
    operation_id = "syncBatch",
    request_body = Batch,
    responses((
        status = 200,
        description = "One answer per item.",
        body = SyncResponse,
        headers(("Cache-Control" = String, description = "`no-store`.")),
    ))
)]
pub async fn sync(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<Batch>,
) -> Result<HttpResponse, ApiError> {
    let batch = body.into_inner();
    if batch.items.len() > MAX_ITEMS {
        return Err(ApiError::validation(
            "items",
            "too_many",
            format!("at most {MAX_ITEMS} items per batch"),
        ));
    }
    let ctx = Ctx::user(&user, &req);
    let answers = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let items = &batch.items;
            let mut answers: Vec<Option<Answer>> = items.iter().map(|_| None).collect();
            // Consecutive new visits (or sessions) are checked and stored
            // together, as the writers store concurrent requests.
            let mut visits: Vec<(usize, Record<Visit>)> = Vec::new();
            let mut sessions: Vec<(usize, Record<Session>)> = Vec::new();
            for (index, item) in items.iter().enumerate() {
                match (item.kind, item.op) {
                    (Kind::Assistance, Op::Create) => {
                        flush(conn, &mut sessions, items, &mut answers)?;
                        match record_of(&user, &ctx, item) {
                            Ok(r) => visits.push((index, r)),
                            Err(e) => answers[index] = Some(answer_error(index, item, e)?),
                        }
                    }
                    (Kind::Training, Op::Create) => {
                        flush(conn, &mut visits, items, &mut answers)?;
                        match record_of(&user, &ctx, item) {
                            Ok(r) => sessions.push((index, r)),
                            Err(e) => answers[index] = Some(answer_error(index, item, e)?),
                        }
                    }
                    _ => {
                        flush(conn, &mut visits, items, &mut answers)?;
                        flush(conn, &mut sessions, items, &mut answers)?;
                        let done = conn.transaction(|conn| apply(conn, &scope, &user, &ctx, item));
                        answers[index] = Some(match done {
                            Ok((status, record)) => done_answer(index, item, status, record),
                            Err(e) => answer_error(index, item, e)?,
                        });
                    }
                }
            }
            flush(conn, &mut visits, items, &mut answers)?;
            flush(conn, &mut sessions, items, &mut answers)?;
            answers
                .into_iter()
                .map(|a| a.ok_or_else(|| ApiError::internal("a sync item was left unanswered")))
                .collect::<Result<Vec<Answer>, ApiError>>()
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(SyncResponse { results: answers }))
}
