//! Queries on `clients`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::clients;
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

pub fn create(
    conn: &mut PgConnection,
    client_id: &str,
    secret_hash: &str,
    name: &str,
    area: Option<Uuid>,
) -> Result<ClientRow, ApiError> {
    Ok(diesel::insert_into(clients::table)
        .values((
            clients::id.eq(Uuid::now_v7()),
            clients::client_id.eq(client_id),
            clients::secret_hash.eq(secret_hash),
            clients::name.eq(name),
            clients::area_unit_id.eq(area),
        ))
        .returning(ClientRow::as_returning())
        .get_result(conn)?)
}
