"""Every JSON-LD file expands offline with pyld, and rdflib reads the same triples."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld
from rdflib import Graph, Literal
from rdflib.compare import isomorphic

from tests.conftest import Builder


def offline_loader(root: Path):  # type: ignore[no-untyped-def]
    """Serves files inside the package; anything else is refused."""

    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if not url.startswith("file://"):
            raise jsonld.JsonLdError("network refused", "loading document failed", {"url": url})
        path = Path(url.removeprefix("file://")).resolve()
        if root.resolve() not in path.parents:
            raise jsonld.JsonLdError("outside package", "loading document failed", {"url": url})
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": jsonld.json.loads(path.read_text("utf-8")),
        }

    return load


def _normalise(graph: Graph) -> Graph:
    """Numbers compare by value: pyld writes 1.2E3 where rdflib writes 1200.0."""
    out = Graph()
    for s, p, o in graph:
        value = o.toPython() if isinstance(o, Literal) else None
        if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
            o = Literal(str(Decimal(str(o.toPython())).normalize()))
        out.add((s, p, o))
    return out


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    return Path(tmp_path_factory.mktemp("pkg"))


def test_all_jsonld_expands_offline_and_matches_rdflib(build: Builder, tmp_path: Path) -> None:
    root = build().extract(tmp_path / "pkg")
    files = [*sorted(root.glob("data/*.jsonld")), root / "package.jsonld", root / "context.jsonld"]
    loader = offline_loader(root)
    for path in files:
        document = jsonld.json.loads(path.read_text("utf-8"))
        options = {"base": path.as_uri(), "documentLoader": loader}
        expanded = jsonld.expand(document, options)
        if path.name == "context.jsonld":
            assert expanded == []  # a bare context has no data, but must process
            continue
        assert expanded or document["@graph"] == [], path  # a dataset may be empty
        nquads = jsonld.to_rdf(document, {**options, "format": "application/n-quads"})
        from_pyld = Graph().parse(data=nquads, format="nquads")
        from_rdflib = Graph().parse(path.as_uri(), format="json-ld")
        assert len(from_pyld) > 0 or not expanded
        assert isomorphic(_normalise(from_pyld), _normalise(from_rdflib)), path.name


def test_terms_use_the_published_vocabularies(build: Builder, tmp_path: Path) -> None:
    root = build().extract(tmp_path / "pkg")
    loader = offline_loader(root)
    doc = jsonld.json.loads((root / "package.jsonld").read_text("utf-8"))
    expanded = jsonld.expand(
        doc, {"base": (root / "package.jsonld").as_uri(), "documentLoader": loader}
    )
    flat = jsonld.json.dumps(expanded)
    for iri in (
        "http://www.w3.org/ns/dcat#Dataset",
        "https://w3id.org/dpv#hasPurpose",
        "https://w3id.org/dpv#hasLegalBasis",
        "https://w3id.org/dpv/legal/eu/gdpr#A6-1-e",
        "https://w3id.org/dpv/pd#Name",
        "http://purl.org/dc/terms/conformsTo",
    ):
        assert iri in flat, iri
