"""The one CSV writer of every export (cohort, pairs, audit log).

Cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
first: OWASP's CSV-injection list) are prefixed with a quote. Names and accessions come from
HL7 messages and user names from the sign-in form, which anybody could have typed. The text
is streamed in chunks so an export of 100,000 pairs never sits in memory whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500


def cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def stream(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text of `header` and `rows`, every cell guarded, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow([cell(v) for v in row])
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
