"""Every public sample that carries a radiology report as text is accepted and scored when its
pair arrives (issue #14): the real bytes through the MSH peek, the store, the parse process's
and a scoring process's code, on SQLite and PostgreSQL. The other half of each pair is ours.

The MDM document sample (issue #19) is one of them: its TXA-17 says in progress, so it is the
preliminary, paired by its OBR-18 with an ORU final. Not here: the PDF and CDA samples (the
report is only an embedded document: noted, never scored, DESIGN.md §6), the lab and OMI
messages.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ingest import Incoming, MllpConfig, peek, store_messages
from ingest.replay import split_messages
from ingest.tables import pairs
from outbound import FhirConfig
from outbound.tables import outbox
from radagree.parsing import ParseWorker
from radagree.workers import ScoringWorker
from support.hl7build import oru

pytestmark = pytest.mark.timeout(120)

# file (a message containing `pick` when the file holds several) -> accession, its status
RADIOLOGY = {
    "dcm4che_ORU_R01-SR_v251_radiology.hl7": (None, "AccessionNumber", "F"),
    # OBR-25 empty, the F in every OBX-11
    "dcm4che_ORU_R01_v231_radiology.hl7": (None, "ACC1", "F"),
    # these two share MSGID00231 and their report
    "lfh_ORU_R01_v26_imaging_multiline_TX_lf.hl7": (None, "FON_0d70c6c8", "F"),
    "lfh_ORU_R01_v26_imaging_multiline_mixed_lf.hl7": (None, "FON_0d70c6c8", "F"),
    # a CT report whose OBX ran on inside the OBR line
    "hapi_messages_mixed_v21-v24_incl_radiology_ORU_P.txt": (b"CT CHEST", "0000000566", "P"),
    # an MDM^T02 document, TXA-17 IP (in progress)
    "ms_MDM_T02_v23.hl7": (None, "Placer 1", "P"),
}


def sample(shared_data, name: str, pick: bytes | None) -> bytes:
    messages = split_messages((shared_data / "hl7-samples" / name).read_bytes())
    return next(m for m in messages if pick is None or pick in m)


def counterpart(accession: str, status: str) -> bytes:
    """The other report of the pair, from a sender of its own."""
    other = "F" if status == "P" else "P"
    return oru(accession, other, "Small left pleural effusion. No pneumothorax.",
               sending_app="TEST", status_changed_at="19940502160000")


def test_every_radiology_sample_is_accepted_and_scored(engine, scorer, shared_data):
    config = MllpConfig()
    raws = [sample(shared_data, name, pick) for name, (pick, _, _) in RADIOLOGY.items()]
    raws += [counterpart(acc, status) for _, acc, status in set(RADIOLOGY.values())]
    items = [Incoming(raw, *peek(raw, config), received_at=datetime.now(UTC)) for raw in raws]
    assert [i.rejection for i in items] == [None] * len(items)
    with engine.begin() as conn:
        stored = store_messages(conn, items)
    assert {s.ack_code for s in stored} == {"AA"}
    ParseWorker(engine, config).process_pending(100)
    outcome = ScoringWorker(engine, scorer, FhirConfig()).score_batch("test", 50, 3)
    assert outcome.failed == 0
    with engine.connect() as conn:
        scored = dict(conn.execute(select(pairs.c.accession, pairs.c.state)).all())
        bundles = conn.execute(select(outbox.c.accession)).scalars().all()
    accessions = {acc for _, acc, _ in RADIOLOGY.values()}
    assert scored == dict.fromkeys(accessions, "scored")
    assert sorted(bundles) == sorted(accessions)  # one bundle each: the two lfh share one
