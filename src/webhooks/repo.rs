//! Queries on `webhooks` and `webhook_deliveries`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::{audit_events, webhook_deliveries, webhooks};
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: Uuid,
    pub client_id: Uuid,
    pub url: String,
    pub entities: Vec<Option<String>>,
    pub active: bool,
    /// Sealed (see `secrets`); never serialized, not even into the audit
    /// trail.
    #[serde(skip)]
    pub secret: String,
    #[serde(skip)]
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl WebhookRow {
    pub fn entity_names(&self) -> Vec<String> {
        self.entities.iter().flatten().cloned().collect()
    }
}

/// What a new webhook is registered with.
pub struct NewWebhook<'a> {
    pub id: Uuid,
    pub client_id: Uuid,
    pub url: &'a str,
    pub entities: &'a [String],
    pub active: bool,
    pub sealed_secret: &'a str,
}

pub fn create(conn: &mut PgConnection, new: &NewWebhook) -> Result<WebhookRow, ApiError> {
    Ok(diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(new.id),
            webhooks::client_id.eq(new.client_id),
            webhooks::url.eq(new.url),
            webhooks::entities.eq(new.entities.iter().cloned().map(Some).collect::<Vec<_>>()),
            webhooks::active.eq(new.active),
            webhooks::secret.eq(new.sealed_secret),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)?)
}

/// The client's webhooks, oldest first.
pub fn list(conn: &mut PgConnection, client: Uuid) -> Result<Vec<WebhookRow>, ApiError> {
    Ok(webhooks::table
        .filter(webhooks::client_id.eq(client))
        .order((webhooks::created_at, webhooks::id))
        .select(WebhookRow::as_select())
        .load(conn)?)
}

/// The client's webhook `id`, with its row lock when `lock`; another
/// client's is not found.
pub fn find(
    conn: &mut PgConnection,
    client: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<WebhookRow, ApiError> {
    let query = webhooks::table
        .filter(webhooks::id.eq(id))
        .filter(webhooks::client_id.eq(client))
        .select(WebhookRow::as_select());
    let row = if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    };
    row.ok_or(ApiError::NotFound)
}

/// What an edit changes.
pub struct Changes {
    pub url: Option<String>,
    pub entities: Option<Vec<String>>,
    pub active: Option<bool>,
}

pub fn update(
    conn: &mut PgConnection,
    before: &WebhookRow,
    c: Changes,
) -> Result<WebhookRow, ApiError> {
    Ok(diesel::update(webhooks::table.find(before.id))
        .set((
            webhooks::url.eq(c.url.unwrap_or_else(|| before.url.clone())),
            webhooks::entities.eq(c
                .entities
                .map(|e| e.into_iter().map(Some).collect())
                .unwrap_or_else(|| before.entities.clone())),
            webhooks::active.eq(c.active.unwrap_or(before.active)),
            webhooks::updated_at.eq(diesel::dsl::now),
            webhooks::version.eq(webhooks::version + 1),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)?)
}

/// A new sealed secret; the old one keeps signing until `grace_until`.
pub fn rotate(
    conn: &mut PgConnection,
    id: Uuid,
    sealed: &str,
    previous: Option<(String, DateTime<Utc>)>,
) -> Result<WebhookRow, ApiError> {
    let (prev, until) = match previous {
        Some((s, u)) => (Some(s), Some(u)),
        None => (None, None),
    };
    Ok(diesel::update(webhooks::table.find(id))
        .set((
            webhooks::secret.eq(sealed),
            webhooks::previous_secret.eq(prev),
            webhooks::previous_secret_until.eq(until),
            webhooks::updated_at.eq(diesel::dsl::now),
            webhooks::version.eq(webhooks::version + 1),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)?)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), ApiError> {
    diesel::delete(webhooks::table.find(id)).execute(conn)?;
    Ok(())
}

/// A delivery's own columns.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub event_id: i64,
}

/// The change a delivery carries: an item of the change feed, read from
/// its audit event.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_events)]
#[schema(as = WebhookChange)]
pub struct DeliveredChange {
    /// The change's place in the feed; `null` for the moment between its
    /// commit and its numbering (a fraction of a second).
    #[schema(required = true, minimum = 1)]
    pub seq: Option<i64>,
    pub at: DateTime<Utc>,
    #[schema(schema_with = crate::changes::feed_entities)]
    pub entity: String,
    /// The record's id.
    #[schema(required = true)]
    pub entity_id: Option<String>,
    #[schema(schema_with = crate::changes::change_actions)]
    pub action: String,
    /// The unit the record lies in.
    #[schema(required = true)]
    pub unit_id: Option<Uuid>,
}

/// The states of a delivery: waiting for its next attempt, answered with a
/// 2xx, or given up after the retry window.
pub const STATUSES: [&str; 3] = ["pending", "delivered", "failed"];

/// A delivery with the change it carries.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    #[diesel(embed)]
    pub delivery: Delivery,
    #[diesel(embed)]
    pub change: DeliveredChange,
}

/// A webhook's deliveries, newest change first, after the cursor's event
/// id, optionally of one status; `limit + 1` rows.
pub fn deliveries(
    conn: &mut PgConnection,
    webhook: Uuid,
    status: Option<&str>,
    before_event: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, ApiError> {
    let mut query = webhook_deliveries::table
        .inner_join(audit_events::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .into_boxed();
    if let Some(s) = status {
        query = query.filter(webhook_deliveries::status.eq(s.to_string()));
    }
    if let Some(e) = before_event {
        query = query.filter(webhook_deliveries::event_id.lt(e));
    }
    Ok(query
        .order(webhook_deliveries::event_id.desc())
        .limit(limit + 1)
        .select(DeliveryRow::as_select())
        .load(conn)?)
}

pub fn delivery(conn: &mut PgConnection, webhook: Uuid, id: Uuid) -> Result<DeliveryRow, ApiError> {
    webhook_deliveries::table
        .inner_join(audit_events::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .filter(webhook_deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

/// Sends delivery `id` again as soon as the sender can (after the record's
/// earlier deliveries still waiting), with a new day of retries.
pub fn redeliver(conn: &mut PgConnection, id: Uuid) -> Result<(), ApiError> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::next_attempt_at.eq(diesel::dsl::now),
            webhook_deliveries::retry_from.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}
