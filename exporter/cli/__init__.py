"""The ``egnedata`` command line.

Each command group lives in its own module and registers itself on ``app``.
"""

from __future__ import annotations

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="egnedata",
    help="Egne Data: portable, signed and encrypted packages of a citizen's municipal data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Imported for their side effect: each module adds its commands to ``app``.
    from exporter.cli import crypto, delivery, package, portal, service, sources  # noqa: F401


def main() -> None:
    from exporter import logs

    logs.protect()
    _register()
    app()
