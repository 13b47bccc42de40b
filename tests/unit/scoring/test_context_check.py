import pytest

from scoring import ScoringConfig
from scoring.context_check import RulesClassifier
from scoring.mention import Mention


def mention(**kw):
    base = dict(concept="pleural_effusion", label="pleural effusion", kind="finding",
                text="effusion", start=0, end=8, section="report", sentence=(0, 8))
    return Mention(**{**base, **kw})


@pytest.fixture(scope="module")
def rules():
    return RulesClassifier(ScoringConfig(matcher="exact"))


@pytest.mark.parametrize(("prelim", "final", "reason"), [
    ({"polarity": "present"}, {"polarity": "absent"}, "negation"),
    ({"polarity": "possible"}, {"polarity": "present"}, "certainty"),
    ({"laterality": "left"}, {"laterality": "right"}, "laterality"),
    ({"anatomy": "RA:upper_lobe"}, {"anatomy": "RA:lower_lobe"}, "anatomy"),
    ({"severity": 2}, {"severity": 4}, "severity"),
    ({"size_mm": 8.0}, {"size_mm": 20.0}, "size"),
    ({"change": "new"}, {"change": "stable"}, "change"),
])
def test_each_difference_has_its_reason(rules, prelim, final, reason):
    verdict = rules.verdict(mention(**prelim), mention(**final))
    assert not verdict.same
    assert verdict.reason == reason


@pytest.mark.parametrize(("prelim", "final"), [
    ({}, {}),
    ({"severity": 2}, {}),  # said in one report only: no contradiction
    ({"anatomy": "RID1301"}, {"anatomy": "RA:lower_lobe"}),  # one place contains the other
    ({"size_mm": 15.0}, {"size_mm": 16.0}),  # within tolerance
])
def test_compatible_statements_are_the_same(rules, prelim, final):
    assert rules.verdict(mention(**prelim), mention(**final)).same


def test_negation_outranks_other_differences(rules):
    verdict = rules.verdict(mention(polarity="absent", laterality="left"),
                            mention(polarity="present", laterality="right"))
    assert verdict.reason == "negation"
