//! What `GET /metrics` shows (served by `health.rs`), in the Prometheus
//! text format.
//!
//! The metrics live in one registry of this process, filled where things
//! happen (the request middleware, the pool checkout, the activity writers,
//! the login throttle, exports) through the small functions below. This
//! module imports nothing of the crate, so any module may call it. Values
//! that are cheaper to read than to track (the pool's connections, the
//! writers' queues, the audit linker's lag) are handed to [`render`] at
//! scrape time; those of one server (its instance, pool and queues) are
//! made afresh for each scrape, beside the process's registry.
//!
//! Labels hold only route patterns, methods, status codes, kinds of record
//! and the instance name: never an id, a username, an address or anything
//! typed by a person.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGauge,
    pool_waits: IntCounter,
    pool_timeouts: IntCounter,
    pool_wait_seconds: prometheus::Histogram,
    writer_batch: HistogramVec,
    audit_lag: prometheus::Gauge,
    audit_unlinked: IntGauge,
    login_failures: IntCounter,
    login_throttled: IntCounter,
    clients_throttled: IntCounter,
    exports: IntCounterVec,
    webhook_attempts: IntCounterVec,
    webhook_seconds: prometheus::Histogram,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("banso".into()), None)?;
    let requests = IntCounterVec::new(
        Opts::new("http_requests_total", "HTTP requests answered"),
        &["route", "method", "status"],
    )?;
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer",
        )
        .buckets(vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ]),
        &["route", "method", "status"],
    )?;
    let in_flight = IntGauge::new("http_requests_in_flight", "Requests being served")?;
    let pool_waits = IntCounter::new(
        "db_pool_waits_total",
        "Connection checkouts that found no idle connection and waited",
    )?;
    let pool_timeouts = IntCounter::new(
        "db_pool_timeouts_total",
        "Connection checkouts that waited past BANSO_POOL_TIMEOUT_MS (answered 503)",
    )?;
    let pool_wait_seconds = prometheus::Histogram::with_opts(
        HistogramOpts::new(
            "db_pool_wait_seconds",
            "Time to check out a database connection",
        )
        .buckets(vec![0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
    )?;
    let writer_batch = HistogramVec::new(
        HistogramOpts::new(
            "activity_writer_batch_size",
            "Records stored together in one transaction",
        )
        .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
        &["kind"],
    )?;
    let audit_lag = prometheus::Gauge::new(
        "audit_unlinked_oldest_seconds",
        "Age of the oldest audit event not yet linked into the chain (0 when none)",
    )?;
    let audit_unlinked = IntGauge::new(
        "audit_unlinked_events",
        "Audit events not yet linked into the chain",
    )?;
    let login_failures = IntCounter::new(
        "login_failures_total",
        "Logins and client-token requests refused for a wrong secret",
    )?;
    let login_throttled = IntCounter::new(
        "login_throttled_total",
        "Logins and client-token requests refused by the throttle (429)",
    )?;
    let clients_throttled = IntCounter::new(
        "client_requests_throttled_total",
        "Integration clients' requests refused by their rate limit (429)",
    )?;
    let exports = IntCounterVec::new(
        Opts::new("exports_total", "Exports of records served"),
        &["kind"],
    )?;
    let webhook_attempts = IntCounterVec::new(
        Opts::new(
            "webhook_attempts_total",
            "Webhook delivery attempts, by outcome: delivered, retrying (failed, tried again later), given_up (failed for good)",
        ),
        &["outcome"],
    )?;
    let webhook_seconds = prometheus::Histogram::with_opts(
        HistogramOpts::new(
            "webhook_attempt_duration_seconds",
            "Time from sending a webhook delivery to its answer or failure",
        )
        .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
    )?;
    for c in [
        Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(latency.clone()),
        Box::new(in_flight.clone()),
        Box::new(pool_waits.clone()),
        Box::new(pool_timeouts.clone()),
        Box::new(pool_wait_seconds.clone()),
        Box::new(writer_batch.clone()),
        Box::new(audit_lag.clone()),
        Box::new(audit_unlinked.clone()),
        Box::new(login_failures.clone()),
        Box::new(login_throttled.clone()),
        Box::new(clients_throttled.clone()),
        Box::new(exports.clone()),
        Box::new(webhook_attempts.clone()),
        Box::new(webhook_seconds.clone()),
    ] {
        registry.register(c)?;
    }
    Ok(Metrics {
        registry,
        requests,
        latency,
        in_flight,
        pool_waits,
        pool_timeouts,
        pool_wait_seconds,
        writer_batch,
        audit_lag,
        audit_unlinked,
        login_failures,
        login_throttled,
        clients_throttled,
        exports,
        webhook_attempts,
        webhook_seconds,
    })
}

/// `None` only if the metric definitions above are inconsistent, which the
/// tests would show; the service then runs without metrics.
static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match build() {
    Ok(m) => Some(m),
    Err(e) => {
        tracing::error!(error = %e, "metrics could not be set up");
        None
    }
});

fn with(f: impl FnOnce(&Metrics)) {
    if let Some(m) = METRICS.as_ref() {
        f(m);
    }
}

/// A request has arrived.
pub fn request_started() {
    with(|m| m.in_flight.inc());
}

/// A request has been answered.
pub fn request_finished(route: &str, method: &str, status: u16, elapsed: Duration) {
    with(|m| {
        m.in_flight.dec();
        let status = status.to_string();
        let labels = [route, method, status.as_str()];
        m.requests.with_label_values(&labels).inc();
        m.latency
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    });
}

/// Requests being served now.
pub fn requests_in_flight() -> i64 {
    METRICS.as_ref().map_or(0, |m| m.in_flight.get())
}

/// A connection checkout took `waited`; `idle` says whether a connection
/// was idle when it started; `ok` whether it got one.
pub fn pool_checkout(waited: Duration, idle: bool, ok: bool) {
    with(|m| {
        m.pool_wait_seconds.observe(waited.as_secs_f64());
        if !idle {
            m.pool_waits.inc();
        }
        if !ok {
            m.pool_timeouts.inc();
        }
    });
}

/// An activity writer took a batch of `size` records.
pub fn writer_batch(kind: &str, size: usize) {
    with(|m| {
        m.writer_batch
            .with_label_values(&[kind])
            .observe(size as f64);
    });
}

/// How many records wait in each activity writer's queue, read at scrape
/// time from the server's own writers: a count set by the requests as they
/// hand records in could be left stale by two of them at once.
#[derive(Default)]
pub struct WriterQueues(Vec<(&'static str, QueueLen)>);

/// Reads how many records one writer's queue holds.
type QueueLen = Arc<dyn Fn() -> usize + Send + Sync>;

impl WriterQueues {
    /// Adds the writer of `kind`, whose queue `waiting` reads.
    pub fn with(
        mut self,
        kind: &'static str,
        waiting: impl Fn() -> usize + Send + Sync + 'static,
    ) -> WriterQueues {
        self.0.push((kind, Arc::new(waiting)));
        self
    }
}

/// A login or client token refused for a wrong secret.
pub fn login_failed() {
    with(|m| m.login_failures.inc());
}

/// A login or client token refused by the throttle.
pub fn login_throttled() {
    with(|m| m.login_throttled.inc());
}

/// An integration client's request refused by its rate limit.
pub fn client_throttled() {
    with(|m| m.clients_throttled.inc());
}

/// An export of `kind` (a record kind such as `household`) was served.
pub fn export_served(kind: &str) {
    with(|m| m.exports.with_label_values(&[kind]).inc());
}

/// A webhook delivery attempt ended with `outcome` (`delivered`,
/// `retrying`, `given_up`).
pub fn webhook_attempt(outcome: &str) {
    with(|m| m.webhook_attempts.with_label_values(&[outcome]).inc());
}

/// How long a webhook delivery attempt took.
pub fn webhook_attempt_seconds(elapsed: Duration) {
    with(|m| m.webhook_seconds.observe(elapsed.as_secs_f64()));
}

/// The pool as it is now, read at scrape time.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The metrics as Prometheus text, after setting the values read at scrape
/// time: the pool, the writers' queues, and the audit linker's lag (oldest
/// unlinked event in seconds, unlinked events) when the database answered.
pub fn render(
    instance: &str,
    pool: PoolState,
    queues: &WriterQueues,
    lag: Option<(f64, i64)>,
) -> String {
    let Some(m) = METRICS.as_ref() else {
        return String::new();
    };
    if let Some((oldest, unlinked)) = lag {
        m.audit_lag.set(oldest);
        m.audit_unlinked.set(unlinked);
    }
    let mut families = m.registry.gather();
    match this_server(instance, pool, queues) {
        Ok(server) => families.extend(server),
        Err(e) => tracing::error!(error = %e, "the server's metrics could not be made"),
    }
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
        tracing::error!(error = %e, "metrics could not be encoded");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// What belongs to this server rather than to the process (tests run
/// several servers in one process): its instance, its pool and its writers'
/// queues, made afresh for each scrape so that no other server's values can
/// show in its answer.
fn this_server(
    instance: &str,
    pool: PoolState,
    queues: &WriterQueues,
) -> Result<Vec<prometheus::proto::MetricFamily>, prometheus::Error> {
    let registry = Registry::new_custom(Some("banso".into()), None)?;
    let info = IntGaugeVec::new(
        Opts::new(
            "instance_info",
            "This server: its instance name and version",
        ),
        &["instance", "version"],
    )?;
    let connections = IntGaugeVec::new(
        Opts::new("db_pool_connections", "Database connections of the pool"),
        &["state"],
    )?;
    let max = IntGauge::new("db_pool_max_connections", "BANSO_POOL_SIZE")?;
    let queue = IntGaugeVec::new(
        Opts::new(
            "activity_writer_queue",
            "Records handed to an activity writer and not yet taken into a batch",
        ),
        &["kind"],
    )?;
    registry.register(Box::new(info.clone()))?;
    registry.register(Box::new(connections.clone()))?;
    registry.register(Box::new(max.clone()))?;
    registry.register(Box::new(queue.clone()))?;
    info.with_label_values(&[instance, env!("CARGO_PKG_VERSION")])
        .set(1);
    let (open, idle) = (i64::from(pool.open), i64::from(pool.idle));
    connections.with_label_values(&["in_use"]).set(open - idle);
    connections.with_label_values(&["idle"]).set(idle);
    max.set(i64::from(pool.max));
    for (kind, waiting) in &queues.0 {
        queue
            .with_label_values(&[kind])
            .set(i64::try_from(waiting()).unwrap_or(i64::MAX));
    }
    Ok(registry.gather())
}
