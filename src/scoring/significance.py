"""Significance: how much a disagreement matters, and the discrepancy class that follows.

Peer review grades a disagreement by what it does to the patient, not by how many words
differ (RADPEER's "likely clinically significant"; ACR actionable categories). Every finding
gets a tier:

- `critical`: the regional critical list (`critical.toml`), urgent;
- `significant`: changes management, not today (a suspicious mass, a tear, a fracture, a
  category change, a size over a management threshold);
- `incidental`: no change of management (simple cyst, hemangioma, degenerative change).

and the class follows (DESIGN.md §4): `major` when a critical or significant finding is
missed, overcalled, on the other side, of another certainty or category, or across a
management threshold of size or severity; `minor` for incidental or descriptive differences
and changed recommendations; `none` when nothing clinical differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from scoring.clinical import SUSPICIOUS_WORDS as _SUSPICIOUS_WORDS
from scoring.clinical import family
from scoring.critical import ANY, CriticalFindings
from scoring.mention import Mention
from scoring.result import Discrepancy, EntityRow
from scoring.vocabulary import Vocabulary, read_data_toml

Tier = Literal["critical", "significant", "incidental"]
TIER_ORDER: dict[str, int] = {"critical": 0, "significant": 1, "incidental": 2}

# A benign word on the finding itself makes it incidental ("simple cyst", "fat-containing").
_BENIGN_WORDS = frozenset({"simple", "benign", "fat-containing", "physiologic", "physiological",
                           "tiny", "punctate", "trace", "age-appropriate", "involutional",
                           "incidental", "nonobstructing", "non-obstructing", "reactive",
                           "postsurgical", "postoperative", "degenerative", "chronic",
                           "sequela", "sequelae", "healed", "old", "remote"})
# Heads that are significant whatever their words: a mass, a fracture, an occlusion.
_SIGNIFICANT_HEADS = frozenset({
    "mass", "fracture", "tear", "rupture", "dislocation", "occlusion", "obstruction",
    "thrombosis", "embolism", "aneurysm", "dissection", "abscess", "perforation", "torsion",
    "hemorrhage", "hematoma", "infarction", "metastasis", "collection", "laceration",
    "herniation", "shift", "compression", "fistula", "foreign_body", "lymphadenopathy",
    "necrosis", "ischemia"})
_INCIDENTAL_FAMILIES = frozenset({"degenerative", "atherosclerosis", "small vessel",
                                  "volume loss"})
# Words that say a finding is old: not urgent, whatever it is ("chronic small vessel
# ischemic change", "healed rib fractures").
_OLD_WORDS = frozenset({"chronic", "old", "healed", "healing", "remote", "sequela", "sequelae",
                        "prior", "stable", "unchanged", "longstanding"})
# Findings whose tier follows their amount: a trace effusion changes nothing, a large one does.
_AMOUNT_HEADS = frozenset({"effusion", "ascites", "fluid", "narrowing", "stenosis",
                           "hydronephrosis", "dilatation", "enlargement", "thickening",
                           "edema", "atelectasis", "opacity", "lymphadenopathy"})
# Size bands that change management (shared/notes/significance.md), in mm: a size change that
# crosses a band is significant; a nodule under the first band is incidental.
THYROID = "RID7578"
THYROID_WORKUP_MM = 15.0
SIZE_BANDS: dict[str, tuple[float, ...]] = {
    "nodule": (6.0, 8.0),          # Fleischner 2017, solid nodule, low risk
    "aneurysm": (30.0, 50.0, 55.0),  # aorta: aneurysm; repair (women, men)
    "dilatation": (30.0, 50.0, 55.0),
    "pneumothorax": (20.0,),       # BTS 2010 rim at the hilum
    "duct": (6.0,),                # common bile duct
    "appendix": (6.0,),
    "stone": (5.0, 10.0),          # passage likely below 5 mm
    "calculus": (5.0, 10.0),
    "cyst": (10.0, 30.0),
    "mass": (10.0, 20.0, 30.0, 50.0),
    "lymphadenopathy": (10.0, 15.0),
}


def size_band(head: str | None, size: float) -> int:
    """Which management band of its kind a size falls in (0 below the first threshold)."""
    bands = SIZE_BANDS.get(head or "", ())
    return sum(size >= b for b in bands)


class Significance:
    """Tiers from the critical list and the packaged (or a site's) tier lists."""

    def __init__(self, critical: CriticalFindings, incidental: CriticalFindings,
                 significant: CriticalFindings, site_significant: CriticalFindings | None,
                 vocabulary: Vocabulary, default: Tier = "significant") -> None:
        self.critical = critical
        self.incidental = incidental
        self.significant = significant
        self.site_significant = site_significant
        self.vocabulary = vocabulary
        self.default: Tier = default

    @classmethod
    def resolve(cls, ner: object, vocabulary: Vocabulary, critical: CriticalFindings,
                incidental_extra: Sequence[str] = (), significant_extra: Sequence[str] = (),
                default: Tier = "significant") -> Significance:
        raw = read_data_toml("significance.toml")

        def read(words: Sequence[str], setting: str, strict: bool = True) -> CriticalFindings:
            # The packaged lists may name findings this NER build reads only as phrases
            # ("corpus luteum"); a site's entries must all be read (named at start-up).
            return CriticalFindings.resolve(ner, vocabulary,  # type: ignore[arg-type]
                                            [(ANY, w) for w in words], setting,
                                            vocabulary_flags=False, strict=strict)

        read(incidental_extra, "incidental_findings_extra")
        incidental = read([*raw["incidental"]["findings"], *incidental_extra],
                          "incidental_findings", strict=False)
        significant = read(raw["significant"]["findings"], "significant_findings", strict=False)
        site = read(significant_extra, "significant_findings_extra") if significant_extra \
            else None
        return cls(critical, incidental, significant, site, vocabulary, default)

    def tier(self, m: Mention, region: str = "unknown") -> Tier:
        old = bool(m.sentence_words & _OLD_WORDS)
        if self.critical.is_critical(m, region) and not old:
            return "critical"
        if self.site_significant is not None and self.site_significant.listed(m, region):
            return "significant"
        if m.kind == "device":
            return "incidental"  # present or not, a device changes nothing unless misplaced
        if m.descriptive:
            return "incidental"  # words, not a finding: at most a minor difference
        own = set(m.text.lower().split()) | set(m.descriptors)
        suspicious = bool(own & _SUSPICIOUS_WORDS)
        if not suspicious and (m.sentence_words & _BENIGN_WORDS or old
                               or "benign" in m.descriptors):
            return "incidental"
        if m.head in _AMOUNT_HEADS and m.severity is not None and m.severity <= 2:
            return "incidental"
        if m.head == "nodule" and m.size_mm is not None and m.size_mm <= SIZE_BANDS["nodule"][1]:
            return "incidental"  # up to 8 mm: follow-up at most (Fleischner), not work-up
        if m.head == "nodule" and m.size_mm is not None and m.size_mm < THYROID_WORKUP_MM and \
                not suspicious and self.vocabulary.within(m.anatomy, THYROID):
            # ACR white paper on incidental thyroid nodules: under 1.5 cm without suspicious
            # features, no further evaluation (the patient's age is not in the report pair)
            return "incidental"
        if family(m) in _INCIDENTAL_FAMILIES:
            return "incidental"  # degenerative change, atherosclerosis, small vessel disease
        inc = self.incidental.listed(m, region)
        sig = self.significant.listed(m, region)
        if sig == 1 and (m.head or "") not in _SIGNIFICANT_HEADS:
            sig = 0  # an entry read as a bare head ("tumor" -> lesion) names no kind of it
        if inc > sig and not suspicious:
            return "incidental"
        if sig:
            return "significant"
        if m.change in ("chronic", "stable") or m.historical:
            return "incidental"
        if m.how in ("head", "adjective") and not suspicious:
            # A bare finding word ("focus", "enhancement", "hyperintense") that names no
            # concept of the vocabulary and no listed finding: a description, not a diagnosis.
            return "incidental"
        return self.default

    def actionable(self, category: str, reason: str | None, tier: Tier,
                   p: Mention | None, f: Mention | None) -> bool:
        """Does this difference change management (a major discrepancy)?"""
        if category == "matched":
            return False
        if tier == "incidental":
            return False
        if category in ("missing", "surplus"):
            return True
        if reason in ("anatomy", "change") and p is not None and p.kind != "device" and \
                tier != "critical":
            return False  # a finer or coarser place, "new" against unsaid: descriptive
        assert p is not None and f is not None
        if reason == "laterality" and None in (p.laterality, f.laterality):
            return False  # a side given by one report only: a finer description
        if reason in ("negation", "laterality", "certainty", "category", "organ"):
            return True
        if reason == "anatomy":
            return p.kind == "device" or tier == "critical"
        if reason == "severity" and p.severity is not None and f.severity is not None:
            return abs(p.severity - f.severity) >= 2 or (
                tier == "critical" and max(p.severity, f.severity) >= 4)
        if reason == "size" and p.size_mm is not None and f.size_mm is not None:
            head = p.head or f.head
            return size_band(head, p.size_mm) != size_band(head, f.size_mm)
        return False


def differs(row: EntityRow) -> bool:
    """A counted row that says something different, for the class: an incidental finding
    placed differently ("left lower lobe" / "lung base") is the same statement in other
    words, not a discrepancy (the table still shows it)."""
    if not row.counted or row.category == "matched":
        return False
    if row.descriptive and (row.category in ("missing", "surplus") or row.match == "normal"):
        return False  # words, not a finding, that the other report puts otherwise
    if row.category == "mismatched" and row.reason == "anatomy":
        # one finding placed differently ("left lower lobe" / "lung base"): the same
        # statement unless it is a device (a tube in the bronchus) or urgent
        return row.kind == "device" or row.significance == "critical"
    if row.category == "mismatched" and row.significance == "incidental" and \
            row.reason == "laterality" and "bilateral" in (
                row.prelim_attributes.get("laterality"), row.final_attributes.get("laterality")):
        return False  # "bilateral" against one side of an incidental finding: a wider word
    return not (row.category == "mismatched" and row.significance == "incidental"
                and row.reason in ("change", "certainty"))


def discrepancy(rows: Sequence[EntityRow], recommendation_changed: bool = False
                ) -> Discrepancy:
    """major: a difference that changes management; minor: any other counted difference or
    a changed recommendation; none: nothing clinical differs."""
    differing = [r for r in rows if differs(r)]
    if any(r.actionable for r in differing):
        return "major"
    return "minor" if differing or recommendation_changed else "none"


def consistent_grade(grade: int, discrepancy: Discrepancy, max_grade: int) -> int:
    """The ESAS grade moved into its class's band, so grade and class never contradict:
    none -> the top two grades, minor -> neither the top nor the bottom, major -> the
    bottom two (on the default 1..5 scale: none 4-5, minor 2-4, major 1-2)."""
    bands = {"none": (max(max_grade - 1, 1), max_grade),
             "minor": (min(2, max_grade), max(max_grade - 1, 1)),
             "major": (1, min(2, max_grade))}
    low, high = bands[discrepancy]
    return min(max(grade, low), high)
