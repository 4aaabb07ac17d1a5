"""Benchmark: building a package from the demo source, end to end, on one core.

For each size it runs one export in a fresh child process (so peak RSS is that run's
alone): demo source -> id mapping and schema validation -> staged, encrypted -> JSON-LD,
CSV, summary pages, catalogue -> deterministic ZIP -> signed -> age-encrypted file on
disk. It also reports the time spent inside the demo source (generating the records,
which stands in for waiting on a real source system) and the rate of the pipeline's own
work without it. It prints records/s and the child's peak RSS, repeats each size and reports the
median, and checks the goals: >= 50,000 records/s, and peak RSS at the largest size no
more than 1.5x that at the smallest.

    python bench/package.py                     # 10k, 100k, 1M records, 3 runs each
    python bench/package.py --sizes 10000 --runs 1
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Records the demo source makes per case with its default settings:
# 1 case + 3 documents + 1/4 grant + 3 payments (12 per grant).
RECORDS_PER_CASE = 7.25
FIXED_RECORDS = 9  # the person and the 8 contact units


def _one(size: int, out_dir: Path) -> dict[str, float]:
    """Run in the child: build one package and report."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    from exporter.cli.package import DEMO_CPR, run_export
    from exporter.connectors import BUILTIN_CONNECTORS
    from exporter.cpr import Cpr
    from exporter.keys import Keyring, generate_keys
    from exporter.profile import demo_profile_path, load_profile

    # The pipeline imports a source's connector when it first collects from it; a
    # worker process pays that once, not per package. As bench/connectors.py does, the
    # import (and only the import) happens before the clock.
    importlib.import_module(BUILTIN_CONNECTORS["demo"].partition(":")[0])
    cases = max(1, round((size - FIXED_RECORDS) / RECORDS_PER_CASE))
    profile = load_profile(demo_profile_path())
    profile = profile.model_copy(
        update={
            "sources": tuple(
                s.model_copy(update={"settings": {**s.settings, "cases": cases}})
                for s in profile.sources
            )
        }
    )
    generate_keys(out_dir / "keys")
    keyring = Keyring.load(out_dir / "keys")
    started = time.perf_counter()
    result, encrypted, _ = run_export(
        profile, Cpr.parse(DEMO_CPR), out_dir, keyring, plaintext=False, show_progress=False
    )
    elapsed = time.perf_counter() - started
    records = sum(r.accepted for r in result.datasets)
    in_source = sum(r.source_seconds for r in result.datasets)
    return {
        "records": records,
        "seconds": elapsed,
        "records_per_s": records / elapsed,
        "source_s": in_source,
        "pipeline_records_per_s": records / (elapsed - in_source),
        "package_mb": encrypted.stat().st_size / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run_child(size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="egnedata-bench-") as tmp:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--out", tmp],
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args.child, args.out)))
        return

    print(
        f"{'records':>10} {'runs':>4} {'seconds':>8} {'records/s':>10} {'in source s':>11} "
        f"{'pipeline rec/s':>14} {'peak RSS MB':>11} {'package MB':>10}"
    )
    medians: dict[int, dict[str, float]] = {}
    for size in args.sizes:
        runs = [_run_child(size) for _ in range(args.runs)]
        median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        medians[size] = median
        print(
            f"{int(median['records']):>10,} {len(runs):>4} {median['seconds']:>8.2f} "
            f"{median['records_per_s']:>10,.0f} {median['source_s']:>11.2f} "
            f"{median['pipeline_records_per_s']:>14,.0f} {median['peak_rss_mb']:>11.1f} "
            f"{median['package_mb']:>10.1f}",
            flush=True,
        )
    smallest, largest = min(medians), max(medians)
    ratio = medians[largest]["peak_rss_mb"] / medians[smallest]["peak_rss_mb"]
    slowest = min(m["records_per_s"] for m in medians.values())
    slowest_pipeline = min(m["pipeline_records_per_s"] for m in medians.values())
    print(f"\npeak RSS {largest:,} / {smallest:,} records: {ratio:.2f}x (goal <= 1.5x)")
    print(
        f"slowest size, end to end: {slowest:,.0f} records/s; without the time spent in the "
        f"demo source: {slowest_pipeline:,.0f} records/s (goal >= 50,000 on one core)"
    )


if __name__ == "__main__":
    main()
