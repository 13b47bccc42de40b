"""spaCy and medspaCy as scoring imports them: without torch and NLTK, which scoring never runs.

Every scoring module takes its spaCy and medspaCy names from here, so the first of them to be
imported (whichever it is) imports spaCy the cheap way. On one core the two packages cost
~3.5 s to import, of which ~2.7 s is for libraries the scorer never calls:

- torch (~1.6 s): `thinc.compat` imports it, when installed, to offer PyTorch-backed layers and
  to ask about GPUs. Our pipeline is `en_core_web_sm` (thinc's numpy CNN), our own components
  and medspaCy's ConText: none of it holds a PyTorch layer, and `thinc.compat` is thinc's only
  `import torch`. While spaCy is first imported, `sys.modules["torch"]` is None (the import
  system then raises ImportError, as if torch were not installed: the Python reference, "The
  module cache"), so thinc records "no torch"; the entry is removed right after, so a later
  `import torch` (the `exact+embedding` matcher's sentence-transformers, `scoring.embeddings`)
  loads it as usual. What thinc recorded stays for the process: a spaCy model with PyTorch
  layers (spacy-transformers) would not load in it. Neither of our back-ends uses one (the
  `scispacy` back-end's `en_core_sci_lg` is a numpy CNN as well).
- requests (~0.15 s, with urllib3): `import spacy` imports its command line, whose `download`
  and `validate` commands (and weasel's `assets`) use requests inside their functions only.
  While spaCy is first imported, `requests` is a stand-in as NLTK is below.
- NLTK (~1.0 s, with the SciPy and scikit-learn it imports): `import medspacy` runs the package's
  `__init__`, which imports all its components; one of them imports QuickUMLS, whose module
  does `import nltk` for a stop-word list it reads only when a QuickUMLS matcher is built. While
  medspaCy is first imported, `nltk` is a stand-in module (`_Deferred`) that imports the real
  NLTK on its first attribute use, so QuickUMLS, if anyone builds one, still works.
  (`importlib.util.LazyLoader` cannot do this: the import statement reads the module's
  `__spec__`, which makes a lazy module load at once.)

Neither guard applies when the module is already imported (a process that loaded torch or
NLTK before scoring pays for them, and nothing changes for it).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Deferred(types.ModuleType):
    """Stands in for a module named by an import but not used while importing: the first
    attribute asked of it imports the real module (leaving `sys.modules` to it) and answers."""

    def __getattr__(self, attr: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


@contextmanager
def _absent(name: str) -> Iterator[None]:
    """`import name` fails inside the block (unless the module is already loaded)."""
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


@contextmanager
def _deferred(name: str) -> Iterator[None]:
    """`import name` inside the block binds a `_Deferred` stand-in (unless already loaded)."""
    if name in sys.modules:
        yield
        return
    stand_in = _Deferred(name)
    sys.modules[name] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]


with _absent("torch"), _deferred("requests"):
    import spacy
with _deferred("nltk"):
    from medspacy.context import ConText, ConTextRule

from spacy.language import Language  # noqa: E402 - spaCy is imported above, without torch
from spacy.matcher import Matcher  # noqa: E402
from spacy.tokens import Doc, Span, Token  # noqa: E402
from spacy.util import filter_spans  # noqa: E402

__all__ = ["ConText", "ConTextRule", "Doc", "Language", "Matcher", "Span", "Token",
           "filter_spans", "spacy"]
