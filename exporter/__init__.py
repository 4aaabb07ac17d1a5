"""Egne Data: the exporter service (profiles, connectors, pipeline, storage, CLI)."""

__version__ = "0.1.0"
