"""``egnedata portal`` (try the citizen's pages on a laptop) and ``egnedata login keygen``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from exporter.cli import app
from exporter.cli.service import _dev_keys, _logging, _settings
from exporter.errors import EgneDataError

__all__: list[str] = []

console = Console(stderr=True)
login_app = typer.Typer(help="Logging in to the pages (OpenID Connect).", no_args_is_help=True)
app.add_typer(login_app, name="login")

_WHO = {
    "anna": "a citizen; Bent has given her a mandate to order his data",
    "bent": "Anna's father",
    "carl": "logs in at level High, with a NemLog-in privilege to order Bent's data",
    "lise": "logs in at level Low: refused, with a page that says why",
    "uden-cpr": "a login without a CPR number: a page that says what to do",
    "sagsbehandler": "console: a caseworker for every unit",
    "enhed": "console: a caseworker for unit U02",
    "dpo": "console: the data-protection officer",
    "revisor": "console: an auditor",
    "uden-rolle": "console: an employee with no console role (refused)",
}


@login_app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option(help="Where to write the private key (a JWK file).")],
) -> None:
    """Make the service's key for private_key_jwt and print its public half to register
    with the identity provider (or point it at /login/jwks.json)."""
    import json

    from exporter.login.keys import generate_client_key, public_jwks

    try:
        key = generate_client_key(out)
    except FileExistsError:
        console.print(f"[red]error:[/] {out} exists; a key is never overwritten")
        raise typer.Exit(code=2) from None
    except OSError as exc:
        console.print(f"[red]error:[/] cannot write {out}: {exc}")
        raise typer.Exit(code=2) from None
    console.print(f"Wrote {out} (mode 0600). Set EGNEDATA_LOGIN_CLIENT_KEY={out}.")
    typer.echo(json.dumps(public_jwks(key), indent=2))


@app.command()
def portal(
    port: Annotated[int, typer.Option(help="The portal's port.")] = 8000,
    provider_port: Annotated[int, typer.Option(help="The local login's port.")] = 8001,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "warning",
) -> None:
    """Try the citizen's pages and the console: the embedded service with a local test
    login (an OpenID Provider with fictional citizens and employees) and a test service
    to share with. Development only; needs Node.js and npm for the login."""
    import uvicorn

    from exporter.api.app import create_app
    from exporter.devlogin import (
        FICTIONAL_CITIZENS,
        FICTIONAL_STAFF,
        STAFF_UNIT_MAP,
        Client,
        LocalProvider,
        ProviderUnavailable,
    )
    from exporter.login import CALLBACK_PATH
    from exporter.login.flow import STAFF_CALLBACK_PATH
    from exporter.login.keys import generate_client_key, load_client_key, public_jwks
    from exporter.service.context import ServiceContext, set_context

    settings = _settings()
    if not settings.development:
        console.print("[red]error:[/] the local test login is for development only")
        raise typer.Exit(code=2)
    _logging(log_level)
    _dev_keys(settings)
    url = f"http://127.0.0.1:{port}"
    key_file = settings.data_dir / "login-client.jwk"
    key = load_client_key(key_file) if key_file.exists() else generate_client_key(key_file)
    console.print("Starting the local test login (the first start installs it with npm)…")
    try:
        provider = LocalProvider(port=provider_port, clients=[
            Client("egnedata-portal", [url + CALLBACK_PATH], [url + "/logget-ud"],
                   public_jwks(key)),
            Client("egnedata-konsol", [url + STAFF_CALLBACK_PATH],
                   [url + "/konsol/logget-ud"], public_jwks(key))])
    except ProviderUnavailable as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    try:
        settings = settings.model_copy(update={
            "public_url": url, "login_issuer": provider.issuer,
            "login_client_id": "egnedata-portal", "login_client_key": key_file,
            "login_privileges_claim":
                "https://data.gov.dk/model/core/eid/privilegesIntermediate",
            "staff_login_issuer": provider.issuer, "staff_login_client_id": "egnedata-konsol",
            "staff_login_client_key": key_file, "staff_unit_map": STAFF_UNIT_MAP,
        })
        context = ServiceContext.build(settings)
        set_context(context)
        _seed(context, settings.data_dir)
    except EgneDataError as exc:
        provider.stop()
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    table = Table(title="Test logins (any password)")
    table.add_column("login")
    table.add_column("who")
    for account in FICTIONAL_CITIZENS + FICTIONAL_STAFF:
        table.add_row(account.login, _WHO.get(account.login, account.name))
    console.print(table)
    console.print(f"Open {url}/ and choose “Log ind med MitID”; staff use {url}/konsol. "
                  "Stop with Ctrl+C.")
    try:
        uvicorn.run(create_app(context, server=True), host="127.0.0.1", port=port,
                    log_level=log_level, access_log=False)
    finally:
        context.close()
        provider.stop()


def _seed(context: object, data_dir: Path) -> None:
    """Bent's mandate for Anna, and a test service (the reference receiver, run here)."""
    from datetime import UTC, datetime, timedelta

    from exporter.delivery.mandates import MandateSpec, grant_mandate, valid_mandates
    from exporter.delivery.receiver import Receiver, make_server
    from exporter.delivery.registry import ServiceSpec, list_services, register_service
    from exporter.keys import read_identities
    from exporter.service.audit import Actor
    from exporter.service.context import ServiceContext
    from formats import age

    assert isinstance(context, ServiceContext)
    anna, bent = "7101901234", "7201501235"
    if not any(m.subject_cpr == bent for m in valid_mandates(context, anna)):
        grant_mandate(context, Actor(bent, "citizen"), bent, MandateSpec(
            representative=anna, rights=("request", "push"),
            valid_until=datetime.now(UTC) + timedelta(days=365),
            subject_name="Bent Testesen", representative_name="Anna Testesen"))
    identity_file = data_dir / "test-service.key"
    if not identity_file.exists():
        identity_file.write_text(f"{age.X25519Identity.generate()}\n", "utf-8")
        identity_file.chmod(0o600)
    identity = read_identities(identity_file)[0]
    receiver = make_server(Receiver([identity], [context.keyring.public_key],
                                    data_dir / "received"), "127.0.0.1", 0)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    for service in list_services(context):
        if service.name == "Testarkivet":
            with context.sessions.begin() as session:  # the receiver's port is new each time
                row = session.merge(service)
                row.webhook_url = hook
            return
    register_service(context, Actor("egnedata-portal", "admin"), ServiceSpec(
        name="Testarkivet", description="Et arkiv til afprøvning: det modtager, tjekker og "
        "dekrypterer pakker i egnedata-data/received.", homepage="https://egnedata.example",
        privacy_policy="https://egnedata.example/privatliv",
        age_recipient=str(identity.recipient), webhook_url=hook))
