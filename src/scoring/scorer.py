"""`Scorer`: the single construction point of the method and its only entry.

score(prelim, final, procedure) = sections -> sentences read by the NER (cached) -> the exam
(procedure, else the report) -> mentions placed in the exam's region -> alignment -> context
check -> ESAS per section -> weighted ESAS -> grade, discrepancy -> explanation. Models load
once in `__init__`; `score` and `score_many` are then cheap and safe to call from worker
threads.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata

from scoring import categories, clinical, measurements
from scoring import exam as exams
from scoring.backends import BuildContext
from scoring.config import LlmSettings, ScoringConfig
from scoring.context_check import ContextClassifier, PairContext, Verdict, classifiers
from scoring.critical import ANY, CriticalFindings, default_entries
from scoring.embeddings import Embedder
from scoring.errors import EmptyReport
from scoring.esas import count, esas, grade
from scoring.exam import Exam
from scoring.explain import Explanation, ExplanationInput, explainers
from scoring.matching import Alignment, align, same_finding
from scoring.mention import Mention
from scoring.ner import ner_backends
from scoring.restatement import Restatement
from scoring.result import Counts, EntityRow, Method, Reason, ScoreResult, SectionScore
from scoring.sections import Section, recommendation_spans, scored_text_span, split_sections
from scoring.significance import (
    TIER_ORDER,
    Significance,
    consistent_grade,
    differs,
    discrepancy,
)
from scoring.vocabulary import Vocabulary, load_vocabulary


@functools.cache
def _version() -> str:
    """Cached: reading the package metadata took 0.7 ms, a fifth of a pair's scoring."""
    try:
        return metadata.version("radagree")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+source"


@dataclass(frozen=True)
class _Wording:
    """What a row of one pair is judged against besides its own mentions."""

    texts: tuple[str, str]
    restatement: Restatement
    # A management category stated alike in both reports (BI-RADS 3 and BI-RADS 3) is the
    # management decision: a size or grade that differs under it does not change management.
    settled: bool


@dataclass
class _Tally:
    """One pair after the context check: what the explanation and the result are made of."""

    rows: list[EntityRow]
    sections: list[SectionScore]
    total: Counts
    score: float
    grade: int
    # The thresholds that made the grade: the exam's modality's own, else the general ones.
    thresholds: tuple[float, ...]
    discrepancy: str
    explain_input: ExplanationInput


@dataclass
class _Analysis:
    """One pair between NER and the context check."""

    prelim: str
    final: str
    exam: Exam
    alignments: dict[str, list[Alignment]]
    timings: dict[str, float] = field(default_factory=dict)
    recommendation_changed: bool = False
    category_rows: list[EntityRow] = field(default_factory=list)
    measurement_changes: list[tuple[str, float, float]] = field(default_factory=list)
    # findings each report names only as history ("status post coiling of an aneurysm")
    treated: tuple[list[Mention], list[Mention]] = field(default_factory=lambda: ([], []))

    def shared(self) -> list[tuple[Mention, Mention]]:
        return [(a.prelim, a.final) for rows in self.alignments.values() for a in rows
                if a.prelim is not None and a.final is not None]


def pair_sections(prelim: str, final: str) -> tuple[list[Section], list[Section]]:
    """Score section by section when both reports have the same sections; otherwise compare
    the scored text of each as one `report` section (a findings-only preliminary against a
    final with an impression must not count the impression as all missing)."""
    sp, sf = split_sections(prelim), split_sections(final)
    if [s.name for s in sp] == [s.name for s in sf]:
        return sp, sf
    return [scored_text_span(sp)] if sp else [], [scored_text_span(sf)] if sf else []


class Scorer:
    """The method, built once from `[scoring]` and `[llm]` (the only source of LLM settings:
    the daemon passes its `[llm]` section, the CLI builds the same object from its flags)."""

    def __init__(self, config: ScoringConfig | None = None, llm: LlmSettings | None = None,
                 classifier: ContextClassifier | None = None) -> None:
        self.config = config or ScoringConfig()
        self.llm = llm or LlmSettings()
        self.vocabulary: Vocabulary = load_vocabulary()
        context = BuildContext(self.config, self.llm)
        self.ner = ner_backends.make(self.config.ner, context)
        self.embedder: Embedder | None = None
        if self.config.matcher == "exact+embedding":
            self.embedder = Embedder(self.config.embedding_model_path)
        self.classifier = classifier or classifiers.make(self.config.classifier, context)
        self.explainer = explainers.make(self.config.explainer,
                                         BuildContext(self.config, self.llm, self.ner))
        # Critical findings are resolved with the lexicon NER whatever reads the reports.
        lexicon = self.ner if self.config.ner == "lexicon" else ner_backends.make(
            "lexicon", context)
        self.critical = CriticalFindings.resolve(lexicon, self.vocabulary,
                                                 self._critical_entries())
        self.significance = Significance.resolve(
            lexicon, self.vocabulary, self.critical, self.config.incidental_findings_extra,
            self.config.significant_findings_extra, self.config.default_significance)

    def _critical_entries(self) -> list[tuple[str, str]]:
        c = self.config
        entries = default_entries() if c.critical_findings is None else [
            (ANY, words) for words in c.critical_findings]
        return entries + [(ANY, words) for words in c.critical_findings_extra]

    # ------------------------------------------------------------------ public entry points
    def score(self, prelim: str, final: str, procedure: str | None = None) -> ScoreResult:
        return self.score_many([(prelim, final)], [procedure])[0]

    def score_many(self, pairs: Sequence[tuple[str, str]],
                   procedures: Sequence[str | None] | None = None) -> list[ScoreResult]:
        """Batched: one NER pass over all texts, one classifier call and one explainer call
        over all pairs (the LLM back-ends send those requests together; vLLM batches them)."""
        analyses = self._analyse(pairs, procedures)
        t = time.perf_counter()
        verdicts = self.classifier.check(
            [PairContext(a.prelim, a.final, a.shared()) for a in analyses])
        per_pair = _ms(t) / max(len(analyses), 1)
        for a in analyses:
            a.timings["context_check"] = per_pair
        tallies = [self._tally(a, v) for a, v in zip(analyses, verdicts, strict=True)]
        t = time.perf_counter()
        explanations = self.explainer.explain_many([x.explain_input for x in tallies])
        per_pair = _ms(t) / max(len(analyses), 1)
        out = []
        for a, tally, explanation in zip(analyses, tallies, explanations, strict=True):
            a.timings["explanation"] = per_pair
            out.append(self._result(a, tally, explanation))
        return out

    def method(self) -> Method:
        c = self.config
        return Method(
            ner=self.ner.name, matcher=c.matcher, classifier=self.classifier.name,
            explainer=self.explainer.name,
            embedding_model=self.embedder.name if self.embedder else None,
            llm_model=self.classifier.model,
            weights=c.weights.model_dump(), section_weights=c.section_weights.model_dump(),
            embedding_threshold=c.embedding_threshold,
            grade_thresholds=list(c.grade_thresholds),
            lexicon_version=self.vocabulary.version, version=_version(),
        )

    def exam(self, prelim: str, final: str, procedure: str | None = None) -> Exam:
        """The exam as the scorer will see it (no findings needed when the words say it)."""
        return exams.merge(exams.from_procedure(procedure), exams.from_report(final),
                           exams.from_report(prelim))

    # ------------------------------------------------------------------ the steps
    def _analyse(self, pairs: Sequence[tuple[str, str]],
                 procedures: Sequence[str | None] | None) -> list[_Analysis]:
        procedures = procedures or [None] * len(pairs)
        t = time.perf_counter()
        layouts = []
        for prelim, final in pairs:
            if not prelim.strip():
                raise EmptyReport("preliminary")
            if not final.strip():
                raise EmptyReport("final")
            layouts.append(pair_sections(prelim, final))
        t_sections = _ms(t) / len(pairs)
        t = time.perf_counter()
        items = [(text, secs) for (p, f), (sp, sf) in zip(pairs, layouts, strict=True)
                 for text, secs in ((p, sp), (f, sf))]
        reads = self.ner.read_many(items)
        t_ner = _ms(t) / len(pairs)
        out = []
        for k, ((prelim, final), procedure) in enumerate(zip(pairs, procedures, strict=True)):
            t = time.perf_counter()
            rp, rf = reads[2 * k], reads[2 * k + 1]
            regions = [self.vocabulary.region(a) for a in (*rf.places(), *rp.places())]
            exam = exams.merge(self.exam(prelim, final, procedure),
                               exams.from_findings(regions))
            np, nf = self.ner.mentions(rp, exam.region), self.ner.mentions(rf, exam.region)
            mp = clinical.clinical_mentions(np, prelim)
            mf = clinical.clinical_mentions(nf, final)
            mp, mf = (mp + self._contradicting(clinical.denials(np, prelim), mf),
                      mf + self._contradicting(clinical.denials(nf, final), mp))
            t_place = _ms(t)
            t = time.perf_counter()
            names = dict.fromkeys(s.name for s in layouts[k][1])
            alignments = {
                name: align([m for m in mp if m.section == name],
                            [m for m in mf if m.section == name], self.vocabulary,
                            self.embedder, self.config.embedding_threshold)
                for name in names
            }
            recs = [clinical.recommendations(r.text, [(s.start, s.end) for _, s, _ in
                                                      r.sentences],
                                             recommendation_spans(r.text)) for r in (rp, rf)]
            out.append(_Analysis(
                prelim, final, exam, alignments,
                {"sections": t_sections, "ner": t_ner + t_place, "matching": _ms(t)},
                clinical.recommendation_changed(*recs),
                categories.compare(prelim, final, _category_section(list(names))),
                measurements.changed(*(" ".join(text[s.start:s.end] for s in secs)
                                       for text, secs in ((prelim, layouts[k][0]),
                                                          (final, layouts[k][1])))),
                (clinical.treated(np, prelim), clinical.treated(nf, final))))
        return out

    def _contradicting(self, denials: list[Mention], other: list[Mention]) -> list[Mention]:
        """The denials of one report that deny a phrase the other report states."""
        return [d for d in denials if any(
            o.polarity != "absent" and o.section == d.section
            and same_finding(d, o, self.vocabulary) in ("exact", "head")
            and self.vocabulary.compatible(d.anatomy, o.anatomy) for o in other)]

    def _said_elsewhere(self, analysis: _Analysis) -> tuple[set[int], set[int]]:
        """Leftovers that the other report states too: a finding moved from the findings to
        the impression (unaligned in both), a finding of a family named in other words
        ("spondylosis" / "degenerative changes", unaligned on both sides), or a normal
        statement set against a finding its own report also states. Each counts once: the
        reports say the same thing. Second: the final's impression findings the preliminary
        states only in its findings (counted, never a major discrepancy)."""
        unsummarised: set[int] = set()
        lonely_p = [a.prelim for rows in analysis.alignments.values() for a in rows
                    if a.prelim is not None and a.final is None]
        lonely_f = [a.final for rows in analysis.alignments.values() for a in rows
                    if a.final is not None and a.prelim is None]
        prelim = [a.prelim for rows in analysis.alignments.values() for a in rows if a.prelim]
        final = [a.final for rows in analysis.alignments.values() for a in rows if a.final]
        kin_of = {side: [(clinical.family(o), o.anatomy) for o in ms if o.polarity != "absent"]
                  for side, ms in (("prelim", prelim), ("final", final))}
        out: set[int] = set()
        for m, others, side in [(m, lonely_f, "final") for m in lonely_p] + [
                (m, lonely_p, "prelim") for m in lonely_f]:
            kin = clinical.family(m)
            if kin is not None and m.polarity != "absent" and any(
                    k == kin and (kin not in _PLACED_FAMILIES
                                  or None in (place, m.anatomy) or
                                  self.vocabulary.coarse(place) ==
                                  self.vocabulary.coarse(m.anatomy))
                    for k, place in kin_of[side]):
                out.add(id(m))  # "spondylosis" against "degenerative changes"
                continue
            if self._side_by_side(m, prelim if side == "final" else final,
                                  final if side == "final" else prelim):
                out.add(id(m))  # "right ... left ... stenosis" against "bilateral stenosis"
                continue
            if self._treated_there(m, analysis.treated[1 if side == "final" else 0]):
                out.add(id(m))  # "coil mass in the aneurysm" / "status post coiling of it"
                continue
            if any(clinical.said_alike(m, o) and o.section != m.section and same_finding(
                    m, o, self.vocabulary) in ("exact", "head") for o in others):
                out.add(id(m))  # moved from the findings to the impression
            elif any(o.section != m.section and self._restates(o, m)
                     and _covers(o, m, self.vocabulary)
                     for o in (final if side == "final" else prelim)):
                # the other report states it too, in another section; but a finding the
                # final's impression leads with, that the preliminary leaves in its findings,
                # is missing where the clinician reads: a minor discrepancy, not none
                if side == "prelim" and m.section == "impression" and \
                        self.significance.tier(m, analysis.exam.region) != "incidental":
                    unsummarised.add(id(m))
                else:
                    out.add(id(m))
        for rows in analysis.alignments.values():
            for a in rows:
                if a.prelim is not None and a.final is not None and (
                        self._mispaired(a.prelim, a.final, prelim, final)
                        or self._both_sides(a.prelim, a.final, prelim, final)):
                    out.add(id(a.prelim))  # each says what the other report says elsewhere
                    continue
                if a.prelim is None or a.final is None or \
                        "absent" not in (a.prelim.polarity, a.final.polarity) or \
                        a.prelim.polarity == a.final.polarity:
                    continue
                denial, stated = (a.prelim, a.final) if a.prelim.polarity == "absent" else (
                    a.final, a.prelim)
                own = prelim if denial is a.prelim else final
                if denial.sentence_words & _NARROWING_WORDS and any(
                        o is not denial and self._restates(o, stated) for o in own):
                    # "No new hemorrhage" beside "stable intraventricular hemorrhage", "no
                    # full-thickness tear" beside "partial-thickness tear": a report does not
                    # deny what it states, so its denial is a narrower one, not a contradiction.
                    out.add(id(a.prelim))
        for rows in analysis.alignments.values():
            for a in rows:
                if a.prelim is None or a.final is None or a.match != "normal":
                    continue
                whole, part = (a.prelim, a.final) if a.prelim.generic else (a.final, a.prelim)
                own = prelim if whole is a.prelim else final
                if any(o is not whole and not o.generic and clinical.said_alike(o, part)
                       and same_finding(o, part, self.vocabulary) in ("exact", "head")
                       for o in own):
                    out.add(id(a.prelim))
        return out, unsummarised

    def _mispaired(self, p: Mention, f: Mention, prelim: list[Mention],
                   final: list[Mention]) -> bool:
        """Two mentions that differ in one attribute, each restated by another mention of the
        other report that agrees with it in all of them: the finding is said more than once
        and the one-to-one pairing crossed two statements that both reports make."""
        differing = [attr for attr in _PAIRED_ATTRIBUTES
                     if getattr(p, attr) != getattr(f, attr)]
        if len(differing) != 1:
            return False
        attr = differing[0]
        if getattr(p, attr) is None or getattr(f, attr) is None:
            return False

        def restated(m: Mention, others: list[Mention], partner: Mention) -> bool:
            # in the row's own section: an impression's "No portal vein thrombosis" is the
            # conclusion, whatever else the findings say
            return any(o is not partner and o.section == partner.section
                       and all(getattr(o, a) == getattr(m, a) for a in _PAIRED_ATTRIBUTES)
                       and self._restates(o, m) for o in others)

        return restated(p, final, f) and restated(f, prelim, p)

    def _both_sides(self, p: Mention, f: Mention, prelim: list[Mention],
                    final: list[Mention]) -> bool:
        """"Bilateral" against one side, where that report states the other side too
        ("Right ICA: <50% stenosis. Left ICA: <50% stenosis." / "bilateral stenosis")."""
        sides = {p.laterality, f.laterality}
        if "bilateral" not in sides or not sides & {"left", "right"}:
            return False
        one, own = (p, prelim) if p.laterality != "bilateral" else (f, final)
        other_side = "right" if one.laterality == "left" else "left"
        return any(o is not one and o.laterality == other_side and o.polarity == one.polarity
                   and same_finding(o, one, self.vocabulary) in ("exact", "head")
                   for o in own)

    def _side_by_side(self, m: Mention, own: list[Mention], other: list[Mention]) -> bool:
        """`m` is one side of a finding its report also states on the other side, where the
        other report says only as bilateral: the two sides are the bilateral one, told side
        by side (one-to-one alignment leaves one side over). Where the other report names a
        side too, the side it leaves out was left out."""
        if m.polarity == "absent" or m.laterality not in ("left", "right"):
            return False

        def alike(o: Mention) -> bool:
            return o is not m and o.polarity == m.polarity and \
                same_finding(o, m, self.vocabulary) in ("exact", "head")

        opposite = "left" if m.laterality == "right" else "right"
        if not any(o.laterality == opposite and o.section == m.section and alike(o)
                   for o in own):
            return False  # not told apart in its own report
        if not any(b.laterality == "bilateral" and alike(b) and
                   self.vocabulary.compatible(b.anatomy, m.anatomy) for b in other):
            return False  # the other report has no bilateral statement of it
        return not any(o.laterality in ("left", "right") and alike(o) for o in other)

    def _treated_there(self, m: Mention, treated: list[Mention]) -> bool:
        """`m` is a finding the other report names as treated or known: the same finding
        in a compatible place, unless `m` is new, growing or back ("recurrent meningioma",
        "residual aneurysm neck" after its resection or coiling: that is the finding)."""
        if m.polarity == "absent" or m.change in (*_GROWING, "acute") or \
                m.sentence_words & _BACK:
            return False
        return any(same_finding(t, m, self.vocabulary) in ("exact", "head")
                   and self.vocabulary.compatible(t.anatomy, m.anatomy) for t in treated)

    def _restates(self, o: Mention, m: Mention) -> bool:
        """`o` says what `m` says: the same finding in a compatible place, of the same
        polarity and side, and not "stable" against "new"."""
        if o.generic or m.generic or not clinical.said_alike(o, m):
            return False
        if not self.vocabulary.compatible(o.anatomy, m.anatomy):
            return False
        if (o.change in _GROWING or m.change in _GROWING) and o.change != m.change:
            return False
        return same_finding(o, m, self.vocabulary) in ("exact", "head")

    def _tally(self, analysis: _Analysis, verdicts: list[Verdict]) -> _Tally:
        t = time.perf_counter()
        verdict_of = dict(zip(map(id, (p for p, _ in analysis.shared())), verdicts,
                              strict=True))
        rows: list[EntityRow] = []
        sections: list[SectionScore] = []
        weights = self.config.section_weights.model_dump()
        elsewhere, unsummarised = self._said_elsewhere(analysis)
        words = _Wording((analysis.prelim, analysis.final),
                         Restatement(analysis.prelim, analysis.final),
                         bool(analysis.category_rows) and all(
                             r.category == "matched" for r in analysis.category_rows))
        verdict_of.update(self._details_left_out(analysis, verdict_of, words))
        described = self._described_again(analysis)
        for name, alignments in analysis.alignments.items():
            section_rows = [self._row(a, verdict_of, analysis.exam.region, elsewhere,
                                      unsummarised | described, words, described)
                            for a in alignments]
            if name == (analysis.category_rows[0].section if analysis.category_rows else ""):
                section_rows += analysis.category_rows
            section_rows += self._flip_rows(analysis, name, section_rows, words)
            section_rows.sort(key=lambda r: (r.final_span or r.prelim_span or (0, 0)))
            rows += section_rows
            counts = count(section_rows)
            sections.append(SectionScore(section=name, esas=esas(counts, self.config.weights),
                                         weight=weights[name], counts=counts))
        total = sum((s.counts for s in sections), start=Counts())
        scored = [s for s in sections if sum(s.counts.model_dump().values()) and s.weight > 0]
        if scored:
            score = sum(s.esas * s.weight for s in scored) / sum(s.weight for s in scored)
        else:
            score = 1.0
        score = round(min(max(score, 0.0), 1.0), 4)
        thresholds = self.config.thresholds_for(analysis.exam.modality)
        disc = discrepancy(rows, analysis.recommendation_changed
                           or bool(analysis.measurement_changes))
        g = consistent_grade(grade(score, thresholds), disc, self.config.max_grade)
        analysis.timings["scoring"] = _ms(t)
        explain_input = ExplanationInput(
            esas=score, grade=g, max_grade=self.config.max_grade, discrepancy=disc,
            counts=total, rows=rows, prelim_text=analysis.prelim, final_text=analysis.final,
            recommendation_changed=analysis.recommendation_changed,
            measurement_changes=analysis.measurement_changes)
        return _Tally(rows, sections, total, score, g, thresholds, disc, explain_input)

    def _details_left_out(self, analysis: _Analysis, verdict_of: dict[int, Verdict],
                          words: _Wording) -> dict[int, Verdict]:
        """Agreeing pairs whose side or size one report gives in a sentence the other left
        out, and states nowhere else for that finding ("Solitary left adrenal mass measuring
        2.8 cm." dropped, "a circumscribed mass" kept): the finding is named in both, but its
        description is lost with the sentence (a minor difference, never a major one). A
        detail one report simply adds to a sentence both keep stays words put otherwise."""
        mentions = ([a.prelim for rows in analysis.alignments.values() for a in rows
                     if a.prelim is not None],
                    [a.final for rows in analysis.alignments.values() for a in rows
                     if a.final is not None])
        out: dict[int, Verdict] = {}
        for p, f in analysis.shared():
            if not verdict_of[id(p)].same or p.polarity == "absent" or p.generic or f.generic:
                continue
            for side, m, other in ((1, f, p), (0, p, f)):
                attr = next((a for a in ("size_mm", "laterality") if getattr(m, a) is not None
                             and getattr(other, a) is None), None)
                if attr is None or not words.restatement.omitted(side, m.span, 4):
                    continue
                if any(getattr(o, attr) is not None and same_finding(o, m, self.vocabulary)
                       in ("exact", "head") for o in mentions[1 - side]):
                    continue  # the other report gives it where it says the finding again
                out[id(p)] = Verdict(False, "size" if attr == "size_mm" else "laterality",
                                     verdict_of[id(p)].decided_by)
                break
        return out

    def _described_again(self, analysis: _Analysis) -> set[int]:
        """Mentions alone on their side that give a side or size to a finding the other
        report states, in the same section, without one or as bilateral ("Solitary left adrenal mass
        measuring 2.8 cm." beside "The adrenal mass contains fat.", where the other report
        has only the second): the finding was not missed, its description was (counted,
        never a major discrepancy). "Another", "second" name another finding; an urgent one
        is never let off this way."""
        mentions = ([a.prelim for rows in analysis.alignments.values() for a in rows
                     if a.prelim is not None],
                    [a.final for rows in analysis.alignments.values() for a in rows
                     if a.final is not None])
        lonely = [(a.prelim or a.final, 0 if a.final is None else 1)
                  for rows in analysis.alignments.values() for a in rows
                  if (a.prelim is None) != (a.final is None)]
        out: set[int] = set()
        for m, side in lonely:
            if m is None or m.generic or m.polarity == "absent" or \
                    m.sentence_words & _ANOTHER_WORDS or \
                    self.critical.is_critical(m, analysis.exam.region):
                continue  # an urgent finding said twice may be two: it stays a major one
            details = [a for a in ("laterality", "size_mm") if getattr(m, a) is not None]
            if details and any(
                    o.section == m.section and self._restates(o, m)
                    and all(getattr(o, a) in (None, _WIDER.get(a)) for a in details)
                    for o in mentions[1 - side]):
                out.add(id(m))
        return out

    def _flip_rows(self, analysis: _Analysis, name: str, rows: list[EntityRow],
                   words: _Wording) -> list[EntityRow]:
        """A sentence the other report repeats with a denial (`Restatement.flips`) or with
        one side or severity word changed (`Restatement.swaps`), where no row of the section
        already tells that difference: a counted difference of words the NER names no
        finding for. Its significance is unknown, so it is no more than a minor discrepancy;
        the table shows the phrase."""
        restatement = words.restatement
        found = [("negation", flip.spans, flip.phrase, flip.side) for flip in restatement.flips]
        found += [(swap.reason, swap.spans, None, swap.words) for swap in restatement.swaps]
        if not found:
            return []
        section = next((s for s in pair_sections(analysis.prelim, analysis.final)[1]
                        if s.name == name), None)
        out = []
        for reason, ((ps, pe), (fs, fe)), phrase, said in found:
            if section is None or not section.start <= fs < section.end:
                continue
            sentences = [restatement.sentence_span(0, (ps, pe)),
                         restatement.sentence_span(1, (fs, fe))]
            if any(clinical.role(text[a:b]) != "finding"
                   for text, (a, b) in zip(words.texts, sentences, strict=True)):
                continue
            if any(differs(r) and any(
                    span is not None and a <= span[0] < b
                    for span, (a, b) in ((r.prelim_span, sentences[0]),
                                         (r.final_span, sentences[1]))) for r in rows):
                continue  # the difference is already a row of its own
            if phrase is not None:
                polarity = ({"polarity": "absent"}, {"polarity": "present"})
                prelim_attrs, final_attrs = polarity if said == 0 else polarity[::-1]
                label = phrase  # as written: "low T1", "serpentine vascular pattern"
            else:
                prelim_attrs, final_attrs = ({reason: said[0]}, {reason: said[1]})
                label = words.texts[1][fs:fe]  # the words around it, as the final has them
            if label[1:2].islower():
                label = label[0].lower() + label[1:]
            concept = f"~denied {label}" if phrase is not None else f"~{reason} of {label}"
            out.append(EntityRow(
                category="mismatched", reason=reason, concept=concept,
                label=label, kind="finding", section=name,
                prelim_text=words.texts[0][ps:pe], prelim_span=(ps, pe),
                final_text=words.texts[1][fs:fe], final_span=(fs, fe),
                prelim_attributes=prelim_attrs, final_attributes=final_attrs,
                significance="incidental"))
        return out

    def _result(self, analysis: _Analysis, tally: _Tally,
                explanation: Explanation) -> ScoreResult:
        fallbacks = []
        if any(r.decided_by == "rules-fallback" for r in tally.rows):
            fallbacks.append("classifier:rules (LLM unavailable)")
        if explanation.fallback:
            fallbacks.append(explanation.fallback)
        method = self.method()
        if list(tally.thresholds) != method.grade_thresholds:  # the modality's own
            method = method.model_copy(update={"grade_thresholds": list(tally.thresholds)})
        if fallbacks:
            method = method.model_copy(update={"fallback": "; ".join(fallbacks)})
        return ScoreResult(
            esas=tally.score, grade=tally.grade, discrepancy=tally.discrepancy,
            counts=tally.total, entities=tally.rows, explanation=explanation.text, method=method,
            timings_ms={k: round(v, 3) for k, v in analysis.timings.items()},
            sections=tally.sections, exam=analysis.exam,
        )

    def _row(self, a: Alignment, verdict_of: dict[int, Verdict], region: str,
             elsewhere: set[int], unsummarised: set[int], words: _Wording,
             described: set[int]) -> EntityRow:
        p, f = a.prelim, a.final
        ref = f or p
        assert ref is not None
        if p is not None and f is not None and ref.generic and not p.generic:
            ref = p  # a normal statement against a finding: the row is about the finding
        critical = (self.critical.is_critical(p, region)
                    or self.critical.is_critical(f, region))
        tiers = [self.significance.tier(m, region) for m in (p, f)
                 if m is not None and not m.generic and m.polarity != "absent"]
        tier = min(tiers, key=TIER_ORDER.__getitem__) if tiers else (
            self.significance.tier(ref, region))
        common = {
            "concept": ref.concept, "label": ref.label, "kind": ref.kind, "section": ref.section,
            "prelim_text": p.text if p else None, "prelim_span": p.span if p else None,
            "final_text": f.text if f else None, "final_span": f.span if f else None,
            "prelim_attributes": p.attributes() if p else {},
            "final_attributes": f.attributes() if f else {},
            "critical": critical, "anatomy": ref.anatomy, "anatomy_label": ref.anatomy_label,
            "coarse_anatomy": ref.coarse, "region": ref.region, "head": ref.head,
            "codes": list(ref.codes),
            "prelim_label": p.label if p is not None and f is not None and p.label != ref.label
            else None,
            "significance": tier,
            "descriptive": (all(m.descriptive for m in (p, f) if m is not None
                                and not m.generic) and not _omitted(p, f, words)
                            and not _denied(p, f, words))
            or (tier == "incidental" and not critical and _restated(p, f, words)),
        }
        sig = self.significance
        if p is not None and f is not None:
            v = verdict_of[id(p)]
            category = "matched" if v.same else "mismatched"
            counted = id(p) not in elsewhere
            settled = words.settled and v.reason in ("size", "severity") and \
                tier != "critical"
            return EntityRow(category=category, reason=v.reason, match=a.match,
                             similarity=a.similarity, decided_by=v.decided_by,
                             counted=counted,
                             actionable=counted and not settled and sig.actionable(
                                 category, v.reason, tier, p, f),
                             **common)
        if f is not None:
            counted = f.counted and id(f) not in elsewhere
            return EntityRow(category="missing", counted=counted,
                             reason=_detail(f) if id(f) in described else
                             "impression" if id(f) in unsummarised else None,
                             actionable=counted and id(f) not in unsummarised
                             and sig.actionable("missing", None, tier, p, f),
                             **common)
        assert p is not None
        counted = p.counted and id(p) not in elsewhere
        return EntityRow(category="surplus", counted=counted,
                         reason=_detail(p) if id(p) in described else None,
                         actionable=counted and id(p) not in described
                         and sig.actionable("surplus", None, tier, p, f),
                         **common)


# Words that make a denial narrower than the finding its own report states: "no new
# hemorrhage", "no other mass", "no full-thickness tear". An unqualified denial beside its own
# report's finding ("no appendicitis" under a described appendicitis) stays a contradiction.
_NARROWING_WORDS = frozenset({"new", "other", "additional", "further", "full", "thickness"})
# What a report may say of a finding instead of the other's detail and still state it:
# "bilateral" narrowing states the left one.
_WIDER = {"laterality": "bilateral"}
# Words that name a finding besides one already described: "a second mass", "another nodule".
_ANOTHER_WORDS = frozenset({"another", "second", "third", "other", "additional", "separate",
                            "further", "two", "three", "multiple", "several", "both"})
# Families whose members are one statement only in one place: free fluid in the pelvis is
# not the endometrial fluid (a degenerative change is named loosely of the whole spine).
_PLACED_FAMILIES = frozenset({"fluid"})
# Changes that make a finding news against the same finding said as it was.
_GROWING = ("new", "increased", "worse", "worsening", "enlarging")
# Words that say a treated finding is there again.
_BACK = frozenset({"recurrent", "recurrence", "recurred", "residual", "regrowth", "remnant",
                   "progression", "progressive", "progressed", "persistent", "new"})
# The attributes one pairing can cross: the context check's reasons as mention fields.
_PAIRED_ATTRIBUTES = ("polarity", "laterality", "severity", "size_mm")


def _detail(m: Mention) -> Reason:
    """What a description the other report lacks gives (`Scorer._described_again`)."""
    return "size" if m.size_mm is not None else "laterality"


def _alone(p: Mention | None, f: Mention | None) -> tuple[Mention, int] | None:
    """The mention of a row that has one side only, and its side (0 the preliminary)."""
    if f is None:
        return None if p is None else (p, 0)
    return None if p is not None else (f, 1)


def _omitted(p: Mention | None, f: Mention | None, words: _Wording) -> bool:
    """A mention alone on its side whose sentence the other report left out (its partner
    sentence keeps under a quarter of its words, of four or more): content left out, even if
    the NER names no finding in it. A fragment ("The facet joints.") says nothing."""
    alone = _alone(p, f)
    if alone is None:
        return False
    m, side = alone
    if m.severity is None and clinical.says_normal(
            words.texts[side][m.sentence[0]:m.sentence[1]]):
        return False  # an added normal check ("The dens and lateral masses are intact."),
        # but not a graded finding ("Marked, homogeneous enhancement")
    # A sentence's main phrase needs a sentence of four words to say anything; a finding word
    # ("Some calcification is present.") says it in two.
    statement = m.how == "statement" or m.concept.startswith("~about")
    return words.restatement.omitted(side, m.span, 4 if statement else 2)


def _denied(p: Mention | None, f: Mention | None, words: _Wording) -> bool:
    """A mention alone on its side whose partner sentence denies its very word ("No small
    feeder from the ACA" / "Small feeder from the ACA"): the other report read the denial
    as another phrase, but it contradicts the description."""
    alone = _alone(p, f)
    return alone is not None and words.restatement.denied_by_partner(alone[1], alone[0].span)


def _covers(o: Mention, m: Mention, vocabulary: Vocabulary) -> bool:
    """`o` says all that `m` says: its place (or one inside it), its side, size and amount.
    An impression's bare "cholesteatoma" does not restate "cholesteatoma of the left
    mesotympanum"."""
    if m.anatomy is not None and not vocabulary.within(o.anatomy, m.anatomy):
        return False
    return all(getattr(m, a) is None or getattr(o, a) == getattr(m, a)
               for a in ("laterality", "size_mm", "severity"))


def _restated(p: Mention | None, f: Mention | None, words: _Wording) -> bool:
    """A mention alone on its side whose sentence the other report keeps in other words:
    the attending reworded the sentence and the NER read its finding otherwise (or not at
    all). For an incidental finding that is a difference of words, not of findings."""
    alone = _alone(p, f)
    return alone is not None and words.restatement.kept(alone[1], alone[0].span)


def _category_section(names: list[str]) -> str:
    """Categories are the conclusion of a report: they count in its impression."""
    return "impression" if "impression" in names else (names[-1] if names else "report")


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
