//! `GET /changes`: a feed of the records changed inside the caller's area,
//! in the order the changes committed, for portals that mirror data.
//!
//! The feed reads the audit trail's chain: every change appends an event in
//! its own transaction, and the linker numbers events (`seq`) in commit
//! order, so a cursor on `seq` never skips a change that committed late.
//! Items name what changed, never its content: the client reads the record
//! itself, with the access that implies.

pub mod announce;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{Action, Entity};
use crate::auth::{AuthUser, Scope};
use crate::db;
use crate::db::schema::audit_events;
use crate::error::ApiError;
use crate::json::Query;
use crate::pagination;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/changes").route(web::get().to(list)));
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_cursor` of the last page, as it was; absent: from the
    /// beginning (422 if not one this service issued).
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (422 otherwise); default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only changes to this kind of record (422 for another).
    #[param(schema_with = feed_entities)]
    pub entity: Option<String>,
}

/// The kinds of record the feed lists.
pub(crate) fn feed_entities() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(Entity::feed().into_iter().map(Entity::as_str)))
        .build()
}

/// The actions that change a record.
pub(crate) fn change_actions() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(Action::changes()))
        .build()
}

/// A record that changed: what, where and when, never its content.
#[derive(Debug, Queryable, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// The change's place in the feed, in commit order.
    #[schema(minimum = 1)]
    pub seq: i64,
    pub at: DateTime<Utc>,
    #[schema(schema_with = feed_entities)]
    pub entity: String,
    /// The record's id.
    pub entity_id: Option<String>,
    #[schema(schema_with = change_actions)]
    pub action: String,
    /// The unit the record lies in.
    pub unit_id: Option<Uuid>,
}

/// A page of the feed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangesPage {
    pub items: Vec<Change>,
    /// Always set: the position to poll from next, even when nothing new
    /// came (then it is the cursor sent).
    pub next_cursor: String,
    /// Whether more changes are waiting now.
    pub more: bool,
}

/// The change feed
///
/// The records created, changed, archived or erased inside the caller's
/// area, in the order the changes committed; from its start it lists every
/// record that exists. Items name what changed, never its content: read
/// the record itself. Poll with `next_cursor`.
#[utoipa::path(
    get,
    path = "/api/v1/changes",
    tag = "changes",
    operation_id = "listChanges",
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of changes.", body = ChangesPage, links(
            ("next" = (operation_id = "listChanges", parameters(("cursor" = "$response.body#/next_cursor"), ("entity" = "$request.query.entity")), description = "The changes after this page.")),
        )),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after = pagination::decode::<i64>(q.cursor.as_deref())?.unwrap_or(0);
    let feed = Entity::feed();
    let entity = match q.entity.as_deref() {
        None => None,
        Some(raw) => match Entity::parse(raw) {
            Ok(e) if e.in_feed() => Some(e),
            _ => {
                let names: Vec<&str> = feed.iter().map(|e| e.as_str()).collect();
                return Err(ApiError::validation(
                    "entity",
                    "not_allowed",
                    format!("must be one of {}", names.join(", ")),
                ));
            }
        },
    };
    let rows: Vec<Change> = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let mut query = audit_events::table
            .filter(audit_events::seq.gt(after))
            .filter(audit_events::action.eq_any(Action::changes()))
            .into_boxed();
        query = match entity {
            Some(e) => query.filter(audit_events::entity.eq(e.as_str())),
            None => query.filter(audit_events::entity.eq_any(feed.iter().map(|e| e.as_str()))),
        };
        query = query.filter(scope.area_filter("audit_events"));
        Ok(query
            .order(audit_events::seq)
            .limit(limit + 1)
            .select((
                audit_events::seq.assume_not_null(),
                audit_events::at,
                audit_events::entity,
                audit_events::entity_id,
                audit_events::action,
                audit_events::unit_id,
            ))
            .load(conn)?)
    })
    .await?;
    let more = rows.len() as i64 > limit;
    let mut items = rows;
    items.truncate(limit as usize);
    let last = items.last().map_or(after, |c| c.seq);
    Ok(HttpResponse::Ok().json(ChangesPage {
        items,
        next_cursor: pagination::encode(&last),
        more,
    }))
}
