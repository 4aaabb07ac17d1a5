"""Benchmark: age encryption, decryption and re-wrapping against the `age` tool.

On the same file (1 GiB by default) in one run, each step repeated (median reported):

- encrypt and decrypt throughput, ours (in a child process, so its peak RSS is its own)
  and the `age` command-line tool's, and our/age ratios (goal >= 0.8x both ways);
- our peak RSS (goal < 64 MB);
- the time to re-wrap the file for a new X25519 recipient, for two file sizes: the
  header work is the same, only the byte copy of the payload grows (goal: the rewrap
  cost itself does not depend on the file size).

    python bench/crypto.py [--size-mib 1024] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(action: str, src: Path, dst: Path, key: Path) -> dict[str, float]:
    import io
    import resource

    from formats import age

    identity = age.X25519Identity.parse(key.read_text().strip().splitlines()[-1])
    started = time.perf_counter()
    with src.open("rb", buffering=0) as raw_in, dst.open("wb", buffering=0) as raw_out:
        reader, writer = io.BufferedReader(raw_in, 1 << 20), io.BufferedWriter(raw_out, 1 << 20)
        if action == "encrypt":
            age.encrypt(reader, writer, [identity.recipient])
        elif action == "decrypt":
            age.decrypt(reader, writer, [identity])
        else:
            other = age.X25519Identity.generate()
            age.rewrap(reader, writer, [identity], [other.recipient])
        writer.flush()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": elapsed, "peak_rss_mb": peak}


def _ours(action: str, src: Path, dst: Path, key: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", action, str(src), str(dst), str(key)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _tool(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        for _ in range(size >> 20):
            out.write(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-mib", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        action, src, dst, key = args.child
        print(json.dumps(_child(action, Path(src), Path(dst), Path(key))))
        return
    age_tool = shutil.which("age")
    if age_tool is None:
        sys.exit("the age tool is needed: apt-get install age")
    from formats import age

    with tempfile.TemporaryDirectory(prefix="egnedata-bench-", dir=os.environ.get("TMPDIR")) as d:
        tmp = Path(d)
        identity = age.X25519Identity.generate()
        key = tmp / "key.txt"
        key.write_text(f"{identity}\n")
        size = args.size_mib << 20
        plain, small = tmp / "plain", tmp / "small"
        _make_file(plain, size)
        _make_file(small, args.small_mib << 20)
        rows: dict[str, list[float]] = {
            k: []
            for k in (
                "ours_enc",
                "age_enc",
                "ours_dec",
                "age_dec",
                "rss_enc",
                "rss_dec",
                "rewrap_big",
                "rewrap_small",
                "copy_big",
                "copy_small",
            )
        }
        recipient = str(identity.recipient)
        for _ in range(args.runs):
            enc = _ours("encrypt", plain, tmp / "ours.age", key)
            rows["ours_enc"].append(enc["seconds"])
            rows["rss_enc"].append(enc["peak_rss_mb"])
            rows["age_enc"].append(
                _tool([age_tool, "-r", recipient, "-o", str(tmp / "tool.age"), str(plain)])
            )
            dec = _ours("decrypt", tmp / "tool.age", tmp / "ours.out", key)
            rows["ours_dec"].append(dec["seconds"])
            rows["rss_dec"].append(dec["peak_rss_mb"])
            rows["age_dec"].append(
                _tool(
                    [
                        age_tool,
                        "-d",
                        "-i",
                        str(key),
                        "-o",
                        str(tmp / "tool.out"),
                        str(tmp / "ours.age"),
                    ]
                )
            )
            assert (tmp / "ours.out").stat().st_size == size
            _ours("encrypt", small, tmp / "small.age", key)
            rows["rewrap_big"].append(
                _ours("rewrap", tmp / "ours.age", tmp / "rw.age", key)["seconds"]
            )
            rows["rewrap_small"].append(
                _ours("rewrap", tmp / "small.age", tmp / "rw.age", key)["seconds"]
            )
            # A streamed copy of the same bytes: what any rewrap pays for the payload.
            for name, source in (("copy_big", tmp / "ours.age"), ("copy_small", tmp / "small.age")):
                started = time.perf_counter()
                with source.open("rb") as src, (tmp / "copy").open("wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
                rows[name].append(time.perf_counter() - started)
        med = {k: statistics.median(v) for k, v in rows.items()}

    mib = args.size_mib
    print(f"file: {mib} MiB, {args.runs} runs, medians")
    print(f"{'':14}{'ours MB/s':>12}{'age MB/s':>12}{'ours/age':>10}{'peak RSS MB':>13}")
    for label, ours, tool, rss in (
        ("encrypt", "ours_enc", "age_enc", "rss_enc"),
        ("decrypt", "ours_dec", "age_dec", "rss_dec"),
    ):
        ours_rate, tool_rate = mib / med[ours], mib / med[tool]
        print(
            f"{label:14}{ours_rate:>12.0f}{tool_rate:>12.0f}{ours_rate / tool_rate:>10.2f}"
            f"{med[rss]:>13.1f}"
        )
    print("\nrewrap for a new X25519 recipient (header replaced, payload copied unchanged):")
    for _label, rewrap, copy, size_mib in (
        ("large", "rewrap_big", "copy_big", mib),
        ("small", "rewrap_small", "copy_small", args.small_mib),
    ):
        extra = med[rewrap] - med[copy]
        print(
            f"  {size_mib:>6} MiB: rewrap {med[rewrap]:.3f} s, plain copy {med[copy]:.3f} s, "
            f"rewrap minus copy {extra * 1000:.0f} ms"
        )
    print(
        "goals: ours/age >= 0.8 both ways; peak RSS < 64 MB; rewrap minus copy independent of size"
    )


if __name__ == "__main__":
    main()
