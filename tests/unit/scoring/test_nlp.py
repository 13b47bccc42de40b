"""`scoring.nlp` imports spaCy and medspaCy without torch, NLTK and requests, and nothing is lost.

The guards are process-wide state, so the checks that need a fresh interpreter (nothing
imported yet, as in a worker) run one in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scoring.nlp import ConText, _absent, _deferred, spacy
from scoring.pipeline import default_context_rules


def _run(code: str, timeout: int = 120) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, check=True, timeout=timeout)
    return out.stdout.strip()


def test_a_scorer_process_never_imports_torch_nltk_or_requests():
    """Import, construct and score as a worker does: none of the three is loaded, and thinc
    recorded "no torch" (so nothing in spaCy's pipeline can have asked for it)."""
    out = _run("""
        import sys
        from scoring import Scorer
        s = Scorer()
        s.score('No effusion.', 'Small left pleural effusion.')
        import thinc.compat
        print(sorted(m for m in ('torch', 'nltk', 'requests') if m in sys.modules),
              thinc.compat.has_torch)
    """)
    assert out == "[] False"


def test_what_was_kept_out_still_imports_afterwards():
    """torch imports as usual after spaCy; QuickUMLS's `nltk` and spaCy's `requests` stand-ins
    hand over to the real modules on first use."""
    out = _run("""
        import sys
        import scoring.pipeline
        import quickumls.core
        d = sys.modules['spacy.cli.download']
        import torch
        print(torch.zeros(2).sum().item(),
              quickumls.core.nltk.corpus is sys.modules['nltk'].corpus,
              type(sys.modules['nltk']).__name__,
              d.requests.get is sys.modules['requests'].get)
    """)
    assert out == "0.0 True module True"


@pytest.mark.slow
def test_embedding_matcher_works_in_a_process_that_imported_spacy_first():
    out = _run("""
        import scoring.pipeline
        from scoring import Scorer, ScoringConfig
        s = Scorer(ScoringConfig(matcher='exact+embedding'))
        sims = s.embedder.similarity(['pleural effusion'],
                                     ['effusion, pleural', 'pericardial effusion', 'fracture'])[0]
        print(bool(sims[0] > sims[1] > sims[2]))
    """, timeout=300)
    assert out == "True"


def test_default_context_rules_are_the_ones_context_loads():
    """Read from medspaCy's file directly, the defaults are ConText's own, in its order."""
    def rows(rules: list) -> list[dict]:
        return [{k: v for k, v in vars(r).items() if k != "_rule_id"} for r in rules]

    ours = default_context_rules()
    assert len(ours) > 50
    assert rows(ours) == rows(ConText(spacy.blank("en"), rules="default").rules)


@pytest.fixture
def module_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module that records being executed."""
    (tmp_path / "radagree_probe.py").write_text("import sys\nsys.probe_runs += 1\nVALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "probe_runs", 0, raising=False)
    monkeypatch.delitem(sys.modules, "radagree_probe", raising=False)
    return "radagree_probe"


def test_deferred_module_runs_on_first_attribute_use(module_file: str):
    with _deferred(module_file):
        import radagree_probe  # type: ignore[import-not-found]

        assert sys.probe_runs == 0  # type: ignore[attr-defined]
    assert module_file not in sys.modules  # the stand-in leaves with the block
    assert radagree_probe.VALUE == 7
    assert sys.probe_runs == 1  # type: ignore[attr-defined]
    assert radagree_probe.VALUE == 7 and sys.probe_runs == 1  # type: ignore[attr-defined]
    sys.modules.pop(module_file)


def test_absent_module_fails_to_import_only_inside_the_block(module_file: str):
    with _absent(module_file), pytest.raises(ImportError):
        import radagree_probe  # type: ignore[import-not-found]
    assert module_file not in sys.modules
    import radagree_probe  # type: ignore[import-not-found]

    assert radagree_probe.VALUE == 7
    sys.modules.pop(module_file)


def test_guards_leave_an_already_imported_module_alone():
    before = sys.modules["json"]
    with _absent("json"), _deferred("json"):
        import json

        assert json is before
    assert sys.modules["json"] is before
