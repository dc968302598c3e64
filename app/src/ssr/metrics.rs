//! Prometheus metrics for the process, kept in one registry and rendered in
//! the text format by the `prometheus` crate. The server serves them on an
//! address of their own (`STRONGROOM_METRICS_ADDR`), never on the public one.
//! No label ever holds a value, a token, a user name or a raw path: routes are
//! the router's patterns, actions the audit trail's fixed names.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::LazyLock;

pub struct Metrics {
    registry: Registry,
    /// Requests answered, by route pattern, method and status code.
    pub requests: IntCounterVec,
    /// Time to answer, by route pattern.
    pub latency: HistogramVec,
    /// Audit entries appended, by action and outcome (`ok`, `refused`, `failed`):
    /// sign-ins and every kind of refusal among them.
    pub audit_entries: IntCounterVec,
    /// Jobs (workload reads, mostly) per group commit.
    pub audit_batch: Histogram,
    /// Time spent waiting for a database connection, by kind (`reader`, `writer`).
    pub db_wait: HistogramVec,
    /// Counts read from the database when scraped.
    pub stored: IntGaugeVec,
}

fn build() -> prometheus::Result<Metrics> {
    let registry = Registry::new_custom(Some("strongroom".into()), None)?;
    let requests =
        IntCounterVec::new(Opts::new("http_requests_total", "HTTP requests answered"), &["route", "method", "status"])?;
    let latency = HistogramVec::new(
        HistogramOpts::new("http_request_duration_seconds", "Time to answer an HTTP request")
            .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
        &["route"],
    )?;
    let audit_entries =
        IntCounterVec::new(Opts::new("audit_entries_total", "Audit entries appended"), &["action", "outcome"])?;
    let audit_batch = Histogram::with_opts(
        HistogramOpts::new("audit_read_batch_entries", "Workload reads (and other trail jobs) per group commit")
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
    )?;
    let db_wait = HistogramVec::new(
        HistogramOpts::new("db_connection_wait_seconds", "Time waiting for a database connection")
            .buckets(vec![0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]),
        &["connection"],
    )?;
    let stored = IntGaugeVec::new(Opts::new("stored", "Live things stored, counted when scraped"), &["kind"])?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(latency.clone()))?;
    registry.register(Box::new(audit_entries.clone()))?;
    registry.register(Box::new(audit_batch.clone()))?;
    registry.register(Box::new(db_wait.clone()))?;
    registry.register(Box::new(stored.clone()))?;
    Ok(Metrics { registry, requests, latency, audit_entries, audit_batch, db_wait, stored })
}

/// The process's metrics.
#[expect(clippy::expect_used, reason = "the names and labels are constants, checked by every test that serves")]
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(|| build().expect("metric names and labels are valid"));
    &METRICS
}

/// The first word of an audit outcome (`ok`, `refused`, `failed`): a label
/// with a handful of values, not the free text after it.
pub fn outcome_kind(outcome: &str) -> &'static str {
    match outcome.split(':').next().unwrap_or_default() {
        "ok" => "ok",
        "refused" => "refused",
        _ => "failed",
    }
}

impl Metrics {
    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
