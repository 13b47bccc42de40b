"""Pairs for the review app's tests and bench, written straight into a migrated store.

The texts are scored by the real scorer (once per distinct text pair), so the stored result
and the spans in it match the texts exactly as the daemon would have stored them; people,
dates, modalities and regions are set per pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from ingest.queue import headline
from ingest.tables import PARSED, SCORED, messages, pairs, reports


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    authority: str = "HOSP"


@dataclass
class PairSpec:
    prelim: str
    final: str
    result: dict[str, Any]
    trainee: Person
    attending: Person
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    accession: str = ""
    procedure: str = "71046^XR CHEST 2 VIEWS^CPT"
    modality: str | None = None
    region: str | None = None
    study_at: datetime | None = None  # None: the same as created_at (arrival)


def scored(scorer: Any, prelim: str, final: str, **exam: str) -> dict[str, Any]:
    result = scorer.score(prelim, final).model_dump(mode="json")
    if exam:
        result["exam"] = exam
    return result


def _message(engine: Engine) -> int:
    with engine.begin() as conn:
        found = conn.execute(select(messages.c.id).where(messages.c.control_id == "SEED")).first()
        if found:
            return int(found[0])
        return int(conn.execute(insert(messages).values(
            dedupe_key=None, sender="seed", control_id="SEED", message_type="ORU^R01",
            peer="seed", received_at=datetime.now(UTC), raw=b"", size=0, sha256="0" * 64,
            ack_code="AA", state=PARSED, duplicates=0)).inserted_primary_key[0])


def seed(engine: Engine, specs: Iterable[PairSpec], chunk: int = 2000) -> list[int]:
    """Insert each pair (two reports + the scored pair); returns the pair ids in order."""
    message_id = _message(engine)
    ids: list[int] = []
    batch: list[PairSpec] = []
    with engine.connect() as conn:
        start = conn.execute(select(reports.c.obr_index).where(
            reports.c.message_id == message_id).order_by(reports.c.obr_index.desc())).first()
    next_obr = (start[0] + 1) if start else 1

    def flush() -> None:
        nonlocal next_obr
        with engine.begin() as conn:
            for spec in batch:
                n = next_obr
                next_obr += 2
                accession = spec.accession or f"SEED{n:08d}"
                common = {"message_id": message_id, "accession": accession,
                          "patient_id": f"MRN{n:07d}", "procedure": spec.procedure,
                          "attending": "", "resident": "", "observed_at": "",
                          "status_changed_at": "", "has_embedded_document": False,
                          "received_at": spec.created_at, "pairing": "paired"}
                p = conn.execute(insert(reports).values(obr_index=n, status="P",
                                                        text=spec.prelim, **common))
                f = conn.execute(insert(reports).values(obr_index=n + 1, status="F",
                                                        text=spec.final, **common))
                result = dict(spec.result)
                if spec.modality or spec.region:
                    result["exam"] = {"modality": spec.modality or "unknown",
                                      "region": spec.region or "unknown"}
                pid = conn.execute(insert(pairs).values(
                    accession=accession, version=1,
                    prelim_report_id=p.inserted_primary_key[0],
                    final_report_id=f.inserted_primary_key[0], final_status="F", state=SCORED,
                    attempts=1, created_at=spec.created_at, updated_at=spec.created_at,
                    study_at=spec.study_at or spec.created_at,
                    result=result, trainee_id=spec.trainee.id, trainee_name=spec.trainee.name,
                    trainee_authority=spec.trainee.authority, attending_id=spec.attending.id,
                    attending_name=spec.attending.name,
                    attending_authority=spec.attending.authority, **headline(result),
                )).inserted_primary_key[0]
                ids.append(int(pid))
        batch.clear()

    for spec in specs:
        batch.append(spec)
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    return ids
