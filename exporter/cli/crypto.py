"""``egnedata keys generate|rotate``, ``egnedata decrypt`` and ``egnedata verify``.

Errors are one line on stderr and exit code 1 (2 for a wrong command line), never a
traceback. ``decrypt`` writes to a temporary file beside the output and renames it
only once the whole file authenticated, so a tampered or truncated input leaves no
output behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from exporter.cli import app
from exporter.errors import EgneDataError
from exporter.keys import generate_keys, parse_identities, rotate_vault
from formats import age
from formats.errors import FormatError
from formats.minisign import PublicKey
from formats.verify import PUBLISHED_KEY, verify_package

__all__ = ["decrypt", "keys_app", "keys_generate", "keys_rotate", "verify"]

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

keys_app = typer.Typer(
    help="Make and rotate the service's keys.", no_args_is_help=True, add_completion=False
)
app.add_typer(keys_app, name="keys")

DirOption = Annotated[Path, typer.Option("--dir", help="The key directory.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code=code)


@keys_app.command("generate")
def keys_generate(
    directory: DirOption = Path("keys"),
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing keys (old data is lost).")
    ] = False,
) -> None:
    """Make a vault identity (age X25519) and a signing key (Ed25519)."""
    try:
        made = generate_keys(directory, force=force)
    except (EgneDataError, OSError) as exc:
        raise _fail(str(exc)) from None
    out.print(f"Keys written to {made.directory} (secret files are mode 0600).")
    out.print(f"Vault identity:   {made.vault_file}")
    out.print(f"  age recipient:  {made.recipient}")
    out.print(f"Signing key:      {made.signing_key_file}")
    out.print(f"Public key:       {made.public_key_file}  (publish this)")
    out.print(f"  key id:         {made.public_key.key_id}")
    out.print(made.public_key_file.read_text("utf-8").rstrip(), soft_wrap=True)


@keys_app.command("rotate")
def keys_rotate(directory: DirOption = Path("keys")) -> None:
    """Add a new vault identity for new data; the old ones keep decrypting."""
    try:
        recipient = rotate_vault(directory)
    except (EgneDataError, OSError) as exc:
        raise _fail(str(exc)) from None
    out.print(f"New data is now encrypted to {recipient}; older vault keys still decrypt.")


def _identities(
    identity_files: list[Path], passphrase_file: Path | None, max_work_factor: int
) -> list[age.Identity]:
    identities: list[age.Identity] = []
    for path in identity_files:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"{path}: cannot read the identity file ({exc})") from None
        try:
            identities.extend(parse_identities(text, str(path)))
        except EgneDataError as exc:
            raise _fail(str(exc)) from None
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text("utf-8").splitlines()
            identities.append(age.ScryptIdentity(lines[0] if lines else "", max_work_factor))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise _fail(f"{passphrase_file}: {exc}") from None
    if not identities:
        raise _fail("give an identity file (-i FILE) or --passphrase-file FILE", code=2)
    return identities


def _decrypt_to(source: Path, output: Path, identities: list[age.Identity]) -> None:
    """Decrypt into a private (0600) temporary file beside ``output``, then rename it."""
    with source.open("rb") as src:
        tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed before the rename
            dir=output.parent, prefix=f".{output.name}.", suffix=".part", delete=False
        )
        try:
            with tmp:
                age.decrypt(src, tmp, identities)
                tmp.flush()
                os.fsync(tmp.fileno())
            Path(tmp.name).replace(output)
        except BaseException:
            Path(tmp.name).unlink(missing_ok=True)
            raise


@app.command()
def decrypt(
    file: Annotated[Path, typer.Argument(help="The .age file (binary or armored).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write.")],
    identity: Annotated[
        list[Path] | None,
        typer.Option("-i", "--identity", help="An age identity file; may be repeated."),
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option("--passphrase-file", help="A file whose first line is the passphrase."),
    ] = None,
    max_work_factor: Annotated[
        int, typer.Option(help="Refuse passphrase files that need more than 2^N work.")
    ] = age.MAX_WORK_FACTOR,
) -> None:
    """Decrypt an age file; the output appears only if all of it authenticated."""
    identities = _identities(identity or [], passphrase_file, max_work_factor)
    try:
        _decrypt_to(file, output, identities)
    except FormatError as exc:
        raise _fail(f"{file}: {exc}; nothing was written") from None
    except OSError as exc:
        raise _fail(f"{exc.filename or file}: {exc.strerror or exc}") from None
    err.print(f"Decrypted {file} to {output}")


_STATUS = {
    "ok": "[green]ok[/]",
    "changed": "[red]CHANGED[/]",
    "missing": "[red]MISSING[/]",
    "unreadable": "[red]UNREADABLE[/]",
    "unlisted": "[red]NOT LISTED[/]",
}


@app.command()
def verify(
    package: Annotated[Path, typer.Argument(help="The package ZIP.")],
    pubkey: Annotated[
        Path | None,
        typer.Option("--pubkey", help="The municipality's published public key file."),
    ] = None,
) -> None:
    """Check a package's signature and every file's SHA-256."""
    try:
        key = PublicKey.load(pubkey) if pubkey is not None else None
    except (OSError, FormatError) as exc:
        raise _fail(f"{pubkey}: {exc}") from None
    if not package.is_file():
        raise _fail(f"{package}: no such file")
    report = verify_package(package, key)
    if report.files:
        table = Table("File", "SHA-256", box=None, pad_edge=False)
        for check in report.files:
            table.add_row(check.name, _STATUS.get(check.status, check.status))
        out.print(table)
    if report.key_id:
        out.print(f"Checked against: {report.key_source}, key id {report.key_id}", soft_wrap=True)
    if report.trusted_comment:
        out.print(f"Signed statement: {report.trusted_comment}", soft_wrap=True)
    if not report.ok:
        for problem in report.problems:
            err.print(f"[bold red]FAIL[/] {problem}", soft_wrap=True)
        raise typer.Exit(code=1)
    if report.key_source == PUBLISHED_KEY:
        verdict = "the package is intact and was signed by the holder of the key you gave."
    else:
        verdict = (
            "the package is intact, but checked only against the key inside it, which "
            "does not prove who made it: give --pubkey with the municipality's published key."
        )
    out.print(f"[bold green]Verified[/] ({len(report.files)} files): {verdict}", soft_wrap=True)
