"""``egnedata keys``, ``decrypt`` and ``verify``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from exporter.cli import app
from exporter.errors import EgneDataError
from exporter.keys import generate_keys, read_identities, rotate_vault
from formats import age
from formats.errors import FormatError
from formats.minisign import PublicKey
from formats.verify import verify_package

console = Console(stderr=True)
out = Console()

keys_app = typer.Typer(help="Make and rotate the service's keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

DirOption = Annotated[Path, typer.Option("--dir", help="The key directory.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(code=code)


@keys_app.command("generate")
def keys_generate(
    directory: DirOption = Path("keys"),
    force: Annotated[bool, typer.Option(help="Replace existing keys.")] = False,
) -> None:
    """Make a vault identity (age) and a signing key (Ed25519)."""
    try:
        made = generate_keys(directory, force=force)
    except EgneDataError as exc:
        raise _fail(str(exc)) from None
    out.print(f"Vault identity:  {made.vault_file} (secret)")
    out.print(f"  encrypts to:   {made.recipient}")
    out.print(f"Signing key:     {made.signing_key_file} (secret)")
    out.print(f"Public key:      {made.public_key_file}  (publish this)")
    out.print(made.public_key.dumps().rstrip())


@keys_app.command("rotate")
def keys_rotate(directory: DirOption = Path("keys")) -> None:
    """Add a new vault identity for new data; the old ones keep decrypting."""
    try:
        recipient = rotate_vault(directory)
    except EgneDataError as exc:
        raise _fail(str(exc)) from None
    out.print(f"New data is now encrypted to {recipient}")


@app.command()
def decrypt(
    file: Annotated[Path, typer.Argument(help="The .age file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write.")],
    identity: Annotated[
        list[Path] | None, typer.Option("-i", "--identity", help="age identity file.")
    ] = None,
    passphrase_file: Annotated[
        Path | None, typer.Option(help="File whose first line is the passphrase.")
    ] = None,
) -> None:
    """Decrypt an age file; the output appears only if all of it authenticated."""
    identities: list[age.Identity] = []
    try:
        for path in identity or []:
            identities.extend(read_identities(path))
        if passphrase_file is not None:
            lines = passphrase_file.read_text("utf-8").splitlines()
            identities.append(age.ScryptIdentity(lines[0] if lines else ""))
    except (EgneDataError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if not identities:
        raise _fail("give an identity (-i FILE) or --passphrase-file")
    tmp = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        with file.open("rb") as src, tmp.open("wb") as dst:
            age.decrypt(src, dst, identities)
        tmp.replace(output)
    except FileNotFoundError as exc:
        raise _fail(f"{exc.filename}: no such file") from None
    except FormatError as exc:
        raise _fail(f"{file}: {exc}", code=1) from None
    finally:
        tmp.unlink(missing_ok=True)
    console.print(f"Decrypted to {output}")


@app.command()
def verify(
    package: Annotated[Path, typer.Argument(help="The package ZIP.")],
    pubkey: Annotated[
        Path | None, typer.Option(help="The municipality's published public key.")
    ] = None,
) -> None:
    """Check a package's signature and every file's hash."""
    try:
        key = PublicKey.load(pubkey) if pubkey else None
    except (OSError, FormatError) as exc:
        raise _fail(f"{pubkey}: {exc}") from None
    report = verify_package(package, key)
    for name, good in report.files.items():
        out.print(f"  {'OK  ' if good else 'FAIL'} {name}")
    if report.key_id:
        source = (
            "the published key you gave: proves the package came from its holder"
            if report.proves_provenance
            else "the key shipped inside the package: proves integrity only, not who made it; "
            "use --pubkey with the municipality's published key"
        )
        out.print(f"Key {report.key_id}: {source}")
    if report.trusted_comment:
        out.print(f"Signed: {report.trusted_comment}")
    if not report.ok:
        for problem in report.problems:
            console.print(f"[red]FAIL[/] {problem}")
        raise typer.Exit(code=1)
    out.print(f"[green]Verified[/]: signature and all {len(report.files)} files match.")
