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

#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    /// Where the last page ended; absent: from the beginning.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    /// Only changes to this kind of record.
    pub entity: Option<String>,
}

#[derive(Debug, Queryable, Serialize)]
pub struct Change {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub entity: String,
    pub entity_id: Option<String>,
    pub action: String,
    pub unit_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
pub struct ChangesPage {
    pub items: Vec<Change>,
    /// Always set: the position to poll from next, even when nothing new
    /// came (then it is the cursor sent).
    pub next_cursor: String,
    /// Whether more changes are waiting now.
    pub more: bool,
}

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
