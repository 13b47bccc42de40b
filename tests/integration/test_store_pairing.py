"""Store, pairing state machine and scoring queue on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from structlog.testing import capture_logs

from ingest import (
    Incoming,
    MllpConfig,
    claim_pairs,
    complete,
    expire,
    peek,
    process_pending,
    release_stale,
    store_messages,
)
from ingest.tables import messages, pairs, reports
from support.hl7build import oru

CONFIG = MllpConfig()


def put(engine, *raws: bytes):
    items = []
    for raw in raws:
        header, rejection = peek(raw, CONFIG)
        items.append(Incoming(raw, header, rejection, received_at=datetime.now(UTC)))
    with engine.begin() as conn:
        stored = store_messages(conn, items)
    process_pending(engine, CONFIG)
    return stored


def pair_rows(engine, accession):
    with engine.connect() as conn:
        return conn.execute(
            select(pairs).where(pairs.c.accession == accession).order_by(pairs.c.version)
        ).all()


def report_text(engine, report_id):
    with engine.connect() as conn:
        return conn.execute(select(reports.c.text).where(reports.c.id == report_id)).scalar()


def test_migrations_match_the_tables(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from radagree.store import all_metadata

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), all_metadata())
    assert diff == []


def test_p_then_f_then_c(engine):
    put(engine, oru("ACC1", "P", "prelim text", status_changed_at="20261126090000"))
    assert pair_rows(engine, "ACC1") == []
    put(engine, oru("ACC1", "F", "final text", status_changed_at="20261126100000"))
    (first,) = pair_rows(engine, "ACC1")
    assert (first.state, first.version, first.final_status) == ("ready", 1, "F")
    assert report_text(engine, first.prelim_report_id) == "prelim text"
    put(engine, oru("ACC1", "C", "corrected text", status_changed_at="20261126110000"))
    rows = pair_rows(engine, "ACC1")
    assert [(r.version, r.final_status, r.state) for r in rows] == [
        (1, "F", "ready"), (2, "C", "ready")]
    assert rows[1].prelim_report_id == first.prelim_report_id
    assert report_text(engine, rows[1].final_report_id) == "corrected text"


def test_a_pair_is_dated_by_its_study_not_its_arrival(engine):
    put(engine, oru("ACC9", "P", "prelim"), oru("ACC9", "F", "final"))  # OBR-7 2026-11-26 09:00
    (pair,) = pair_rows(engine, "ACC9")
    study = pair.study_at.replace(tzinfo=UTC) if pair.study_at.tzinfo is None else pair.study_at
    assert study == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    arrival = pair.created_at.replace(tzinfo=UTC) if pair.created_at.tzinfo is None \
        else pair.created_at
    assert arrival - study > timedelta(days=1)  # the arrival is kept beside it


def test_final_before_prelim_waits_then_pairs(engine):
    put(engine, oru("ACC2", "F", "final"))
    (waiting,) = pair_rows(engine, "ACC2")
    assert waiting.state == "waiting" and waiting.prelim_report_id is None
    put(engine, oru("ACC2", "P", "prelim"))
    (ready,) = pair_rows(engine, "ACC2")
    assert ready.state == "ready" and report_text(engine, ready.prelim_report_id) == "prelim"


def test_latest_prelim_before_the_final_is_chosen_by_sender_clock(engine):
    # Arrival order differs from the sender's clock (OBR-22).
    put(engine, oru("ACC3", "P", "second draft", status_changed_at="20261126093000"),
        oru("ACC3", "P", "first draft", status_changed_at="20261126090000"))
    put(engine, oru("ACC3", "F", "final", status_changed_at="20261126100000"))
    (pair,) = pair_rows(engine, "ACC3")
    assert report_text(engine, pair.prelim_report_id) == "second draft"
    with engine.connect() as conn:
        states = conn.execute(select(reports.c.text, reports.c.pairing)
                              .where(reports.c.accession == "ACC3")).all()
    assert dict(states) == {"second draft": "paired", "first draft": "superseded",
                            "final": "paired"}


def test_cancel_and_late_prelim(engine):
    put(engine, oru("ACC4", "P", "p"), oru("ACC4", "F", "f"))
    put(engine, oru("ACC4", "P", "too late"))
    with engine.connect() as conn:
        late = conn.execute(select(reports.c.pairing).where(reports.c.text == "too late")).scalar()
    assert late == "late"
    put(engine, oru("ACC4", "X", "cancelled"))
    assert [r.state for r in pair_rows(engine, "ACC4")] == ["cancelled"]


def test_expiry_counts_and_keeps(engine):
    put(engine, oru("ACC5", "F", "lonely final"), oru("ACC6", "P", "lonely prelim"))
    later = datetime.now(UTC) + timedelta(days=40)
    with engine.begin() as conn:
        done = expire(conn, timedelta(days=7), timedelta(days=30), now=later)
    assert done == {"final_without_prelim": 1, "expired_prelim": 1}
    assert pair_rows(engine, "ACC5")[0].state == "final_without_prelim"


def test_duplicate_is_answered_again_and_processed_once(engine):
    message = oru("ACC7", "P", "p", control_id="DUP1")
    first = put(engine, message)[0]
    again = put(engine, message)[0]
    assert (first.ack_code, again.ack_code, again.duplicate) == ("AA", "AA", True)
    assert again.message_id == first.message_id
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reports)).scalar() == 1
        assert conn.execute(select(messages.c.duplicates).where(
            messages.c.id == first.message_id)).scalar() == 1


def test_a_reused_control_id_is_a_new_message(engine):
    """Engines reset their MSH-10 counters on restart: other content under a used id is
    accepted, stored, processed, and points at the earlier message; its own resend is still
    recognised as a resend."""
    first = put(engine, oru("ACC11", "P", "first report", control_id="RESET1"))[0]
    other = oru("ACC12", "P", "another report", control_id="RESET1")
    with engine.begin() as conn:
        (second,) = store_messages(conn, [Incoming(other, *peek(other, CONFIG))])
    assert (second.ack_code, second.rejection, second.duplicate) == ("AA", None, False)
    with capture_logs() as logs:
        outcome = process_pending(engine, CONFIG)
    # counted and logged where it is processed, off the ACK path
    assert outcome.reused_control_ids == [(second.message_id, first.message_id)]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["control_id_reused"]
    again = put(engine, other)[0]
    assert again.duplicate and again.message_id == second.message_id
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 2
        assert sorted(conn.execute(select(reports.c.accession)).scalars()) == ["ACC11", "ACC12"]


def test_a_resend_under_a_new_control_id_scores_nothing_new(engine):
    """Only MSH-7 and MSH-10 differ (what an engine regenerates): the report is stored as a
    duplicate and makes no second pair, so no second score and no second FHIR version."""
    put(engine, oru("ACC13", "P", "small effusion", control_id="A1"),
        oru("ACC13", "F", "large effusion", control_id="A2"))
    resent = oru("ACC13", "F", "large effusion", control_id="A3").replace(
        b"|20261126101500||ORU", b"|20261126120000||ORU", 1)
    put(engine, resent, oru("ACC13", "P", "small effusion", control_id="A4"))
    (pair,) = pair_rows(engine, "ACC13")
    assert (pair.version, pair.state) == (1, "ready")
    with engine.connect() as conn:
        pairing = conn.execute(select(reports.c.status, reports.c.pairing)
                               .where(reports.c.accession == "ACC13")
                               .order_by(reports.c.id)).all()
    assert [tuple(r) for r in pairing] == [("P", "paired"), ("F", "paired"),
                                           ("F", "duplicate"), ("P", "duplicate")]
    put(engine, oru("ACC13", "C", "large effusion, corrected", control_id="A5"))
    assert [r.version for r in pair_rows(engine, "ACC13")] == [1, 2]


def test_the_two_samples_that_share_msgid00231(engine, shared_data):
    """LinuxForHealth's two multiline fixtures: one MSH-10, different bytes, the same report.
    Both are accepted; the report is paired once."""
    folder = shared_data / "hl7-samples"
    tx, mixed = ((folder / f"lfh_ORU_R01_v26_imaging_multiline_{kind}_lf.hl7").read_bytes()
                 for kind in ("TX", "mixed"))
    first, second = put(engine, tx, mixed)
    assert (first.ack_code, second.ack_code) == ("AA", "AA")
    assert first.message_id != second.message_id and not second.duplicate
    put(engine, oru("FON_0d70c6c8", "P", "ED Encounter"))
    (pair,) = pair_rows(engine, "FON_0d70c6c8")
    assert pair.state == "ready"
    with engine.connect() as conn:
        states = conn.execute(select(reports.c.pairing).where(
            reports.c.accession == "FON_0d70c6c8", reports.c.status == "F")
            .order_by(reports.c.id)).scalars().all()
    assert states == ["paired", "duplicate"]


def test_migration_0003_hashes_the_reports_already_stored(engine):
    """Down to 0002 (the hashes go with their column) and up again: the upgrade computes the
    hash of every report it finds, so a resend of an older report is recognised too."""
    from alembic import command

    from radagree.store import alembic_config, migrate

    put(engine, oru("ACC14", "P", "stored before the upgrade"))
    command.downgrade(alembic_config(engine), "0002")
    migrate(engine)
    with engine.connect() as conn:
        digest = conn.execute(select(reports.c.text_sha256)).scalar()
    assert digest == hashlib.sha256(b"stored before the upgrade").hexdigest()


def test_a_resent_refusal_hears_the_first_answer(engine):
    """Code, ERR location and reason are stored with the refusal, whatever module defined
    the code (102 is strict validation's), so the resend's ACK is the first one's."""
    from ingest import Rejection
    from ingest.errors import DATA_TYPE_ERROR

    raw = oru("ACC10", "F", "x", control_id="REF1")
    header, _ = peek(raw, CONFIG)
    refusal = Rejection(DATA_TYPE_ERROR, "PID-7: not a valid value for its data type", "PID", 7)
    stored = []
    for _ in range(2):
        with engine.begin() as conn:
            stored += store_messages(conn, [Incoming(raw, header, refusal)])
    first, again = stored
    assert (first.ack_code, again.ack_code, again.duplicate) == ("AR", "AR", True)
    assert again.rejection == first.rejection == refusal


def test_same_control_id_from_two_senders_is_not_a_duplicate(engine):
    a = put(engine, oru("ACC8", "P", "p", control_id="X1", sending_facility="SITE_A"))[0]
    b = put(engine, oru("ACC9", "P", "p", control_id="X1", sending_facility="SITE_B"))[0]
    assert a.message_id != b.message_id and not b.duplicate


def test_processing_twice_concurrently_yields_reports_once(engine):
    with engine.begin() as conn:
        store_messages(conn, [Incoming(m, *peek(m, CONFIG)) for m in
                              [oru(f"C{i}", "P", "p") for i in range(50)]])
    threads = [threading.Thread(target=process_pending, args=(engine, CONFIG)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reports)).scalar() == 50


def test_claims_are_disjoint_across_workers(engine):
    for i in range(40):
        put(engine, oru(f"Q{i}", "P", "p"), oru(f"Q{i}", "F", "f"))
    got: list[list[int]] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while batch := claim_pairs(engine, name, limit=3):
            with lock:
                got.append([p.id for p in batch])
            for p in batch:
                assert complete(engine, p.id, name, {"esas": 1.0})

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for batch in got for i in batch]
    assert len(ids) == 40 and len(set(ids)) == 40
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pairs)
                            .where(pairs.c.state == "scored")).scalar() == 40


def test_claimed_pair_carries_both_texts_and_stale_claims_return(engine):
    put(engine, oru("R1", "P", "the prelim"), oru("R1", "F", "the final"))
    (pair,) = claim_pairs(engine, "dead-worker")
    assert (pair.prelim.text, pair.final.text, pair.attempts) == ("the prelim", "the final", 1)
    assert claim_pairs(engine, "other") == []
    assert release_stale(engine, timedelta(hours=1), worker="dead-worker") == 1
    (again,) = claim_pairs(engine, "other")
    assert again.id == pair.id and again.attempts == 2
    assert not complete(engine, pair.id, "dead-worker", {"esas": 0.5})  # lost its claim


def test_a_renewed_claim_is_not_released_as_stale(engine):
    from ingest import renew

    put(engine, oru("L1", "P", "p"), oru("L1", "F", "f"))
    (pair,) = claim_pairs(engine, "slow-worker")
    with engine.begin() as conn:  # as if the batch had been running for two minutes
        conn.execute(pairs.update().values(claimed_at=datetime.now(UTC) - timedelta(minutes=2)))
    assert renew(engine, [pair.id], "another-worker") == 0  # only the holder renews
    assert renew(engine, [pair.id], "slow-worker") == 1
    assert release_stale(engine, timedelta(seconds=60)) == 0
    assert complete(engine, pair.id, "slow-worker", {"esas": 0.5})
    assert renew(engine, [pair.id], "slow-worker") == 0  # settled: nothing held any more


def test_queue_gauges_are_read_from_the_store_at_scrape_time(engine):
    from prometheus_client import CollectorRegistry

    from ingest import QueueCollector

    registry = CollectorRegistry()
    registry.register(QueueCollector(engine))
    get = registry.get_sample_value
    assert get("radagree_queue_depth", {"queue": "pairs_ready"}) == 0
    put(engine, oru("G1", "P", "p"), oru("G1", "F", "f"), oru("G2", "P", "waiting"))
    with engine.begin() as conn:
        store_messages(conn, [Incoming(m, *peek(m, CONFIG)) for m in [oru("G3", "P", "new")]])
    # no refresh job: the next scrape sees the store as it is now
    assert get("radagree_queue_depth", {"queue": "pairs_ready"}) == 1
    assert get("radagree_queue_depth", {"queue": "messages_unparsed"}) == 1
    assert get("radagree_pairs", {"state": "ready"}) == 1
    assert get("radagree_oldest_unpaired_prelim_age_seconds") >= 0
