"""The packaged all-MiniLM-L6-v2 loads offline and proposes the right candidates."""

import pytest

pytestmark = pytest.mark.slow


def test_embedder_loads_offline_and_ranks_paraphrases(embedding_scorer):
    embedder = embedding_scorer.embedder
    assert embedder is not None
    sims = embedder.similarity(["pleural effusion"],
                               ["effusion, pleural", "pericardial effusion", "fracture"])[0]
    assert sims[0] > sims[1] > sims[2]


def test_embedding_match_pairs_related_concepts(embedding_scorer):
    from scoring.matching import align
    from scoring.mention import Mention

    def m(concept, label):
        return Mention(concept=concept, label=label, kind="finding", text=label, start=0,
                       end=len(label), section="report", sentence=(0, len(label)))

    rows = align([m("a", "pleural effusion")], [m("b", "effusion of the pleura")],
                 embedding_scorer.vocabulary, embedding_scorer.embedder, threshold=0.8)
    assert [(r.match, r.prelim is not None, r.final is not None) for r in rows] == \
        [("embedding", True, True)]
    assert embedding_scorer.method().matcher == "exact+embedding"
