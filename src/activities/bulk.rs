//! `POST /{assistances|trainings}/verify` and `/reject`: an officer's
//! decision on up to 500 records at once, each answered on its own as
//! `/sync` answers its items.
//!
//! The whole call is one transaction and each record is changed in a
//! savepoint of its own, by the same [`change_status`] as the one-by-one
//! routes: a record that cannot change (outside the area, stale, in
//! another status, in a locked month) is answered with its problem and
//! leaves nothing behind, while the others are changed, each with its
//! audit event. A failure of the database itself fails the whole call, so
//! nothing of it is stored. Records are locked in the order of their ids,
//! so two calls over the same records wait for each other rather than
//! deadlock.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::http::{Activity, change_status, reason_for};
use super::{CHECKERS, ReasonBody};
use crate::audit::{Action, Ctx};
use crate::auth::{AuthUser, Scope};
use crate::db;
use crate::error::{ApiError, FieldError};
use crate::json::Json;
use crate::state::AppState;

/// Records per call.
pub const MAX_IDS: usize = 500;

/// A record to change: its id, or its id and the version the officer saw.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub id: Uuid,
    pub version: Option<i32>,
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WithVersion {
            id: Uuid,
            version: Option<i32>,
        }
        let bad = || {
            serde::de::Error::custom(
                "must be a record's id (a UUID) or {\"id\": UUID, \"version\": number}",
            )
        };
        match Value::deserialize(de)? {
            Value::String(s) => Uuid::parse_str(&s)
                .map(|id| Target { id, version: None })
                .map_err(|_| bad()),
            v @ Value::Object(_) => serde_json::from_value::<WithVersion>(v)
                .map(|w| Target {
                    id: w.id,
                    version: w.version,
                })
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    /// 1 to 500 records. An id listed twice is changed once (twice with
    /// two different versions: 422).
    #[schema(value_type = Vec<crate::openapi::activities::BulkTarget>, min_items = 1, max_items = 500)]
    pub ids: Vec<Target>,
    /// The same for every record; required to reject.
    #[schema(schema_with = crate::openapi::activities::optional_reason)]
    pub reason: Option<String>,
}

/// What a bulk call answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkResponse {
    /// One answer per entry of `ids`, in their order.
    pub results: Vec<Answer>,
}

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = BulkOutcome)]
pub enum Outcome {
    Updated,
    Conflict,
    NotFound,
    Invalid,
}

/// What happened to one entry of `ids`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = BulkAnswer)]
pub struct Answer {
    /// The entry's place in `ids`.
    #[schema(minimum = 0, maximum = 500)]
    pub index: usize,
    pub id: Uuid,
    pub status: Outcome,
    /// The record with its new status, when `updated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, nullable = false)]
    pub record: Option<Value>,
    /// The record as it is, for conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, nullable = false)]
    pub current: Option<Value>,
    /// What is wrong, when `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldError>>,
    /// Why it could not change, for conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
    /// An id listed more than once is changed once: its later entries
    /// repeat the answer of the first, whose index this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0, maximum = 500)]
    pub duplicate_of: Option<usize>,
}

/// One record's answer, from its change or its problem; failures of the
/// database itself fail the whole call.
fn answer<A: Activity>(
    index: usize,
    id: Uuid,
    done: Result<A::Row, ApiError>,
) -> Result<Answer, ApiError> {
    let mut a = Answer {
        index,
        id,
        status: Outcome::Updated,
        record: None,
        current: None,
        errors: None,
        detail: None,
        duplicate_of: None,
    };
    match done {
        Ok(row) => a.record = serde_json::to_value(A::Dto::from(row)).ok(),
        Err(ApiError::NotFound) => a.status = Outcome::NotFound,
        Err(ApiError::Conflict { detail, current }) => {
            a.status = Outcome::Conflict;
            a.detail = Some(detail);
            a.current = current;
        }
        Err(ApiError::Validation(errors)) => {
            a.status = Outcome::Invalid;
            a.errors = Some(errors);
        }
        Err(other) => return Err(other),
    }
    Ok(a)
}

/// Checks the list: 1 to `MAX_IDS` entries, an id given twice with two
/// different versions refused.
fn check_ids(ids: &[Target]) -> Result<(), ApiError> {
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(ApiError::validation(
            "ids",
            if ids.is_empty() {
                "required"
            } else {
                "too_many"
            },
            format!("give 1 to {MAX_IDS} ids"),
        ));
    }
    let mut seen: HashMap<Uuid, (usize, Option<i32>)> = HashMap::new();
    for (i, t) in ids.iter().enumerate() {
        match seen.get(&t.id) {
            Some((first, v)) if *v != t.version => {
                return Err(ApiError::validation(
                    &format!("ids[{i}]"),
                    "conflicting_versions",
                    format!("this id is at ids[{first}] with another version"),
                ));
            }
            Some(_) => {}
            None => {
                seen.insert(t.id, (i, t.version));
            }
        }
    }
    Ok(())
}

async fn bulk<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: BulkBody,
    action: Action,
) -> Result<HttpResponse, ApiError> {
    user.require(CHECKERS)?;
    check_ids(&body.ids)?;
    let reason = reason_for(
        action,
        body.reason
            .is_some()
            .then(|| ReasonBody {
                reason: body.reason.clone(),
                version: None,
            })
            .as_ref(),
    )?;
    let ctx = Ctx::user(&user, &req);
    let targets = body.ids;
    let answers = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            // The first entry of each id, taken in the order of the ids.
            let mut first: HashMap<Uuid, usize> = HashMap::new();
            for (i, t) in targets.iter().enumerate() {
                first.entry(t.id).or_insert(i);
            }
            let mut order: Vec<usize> = first.values().copied().collect();
            order.sort_by_key(|&i| targets[i].id);
            let mut answers: Vec<Option<Answer>> = vec![None; targets.len()];
            for i in order {
                let t = targets[i];
                let done = conn.transaction(|conn| {
                    change_status::<A>(
                        conn,
                        &scope,
                        &user,
                        &ctx,
                        t.id,
                        t.version,
                        action,
                        reason.as_deref(),
                    )
                });
                answers[i] = Some(answer::<A>(i, t.id, done)?);
            }
            answers
                .iter()
                .enumerate()
                .map(|(i, a)| match a {
                    Some(a) => Ok(a.clone()),
                    None => {
                        let at = first
                            .get(&targets[i].id)
                            .copied()
                            .ok_or_else(|| ApiError::internal("a bulk entry lost its first"))?;
                        let mut again = answers[at]
                            .clone()
                            .ok_or_else(|| ApiError::internal("a bulk entry was not answered"))?;
                        again.index = i;
                        again.duplicate_of = Some(at);
                        Ok(again)
                    }
                })
                .collect::<Result<Vec<Answer>, ApiError>>()
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(BulkResponse { results: answers }))
}

pub async fn verify<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<BulkBody>,
) -> Result<HttpResponse, ApiError> {
    bulk::<A>(state, user, req, body.into_inner(), Action::Verify).await
}

pub async fn reject<A: Activity>(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Json<BulkBody>,
) -> Result<HttpResponse, ApiError> {
    bulk::<A>(state, user, req, body.into_inner(), Action::Reject).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_ids_or_ids_with_versions() {
        let id = Uuid::now_v7();
        let t: Vec<Target> =
            serde_json::from_value(serde_json::json!([id, { "id": id, "version": 3 }])).unwrap();
        assert_eq!((t[0].id, t[0].version), (id, None));
        assert_eq!((t[1].id, t[1].version), (id, Some(3)));
        assert!(serde_json::from_value::<Target>(serde_json::json!(7)).is_err());
        assert!(serde_json::from_value::<Target>(serde_json::json!({ "id": id, "x": 1 })).is_err());
    }

    #[test]
    fn an_id_twice_with_two_versions_is_refused() {
        let id = Uuid::now_v7();
        let same = [
            Target {
                id,
                version: Some(1),
            },
            Target {
                id,
                version: Some(1),
            },
        ];
        assert!(check_ids(&same).is_ok());
        let two = [
            Target {
                id,
                version: Some(1),
            },
            Target {
                id,
                version: Some(2),
            },
        ];
        assert!(check_ids(&two).is_err());
        assert!(check_ids(&[]).is_err());
    }
}
