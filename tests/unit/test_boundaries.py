"""DESIGN.md §2: imports point one way. `ingest` and `scoring` import none of the other
packages; `outbound` takes from `ingest` and `scoring` only what their `__init__` exports, and
`review` from `ingest`, `scoring` and `outbound` the same way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = ("ingest", "scoring", "outbound", "review", "radagree")


def imported(package: str) -> set[str]:
    """Every module name a package's source imports (absolute imports only: we use no others)."""
    names: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["ingest", "scoring"])
def test_ingest_and_scoring_import_no_other_package(package):
    others = {p for p in PACKAGES if p != package}
    assert {name for name in imported(package) if name.split(".")[0] in others} == set()


def test_outbound_takes_only_the_public_surface_of_ingest_and_scoring():
    crossing = {name for name in imported("outbound") if name.split(".")[0] in PACKAGES
                and name.split(".")[0] != "outbound"}
    assert crossing <= {"ingest", "scoring"}, crossing


def test_review_takes_only_the_public_surface_of_the_others():
    crossing = {name for name in imported("review") if name.split(".")[0] in PACKAGES
                and name.split(".")[0] != "review"}
    assert crossing <= {"ingest", "scoring", "outbound"}, crossing
