//! Queries on `clients`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::scopes::ClientScopes;
use crate::auth::tokens::ClientGrant;
use crate::db::schema::{clients, units};
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: Uuid,
    pub client_id: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub name: String,
    pub area_unit_id: Option<Uuid>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub scopes: Vec<Option<String>>,
    pub rate_per_minute: i32,
    #[serde(skip)]
    pub previous_secret_hash: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub session_epoch: i64,
    pub version: i32,
}

impl ClientRow {
    pub fn scope_set(&self) -> ClientScopes {
        ClientScopes::from_claim(
            &self
                .scopes
                .iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// The hashes a secret may match now: the current one, and the one
    /// before a rotation while its grace lasts.
    pub fn secret_hashes(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut hashes = vec![self.secret_hash.clone()];
        if let (Some(old), Some(until)) = (&self.previous_secret_hash, self.previous_secret_until)
            && until > now
        {
            hashes.push(old.clone());
        }
        hashes
    }

    /// What a token of this client says of it.
    pub fn grant(&self) -> ClientGrant {
        ClientGrant {
            id: self.id,
            area: self.area_unit_id,
            epoch: self.session_epoch,
            scopes: self.scope_set(),
            rate_per_minute: u32::try_from(self.rate_per_minute).unwrap_or(1),
        }
    }
}

pub fn by_client_id(
    conn: &mut PgConnection,
    client_id: &str,
) -> Result<Option<ClientRow>, ApiError> {
    Ok(clients::table
        .filter(clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<ClientRow, ApiError> {
    Ok(clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)?)
}

/// A client id: 3 to 64 characters of a-z, 0-9, '.', '_' and '-'.
pub fn parse_client_id(raw: &str) -> Result<String, String> {
    crate::users::repo::parse_username(raw)
        .map_err(|_| "client id must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-'".into())
}

/// What a new client is registered with.
pub struct NewClient<'a> {
    pub client_id: &'a str,
    pub secret_hash: &'a str,
    pub name: &'a str,
    pub area: Option<Uuid>,
    pub scopes: ClientScopes,
    pub rate_per_minute: i32,
}

pub fn create(conn: &mut PgConnection, new: &NewClient) -> Result<ClientRow, ApiError> {
    Ok(diesel::insert_into(clients::table)
        .values((
            clients::id.eq(Uuid::now_v7()),
            clients::client_id.eq(new.client_id),
            clients::secret_hash.eq(new.secret_hash),
            clients::name.eq(new.name),
            clients::area_unit_id.eq(new.area),
            clients::scopes.eq(new.scopes.names().into_iter().map(Some).collect::<Vec<_>>()),
            clients::rate_per_minute.eq(new.rate_per_minute),
        ))
        .returning(ClientRow::as_returning())
        .get_result(conn)?)
}

/// The clients whose area lies inside the range `[lo, hi)` of unit paths
/// (every client for `None`), by client id.
pub fn list(
    conn: &mut PgConnection,
    range: Option<(String, String)>,
) -> Result<Vec<ClientRow>, ApiError> {
    let mut query = clients::table
        .left_join(units::table.on(clients::area_unit_id.eq(units::id.nullable())))
        .select(ClientRow::as_select())
        .order(clients::client_id)
        .into_boxed();
    if let Some((lo, hi)) = range {
        query = query.filter(units::path.ge(lo).and(units::path.lt(hi)));
    }
    Ok(query.load(conn)?)
}

/// A new secret; the old one keeps working until `grace_until`.
pub fn rotate(
    conn: &mut PgConnection,
    id: Uuid,
    secret_hash: &str,
    grace_until: DateTime<Utc>,
) -> Result<ClientRow, ApiError> {
    Ok(diesel::update(clients::table.find(id))
        .set((
            clients::previous_secret_hash.eq(clients::secret_hash.nullable()),
            clients::previous_secret_until.eq(grace_until),
            clients::secret_hash.eq(secret_hash),
            clients::updated_at.eq(diesel::dsl::now),
            clients::version.eq(clients::version + 1),
        ))
        .returning(ClientRow::as_returning())
        .get_result(conn)?)
}

/// Revokes a client: no new token, no secret; its epoch is raised by the
/// caller (`auth::sessions::end_client`) so that its tokens stop at once.
pub fn revoke(conn: &mut PgConnection, id: Uuid) -> Result<ClientRow, ApiError> {
    Ok(diesel::update(clients::table.find(id))
        .set((
            clients::active.eq(false),
            clients::revoked_at.eq(Some(Utc::now())),
            clients::previous_secret_hash.eq(None::<String>),
            clients::previous_secret_until.eq(None::<DateTime<Utc>>),
            clients::updated_at.eq(diesel::dsl::now),
            clients::version.eq(clients::version + 1),
        ))
        .returning(ClientRow::as_returning())
        .get_result(conn)?)
}
