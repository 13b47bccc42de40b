"""Migration 0004 on a store with scores from before it: each scored pair gets its headline
columns from the stored result and its people from the stored reports."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from radagree.store import make_engine, migrate


def test_existing_pairs_are_backfilled(store_url):
    engine = make_engine(store_url)
    migrate(engine, "0003")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO messages (id, sender, control_id, message_type, peer, received_at, raw,"
            " size, sha256, ack_code, state, duplicates) VALUES (1, 's', 'c', 'ORU^R01', 'p',"
            " :now, :raw, 0, :sha, 'AA', 'parsed', 0)"), {"now": now, "raw": b"", "sha": "0" * 64})
        for rid, status, person in ((1, "P", "R123^Resident^Rita^^^^^^HOSP"),
                                    (2, "F", "A456&Attending&Alan")):
            conn.execute(text(
                "INSERT INTO reports (id, message_id, obr_index, accession, status, text,"
                " patient_id, procedure, attending, resident, observed_at, status_changed_at,"
                " has_embedded_document, received_at, pairing) VALUES (:id, 1, :id, 'ACC1',"
                " :status, 'x', 'MRN', 'XR', :person, :person, '', '', false, :now, 'paired')"),
                {"id": rid, "status": status, "person": person, "now": now})
        conn.execute(text(
            "INSERT INTO pairs (id, accession, version, prelim_report_id, final_report_id,"
            " final_status, state, attempts, created_at, updated_at, result) VALUES"
            " (1, 'ACC1', 1, 1, 2, 'F', 'scored', 1, :now, :now, :result)"),
            {"now": now, "result": '{"esas": 0.5, "grade": 3, "discrepancy": "minor"}'})
    migrate(engine)
    from ingest import metadata

    pairs = metadata.tables["pairs"]
    with engine.connect() as conn:
        row = conn.execute(select(pairs)).one()
    assert (row.esas, row.grade, row.discrepancy, row.modality) == (0.5, 3, "minor", "unknown")
    assert (row.trainee_id, row.trainee_name, row.trainee_authority) == \
        ("R123", "Rita Resident", "HOSP")
    assert (row.attending_id, row.attending_name) == ("A456", "Alan Attending")
    engine.dispose()
