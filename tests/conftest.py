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
