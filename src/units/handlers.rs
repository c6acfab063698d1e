//! `/units`, `/units/{id}`, `/units/{id}/children`, `/units/{id}/lineage`.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::dto::{ChildrenQuery, ListQuery, UnitDto};
use super::repo::{self, UnitFilter};
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::pagination;
use crate::startup::AppState;

const MAX_Q_CHARS: usize = 100;

fn page_of(rows: Vec<super::model::UnitRow>, limit: i64) -> pagination::Page<UnitDto> {
    let page = pagination::page(rows, limit, |r| (r.code.clone(), r.id));
    pagination::Page {
        items: page.items.into_iter().map(UnitDto::from).collect(),
        next_cursor: page.next_cursor,
    }
}

pub async fn list(
    state: web::Data<AppState>,
    _user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after = pagination::decode::<(String, Uuid)>(query.cursor.as_deref())?;
    if query
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
    let filter = UnitFilter {
        level: query.level,
        parent_id: query.parent_id,
        q: query.q,
        at: query.at,
    };
    let rows = db::run(&state.pool, move |conn| {
        repo::list(conn, &filter, after, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page_of(rows, limit)))
}

pub async fn get(
    state: web::Data<AppState>,
    _user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db::run(&state.pool, move |conn| repo::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(UnitDto::from(row)))
}

pub async fn children(
    state: web::Data<AppState>,
    _user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<ChildrenQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let after = pagination::decode::<(String, Uuid)>(query.cursor.as_deref())?;
    let filter = UnitFilter {
        parent_id: Some(id),
        at: query.at,
        ..UnitFilter::default()
    };
    let rows = db::run(&state.pool, move |conn| {
        repo::get(conn, id)?;
        repo::list(conn, &filter, after, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page_of(rows, limit)))
}

pub async fn lineage(
    state: web::Data<AppState>,
    _user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = db::run(&state.pool, move |conn| repo::lineage(conn, id)).await?;
    Ok(HttpResponse::Ok().json(body))
}
