//! `/catalog/assistance-kinds` and `/catalog/training-topics`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Role, Scope};
use crate::db;
use crate::db::schema::catalog_entries;
use crate::domain::{Check, Name};
use crate::error::ApiError;
use crate::json::{Json, Query};
use crate::records;
use crate::state::AppState;

/// The kind named in the path, as stored.
pub fn kind_of(path: &str) -> Result<&'static str, ApiError> {
    match path {
        "assistance-kinds" => Ok("assistance_kind"),
        "training-topics" => Ok("training_topic"),
        _ => Err(ApiError::NotFound),
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = catalog_entries)]
pub struct Entry {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub retired_at: Option<DateTime<Utc>>,
    pub version: i32,
}

/// A catalogue entry is named by its kind and code.
impl records::Versioned for Entry {
    type Key = (&'static str, String);
    type Dto = Entry;

    /// The catalogue is the whole country's: every admin's scope.
    fn lock(
        conn: &mut PgConnection,
        _scope: &Scope,
        (kind, code): (&'static str, String),
    ) -> Result<Entry, ApiError> {
        Ok(catalog_entries::table
            .find((kind, code))
            .select(Entry::as_select())
            .for_update()
            .first(conn)?)
    }

    fn version(&self) -> i32 {
        self.version
    }

    fn dto(&self) -> Entry {
        self.clone()
    }
}

fn respond(status: actix_web::http::StatusCode, entry: Entry) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((actix_web::http::header::ETAG, records::etag(entry.version)))
        .json(entry)
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub include_retired: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryPatch {
    pub name_vi: Option<String>,
    pub name_en: Option<String>,
    pub retired: Option<bool>,
    /// The version the change is based on, unless `If-Match` says it.
    pub version: Option<i64>,
}

/// Codes are short snake_case words: they travel in records and URLs.
fn check_code(check: &mut Check, code: &str) {
    let ok = (2..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        check.fail(
            "code",
            "invalid_code",
            "must be 2 to 40 characters of a-z, 0-9 and _",
        );
    }
}

/// The active codes of a kind, for checking the codes a record uses.
pub fn active_codes(conn: &mut PgConnection, kind: &str) -> Result<Vec<String>, ApiError> {
    Ok(catalog_entries::table
        .filter(catalog_entries::kind.eq(kind))
        .filter(catalog_entries::retired_at.is_null())
        .select(catalog_entries::code)
        .load(conn)?)
}

/// The active codes of `kind`: those fetched already for a batch, or from
/// the database.
pub fn known_or_active<'a>(
    conn: &mut PgConnection,
    known: &'a Option<Vec<String>>,
    kind: &str,
) -> Result<std::borrow::Cow<'a, [String]>, ApiError> {
    Ok(match known {
        Some(codes) => std::borrow::Cow::Borrowed(codes.as_slice()),
        None => std::borrow::Cow::Owned(active_codes(conn, kind)?),
    })
}

pub async fn list(
    state: web::Data<AppState>,
    _user: AuthUser,
    kind: web::Path<String>,
    query: Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let include_retired = query.include_retired;
    let items = db::run(&state.pool, move |conn| {
        let mut q = catalog_entries::table
            .filter(catalog_entries::kind.eq(kind))
            .into_boxed();
        if !include_retired {
            q = q.filter(catalog_entries::retired_at.is_null());
        }
        Ok(q.order(catalog_entries::created_at.asc())
            .then_order_by(catalog_entries::code)
            .select(Entry::as_select())
            .load(conn)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": null })))
}

pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    kind: web::Path<String>,
    body: Json<NewEntry>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let kind = kind_of(&kind)?;
    let body = body.into_inner();
    let mut check = Check::new();
    check_code(&mut check, &body.code);
    let name_vi = check.take("name_vi", Name::parse(&body.name_vi));
    let name_en = check.take("name_en", Name::parse(&body.name_en));
    check.finish()?;
    let (Some(name_vi), Some(name_en)) = (name_vi, name_en) else {
        return Err(ApiError::internal(
            "catalogue entry passed its check with a missing name",
        ));
    };
    let ctx = Ctx::user(&user, &req);
    let entry = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let entry: Entry = diesel::insert_into(catalog_entries::table)
                .values((
                    catalog_entries::kind.eq(kind),
                    catalog_entries::code.eq(&body.code),
                    catalog_entries::name_vi.eq(name_vi.as_str()),
                    catalog_entries::name_en.eq(name_en.as_str()),
                ))
                .returning(Entry::as_returning())
                .get_result(conn)
                .map_err(|e| match ApiError::from(e) {
                    ApiError::Conflict { .. } => ApiError::conflict(format!(
                        "code {} is already in the catalogue",
                        body.code
                    )),
                    other => other,
                })?;
            let e = Event::new(
                Action::Create,
                Entity::CatalogEntry,
                format!("{kind}/{}", entry.code),
            )
            .after(&entry);
            audit::record(conn, &ctx, e)?;
            Ok(entry)
        })
    })
    .await?;
    Ok(respond(actix_web::http::StatusCode::CREATED, entry))
}

pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Json<EntryPatch>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let (kind, code) = path.into_inner();
    let kind = kind_of(&kind)?;
    let body = body.into_inner();
    let expected = records::expected_version(&req, body.version)?;
    let mut check = Check::new();
    let name_vi = check.take_opt("name_vi", body.name_vi, |n| Name::parse(&n));
    let name_en = check.take_opt("name_en", body.name_en, |n| Name::parse(&n));
    check.finish()?;
    let (Some(name_vi), Some(name_en)) = (name_vi, name_en) else {
        return Err(ApiError::internal(
            "catalogue patch passed its check with a missing name",
        ));
    };
    let ctx = Ctx::user(&user, &req);
    let entry = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let current: Entry =
                records::claim(conn, &Scope::All, (kind, code.clone()), Some(expected))?;
            let target = catalog_entries::table.find((kind, &code));
            let retired_at = match body.retired {
                Some(true) => current.retired_at.or(Some(Utc::now())),
                Some(false) => None,
                None => current.retired_at,
            };
            let entry: Entry = diesel::update(target)
                .set((
                    catalog_entries::name_vi
                        .eq(name_vi.map_or(current.name_vi.clone(), Name::into_inner)),
                    catalog_entries::name_en
                        .eq(name_en.map_or(current.name_en.clone(), Name::into_inner)),
                    catalog_entries::retired_at.eq(retired_at),
                    catalog_entries::version.eq(catalog_entries::version + 1),
                    catalog_entries::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Entry::as_returning())
                .get_result(conn)?;
            let e = Event::new(
                Action::Update,
                Entity::CatalogEntry,
                format!("{kind}/{code}"),
            )
            .before(&current)
            .after(&entry);
            audit::record(conn, &ctx, e)?;
            Ok(entry)
        })
    })
    .await?;
    Ok(respond(actix_web::http::StatusCode::OK, entry))
}
