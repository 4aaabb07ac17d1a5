"""Jinja2 templates for the package's pages (package data; no code)."""
