"""Assembling: staged records -> JSON-LD, CSV, pages, catalogue -> signed ZIP.

The ZIP streams into the given outputs (typically an age-encrypting writer), so the
package never exists in plaintext on disk unless a plaintext output is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

import orjson

from exporter.pipeline.catalogue import catalogue, category_labels, legal_basis_labels
from exporter.pipeline.collect import GAP_REASONS, DatasetResult
from exporter.pipeline.stage import Stage, StagedReader
from exporter.profile import Profile
from formats import html
from formats.container import PackageZip
from formats.jsonld import CONTEXT_FILE, dumps_document
from formats.manifest import format_manifest
from formats.records import context_bytes, record_type, schema_files
from formats.summary import DatasetSummary

__all__ = ["AssembleProgress", "PackageResult", "Signer", "assemble"]

AssembleProgress = Callable[[str, int], None]
"""Called with a step name and how many more records were written."""

_PUBLIC_KEY_FILE = "signing-key.pub"


class Signer(Protocol):
    """Signs the manifest; implemented over the municipality's Ed25519 key."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key_text(self) -> str: ...

    def sign(self, manifest: bytes, *, trusted_comment: str) -> tuple[str, bytes]:
        """The minisign signature text and the signify signed-checksum file."""
        ...


@dataclass(frozen=True)
class PackageResult:
    package_id: str
    hashes: dict[str, str]
    sizes: dict[str, int]
    datasets: Sequence[DatasetResult]

    @property
    def complete(self) -> bool:
        return all(r.complete for r in self.datasets)


def assemble(
    outputs: Sequence[IO[bytes]],
    profile: Profile,
    results: Sequence[DatasetResult],
    stage: Stage,
    signer: Signer,
    *,
    package_id: str,
    generated_at: str,
    progress: AssembleProgress | None = None,
    period: tuple[str | None, str | None] | None = None,
    flag_url: str = "",
) -> PackageResult:
    """Write the whole package to ``outputs``; ``generated_at`` is ISO 8601 UTC.

    ``period`` (ISO dates, None for open) is the period a request was limited to; the
    package states it in its catalogue and on its pages. ``flag_url``, the portal's
    address, makes each record in ``index.html`` link to its flag form there.
    """
    package = PackageZip(*outputs)
    try:
        return _write(
            package, profile, results, stage, signer,
            package_id=package_id, generated_at=generated_at, progress=progress,
            period=period, flag_url=flag_url,
        )
    except BaseException:
        package.abort()
        raise


def _copy_staged(package: PackageZip, stage: Stage, dataset_id: str) -> DatasetSummary:
    """Copy a dataset's staged files into the ZIP, deflated as they were collected;
    its summary."""
    with stage.reader(f"{dataset_id}.staged") as stream:
        staged = StagedReader(stream, dataset_id)
        with staged.part() as jsonld:
            package.write_deflated(f"data/{dataset_id}.jsonld", jsonld.chunks, jsonld.entry)
        with staged.part(lambda: stage.reader(f"{dataset_id}.csv")) as csv:
            package.write_deflated(f"data/{dataset_id}.csv", csv.chunks, csv.entry)
        return DatasetSummary.from_json(orjson.loads(staged.summary()))


def _write(
    package: PackageZip,
    profile: Profile,
    results: Sequence[DatasetResult],
    stage: Stage,
    signer: Signer,
    *,
    package_id: str,
    generated_at: str,
    progress: AssembleProgress | None,
    period: tuple[str | None, str | None] | None,
    flag_url: str,
) -> PackageResult:
    by_id = {r.dataset_id: r for r in results}
    views: list[html.DatasetView] = []
    subject_name = ""
    for source in profile.sources:
        for ds in source.datasets:
            result = by_id[ds.id]
            rt = record_type(ds.record_type)
            summary = DatasetSummary(rt)
            files: list[str] = []
            if result.complete:
                summary = _copy_staged(package, stage, ds.id)
                files = [f"data/{ds.id}.jsonld", f"data/{ds.id}.csv"]
                if progress is not None:
                    progress(ds.id, summary.count)
            if rt.name == "Person" and summary.kept:
                person = summary.kept[0]
                subject_name = f"{person.get('givenName', '')} {person.get('familyName', '')}"
            views.append(
                html.DatasetView(
                    id=ds.id,
                    record_type=rt,
                    title=ds.title.as_dict(),
                    description=ds.description.as_dict(),
                    purpose=ds.purpose.as_dict(),
                    legal_basis=legal_basis_labels(ds),
                    categories=category_labels(ds),
                    recipients=ds.recipients.as_dict(),
                    storage_period=ds.storage_period.as_dict(),
                    origin=ds.origin.as_dict(),
                    source_name=source.name.as_dict(),
                    summary=summary,
                    rejected=result.rejected,
                    gap=None if result.complete else GAP_REASONS[result.gap or "error"],
                    files=files,
                    automated_decisions=ds.automated_decisions,
                )
            )

    package.write_bytes(CONTEXT_FILE, context_bytes())
    for name, data in schema_files():
        package.write_bytes(f"schemas/{name}", data)
    package.write_bytes(
        "package.jsonld",
        dumps_document(catalogue(profile, results, package_id=package_id, issued=generated_at,
                                 period=period)),
    )
    view = html.PackageView(
        package_id=package_id,
        generated_at=generated_at,
        municipality_name=profile.municipality.display_name,
        municipality_code=profile.municipality.code,
        controller=profile.controller.model_dump(),
        dpo=profile.dpo.model_dump(),
        datasets=views,
        subject_name=subject_name,
        signing_key_id=signer.key_id,
        signing_public_key=signer.public_key_text.strip().splitlines()[-1],
        extra={"period": period} if period else {},
        flag_url=flag_url,
    )
    for name, data in html.render_pages(view).items():
        package.write_bytes(name, data)
    package.write_bytes(_PUBLIC_KEY_FILE, signer.public_key_text.encode("utf-8"))

    manifest = format_manifest(sorted(package.hashes.items()))
    minisig, signify = signer.sign(
        manifest, trusted_comment=f"package:{package_id} time:{generated_at}"
    )
    package.write_bytes("SHA256SUMS", manifest)
    package.write_bytes("SHA256SUMS.minisig", minisig.encode("utf-8"))
    package.write_bytes("SHA256SUMS.sig", signify)
    hashes = dict(package.hashes)
    sizes = dict(package.sizes)
    package.close()
    return PackageResult(package_id, hashes, sizes, results)
