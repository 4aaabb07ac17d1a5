"""Prometheus metrics, in a registry of the service's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
           "ANSWERED_LATE",
           "ANSWERED_WITH_GAPS",
           "ANSWER_DAYS",
           "DOWNLOADS",
           "HTTP_LATENCY",
           "RECEIVED_BY_MONTH",
           "REGISTRY",
           "REQUESTS_BY_STATE",
           "REQUESTS_CREATED",
]

REGISTRY = CollectorRegistry()
REQUESTS_CREATED = Counter(
    "egnedata_requests_created_total", "Access requests created", ["role"], registry=REGISTRY
)
REQUESTS_BY_STATE = Gauge(
    "egnedata_requests", "Access requests by state", ["state"], registry=REGISTRY
)
DOWNLOADS = Counter(
    "egnedata_downloads_total", "Package downloads", ["format"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "egnedata_http_request_seconds", "HTTP request latency", ["method", "route", "status"],
    registry=REGISTRY,
)

# The console's statistics (exporter.console.stats) over the last year, set at scrape time.
RECEIVED_BY_MONTH = Gauge(
    "egnedata_received", "Access requests and flags received, by month", ["kind", "month"],
    registry=REGISTRY,
)
ANSWER_DAYS = Gauge(
    "egnedata_answer_days", "Days from receipt to answer, over the last year",
    ["kind", "quantile"], registry=REGISTRY,
)
ANSWERED_LATE = Gauge(
    "egnedata_answered_late_ratio", "Share answered after the deadline (or still open past "
    "it), over the last year", ["kind"], registry=REGISTRY,
)
ANSWERED_WITH_GAPS = Gauge(
    "egnedata_answered_with_gaps_ratio", "Share of answered access requests with gaps, over "
    "the last year", registry=REGISTRY,
)
