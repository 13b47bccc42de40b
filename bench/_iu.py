"""Shared reading of the IU X-ray reports for the benchmarks (never copied into the repo).

Reports with uid % 7 == 3 are held out for independent measurement and are never returned
here unless `held_out=True` is asked for explicitly.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

DATA = Path(os.environ.get("RADAGREE_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
IU_CSV = DATA / "reports" / "iu-xray-openi" / "indiana_reports.csv"


def iu_reports(held_out: bool = False) -> list[dict[str, str]]:
    with IU_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r for r in rows if (int(r["uid"]) % 7 == 3) == held_out]


def report_text(row: dict[str, str]) -> str:
    """FINDINGS and IMPRESSION as a radiologist's report would lay them out."""
    parts = []
    if row["findings"].strip():
        parts.append(f"FINDINGS: {row['findings'].strip()}")
    if row["impression"].strip():
        parts.append(f"IMPRESSION: {row['impression'].strip()}")
    return "\n".join(parts)
