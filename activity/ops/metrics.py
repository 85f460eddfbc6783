"""Prometheus metrics, one registry per app (no module-level state).

Under `serve --workers N` each worker's values live in files of a shared directory
(prometheus_client's multiprocess mode, switched on by PROMETHEUS_MULTIPROC_DIR, which the
supervisor sets for its workers): `exposition` then adds every worker's counters and
histograms up, and each gauge (read from the database at scrape time) is the latest one set.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector


def exposition(registry: CollectorRegistry, metrics_dir: str) -> bytes:
    """The text a scrape gets: this process's registry, or every worker's values."""
    if not metrics_dir:
        return generate_latest(registry)
    every_worker = CollectorRegistry()
    MultiProcessCollector(every_worker, path=metrics_dir)  # type: ignore[no-untyped-call]
    return generate_latest(every_worker)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.executes = Counter(
            "activity_executes_total",
            "Execute calls by answer status",
            ["status"],
            registry=self.registry,
        )
        self._executes_by_status: dict[str, Counter] = {}
        self.execute_seconds = Histogram(
            "activity_execute_seconds",
            "Execute latency",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.deliveries = Counter(
            "activity_deliveries_total",
            "Outbox items by delivery outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.rokt_calls = Counter(
            "activity_rokt_requests_total",
            "Calls to Rokt by endpoint and HTTP status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.rokt_seconds = Histogram(
            "activity_rokt_request_seconds",
            "Rokt call latency",
            ["endpoint"],
            registry=self.registry,
        )
        self.token_grants = Counter(
            "activity_rokt_token_grants_total",
            "OAuth tokens fetched from Rokt",
            registry=self.registry,
        )
        # Gauges hold database-wide values: under several workers the latest reading counts.
        self.outbox_depth = Gauge(
            "activity_outbox_depth",
            "Items queued or being sent",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.outbox_oldest_age = Gauge(
            "activity_outbox_oldest_age_seconds",
            "Age of the oldest undelivered item",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.http_refused = Counter(
            "activity_http_refused_total",
            "Requests refused before any handler ran, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.http_errors = Counter(
            "activity_http_errors_total",
            "Requests answered 500 (a bug; the log line has the request id)",
            registry=self.registry,
        )
        self.outbox_retrying = Gauge(
            "activity_outbox_retrying",
            "Items waiting for a retry after a failed attempt to reach Rokt",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.outbox_retry_max_attempt = Gauge(
            "activity_outbox_retrying_max_attempt",
            "Highest attempt count among items waiting for a retry (0 when none waits)",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.lifecycle_calls = Counter(
            "activity_lifecycle_calls_total",
            "Lifecycle calls by route and result",
            ["route", "result"],
            registry=self.registry,
        )
        # The second flow: Rokt webhooks -> inbox -> Marketing Cloud data extension.
        self.webhooks = Counter(
            "activity_webhooks_total",
            "Rokt webhooks by answer (accepted, duplicate, test, malformed_webhook, ...)",
            ["outcome"],
            registry=self.registry,
        )
        self.sfmc_rows = Counter(
            "activity_sfmc_sync_total",
            "Inbox items by sync outcome (sent, retried, dead, held)",
            ["outcome"],
            registry=self.registry,
        )
        self.inbox_depth = Gauge(
            "activity_inbox_depth",
            "Webhooks waiting for Marketing Cloud (queued, being synced, or held)",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

    def count_execute(self, status: str) -> None:
        """executes{status} += 1; each status's child is looked up once (`labels` locks and
        validates on every call, and execute counts on every call)."""
        child = self._executes_by_status.get(status)
        if child is None:
            child = self._executes_by_status[status] = self.executes.labels(status)
        child.inc()
