"""The ``file`` connector on real files: UTF-8 with and without BOM, Windows-1252,
semicolons and commas, Danish dates and decimal commas, JSON Lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from exporter.connectors.file import FileConnector
from tests.exporter.connectors.case_index import CPR_EMPTY, CPR_MANY, raw_case
from tests.exporter.connectors.support import case_dataset, collect_one, dataset, source, subject

OTHER = "0303903456"
COLUMNS = ["CPR", "sagsid", "sagsnr", "titel", "kle", "status", "oprettet", "enhed"]


def _csv(path: Path, encoding: str, delimiter: str, bom: bool = False) -> None:
    lines = [delimiter.join(COLUMNS)]
    for i in range(1, 24):
        for cpr in (f"{CPR_MANY[:6]}-{CPR_MANY[6:]}", OTHER):
            case = raw_case(i)
            title = f'"Sag om {"æøå" if i % 2 else "Søren; Ærø"} {i}"'
            lines.append(delimiter.join([cpr, case["sagsid"], str(case["sagsnr"]), title,
                                         case["kle"], case["status"], case["oprettet"],
                                         case["enhed"]]))
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _collect(folder: Path, tmp_path: Path, cpr: str = CPR_MANY, **settings: Any,
             ) -> tuple[Any, list[Any]]:
    src = source("file", {"folder": str(folder), "subject_column": "CPR", **settings},
                 case_dataset())
    return collect_one(src, tmp_path, cpr)


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [("utf-8", ";", True), ("utf-8", ",", False), ("windows-1252", ";", False)],
)
def test_reads_the_subjects_rows_in_every_encoding(
    tmp_path: Path, encoding: str, delimiter: str, bom: bool
) -> None:
    folder = tmp_path / "udtraek"
    folder.mkdir()
    _csv(folder / "sager.csv", encoding, delimiter, bom)
    result, records = _collect(folder, tmp_path, page_size=4)
    assert (result.fetched, result.accepted) == (23, 23), result.reasons
    assert records[0]["title"] == "Sag om æøå 1"
    assert records[1]["title"] == "Sag om Søren; Ærø 2"
    assert records[0]["openedDate"] == "2024-02-02"


def test_pages_are_cursors_of_file_and_offset(tmp_path: Path) -> None:
    folder = tmp_path / "udtraek"
    folder.mkdir()
    _csv(folder / "a.csv", "utf-8", ";")
    _csv(folder / "b.csv", "windows-1252", ";")
    connector = FileConnector.from_settings(
        {"folder": str(folder), "subject_column": "CPR", "page_size": 10})
    cursor, seen, cursors = None, 0, []
    while True:
        page = connector.fetch(subject(CPR_MANY), dataset(mapping={}), cursor)
        seen += len(page.records)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        cursors.append(orjson.loads(cursor))
    assert seen == 46
    assert [c[0] for c in cursors] == ["a.csv", "a.csv", "b.csv", "b.csv", "b.csv"]


def test_scan_bytes_bounds_a_page(tmp_path: Path) -> None:
    folder = tmp_path / "udtraek"
    folder.mkdir()
    _csv(folder / "sager.csv", "utf-8", ";")
    result, _ = _collect(folder, tmp_path, scan_bytes=4096)
    assert result.accepted == 23


def test_no_rows_and_no_files_give_an_empty_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "udtraek"
    folder.mkdir()
    result, records = _collect(folder, tmp_path)
    assert result.complete and records == []
    _csv(folder / "sager.csv", "utf-8", ";")
    result, records = _collect(folder, tmp_path, cpr=CPR_EMPTY)
    assert result.complete and records == []


def test_json_lines_with_hostile_lines(tmp_path: Path) -> None:
    folder = tmp_path / "udtraek"
    folder.mkdir()
    good = [{**raw_case(i), "cpr": CPR_MANY} for i in range(1, 4)]
    lines = [orjson.dumps(r) for r in good]
    lines.append(orjson.dumps({**raw_case(4), "cpr": OTHER}))
    lines.append(b'{"cpr": "' + CPR_MANY.encode() + b'", broken')
    lines.append(b'{"cpr": "' + CPR_MANY.encode() + b'", "titel": "' + b"x" * 5000 + b'"}')
    lines.append(orjson.dumps({**raw_case(5), "cpr": CPR_MANY, "oprettet": "2024-13-01"}))
    (folder / "sager.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    result, _ = _collect(folder, tmp_path, format="jsonl", pattern="*.jsonl",
                         subject_column="cpr", max_line_bytes=4096)
    assert result.accepted == 3
    assert result.reasons == {"(record): not valid JSON": 1,
                              "(record): line longer than max_line_bytes": 1,
                              "openedDate: date dd-mm-yyyy": 1}


def test_a_file_without_the_subject_column_fails_the_source(tmp_path: Path) -> None:
    folder = tmp_path / "udtraek"
    folder.mkdir()
    (folder / "sager.csv").write_text("a;b\n1;2\n")
    result, _ = _collect(folder, tmp_path)
    assert result.gap == "refused"


def test_patterns_stay_in_the_folder() -> None:
    with pytest.raises(ValueError, match="no / or"):
        FileConnector.from_settings({"folder": "/tmp", "pattern": "../*.csv"})
