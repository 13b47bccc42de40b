"""Files that hold PHI are created 0600 whatever the umask: the SQLite store with its -wal
and -shm, the FHIR folder sink's bundles, and the exports `score --html` and
`score-batch --out` write (one that existed world-readable before is made 0600 too)."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from outbound.sinks import write_atomically
from radagree.cli import main
from radagree.store import make_engine, migrate


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """The umask that would leave files world-readable (0644), as on most machines."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_sqlite_store_and_its_wal_and_shm_are_0600(tmp_path):
    db = tmp_path / "radagree.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    with engine.begin() as conn:  # a write while connected: -wal and -shm exist
        conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        conn.execute(text("INSERT INTO probe VALUES (1)"))
        assert (tmp_path / "radagree.db-wal").exists()
        assert (tmp_path / "radagree.db-shm").exists()
        assert {p.name: mode(p) for p in tmp_path.iterdir()} == {
            "radagree.db": 0o600, "radagree.db-wal": 0o600, "radagree.db-shm": 0o600}
    engine.dispose()


def test_fhir_folder_bundles_are_0600(tmp_path):
    target = tmp_path / "fhir-out" / "bundle.json"
    write_atomically(target, b'{"resourceType": "Bundle"}')
    assert mode(target) == 0o600


def test_score_exports_are_0600_even_over_an_older_readable_file(tmp_path):
    (tmp_path / "p.txt").write_text("FINDINGS: Left effusion.", encoding="utf-8")
    (tmp_path / "f.txt").write_text("FINDINGS: Right effusion.", encoding="utf-8")
    html = tmp_path / "v.html"
    html.write_text("old", encoding="utf-8")
    assert mode(html) == 0o644
    runner = CliRunner()
    out = runner.invoke(main, ["score", str(tmp_path / "p.txt"), str(tmp_path / "f.txt"),
                               "--html", str(html)])
    assert out.exit_code == 0, out.output
    assert mode(html) == 0o600 and "effusion" in html.read_text()
    (tmp_path / "pairs.csv").write_text("id,preliminary,final\na,No effusion.,Effusion.\n",
                                        encoding="utf-8")
    results = tmp_path / "results.jsonl"
    out = runner.invoke(main, ["score-batch", str(tmp_path / "pairs.csv"), "--out",
                               str(results), "--no-progress"])
    assert out.exit_code == 0, out.output
    assert mode(results) == 0o600 and results.read_text().count("\n") == 1
