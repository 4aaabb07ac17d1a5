"""``egnedata services`` (the registry of external services) and ``egnedata receive``
(the reference receiver a service runs to accept pushed packages)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from exporter.cli import app
from exporter.errors import EgneDataError

if TYPE_CHECKING:
    from exporter.service.context import ServiceContext

__all__: list[str] = []

console = Console(stderr=True)
services_app = typer.Typer(help="The external services packages may be pushed to.",
                           no_args_is_help=True)
app.add_typer(services_app, name="services")
_ADMIN = "cli"


def _context() -> ServiceContext:
    from exporter.cli.service import _settings
    from exporter.service.context import ServiceContext

    try:
        return ServiceContext.build(_settings())
    except EgneDataError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None


@services_app.command("add")
def services_add(
    name: Annotated[str, typer.Option(help="The service's name, as citizens see it.")],
    description: Annotated[str, typer.Option(help="What the service does.")],
    homepage: Annotated[str, typer.Option(help="Its homepage URL.")],
    privacy_policy: Annotated[str, typer.Option(help="Its privacy policy URL.")],
    age_recipient: Annotated[str, typer.Option(help="Its age public key (age1…).")],
    webhook_url: Annotated[str | None, typer.Option(help="Deliver by webhook here.")] = None,
    s3_bucket: Annotated[str | None, typer.Option(help="Or deliver to this bucket.")] = None,
    s3_prefix: Annotated[str, typer.Option(help="Key prefix in the bucket.")] = "",
    s3_endpoint_url: Annotated[str | None, typer.Option(help="S3-compatible endpoint.")] = None,
    s3_region: Annotated[str | None, typer.Option(help="The bucket's region.")] = None,
    s3_credentials_env: Annotated[str | None, typer.Option(
        help="Prefix of the environment variables holding the bucket's credentials "
             "(<PREFIX>_ACCESS_KEY_ID, <PREFIX>_SECRET_ACCESS_KEY).")] = None,
) -> None:
    """Register a service; prints its id."""
    from exporter.delivery.registry import InvalidService, ServiceSpec, register_service
    from exporter.service.audit import Actor
    from exporter.service.requests import Conflict

    context = _context()
    spec = ServiceSpec(name=name, description=description, homepage=homepage,
                       privacy_policy=privacy_policy, age_recipient=age_recipient,
                       webhook_url=webhook_url, s3_bucket=s3_bucket, s3_prefix=s3_prefix,
                       s3_endpoint_url=s3_endpoint_url, s3_region=s3_region,
                       s3_credentials_env=s3_credentials_env)
    try:
        service = register_service(context, Actor(_ADMIN, "admin"), spec)
    except (InvalidService, Conflict) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    finally:
        context.close()
    typer.echo(service.id)


@services_app.command("list")
def services_list() -> None:
    """The registered services and their state."""
    from exporter.delivery.registry import list_services

    context = _context()
    try:
        rows = list_services(context)
    finally:
        context.close()
    table = Table("id", "name", "state", "target")
    for row in rows:
        table.add_row(row.id, row.name, row.state, row.webhook_url or f"s3://{row.s3_bucket}")
    Console().print(table)


def _set_state(service_id: str, state: str) -> None:
    from exporter.delivery.registry import set_service_state
    from exporter.service.audit import Actor
    from exporter.service.requests import NotFound

    context = _context()
    try:
        set_service_state(context, Actor(_ADMIN, "admin"), service_id, state)
    except NotFound as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=1) from None
    finally:
        context.close()
    console.print(f"The service is {state}.")


@services_app.command("suspend")
def services_suspend(service_id: str) -> None:
    """Stop all pushes to a service; open deliveries are cancelled."""
    _set_state(service_id, "suspended")


@services_app.command("resume")
def services_resume(service_id: str) -> None:
    """Let a suspended service receive again."""
    _set_state(service_id, "active")


@app.command()
def receive(
    identity: Annotated[Path, typer.Option("--identity", "-i",
                                           help="The service's age identity file.")],
    pubkey: Annotated[list[Path], typer.Option(
        help="The municipality's published signing.pub (repeat while it rotates).")],
    out: Annotated[Path, typer.Option(help="Where received packages are kept.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    tolerance: Annotated[int, typer.Option(help="Seconds a webhook-timestamp may be off.")]
    = 300,
    decrypt: Annotated[bool, typer.Option(help="Decrypt and verify each package.")] = True,
) -> None:
    """Run the reference receiver: verify, de-duplicate, decrypt and check pushed packages."""
    from exporter.delivery.receiver import Receiver, make_server
    from exporter.keys import parse_identities
    from formats.errors import FormatError
    from formats.minisign import PublicKey

    try:
        identities = parse_identities(identity.read_text("utf-8"), str(identity))
        keys = [PublicKey.load(p) for p in pubkey]
    except (OSError, EgneDataError, FormatError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    receiver = Receiver(identities, keys, out, tolerance=tolerance, decrypt=decrypt)
    server = make_server(receiver, host, port)
    console.print(f"Receiving on http://{host}:{server.server_address[1]}/ into {out}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
