"""The study's time: OBR-7, else OBR-22, else arrival; HL7 TS read as wall-clock time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.studytime import hl7_wall_clock, study_time

ARRIVAL = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("value,expected", [
    ("20261014083012", datetime(2026, 10, 14, 8, 30, 12, tzinfo=UTC)),
    ("202610140830", datetime(2026, 10, 14, 8, 30, tzinfo=UTC)),
    ("2026101408", datetime(2026, 10, 14, 8, 0, tzinfo=UTC)),
    ("20261014", datetime(2026, 10, 14, tzinfo=UTC)),
    ("20261014233000-0500", datetime(2026, 10, 14, 23, 30, tzinfo=UTC)),  # stays the 14th
    ("20261014083012.1234+0100", datetime(2026, 10, 14, 8, 30, 12, tzinfo=UTC)),
    ("", None), ("2026", None), ("yesterday", None), ("20261341", None),
])
def test_hl7_times_as_wall_clock(value, expected):
    assert hl7_wall_clock(value) == expected


def test_the_fallbacks_in_order():
    assert study_time("20261014", "20261020", ARRIVAL) == datetime(2026, 10, 14, tzinfo=UTC)
    assert study_time("", "20261020", ARRIVAL) == datetime(2026, 10, 20, tzinfo=UTC)
    assert study_time("garbage", "", ARRIVAL) == ARRIVAL
