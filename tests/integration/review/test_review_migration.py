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


def test_migration_0005_dates_existing_pairs_by_their_study(store_url):
    """OBR-7, else OBR-22, else arrival; the arrival (created_at) stays beside it."""
    engine = make_engine(store_url)
    migrate(engine, "0004")
    arrival = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    times = {1: ("20261014083000", "20261014101500"), 2: ("", "202611031745-0500"),
             3: ("", ""), 4: ("not a time", "")}
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO messages (id, sender, control_id, message_type, peer, received_at, raw,"
            " size, sha256, ack_code, state, duplicates) VALUES (1, 's', 'c', 'ORU^R01', 'p',"
            " :now, :raw, 0, :sha, 'AA', 'parsed', 0)"),
            {"now": arrival, "raw": b"", "sha": "0" * 64})
        for n, (observed, changed) in times.items():
            conn.execute(text(
                "INSERT INTO reports (id, message_id, obr_index, accession, status, text,"
                " patient_id, procedure, attending, resident, observed_at, status_changed_at,"
                " has_embedded_document, received_at, pairing) VALUES (:id, 1, :id, :acc, 'F',"
                " 'x', 'MRN', 'XR', '', '', :observed, :changed, false, :now, 'paired')"),
                {"id": n, "acc": f"ACC{n}", "observed": observed, "changed": changed,
                 "now": arrival})
            conn.execute(text(
                "INSERT INTO pairs (id, accession, version, final_report_id, final_status,"
                " state, attempts, created_at, updated_at) VALUES (:id, :acc, 1, :id, 'F',"
                " 'waiting', 0, :now, :now)"), {"id": n, "acc": f"ACC{n}", "now": arrival})
    migrate(engine)
    from ingest import metadata

    pairs = metadata.tables["pairs"]
    with engine.connect() as conn:
        got = {r.id: (r.study_at.replace(tzinfo=UTC) if r.study_at.tzinfo is None
                      else r.study_at.astimezone(UTC), r.created_at)
               for r in conn.execute(select(pairs.c.id, pairs.c.study_at, pairs.c.created_at))}
    assert got[1][0] == datetime(2026, 10, 14, 8, 30, tzinfo=UTC)  # OBR-7
    assert got[2][0] == datetime(2026, 11, 3, 17, 45, tzinfo=UTC)  # OBR-22, wall clock
    assert got[3][0] == arrival and got[4][0] == arrival  # nothing usable: the arrival
    assert all(created is not None for _, created in got.values())
    engine.dispose()
