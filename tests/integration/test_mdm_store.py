"""MDM documents (issue #19) through the listener, the store and the pairing on a real SQLite
file and a real PostgreSQL: stored before the ACK like an ORU, their versions settled against
the store (a re-authenticated final corrects, an addendum is appended, a cancel cancels), and
an accession reported partly as ORU and partly as MDM paired and scored as one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ingest import Incoming, MllpConfig, MllpServer, peek, process_pending, store_messages
from ingest.document_versions import ADDENDUM_HEADING
from ingest.replay import MllpClient
from ingest.tables import messages, pairs, reports
from outbound import FhirConfig
from radagree.workers import ScoringWorker
from support.hl7build import mdm, oru
from support.listener import run_listener

pytestmark = pytest.mark.timeout(120)
CONFIG = MllpConfig()
PRELIM = "FINDINGS: Small left pleural effusion.\nIMPRESSION: Left effusion."
FINAL = "FINDINGS: Moderate left pleural effusion.\nIMPRESSION: Left effusion."


def put(engine, *raws: bytes) -> None:
    items = [Incoming(raw, *peek(raw, CONFIG), received_at=datetime.now(UTC)) for raw in raws]
    assert [i.rejection for i in items] == [None] * len(items)
    with engine.begin() as conn:
        store_messages(conn, items)
    process_pending(engine, CONFIG)


def versions(engine, accession: str) -> list[tuple[int, str, str, str]]:
    """(version, final status, state, final text) of each pair of the accession."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(pairs.c.version, pairs.c.final_status, pairs.c.state, reports.c.text)
            .join(reports, reports.c.id == pairs.c.final_report_id)
            .where(pairs.c.accession == accession).order_by(pairs.c.version)).all()]


def pairing_of(engine, accession: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(reports.c.status, reports.c.pairing)
            .where(reports.c.accession == accession).order_by(reports.c.id)).all()]


def test_a_document_from_draft_to_addendum_to_cancel(engine):
    put(engine, mdm("D1", "T02", "IP", PRELIM, edited_at="20261126090000"))
    assert versions(engine, "D1") == []  # a preliminary waits for its final
    put(engine, mdm("D1", "T04", "AU", FINAL, edited_at="20261126100000"))
    assert versions(engine, "D1") == [(1, "F", "ready", FINAL)]
    put(engine, mdm("D1", "T06", "AU", "Also a small right effusion.", document_number="DOC2",
                    parent_document="DOC1"))
    amended = f"{FINAL}\n\n{ADDENDUM_HEADING}\nAlso a small right effusion."
    assert versions(engine, "D1")[1:] == [(2, "C", "ready", amended)]
    # the same addendum again under a new control id: the same text, nothing new to score
    put(engine, mdm("D1", "T06", "AU", "Also a small right effusion.", document_number="DOC2",
                    parent_document="DOC1"))
    assert len(versions(engine, "D1")) == 2 and pairing_of(engine, "D1")[-1] == (
        "C", "duplicate")
    # an edit authenticated again with other text corrects; with the final's text it is a resend
    put(engine, mdm("D1", "T08", "LA", FINAL + "\nNo pneumothorax."))
    assert versions(engine, "D1")[2][:3] == (3, "C", "ready")
    put(engine, mdm("D1", "T08", "AU", FINAL))
    assert len(versions(engine, "D1")) == 3 and pairing_of(engine, "D1")[-1] == (
        "F", "duplicate")
    put(engine, mdm("D1", "T11", ""))
    assert {state for _, _, state, _ in versions(engine, "D1")} == {"cancelled"}


def test_a_replacement_in_the_same_batch_as_its_final(engine):
    put(engine, oru("D2", "P", PRELIM), mdm("D2", "T02", "AU", FINAL),
        mdm("D2", "T10", "AU", "Replaced: no effusion."))
    assert [(v, s) for v, s, _, _ in versions(engine, "D2")] == [(1, "F"), (2, "C")]
    assert versions(engine, "D2")[1][3] == "Replaced: no effusion."


def test_a_sender_mixing_oru_and_mdm_pairs_and_scores_one_accession(engine, scorer):
    # P as an ORU (its author in OBR-33), the final as an MDM (signer in TXA-22) ...
    put(engine, oru("MIX1", "P", PRELIM, status_changed_at="20261126090000"),
        mdm("MIX1", "T02", "AU", FINAL, authenticator="A77^Signer^Sam"))
    # ... and the other way round, the document carrying its order (OBR-18) like the ORU
    put(engine, mdm("MIX2", "T02", "PA", PRELIM, with_order=True, originator="R5^Trainee^Tom"),
        oru("MIX2", "F", FINAL))
    # then an ORU final amended by an MDM addendum
    put(engine, mdm("MIX2", "T06", "AU", "Addendum: effusion unchanged.", with_order=True))
    outcome = ScoringWorker(engine, scorer, FhirConfig()).score_batch("test", 50, 3)
    assert outcome.failed == 0
    with engine.connect() as conn:
        rows = conn.execute(select(pairs.c.accession, pairs.c.version, pairs.c.final_status,
                                   pairs.c.state, pairs.c.trainee_id, pairs.c.attending_id)
                            .order_by(pairs.c.accession, pairs.c.version)).all()
    assert [tuple(r) for r in rows] == [
        ("MIX1", 1, "F", "scored", "R123", "A77"),
        ("MIX2", 1, "F", "scored", "R5", "A456"),
        ("MIX2", 2, "C", "scored", "R5", "A456"),
    ]


def test_the_listener_stores_a_document_before_its_ack(engine, shared_data):
    sample = (shared_data / "hl7-samples" / "ms_MDM_T02_v23.hl7").read_bytes()

    async def body(server: MllpServer) -> None:
        client = await MllpClient.connect("127.0.0.1", server.port)
        assert (await client.send(sample)).code == "CA"  # MSH-15 AL: enhanced mode
        with engine.connect() as conn:  # answered only once it was committed
            assert conn.execute(select(messages.c.message_type, messages.c.state)).all() == [
                ("MDM^T02", "received")]
        assert (await client.send(mdm("L1", "T02", "AU", FINAL))).code == "AA"
        refused = await client.send(mdm("L1", "T03", "AU"))
        assert refused.code == "AR" and "MDM^T03" in refused.reason
        await client.close()

    run_listener(engine, body)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 3
