//! Per-client rate limits: a token bucket per integration client, holding
//! as many requests as its limit per minute and refilled at that rate.
//! Every answer to a client says where it stands, in the IETF `RateLimit`
//! and `RateLimit-Policy` header fields
//! (draft-ietf-httpapi-ratelimit-headers); a request that finds the bucket
//! empty is answered 429 with `Retry-After`.
//!
//! The buckets live in each instance's memory: with several instances
//! behind one load balancer a client may get up to that many times its
//! limit, which `docs/operations.md` says.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use uuid::Uuid;

pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Buckets of clients not heard from for this long are dropped.
const IDLE_SECS: f64 = 600.0;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

/// Where one client stands after a request, for the answer's headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    pub per_minute: u32,
    /// Whole requests left in the bucket.
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub full_in: u64,
    /// Seconds until the next request may be made (0 when one is left).
    pub retry_after: u64,
}

impl RateLimiter {
    /// Takes one request from `client`'s bucket; `Err` when it is empty.
    pub fn take(&self, client: Uuid, per_minute: u32) -> Result<Standing, Standing> {
        self.take_at(client, per_minute, Instant::now())
    }

    fn take_at(&self, client: Uuid, per_minute: u32, now: Instant) -> Result<Standing, Standing> {
        let capacity = f64::from(per_minute.max(1));
        let per_sec = capacity / 60.0;
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock is a bug elsewhere; do not lock clients out.
            return Ok(standing(per_minute, capacity, per_sec, capacity));
        };
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < IDLE_SECS);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(standing(per_minute, bucket.tokens, per_sec, capacity))
        } else {
            Err(standing(per_minute, bucket.tokens, per_sec, capacity))
        }
    }
}

fn standing(per_minute: u32, tokens: f64, per_sec: f64, capacity: f64) -> Standing {
    let secs = |missing: f64| (missing.max(0.0) / per_sec).ceil() as u64;
    Standing {
        per_minute,
        remaining: tokens.floor() as u32,
        full_in: secs(capacity - tokens),
        retry_after: if tokens >= 1.0 {
            0
        } else {
            secs(1.0 - tokens).max(1)
        },
    }
}

/// Middleware: copies the standing that [`crate::auth::AuthUser`] left in
/// the request into the answer's headers, refusals included.
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let standing = res.request().extensions().get::<Standing>().copied();
    if let Some(s) = standing {
        let policy = format!("\"client\";q={};w=60", s.per_minute);
        let now = format!("\"client\";r={};t={}", s.remaining, s.full_in);
        for (name, value) in [(RATELIMIT_POLICY, policy), (RATELIMIT, now)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, value);
            }
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_empties_then_refills_at_its_rate() {
        let limiter = RateLimiter::default();
        let client = Uuid::new_v4();
        let t0 = Instant::now();
        for left in (0..60).rev() {
            let s = limiter.take_at(client, 60, t0).unwrap();
            assert_eq!(s.remaining, left);
        }
        let refused = limiter.take_at(client, 60, t0).unwrap_err();
        assert_eq!((refused.remaining, refused.retry_after), (0, 1));
        assert_eq!(refused.full_in, 60);
        // One request a second comes back.
        let later = t0 + Duration::from_millis(1500);
        assert!(limiter.take_at(client, 60, later).is_ok());
        assert!(limiter.take_at(client, 60, later).is_err());
        // Another client has its own bucket.
        assert_eq!(
            limiter.take_at(Uuid::new_v4(), 60, t0).unwrap().remaining,
            59
        );
    }
}
