"""Prometheus metrics, in a registry of the service's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["DOWNLOADS", "HTTP_LATENCY", "REGISTRY", "REQUESTS_BY_STATE", "REQUESTS_CREATED"]

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
