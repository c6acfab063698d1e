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

/// An assistance kind or a training topic.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = catalog_entries)]
#[schema(as = CatalogEntry)]
pub struct Entry {
    /// What records carry.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// Set when retired.
    #[schema(required = true)]
    pub retired_at: Option<DateTime<Utc>>,
    /// Starts at 1; each change adds one.
    #[schema(minimum = 1)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `true` to list retired entries too.
    #[serde(default)]
    #[param(default = false)]
    pub include_retired: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewCatalogEntry)]
pub struct NewEntry {
    /// 2 to 40 characters of a-z, 0-9 and _.
    #[schema(pattern = "^[a-z0-9_]{2,40}$")]
    pub code: String,
    #[schema(value_type = crate::domain::Name)]
    pub name_vi: String,
    #[schema(value_type = crate::domain::Name)]
    pub name_en: String,
}

/// Fields left out stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CatalogEntryPatch)]
pub struct EntryPatch {
    /// A new Vietnamese name; absent or `null` keeps it.
    #[schema(value_type = Option<crate::domain::Name>)]
    pub name_vi: Option<String>,
    /// A new English name; absent or `null` keeps it.
    #[schema(value_type = Option<crate::domain::Name>)]
    pub name_en: Option<String>,
    /// `true` retires, `false` brings back; absent or `null` keeps it.
    pub retired: Option<bool>,
    /// The version the change is based on; `If-Match` wins over it, and
    /// one of the two is needed (422).
    pub version: Option<i64>,
}

/// The entries of one kind, oldest first.
#[derive(utoipa::ToSchema)]
#[schema(as = CatalogPage)]
#[allow(dead_code)]
pub struct EntryPage {
    pub items: Vec<Entry>,
    /// Always `null`: the list comes whole.
    #[schema(required = true, value_type = Option<String>)]
    pub next_cursor: Option<String>,
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

/// List a catalogue
///
/// Active entries (with `include_retired=true`, every entry), oldest
/// first, unpaged (`next_cursor` is always `null`). Every role.
#[utoipa::path(
    get,
    path = "/api/v1/catalog/{kind}",
    tag = "catalog",
    operation_id = "listCatalogEntries",
    params(
        ("kind" = crate::openapi::catalog::CatalogKind, Path, description = "The catalogue: assistance kinds or training topics (any other is a 404)."),
        ListQuery,
    ),
    responses((status = 200, description = "The entries.", body = EntryPage))
)]
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

/// Add a catalogue entry
///
/// Adds an entry; a code already in the catalogue, retired or not, is a
/// 409. `admin` only.
#[utoipa::path(
    post,
    path = "/api/v1/catalog/{kind}",
    tag = "catalog",
    operation_id = "createCatalogEntry",
    params(("kind" = crate::openapi::catalog::CatalogKind, Path, description = "The catalogue: assistance kinds or training topics (any other is a 404)."),),
    request_body = NewEntry,
    responses(
        (status = 201, description = "The new entry.", body = Entry,
            headers(("ETag" = String, description = "The entry's version, `\"1\"`."))),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
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

/// Rename, retire or restore an entry
///
/// Changes the fields sent, from the version in `If-Match` or `version`
/// (422 without, 409 if stale, with `current`). `admin` only.
#[utoipa::path(
    patch,
    path = "/api/v1/catalog/{kind}/{code}",
    tag = "catalog",
    operation_id = "updateCatalogEntry",
    params(
        ("kind" = crate::openapi::catalog::CatalogKind, Path, description = "The catalogue: assistance kinds or training topics (any other is a 404)."),
        ("code" = String, Path, description = "The entry's code; one not in this catalogue is a 404."),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^\s*(W/)?"*[+-]?[0-9]{1,9}"*\s*$"#, description = "The ETag of the version the change is based on (`\"3\"`, `W/\"3\"` or `3`); wins over a `version` in the body. 422 if unreadable, 409 with `current` if stale."),
    ),
    request_body = EntryPatch,
    responses(
        (status = 200, description = "The entry as changed.", body = Entry,
            headers(("ETag" = String, description = "The entry's new version."))),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
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
