"""``egnedata sources check``: can each source of a profile be read and mapped?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from exporter.cli import app
from exporter.cpr import Cpr
from exporter.errors import EgneDataError
from exporter.pipeline.check import check_profile
from exporter.profile import load_profile

__all__: list[str] = []

console = Console()
sources_app = typer.Typer(help="A profile's sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


@sources_app.command("check")
def check(
    profile: Annotated[Path, typer.Option(help="The municipality's profile (TOML).")],
    cpr: Annotated[
        str | None,
        typer.Option(help="Ask the sources about this person (a test person!)."),
    ] = None,
    sample: Annotated[int, typer.Option(min=1, help="Records to validate per dataset.")] = 20,
) -> None:
    """Connect to each source, map and validate a sample, print what works.

    Without --cpr a source's check_cpr is used; without either, only whether the
    source can be reached is checked. Exits with 1 if anything failed.
    """
    try:
        loaded = load_profile(profile)
        subject = Cpr.parse(cpr) if cpr else None
    except EgneDataError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    results = check_profile(loaded, subject, sample)
    table = Table(title=f"Sources of {loaded.municipality.display_name}")
    for column in ("source", "dataset", "checked", "result", "records", "valid", "detail"):
        table.add_column(column, overflow="fold")
    for r in results:
        table.add_row(
            r.source_id, r.dataset_id or "-", r.what,
            "[green]ok[/]" if r.ok else "[red]failed[/]",
            str(r.fetched) if r.what == "records" else "-",
            str(r.valid) if r.what == "records" else "-",
            r.detail,
        )
    console.print(table)
    failed = sum(not r.ok for r in results)
    if failed:
        console.print(f"[red]{failed} of {len(results)} checks failed[/]")
        raise typer.Exit(code=1)
    console.print(f"[green]all {len(results)} checks passed[/]")
