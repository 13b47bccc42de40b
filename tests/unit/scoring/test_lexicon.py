from scoring.lexicon import load_lexicon, plural, variants
from scoring.pipeline import concept_patterns


def test_plurals_and_british_spellings_are_generated():
    assert plural("opacity") == "opacities"
    assert plural("effusion") == "effusions"
    assert plural("pneumothorax") == "pneumothoraces"
    assert plural("calcified") is None
    assert "pulmonary oedema" in variants("pulmonary edema")
    assert "heart * enlarged" in variants("heart * enlarged")


def test_every_term_belongs_to_one_concept_and_anatomy_is_known():
    lexicon = load_lexicon()
    patterns = concept_patterns(lexicon)  # raises on a term shared by two concepts
    assert len(patterns) > 1000
    for concept in lexicon.concepts.values():
        assert concept.kind in ("finding", "device")
        assert concept.anatomy is None or concept.anatomy in lexicon.anatomy


def test_anatomy_containment():
    lexicon = load_lexicon()
    assert lexicon.anatomy_compatible("lower lobe", "lung")
    assert lexicon.anatomy_compatible(None, "lingula")
    assert not lexicon.anatomy_compatible("lower lobe", "upper lobe")
    assert not lexicon.anatomy_compatible("pleura", "heart")


def test_default_critical_list_covers_the_must_not_miss_findings():
    critical = load_lexicon().critical_ids
    for concept in ("pneumothorax", "pneumoperitoneum", "fracture", "mass", "nodule"):
        assert concept in critical
