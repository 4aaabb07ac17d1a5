"""``egnedata demo`` and ``egnedata export``: build a package for one citizen."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from exporter.cli import app
from exporter.connectors import Subject
from exporter.cpr import Cpr
from exporter.errors import EgneDataError
from exporter.keys import Keyring, generate_keys
from exporter.pipeline import PackageResult, build_package
from exporter.pipeline.collect import GAP_REASONS
from exporter.profile import Profile, demo_profile_path, load_profile
from exporter.signing import KeySigner
from formats import age

__all__ = ["DEMO_CPR", "run_export"]

DEMO_CPR = "710190-1234"
"""A synthetic CPR number (day 71 = 11 + 60): nobody's birthday."""

console = Console(stderr=True)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """Write beside ``path`` and rename into place only if everything succeeded."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with tmp.open("wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _progress() -> Iterator[tuple[Progress, dict[str, TaskID]]]:
    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed:>10,.0f} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        yield progress, {}


def run_export(
    profile: Profile,
    cpr: Cpr,
    out_dir: Path,
    keyring: Keyring,
    *,
    plaintext: bool,
    package_id: str | None = None,
    generated_at: str | None = None,
    show_progress: bool = True,
) -> tuple[PackageResult, Path, Path | None]:
    """Build one package; always the encrypted ``.zip.age``, the ZIP only if asked."""
    out_dir.mkdir(parents=True, exist_ok=True)
    package_id = package_id or str(uuid.uuid4())
    generated_at = generated_at or _now()
    stem = f"egnedata-{profile.municipality.code}-{package_id[:8]}"
    encrypted_path = out_dir / f"{stem}.zip.age"
    zip_path = out_dir / f"{stem}.zip" if plaintext else None
    signer = KeySigner(keyring.signing_key)
    with contextlib.ExitStack() as stack:
        encrypted_file = stack.enter_context(_atomic(encrypted_path))
        encrypted = stack.enter_context(
            age.encrypt_stream(encrypted_file, [keyring.current_recipient])
        )
        outputs: list[IO[bytes]] = [encrypted]
        if zip_path is not None:
            outputs.append(stack.enter_context(_atomic(zip_path)))
        progress, tasks = stack.enter_context(_progress()) if show_progress else (None, {})

        def collected(dataset_id: str, n: int) -> None:
            if progress is not None:
                if dataset_id not in tasks:
                    tasks[dataset_id] = progress.add_task(f"Henter {dataset_id}", total=None)
                progress.advance(tasks[dataset_id], n)

        def written(dataset_id: str, n: int) -> None:
            key = "write:" + dataset_id
            if progress is not None:
                if key not in tasks:
                    tasks[key] = progress.add_task(f"Skriver {dataset_id}", total=None)
                progress.advance(tasks[key], n)

        result = build_package(
            profile,
            Subject(cpr),
            outputs,
            signer,
            package_id=package_id,
            generated_at=generated_at,
            collect_progress=collected,
            assemble_progress=written,
        )
    return result, encrypted_path, zip_path


def _report(result: PackageResult) -> None:
    table = Table(title="Datasæt / datasets", show_lines=False)
    for heading in ("dataset", "source", "records", "rejected", "status"):
        table.add_column(heading)
    for r in result.datasets:
        status = "ok" if r.complete else f"GAP: {GAP_REASONS[r.gap or 'error']['en']}"
        table.add_row(r.dataset_id, r.source_id, f"{r.accepted:,}", str(r.rejected), status)
    console.print(table)
    for r in result.datasets:
        if r.rejected:
            reasons = ", ".join(f"{k} ×{v}" for k, v in r.reasons.most_common(5))
            console.print(
                f"[yellow]Data quality:[/] {r.dataset_id}: {r.rejected} rejected ({reasons})"
            )


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(code=2)


CprOption = Annotated[str, typer.Option("--cpr", help="The citizen's CPR number, DDMMYY-SSSS.")]
OutOption = Annotated[Path, typer.Option("--out", help="Folder to write the package to.")]


@app.command()
def demo(
    out: OutOption = Path("egnedata-out"),
    cpr: Annotated[str, typer.Option(help="A synthetic CPR number (day 61-91).")] = DEMO_CPR,
    cases: Annotated[int, typer.Option(min=0, max=10_000_000, help="Cases per source.")] = 12,
    package_id: Annotated[str | None, typer.Option(help="Fix the package id.")] = None,
    generated_at: Annotated[str | None, typer.Option(help="Fix the time, ISO 8601.")] = None,
) -> None:
    """Build a signed package for a fictional citizen from the demo municipality."""
    try:
        subject = Cpr.parse(cpr)
        if not subject.is_synthetic:
            raise _fail("the demo only takes synthetic CPR numbers (day of month 61-91)")
        profile = load_profile(demo_profile_path())
        if cases != 12:
            profile = _with_cases(profile, cases)
        keys_dir = out / "keys"
        if not (keys_dir / "signing.key").exists():
            generate_keys(keys_dir)
            console.print(f"Made demo keys in {keys_dir} (keep them secret in real use).")
        keyring = Keyring.load(keys_dir)
        result, encrypted_path, zip_path = run_export(
            profile, subject, out, keyring, plaintext=True,
            package_id=package_id, generated_at=generated_at,
        )
    except EgneDataError as exc:
        raise _fail(str(exc)) from None
    _report(result)
    assert zip_path is not None
    identity = next(iter(sorted(keys_dir.glob("vault-*.key"))), keys_dir / "vault-*.key")
    console.print(
        f"\n[bold]Pakken er klar / the package is ready[/]\n"
        f"  {zip_path}  (fiktive data, so it is also written unencrypted)\n"
        f"  {encrypted_path}  (encrypted with age)\n\n"
        f"Open it: unzip {zip_path} -d {out / 'pakke'} && open {out / 'pakke' / 'index.html'}\n"
        f"Decrypt: egnedata decrypt {encrypted_path} -i {identity} -o {out / 'decrypted.zip'}\n"
        f"    or:  age -d -i {identity} -o {out / 'decrypted.zip'} {encrypted_path}\n"
        f"Verify:  egnedata verify {zip_path} --pubkey {keys_dir / 'signing.pub'}"
    )


def _with_cases(profile: Profile, cases: int) -> Profile:
    sources = tuple(
        s.model_copy(update={"settings": {**s.settings, "cases": cases}})
        if s.connector == "demo" else s
        for s in profile.sources
    )
    return profile.model_copy(update={"sources": sources})


@app.command()
def export(
    profile: Annotated[Path, typer.Option("--profile", help="The municipality's profile (TOML).")],
    cpr: CprOption,
    out: OutOption,
    keys: Annotated[
        Path, typer.Option("--keys", envvar="EGNEDATA_KEYS_DIR", help="The key directory.")
    ] = Path("keys"),
    plaintext: Annotated[
        bool, typer.Option("--plaintext", help="Also write the unencrypted ZIP.")
    ] = False,
    package_id: Annotated[str | None, typer.Option(help="Fix the package id.")] = None,
    generated_at: Annotated[str | None, typer.Option(help="Fix the time, ISO 8601.")] = None,
) -> None:
    """Build a signed, encrypted package for one citizen from a municipality's sources."""
    try:
        subject = Cpr.parse(cpr)
        loaded = load_profile(profile)
        keyring = Keyring.load(keys)  # fail closed: no key, no package
        result, encrypted_path, zip_path = run_export(
            loaded, subject, out, keyring, plaintext=plaintext,
            package_id=package_id, generated_at=generated_at,
        )
    except EgneDataError as exc:
        raise _fail(str(exc)) from None
    _report(result)
    console.print(f"\n[bold]Package written:[/] {encrypted_path}")
    if zip_path:
        console.print(f"[yellow]Unencrypted copy (handle with care):[/] {zip_path}")
    if not result.complete:
        console.print("[yellow]Some sources failed; the package says which.[/]")
        raise typer.Exit(code=3)
