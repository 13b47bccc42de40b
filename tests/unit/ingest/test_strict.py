"""Opt-in hl7apy validation: valid messages pass, each kind of fault is coded and located."""

from __future__ import annotations

import pytest

from ingest.config import MllpConfig
from ingest.header import peek
from ingest.message import decode
from ingest.strict import validate_strict
from support.hl7build import oru

GOOD = oru("A1", "F", "No effusion.\nSmall nodule.", extra_segments=("ZDS|1.2.3",))


def check(raw: bytes):
    header, _ = peek(raw, MllpConfig())
    return validate_strict(decode(raw, "latin-1"), header)


def test_a_valid_message_passes():
    assert check(GOOD) is None


@pytest.mark.parametrize(
    ("edit", "code", "where"),
    [
        ((b"OBR|1|", b"OBR|one|"), "102", ("OBR", 1)),
        ((b"|19700101|", b"|1970x0101|"), "102", ("PID", 7)),
        ((b"PID|1||MRN0001^^^HOSP^MR", b"PID|1||"), "101", ("PID", 3)),
        ((b"PV1|1|O", b"PV1|1|O\rQQQ|1"), "100", ("QQQ", None)),
    ],
)
def test_faults_are_coded_and_located(edit, code, where):
    rejection = check(GOOD.replace(*edit, 1))
    assert rejection is not None
    assert rejection.error.code == code
    assert (rejection.segment, rejection.field) == where
