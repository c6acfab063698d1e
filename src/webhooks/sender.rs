//! The background sender: delivers the outbox's pending deliveries.
//!
//! One instance sends at a time: each pass first renews a lease in
//! `webhook_sender` (held for a while past the longest pass), and an
//! instance that finds another's lease unexpired leaves the work to it;
//! when the holder stops, its lease runs out and another takes over. A
//! pass takes the due deliveries that are the oldest waiting of their
//! record (by the change's `seq`, the feed's commit order), so a record's
//! next change is never sent before its previous one is delivered or given
//! up, sends them side by side, and writes back each outcome: a 2xx answer
//! is delivered; anything else is retried with exponential backoff and
//! jitter until the retry window (a day by default) ends, then failed.
//!
//! Deliveries are at least once: a delivery whose answer came but whose
//! outcome could not be written (the database gone at that moment) is sent
//! again, with the same `webhook-id`, which receivers use to drop repeats.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::secrets::{self, Sealer};
use super::target;
use crate::config::WebhookSettings;
use crate::db::{self, PgPool};
use crate::error::ApiError;

/// How often the sender looks for due deliveries.
pub const SEND_EVERY: Duration = Duration::from_millis(500);
/// The most deliveries one pass sends.
const BATCH: i64 = 50;

/// Starts the sender on the current runtime, for as long as it lives.
pub fn spawn(pool: PgPool, sealer: Sealer, settings: WebhookSettings) -> std::io::Result<()> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        .timeout(settings.timeout)
        .dns_resolver(Arc::new(target::Guard {
            allow_loopback: settings.allow_loopback,
        }))
        .user_agent(concat!("banso-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| std::io::Error::other(format!("webhook HTTP client: {e}")))?;
    let sender = Arc::new(Sender {
        pool,
        sealer,
        settings,
        http,
        holder: Uuid::new_v4(),
    });
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(SEND_EVERY);
        loop {
            tick.tick().await;
            // A full batch means more may be due now.
            loop {
                match sender.pass().await {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook sender pass failed; retrying");
                        break;
                    }
                }
            }
        }
    });
    Ok(())
}

struct Sender {
    pool: PgPool,
    sealer: Sealer,
    settings: WebhookSettings,
    http: reqwest::Client,
    /// This instance's name in the lease.
    holder: Uuid,
}

#[derive(QueryableByName, Debug)]
struct Due {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    webhook_id: Uuid,
    #[diesel(sql_type = Int4)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    retry_from: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    secret: String,
    #[diesel(sql_type = Nullable<Text>)]
    previous_secret: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    previous_secret_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = Nullable<Text>)]
    entity_id: Option<String>,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    unit_id: Option<Uuid>,
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = SqlUuid)]
    #[allow(dead_code)]
    holder: Uuid,
}

#[derive(QueryableByName)]
struct Any {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    any: bool,
}

/// What one attempt came to.
#[derive(Debug)]
struct Outcome {
    id: Uuid,
    status: Option<u16>,
    /// `None` when delivered.
    error: Option<String>,
    attempts: i32,
    retry_from: DateTime<Utc>,
}

/// The body of a delivery: the change as the feed lists it, in the
/// Standard Webhooks envelope.
pub fn body(d: &crate::changes::Change) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": format!("{}.{}", d.entity, d.action),
        "timestamp": d.at,
        "data": d,
    }))
    .unwrap_or_default()
}

/// The wait before attempt `attempts + 1` after `attempts` failures:
/// `base * 2^(attempts-1)` up to `max`, then a random half of it taken
/// off at most (`jitter` in [0, 1)), so receivers that come back are not
/// hit by every sender at once.
pub fn backoff(settings: &WebhookSettings, attempts: i32, jitter: f64) -> Duration {
    let exp = (attempts.max(1) - 1).min(30) as u32;
    let full = settings
        .retry_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(settings.retry_max);
    full.mul_f64(1.0 - 0.5 * jitter.clamp(0.0, 1.0))
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => u32::from_le_bytes(b) as f64 / (u32::MAX as f64 + 1.0),
        Err(_) => 0.5,
    }
}

impl Sender {
    /// One pass; how many deliveries it attempted.
    async fn pass(&self) -> Result<usize, ApiError> {
        let lease_ms = (self.settings.timeout.as_millis() as i64) * 2 + 30_000;
        let holder = self.holder;
        let due = db::run(&self.pool, move |conn| claim(conn, holder, lease_ms)).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let n = due.len();
        let sends = due.into_iter().map(|d| self.send(d));
        let outcomes = futures_util::future::join_all(sends).await;
        let settings = self.settings.clone();
        db::run(&self.pool, move |conn| record(conn, &settings, &outcomes)).await?;
        Ok(n)
    }

    async fn send(&self, d: Due) -> Outcome {
        let mut outcome = Outcome {
            id: d.id,
            status: None,
            error: None,
            attempts: d.attempts + 1,
            retry_from: d.retry_from,
        };
        let change = crate::changes::Change {
            seq: d.seq,
            at: d.at,
            entity: d.entity.clone(),
            entity_id: d.entity_id.clone(),
            action: d.action.clone(),
            unit_id: d.unit_id,
        };
        let payload = body(&change);
        // Checked again: the settings may have changed since registration.
        if let Err(why) = target::check(&d.url, self.settings.allow_loopback) {
            outcome.error = Some(format!("the URL is not allowed: it {why}"));
            return outcome;
        }
        let now = Utc::now();
        let msg_id = d.id.to_string();
        let ts = now.timestamp();
        let mut signatures = Vec::new();
        match self.sealer.open(d.webhook_id, &d.secret) {
            Some(s) => signatures.extend(secrets::sign(&s, &msg_id, ts, &payload)),
            None => {
                tracing::error!(
                    webhook = %d.webhook_id,
                    "a webhook's signing secret does not open: is the key folder's {} the one it was sealed with?",
                    secrets::KEY_FILE
                );
                outcome.error = Some(
                    "the service cannot sign this delivery; rotate the webhook's secret".into(),
                );
                return outcome;
            }
        }
        if let (Some(prev), Some(until)) = (&d.previous_secret, d.previous_secret_until)
            && until > now
            && let Some(s) = self.sealer.open(d.webhook_id, prev)
        {
            signatures.extend(secrets::sign(&s, &msg_id, ts, &payload));
        }
        let started = std::time::Instant::now();
        let res = self
            .http
            .post(&d.url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(payload)
            .send()
            .await;
        crate::metrics::webhook_attempt_seconds(started.elapsed());
        match res {
            Ok(r) if r.status().is_success() => {
                outcome.status = Some(r.status().as_u16());
            }
            Ok(r) => {
                outcome.status = Some(r.status().as_u16());
                outcome.error = Some(format!("answered {}", r.status().as_u16()));
            }
            Err(e) => outcome.error = Some(self.describe(&e)),
        }
        outcome
    }

    /// A few words on a failed request, never the URL (which may hold a
    /// receiver's token) nor the library's own text.
    fn describe(&self, e: &reqwest::Error) -> String {
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            if s.downcast_ref::<target::Forbidden>().is_some() {
                return "the host resolves only to private or loopback addresses".into();
            }
            source = s.source();
        }
        if e.is_timeout() {
            format!("no answer within {} ms", self.settings.timeout.as_millis())
        } else if e.is_connect() {
            "could not connect".into()
        } else if e.is_redirect() {
            "answered with a redirect, which is not followed".into()
        } else {
            "the request failed before an answer".into()
        }
    }
}

/// Renews this instance's lease and, if it holds it, reads the due
/// deliveries that head their record's queue.
fn claim(conn: &mut PgConnection, holder: Uuid, lease_ms: i64) -> Result<Vec<Due>, ApiError> {
    // Idle: one probe of a partial index, and no write.
    let any: Any = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM webhook_deliveries \
         WHERE status = 'pending' AND next_attempt_at <= now()) AS any",
    )
    .get_result(conn)?;
    if !any.any {
        return Ok(Vec::new());
    }
    let held: Option<Held> = diesel::sql_query(
        "INSERT INTO webhook_sender (singleton, holder, until) \
         VALUES (true, $1, now() + $2 * interval '1 millisecond') \
         ON CONFLICT (singleton) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until \
         WHERE webhook_sender.holder = EXCLUDED.holder OR webhook_sender.until < now() \
         RETURNING holder",
    )
    .bind::<SqlUuid, _>(holder)
    .bind::<BigInt, _>(lease_ms)
    .get_result(conn)
    .optional()?;
    if held.is_none() {
        return Ok(Vec::new());
    }
    Ok(diesel::sql_query(format!(
        "SELECT d.id, d.webhook_id, d.attempts, d.retry_from, \
                w.url, w.secret, w.previous_secret, w.previous_secret_until, \
                e.seq, e.at, e.entity, e.entity_id, e.action, e.unit_id \
         FROM webhook_deliveries AS d \
         JOIN webhooks AS w ON w.id = d.webhook_id AND w.active \
         JOIN clients AS c ON c.id = w.client_id AND c.active \
         JOIN audit_events AS e ON e.id = d.event_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.seq IS NOT NULL \
           AND NOT EXISTS ( \
               SELECT 1 FROM webhook_deliveries AS p \
               JOIN audit_events AS pe ON pe.id = p.event_id \
               WHERE p.webhook_id = d.webhook_id AND p.entity = d.entity \
                 AND p.entity_id = d.entity_id AND p.status = 'pending' AND pe.seq < e.seq) \
         ORDER BY e.seq \
         LIMIT {BATCH}"
    ))
    .load(conn)?)
}

/// Writes each attempt's outcome.
fn record(
    conn: &mut PgConnection,
    settings: &WebhookSettings,
    outcomes: &[Outcome],
) -> Result<(), ApiError> {
    use crate::db::schema::webhook_deliveries as d;
    let now = Utc::now();
    let give_up = chrono::Duration::from_std(settings.give_up_after)
        .unwrap_or_else(|_| chrono::Duration::days(1));
    conn.transaction(|conn| {
        for o in outcomes {
            let status = o.status.map(i32::from);
            match &o.error {
                None => {
                    diesel::update(d::table.find(o.id))
                        .set((
                            d::status.eq("delivered"),
                            d::attempts.eq(o.attempts),
                            d::last_attempt_at.eq(now),
                            d::last_status.eq(status),
                            d::last_error.eq(None::<String>),
                            d::delivered_at.eq(now),
                        ))
                        .execute(conn)?;
                    crate::metrics::webhook_attempt("delivered");
                }
                Some(error) => {
                    let wait = backoff(settings, o.attempts, jitter());
                    let next = now
                        + chrono::Duration::from_std(wait)
                            .unwrap_or_else(|_| chrono::Duration::hours(1));
                    let failed = next > o.retry_from + give_up;
                    diesel::update(d::table.find(o.id))
                        .set((
                            d::status.eq(if failed { "failed" } else { "pending" }),
                            d::attempts.eq(o.attempts),
                            d::next_attempt_at.eq(next),
                            d::last_attempt_at.eq(now),
                            d::last_status.eq(status),
                            d::last_error.eq(Some(error.clone())),
                        ))
                        .execute(conn)?;
                    crate::metrics::webhook_attempt(if failed { "given_up" } else { "retrying" });
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter() {
        let s = WebhookSettings {
            allow_loopback: false,
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(86_400),
        };
        assert_eq!(backoff(&s, 1, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(&s, 2, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(&s, 4, 0.0), Duration::from_secs(240));
        assert_eq!(backoff(&s, 8, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(&s, 1000, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(&s, 2, 1.0), Duration::from_secs(30));
        let j = backoff(&s, 3, jitter());
        assert!(j >= Duration::from_secs(60) && j <= Duration::from_secs(120));
        // A day of retries with the defaults is a few dozen attempts.
        let (mut total, mut n) = (Duration::ZERO, 0);
        while total < s.give_up_after {
            n += 1;
            total += backoff(&s, n, 0.0);
        }
        assert!((25..40).contains(&n), "{n} attempts");
    }
}
