"""The pipeline: collect every source into an encrypted stage, then assemble the package.

``build_package`` is the whole run for one subject in one process (the command line).
The service runs the same two steps as separate jobs: one collect job per source, then
one assemble job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO

from exporter.connectors import Subject
from exporter.pipeline.assemble import AssembleProgress, PackageResult, Signer, assemble
from exporter.pipeline.collect import DatasetResult, Progress, collect_source
from exporter.pipeline.stage import EphemeralStage
from exporter.profile import Profile

__all__ = ["DatasetResult", "PackageResult", "build_package"]


def build_package(
    profile: Profile,
    subject: Subject,
    outputs: Sequence[IO[bytes]],
    signer: Signer,
    *,
    package_id: str,
    generated_at: str,
    stage_dir: Path | None = None,
    collect_progress: Progress | None = None,
    assemble_progress: AssembleProgress | None = None,
) -> PackageResult:
    with EphemeralStage(stage_dir) as stage:
        results: list[DatasetResult] = []
        for source in profile.sources:
            results.extend(
                collect_source(
                    source, subject, profile.municipality.code, stage, progress=collect_progress
                )
            )
        return assemble(
            outputs, profile, results, stage, signer,
            package_id=package_id, generated_at=generated_at, progress=assemble_progress,
        )
