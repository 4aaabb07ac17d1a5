"""Benchmark: age encryption, decryption and re-wrapping, against the `age` tool.

In one run, on the same file (1 GiB by default, random blocks repeated), each step
repeated ``--runs`` times and the median printed:

- encrypt and decrypt throughput, ours and the `age` command-line tool's (``age -r``,
  ``age -d -i``), and the ratio ours/age (goal: at least 0.8 both ways);
- the peak RSS of our encrypt and decrypt, each measured in a child process of its
  own (goal: under 64 MB);
- re-wrapping the file for a new X25519 recipient, for the large file and a 10 MiB
  one, three ways: ``age.rewrap`` (the new header, then the payload copied with
  ``os.copy_file_range``: in the kernel, or a reflink where the file system can);
  ``age.rewrap_header`` plus the payload through ``shutil.copyfileobj``; and
  ``rewrap_header`` plus ``os.sendfile``. Next to them the header work alone (read,
  unwrap, wrap, MAC) and a plain copy of the file: a rewrap costs a copy plus a
  constant.

    .venv/bin/python bench/crypto.py [--size-mib 1024] [--small-mib 10] [--runs 3]
                                     [--dir DIRECTORY]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from formats import age  # noqa: E402


def _child(action: str, src: Path, dst: Path, key: Path) -> dict[str, float]:
    """Run one of our operations; its wall time and this process's peak RSS."""
    import resource

    identity = age.X25519Identity.parse(key.read_text().split()[-1])
    started = time.perf_counter()
    with src.open("rb") as reader, dst.open("wb") as writer:
        if action == "encrypt":
            age.encrypt(reader, writer, [identity.recipient])
        else:
            age.decrypt(reader, writer, [identity])
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _ours(action: str, src: Path, dst: Path, key: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", action, str(src), str(dst), str(key)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _prepare(*outputs: Path) -> None:
    """Delete old outputs and flush dirty pages, outside the timed region: truncating
    a large file (with online discard) or competing with writeback would be timed."""
    for output in outputs:
        output.unlink(missing_ok=True)
    os.sync()


def _timed(run: Callable[[], object], *outputs: Path) -> float:
    _prepare(*outputs)
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        for _ in range(size >> 20):
            out.write(block)
        out.write(block[: size % (1 << 20)])


def _copy_payload(
    src: Path, dst: Path, identity: age.X25519Identity, recipient: age.X25519Recipient, how: str
) -> None:
    """rewrap_header, then the payload range copied by ``how``."""
    with src.open("rb") as reader:
        new = age.rewrap_header(reader, [identity], [recipient])
    size = src.stat().st_size - new.payload_offset
    with src.open("rb") as reader, dst.open("wb") as writer:
        writer.write(new.header)
        if how == "copyfileobj":
            reader.seek(new.payload_offset)
            shutil.copyfileobj(reader, writer, 1 << 20)
            return
        writer.flush()
        offset = new.payload_offset
        while size:
            sent = os.sendfile(writer.fileno(), reader.fileno(), offset, size)
            if not sent:
                raise OSError("the payload copy stopped early")
            offset += sent
            size -= sent


def _rewrap_steps(
    src: Path, tmp: Path, identity: age.X25519Identity, citizen: age.X25519Identity
) -> dict[str, tuple[Callable[[], object], Path]]:
    """Each way to rewrap ``src`` for ``citizen``, and the file it writes."""
    new = citizen.recipient
    out, copy = tmp / "rewrapped.age", tmp / "copy"

    def rewrap() -> None:
        with src.open("rb") as reader, out.open("wb") as writer:
            age.rewrap(reader, writer, [identity], [new])

    def header_only() -> None:
        with src.open("rb") as reader:
            age.rewrap_header(reader, [identity], [new])

    def plain_copy() -> None:
        with src.open("rb") as reader, copy.open("wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)

    return {
        "age.rewrap": (rewrap, out),
        "header + copyfileobj": (
            lambda: _copy_payload(src, out, identity, new, "copyfileobj"),
            out,
        ),
        "header + sendfile": (lambda: _copy_payload(src, out, identity, new, "sendfile"), out),
        "header work alone": (header_only, tmp / "nothing-written"),
        "plain copy of the file": (plain_copy, copy),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-mib", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the files")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        action, src, dst, key = args.child
        print(json.dumps(_child(action, Path(src), Path(dst), Path(key))))
        return
    tool = shutil.which("age")
    if tool is None:
        sys.exit("the age tool is needed: apt-get install age")

    with tempfile.TemporaryDirectory(prefix="egnedata-bench-", dir=args.dir) as directory:
        tmp = Path(directory)
        identity, citizen = age.X25519Identity.generate(), age.X25519Identity.generate()
        key = tmp / "key.txt"
        key.write_text(f"{identity}\n")
        recipient = str(identity.recipient)
        size, small_size = args.size_mib << 20, args.small_mib << 20
        plain, small = tmp / "plain", tmp / "small"
        _make_file(plain, size)
        _make_file(small, small_size)
        with plain.open("rb") as src, (tmp / "ours.age").open("wb") as dst:
            age.encrypt(src, dst, [identity.recipient])
        with small.open("rb") as src, (tmp / "small.age").open("wb") as dst:
            age.encrypt(src, dst, [identity.recipient])

        rows: dict[str, list[float]] = {}

        def record(name: str, value: float) -> None:
            rows.setdefault(name, []).append(value)

        encrypted, from_tool = tmp / "ours.age", tmp / "tool.age"
        ours_out, tool_out = tmp / "ours.out", tmp / "tool.out"
        age_encrypt = [tool, "-r", recipient, "-o", str(from_tool), str(plain)]
        age_decrypt = [tool, "-d", "-i", str(key), "-o", str(tool_out), str(encrypted)]
        for run_number in range(args.runs):
            _prepare(encrypted)
            enc = _ours("encrypt", plain, encrypted, key)
            record("ours encrypt", enc["seconds"])
            record("ours encrypt rss", enc["peak_rss_mb"])
            record(
                "age encrypt", _timed(partial(subprocess.run, age_encrypt, check=True), from_tool)
            )
            _prepare(ours_out)
            dec = _ours("decrypt", from_tool, ours_out, key)  # ours reads age's file
            record("ours decrypt", dec["seconds"])
            record("ours decrypt rss", dec["peak_rss_mb"])
            record(
                "age decrypt", _timed(partial(subprocess.run, age_decrypt, check=True), tool_out)
            )
            for label, source in (("large", encrypted), ("small", tmp / "small.age")):
                steps = list(_rewrap_steps(source, tmp, identity, citizen).items())
                # A different step goes first each run, so none always meets the
                # write-back of what the step before it wrote.
                shift = run_number % len(steps)
                for step, (run, output) in steps[shift:] + steps[:shift]:
                    record(f"{label}: {step}", _timed(run, output))
        # Both directions produced the right bytes, and the last rewrap opens.
        if not (
            filecmp.cmp(plain, ours_out, shallow=False)
            and filecmp.cmp(plain, tool_out, shallow=False)
        ):
            sys.exit("decryption produced the wrong bytes")
        with (tmp / "rewrapped.age").open("rb") as src, (tmp / "check").open("wb") as dst:
            age.decrypt(src, dst, [citizen])
    med = {name: statistics.median(values) for name, values in rows.items()}

    mib = args.size_mib
    print(f"age: {mib} MiB file, {args.runs} runs, medians (machine: {os.cpu_count()} cores)")
    print(f"{'':10}{'ours MB/s':>11}{'age MB/s':>10}{'ours/age':>10}{'our peak RSS':>14}")
    for action in ("encrypt", "decrypt"):
        ours, theirs = size / 1e6 / med[f"ours {action}"], size / 1e6 / med[f"age {action}"]
        print(
            f"{action:10}{ours:>11.0f}{theirs:>10.0f}{ours / theirs:>10.2f}"
            f"{med[f'ours {action} rss']:>11.1f} MB"
        )
    print(f"\nrewrap for a new X25519 recipient (seconds; {mib} MiB and {args.small_mib} MiB)")
    print(f"{'':28}{f'{mib} MiB':>12}{f'{args.small_mib} MiB':>12}")
    for step in _rewrap_steps(Path(), Path(), identity, identity):
        print(f"{step:28}{med[f'large: {step}']:>12.4f}{med[f'small: {step}']:>12.4f}")
    print("goals: ours/age >= 0.8 both ways; peak RSS < 64 MB; the header work does not grow")


if __name__ == "__main__":
    main()
