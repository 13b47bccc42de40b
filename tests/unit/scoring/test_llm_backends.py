"""The LLM back-ends against a fake that speaks the OpenAI wire protocol: what we send (only
the current vLLM constraint fields), and every failure ending flagged or queued, never hung."""

from __future__ import annotations

import json
import time

import pytest

from scoring import Scorer, ScoringConfig
from scoring.config import LlmSettings
from scoring.errors import LlmUnavailable
from scoring.llm_client import close_shared, shared_client
from support.openai_fake import FakeOpenAI, completion, echo_valid

PRELIM = "FINDINGS: Small left pleural effusion. Mild cardiomegaly.\nIMPRESSION: Left effusion."
FINAL = "FINDINGS: Large left pleural effusion. Mild cardiomegaly.\nIMPRESSION: Left effusion."

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fake_with():
    servers: list[FakeOpenAI] = []

    def make(script) -> FakeOpenAI:
        server = FakeOpenAI(script)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def llm_scorer(server: FakeOpenAI, classifier: str = "llm", **llm) -> Scorer:
    settings = LlmSettings(base_url=server.base_url, model="fake", timeout_s=2, retries=1,
                           **llm)
    return Scorer(ScoringConfig(classifier=classifier, explainer="llm"), settings)


def test_wire_carries_only_current_constraint_fields(fake_with):
    server = fake_with(lambda body, n: echo_valid(body))
    for style in ("batched", "paper"):
        result = llm_scorer(server, prompt_style=style).score(PRELIM, FINAL)
        assert result.method.fallback is None and result.method.classifier == "llm"
    sent = json.dumps(server.requests)
    assert "guided_" not in sent
    kinds = {("response_format" in r, "structured_outputs" in r) for r in server.requests}
    assert (True, False) in kinds and (False, True) in kinds  # json_schema and choice
    for request in server.requests:
        if "response_format" in request:
            schema = request["response_format"]["json_schema"]["schema"]
            items = schema["properties"]["entities"]
            assert items["minItems"] == items["maxItems"]  # fully bounded
            assert set(items["items"]["properties"]) == {"label", "reason"}
        assert request["temperature"] == 0
        assert request["messages"][0]["role"] == "system"
        if "response_format" in request or "structured_outputs" in request:
            # shared prefix first: instructions, then both reports; the question varies last
            assert "Text A (preliminary)" in request["messages"][1]["content"]
        else:  # the explanation: anchored on the computed score and the table
            assert "Agreement score (ESAS): " in request["messages"][1]["content"]


def test_paper_style_asks_once_per_shared_entity(fake_with):
    server = fake_with(lambda body, n: echo_valid(body))
    s = llm_scorer(server, prompt_style="paper")
    result = s.score(PRELIM, FINAL)
    shared = [e for e in result.entities if e.category in ("matched", "mismatched")]
    choice_calls = [r for r in server.requests if "structured_outputs" in r]
    assert len(choice_calls) == len(shared) >= 2
    assert all(e.decided_by == "llm" for e in shared)


def test_hybrid_asks_only_where_the_rules_are_unsure(fake_with):
    server = fake_with(lambda body, n: echo_valid(body))
    s = llm_scorer(server, classifier="hybrid")
    result = s.score(PRELIM, FINAL)
    by = [e.decided_by for e in result.entities if e.category in ("matched", "mismatched")]
    # cardiomegaly (same attributes) and the impression's effusion: rules; the findings'
    # effusion (small vs large: severity, not a hard conflict): the LLM
    assert by.count("llm") == 1 and by.count("rules") >= 2
    assert s.classifier.asked == 1


@pytest.mark.parametrize("fault", ["500", "429", "garbage",
                                   pytest.param("stall", marks=pytest.mark.slow)])
def test_faults_fall_back_to_rules_flagged_and_complete(fake_with, fault, scorer):
    answers = {
        "500": (500, {}, {"error": {"message": "boom"}}),
        "429": (429, {"Retry-After": "0"}, {"error": {"message": "slow down"}}),
        "garbage": completion("{not json at all"),
        # Far longer than the 2 s timeout: were it not applied, the module's 60 s guard fires.
        "stall": (-1, {}, "40"),
    }
    server = fake_with(lambda body, n: answers[fault])
    result = llm_scorer(server).score(PRELIM, FINAL)
    shared = [e for e in result.entities if e.category in ("matched", "mismatched")]
    assert shared and all(e.decided_by == "rules-fallback" for e in shared)
    assert "classifier:rules" in result.method.fallback
    rules = scorer.score(PRELIM, FINAL)  # the default rules scorer of the session
    assert result.esas == rules.esas
    if fault != "garbage":  # free text has no schema to break: a garbage sentence is text
        assert "explainer:template" in result.method.fallback
        assert result.explanation == rules.explanation
    asked = [r for r in server.requests if "response_format" in r]
    explained = [r for r in server.requests
                 if "response_format" not in r and "structured_outputs" not in r]
    # garbage: one more ask for a malformed answer; the others: the SDK's one retry
    # (`retries=1`) of a 5xx, 429 or timed-out request, then the fallback
    assert len(asked) == 2
    if fault != "garbage":
        assert len(explained) == 2


def test_classifier_and_explainer_share_one_client_closed_at_shutdown(fake_with):
    server = fake_with(lambda body, n: echo_valid(body))
    s = llm_scorer(server)
    client = s.classifier.client
    assert s.explainer.client is client  # one loop, one HTTP pool, one concurrency gate
    s.score(PRELIM, FINAL)
    assert client.usage.calls == len(server.requests) >= 2  # both back-ends' calls
    http = client._client
    assert close_shared() >= 1 and client.closed and http.is_closed()
    assert close_shared() == 0  # idempotent
    assert shared_client(client.settings) is not client  # a closed client is replaced


def test_wait_keeps_the_pair_for_later(fake_with):
    server = fake_with(lambda body, n: (503, {}, {"error": {"message": "down"}}))
    s = llm_scorer(server, fallback="wait")
    with pytest.raises(LlmUnavailable):
        s.score(PRELIM, FINAL)
    with pytest.raises(LlmUnavailable):
        s.score_many([(PRELIM, FINAL)] * 3)


@pytest.mark.parametrize("fault", ["400", "garbage"])
def test_a_refused_request_falls_back_even_with_wait(fake_with, fault, scorer):
    """Waiting cannot help a request the server refuses (or garbles twice): the pair is scored
    by the rules, flagged, instead of going back to the queue for ever."""
    answers = {
        "400": (400, {}, {"error": {"message": "prompt longer than max_model_len"}}),
        "garbage": completion("{not json at all"),
    }
    server = fake_with(lambda body, n: answers[fault])
    result = llm_scorer(server, fallback="wait").score(PRELIM, FINAL)
    shared = [e for e in result.entities if e.category in ("matched", "mismatched")]
    assert shared and all(e.decided_by == "rules-fallback" for e in shared)
    assert "classifier:rules" in result.method.fallback
    assert result.esas == scorer.score(PRELIM, FINAL).esas


def test_explanation_post_check_rejects_wrong_score_or_unknown_finding(fake_with):
    texts = iter(["The score 0.91 shows excellent agreement.",
                  "The trainee missed a pneumothorax.",
                  "This earns grade 3.",
                  "The trainee described the effusion as small where the final says large."])

    def script(body, n):
        if "response_format" in body or "structured_outputs" in body:
            return echo_valid(body)
        return completion(next(texts))

    server = fake_with(script)
    s = llm_scorer(server)
    reasons = [s.score(PRELIM, FINAL).method.fallback for _ in range(4)]
    assert "states score 0.91" in reasons[0]
    assert "'pneumothorax'" in reasons[1]
    assert "states grade 3, computed 5" in reasons[2]
    assert reasons[3] is None  # names only table findings, no numbers: kept


def test_score_many_runs_pairs_concurrently(fake_with):
    in_flight = {"now": 0, "max": 0}
    import threading

    lock = threading.Lock()

    def script(body, n):
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(0.2)
        with lock:
            in_flight["now"] -= 1
        return echo_valid(body)

    server = fake_with(script)
    s = llm_scorer(server, max_concurrency=8)
    results = s.score_many([(PRELIM, FINAL)] * 8)
    assert len(results) == 8 and in_flight["max"] >= 4
