//! `/units`, `/units/{id}`, `/units/{id}/children`, `/units/{id}/lineage`.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::dto::{ChildrenQuery, LineageDto, ListQuery, MAX_Q_CHARS, UnitDto, VillagePatch};
use super::repo::{self, UnitFilter};
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::openapi::problems::Validation;
use crate::pagination::{self, Page};
use crate::state::AppState;

fn page_of(rows: Vec<super::model::UnitRow>, limit: i64) -> pagination::Page<UnitDto> {
    let page = pagination::page(rows, limit, |r| (r.code.clone(), r.id));
    pagination::Page {
        items: page.items.into_iter().map(UnitDto::from).collect(),
        next_cursor: page.next_cursor,
    }
}

/// List units
///
/// Units in force on `at` (default today in Vietnam), by code. Every role;
/// not limited to the caller's area, except with `unassigned=true`.
#[utoipa::path(
    get,
    path = "/api/v1/units",
    tag = "units",
    operation_id = "listUnits",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of units.", body = Page<UnitDto>),
        (status = 422, response = Validation),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    pagination::only_sort(query.sort.as_deref(), "code")?;
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
    if query.unassigned {
        if query.level.is_some_and(|l| l != super::dto::Level::Village) {
            return Err(ApiError::validation(
                "unassigned",
                "villages_only",
                "only villages wait to be assigned: use level=village",
            ));
        }
        if query.parent_id.is_some() || query.q.is_some() || query.at.is_some() {
            return Err(ApiError::validation(
                "unassigned",
                "no_other_filters",
                "unassigned=true takes no parent_id, q or at",
            ));
        }
        let rows = db::run(&state.pool, move |conn| {
            let scope = crate::auth::Scope::of(conn, &user)?;
            repo::unassigned_villages(conn, &scope, after, limit)
        })
        .await?;
        return Ok(HttpResponse::Ok().json(page_of(rows, limit)));
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

/// Get a unit
///
/// One unit, whatever its period. Every role.
#[utoipa::path(
    get,
    path = "/api/v1/units/{id}",
    tag = "units",
    operation_id = "getUnit",
    params(("id" = Uuid, Path, description = "The unit's id.")),
    responses((status = 200, description = "The unit.", body = UnitDto))
)]
pub async fn get(
    state: web::Data<AppState>,
    _user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db::run(&state.pool, move |conn| repo::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(UnitDto::from(row)))
}

/// List a unit's children
///
/// The units directly under the unit that are in force on `at` (default
/// today), by code. Every role.
#[utoipa::path(
    get,
    path = "/api/v1/units/{id}/children",
    tag = "units",
    operation_id = "listUnitChildren",
    params(("id" = Uuid, Path, description = "The unit's id."), ChildrenQuery),
    responses(
        (status = 200, description = "A page of units.", body = Page<UnitDto>),
        (status = 422, response = Validation),
    )
)]
pub async fn children(
    state: web::Data<AppState>,
    _user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<ChildrenQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    pagination::only_sort(query.sort.as_deref(), "code")?;
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

/// A unit's lineage
///
/// The units of the period before and after that this one relates to,
/// from the official table of the 1 July 2025 reform. Every role.
#[utoipa::path(
    get,
    path = "/api/v1/units/{id}/lineage",
    tag = "units",
    operation_id = "getUnitLineage",
    params(("id" = Uuid, Path, description = "The unit's id.")),
    responses((status = 200, description = "The lineage.", body = LineageDto))
)]
pub async fn lineage(
    state: web::Data<AppState>,
    _user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = db::run(&state.pool, move |conn| repo::lineage(conn, id)).await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVillage {
    /// The commune the village belongs to: a commune in force, inside the
    /// caller's area.
    pub parent_id: Uuid,
    /// Full name with its type, as the commune writes it ("Thôn Nà Pình").
    #[schema(value_type = crate::domain::Name)]
    pub name: String,
    /// The kind of village: Thôn, Bản, Xóm, Tổ dân phố, Ấp, Buôn, Làng, ...
    #[serde(rename = "type")]
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]*$",
        max_length = 30
    )]
    pub unit_type: String,
}

/// The longest village type, in characters.
pub const MAX_TYPE_CHARS: usize = 30;

/// Create a village
///
/// Villages have no national code, so communes' officers (and admins)
/// create them under a current commune of their area; the code is the
/// commune's with the next two-digit number. `admin` and `officer`.
#[utoipa::path(
    post,
    path = "/api/v1/units",
    tag = "units",
    operation_id = "createVillage",
    request_body = NewVillage,
    responses((status = 201, description = "The new village.", body = UnitDto))
)]
pub async fn create_village(
    state: web::Data<AppState>,
    user: AuthUser,
    req: actix_web::HttpRequest,
    body: Json<NewVillage>,
) -> Result<HttpResponse, ApiError> {
    use crate::auth::{Role, Scope};
    use crate::domain::{Check, Name};
    user.require(&[Role::Admin, Role::Officer])?;
    let body = body.into_inner();
    let mut check = Check::new();
    let name = check.take("name", Name::parse(&body.name));
    let unit_type = check.take("type", Name::parse(&body.unit_type));
    if unit_type
        .as_ref()
        .is_some_and(|t| t.as_str().chars().count() > MAX_TYPE_CHARS)
    {
        check.fail(
            "type",
            "too_long",
            format!("must be at most {MAX_TYPE_CHARS} characters"),
        );
    }
    let ctx = crate::audit::Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        diesel::Connection::transaction(conn, |conn| {
            let scope = Scope::of(conn, &user)?;
            let commune = match repo::get(conn, body.parent_id) {
                Ok(u) if scope.contains_path(&u.path) => Some(u),
                Ok(_) | Err(ApiError::NotFound) => None,
                Err(e) => return Err(e),
            };
            match &commune {
                None => check.fail("parent_id", "unknown_unit", "no such commune in your area"),
                Some(c) if c.level != "commune" => check.fail(
                    "parent_id",
                    "not_a_commune",
                    "villages are created under a commune",
                ),
                Some(c) if c.valid_to.is_some() => check.fail(
                    "parent_id",
                    "not_current",
                    "the commune is no longer in force",
                ),
                Some(_) => {}
            }
            check.finish()?;
            let (Some(commune), Some(name), Some(unit_type)) = (commune, name, unit_type) else {
                return Err(ApiError::internal(
                    "village passed its check with a missing field",
                ));
            };
            let row = repo::create_village(
                conn,
                &commune,
                name.as_str(),
                unit_type.as_str(),
                repo::today(),
            )?;
            let e = crate::audit::Event::new(
                crate::audit::Action::Create,
                crate::audit::Entity::Unit,
                row.id,
            )
            .at(row.id, &row.path)
            .after(UnitDto::from(row.clone()));
            crate::audit::record(conn, &ctx, e)?;
            Ok(row)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(UnitDto::from(row)))
}

/// Assign a village to its commune of today
///
/// For a village of a commune split in the reform: an officer moves it,
/// and every record it holds, into the commune of today named by
/// `parent_id`, which must be a commune of the caller's area that the old
/// commune went into (422 otherwise); reports for the old units still
/// count it under its old commune. One audit event. `admin` and `officer`.
#[utoipa::path(
    patch,
    path = "/api/v1/units/{id}",
    tag = "units",
    operation_id = "assignVillage",
    params(("id" = Uuid, Path, description = "The village's id.")),
    request_body = VillagePatch,
    responses(
        (status = 200, description = "The village in its new commune.", body = UnitDto),
        (status = 409, description = "The village is already in a commune of today.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign_village(
    state: web::Data<AppState>,
    user: AuthUser,
    req: actix_web::HttpRequest,
    id: web::Path<Uuid>,
    body: crate::json::Json<VillagePatch>,
) -> Result<HttpResponse, ApiError> {
    use crate::auth::{Role, Scope};
    use crate::db::schema::units;
    use diesel::prelude::*;
    user.require(&[Role::Admin, Role::Officer])?;
    let id = id.into_inner();
    let parent_id = body.into_inner().parent_id;
    let ctx = crate::audit::Ctx::user(&user, &req);
    let row = db::run(&state.pool, move |conn| {
        diesel::Connection::transaction(conn, |conn| {
            let scope = Scope::of(conn, &user)?;
            let village: super::model::UnitRow = units::table
                .find(id)
                .for_update()
                .select(super::model::UnitRow::as_select())
                .first(conn)?;
            if village.level != "village" {
                return Err(ApiError::NotFound);
            }
            let old_commune = village
                .parent_id
                .map(|p| repo::get(conn, p))
                .transpose()?
                .ok_or_else(|| ApiError::internal("a village without a commune"))?;
            let choices: Vec<_> = repo::successors(conn, old_commune.id)?
                .into_iter()
                .filter(|c| scope.contains_path(&c.path))
                .collect();
            let waiting = old_commune.valid_to.is_some();
            let assignable_here = waiting && !choices.is_empty();
            if !scope.contains_path(&village.path) && !assignable_here {
                return Err(ApiError::NotFound);
            }
            if !waiting {
                return Err(ApiError::conflict(format!(
                    "the village is already in {}, a commune of today; only villages of a split commune are assigned",
                    old_commune.name
                )));
            }
            let Some(commune) = choices.into_iter().find(|c| c.id == parent_id) else {
                return Err(ApiError::validation(
                    "parent_id",
                    "not_a_successor",
                    format!(
                        "the village can go only to a commune of your area that {} went into",
                        old_commune.name
                    ),
                ));
            };
            let moved = repo::move_village(conn, &village, &commune, Some(user.id))?;
            let e = crate::audit::Event::new(
                crate::audit::Action::Update,
                crate::audit::Entity::Unit,
                moved.id,
            )
                .at(moved.id, &moved.path)
                .before(UnitDto::from(village))
                .after(UnitDto::from(moved.clone()));
            crate::audit::record(conn, &ctx, e)?;
            Ok(moved)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(UnitDto::from(row)))
}
