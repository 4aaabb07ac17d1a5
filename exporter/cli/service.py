"""``egnedata serve``, ``worker``, ``token``, ``db upgrade`` and ``audit verify``."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer
from rich.console import Console

from exporter.cli import app
from exporter.errors import EgneDataError
from exporter.keys import generate_keys
from exporter.settings import Settings, get_settings

__all__: list[str] = []

console = Console(stderr=True)
db_app = typer.Typer(help="The service's database.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        console.print(f"[red]error:[/] the settings are wrong:\n{exc}")
        raise typer.Exit(code=2) from None


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _dev_keys(settings: Settings) -> None:
    """In development, make keys on first start so the service runs at once."""
    directory = settings.effective_keys_dir
    if settings.environment == "development" and not (directory / "signing.key").exists():
        generate_keys(directory)
        console.print(f"Made development keys in {directory}.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (each with its own jobs "
                          "when there is no Redis).")
    ] = 1,
) -> None:
    """Run the HTTP API. Without EGNEDATA_REDIS_URL the jobs run in this process."""
    import uvicorn

    from exporter.api.app import create_app
    from exporter.api.server import HTTP_PROTOCOL, run_processes
    from exporter.service.context import ServiceContext, set_context

    settings = _settings()
    _logging(log_level)
    _dev_keys(settings)
    try:
        context = ServiceContext.build(settings)
    except EgneDataError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    set_context(context)
    mode = "rq on Redis" if settings.redis_url else "an in-process queue"
    pages = "the pages" if settings.login_configured else "the pages (no login set up)"
    console.print(f"Egne Data on http://{host}:{port}/: {pages}, and the API at /v1/docs; "
                  f"jobs run on {mode}.")
    if workers > 1:  # migrated and keys made above; each process builds its own context
        context.close()
        try:
            run_processes(workers, host, port, log_level)
        except (OSError, ValueError) as exc:
            console.print(f"[red]error:[/] cannot listen on {host}:{port}: {exc}")
            raise typer.Exit(code=2) from None
        return
    try:
        uvicorn.run(create_app(context, server=True), host=host, port=port, log_level=log_level,
                    access_log=False, http=HTTP_PROTOCOL)
    finally:
        context.close()


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty.")] = False,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
    nice: Annotated[
        int, typer.Option(min=0, max=19, help="Lower this worker's CPU priority, so a server "
                          "on the same machine stays responsive.")
    ] = 0,
) -> None:
    """Run an rq worker for the service's jobs (needs EGNEDATA_REDIS_URL)."""
    from rq.serializers import JSONSerializer

    from exporter.service.background import Background
    from exporter.service.context import ServiceContext, freeze_startup_objects, set_context
    from exporter.service.queue import RqQueue, RqWorker

    settings = _settings()
    _logging(log_level)
    if nice:
        os.nice(nice)
    if not settings.redis_url:
        console.print("[red]error:[/] set EGNEDATA_REDIS_URL; without Redis, `egnedata serve` "
                      "runs the jobs itself")
        raise typer.Exit(code=2)
    try:
        context = ServiceContext.build(settings)
        context.keyring  # noqa: B018 - fail closed at start: no key, no work
        context.warm_up()
    except EgneDataError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    set_context(context)
    assert isinstance(context.queue, RqQueue)
    background = Background(context)
    rq_worker = RqWorker([context.queue.queue], connection=context.queue.connection,
                         serializer=JSONSerializer)
    freeze_startup_objects()
    try:
        rq_worker.work(burst=burst, with_scheduler=False, logging_level=log_level.upper())
    finally:
        background.stop()
        context.close()


@app.command()
def token(
    subject: Annotated[str, typer.Option(help="A citizen's CPR number, or a staff user id.")],
    role: Annotated[
        str, typer.Option(help="citizen, caseworker, admin or representative.")
    ] = "citizen",
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Issue a bearer token (development; real login comes from NemLog-in)."""
    from exporter.api.auth import Role, issue_token

    settings = _settings()
    if settings.environment != "development":
        console.print("[red]error:[/] tokens are issued by the command line in development only")
        raise typer.Exit(code=2)
    try:
        typer.echo(issue_token(settings, subject, Role(role), ttl=ttl))
    except (ValueError, EgneDataError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database's tables to the current version."""
    from exporter.db import make_engine, upgrade

    settings = _settings()
    upgrade(make_engine(settings.effective_database_url))
    console.print("The database is up to date.")


@audit_app.command("verify")
def audit_verify() -> None:
    """Seal the events written so far, then check the hash chain from first to last."""
    from exporter.db import make_engine, make_sessionmaker
    from exporter.service.audit import seal_all, verify_chain

    settings = _settings()
    sessions = make_sessionmaker(make_engine(settings.effective_database_url))
    sealed = seal_all(sessions.begin)
    with sessions() as session:
        check = verify_chain(session)
    if check.ok:
        console.print(f"The audit log is intact: {check.events} events"
                      + (f" ({sealed} sealed just now)." if sealed else "."))
        if check.unsealed:
            console.print(f"{check.unsealed} events written since are not sealed yet.")
        return
    console.print(f"[red]The audit log is broken at event {check.broken_at}:[/] {check.problem}")
    raise typer.Exit(code=1)
