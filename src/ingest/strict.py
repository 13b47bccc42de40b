"""Opt-in structural validation with hl7apy (`[mllp] validation = "strict"`).

hl7apy knows every segment, field and data type of each HL7 version, which python-hl7 does
not; it is also ~20x slower (DESIGN.md §6), so it runs only where a site asks for it. Its
findings become the AR's ERR: 100 (segment/structure), 101 (required field missing), 102
(data type or length), with the segment and field named when they can be found.
"""

from __future__ import annotations

import re

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import (
    ChildNotFound,
    ChildNotValid,
    HL7apyException,
    InvalidName,
    MaxChildLimitReached,
    MaxLengthReached,
    UnsupportedVersion,
    ValidationError,
)
from hl7apy.parser import parse_field, parse_message, parse_segment

from ingest.errors import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE, Rejection
from ingest.header import Header
from ingest.message import decode

_MISSING = re.compile(r"Missing required child (\w+)\.(\w+?)_(\d+)")
_STRICT = VALIDATION_LEVEL.STRICT


def warm() -> bool:
    """Load hl7apy's structures of the common versions now, so a validation process's first
    message is not answered seconds late (run by its pool's initializer)."""
    for version in ("2.3.1", "2.5.1"):
        parse_segment("PID|1||X", version=version, validation_level=_STRICT)
    return True


def check_strict(raw: bytes, header: Header, default_charset: str) -> Rejection | None:
    """`validate_strict` of a raw message: what the listener runs in a worker process."""
    return validate_strict(decode(raw, default_charset), header)


def validate_strict(text: str, header: Header) -> Rejection | None:
    """None when hl7apy finds the message valid for its declared version."""
    version = header.version
    for line in filter(None, text.split("\r")):
        name = line[:3]
        if name == "MSH" or name.startswith("Z"):
            continue
        try:
            parse_segment(line, version=version, validation_level=_STRICT)
        except UnsupportedVersion:
            return None  # hl7apy has no tables for this version: nothing to check against
        except (ChildNotFound, ChildNotValid, InvalidName):
            return Rejection(SEGMENT_SEQUENCE, f"unknown segment {name!r}", name)
        except (ValueError, MaxLengthReached, HL7apyException) as exc:
            return _field_error(line, name, version, exc, header.delimiters.field)
    try:
        message = parse_message(text, validation_level=_STRICT, find_groups=True)
        message.validate()
    except UnsupportedVersion:
        return None
    except ValidationError as exc:
        found = _MISSING.search(str(exc))
        if found:
            segment, field = found.group(2), int(found.group(3))
            return Rejection(REQUIRED_FIELD_MISSING, f"{segment}-{field} is required",
                             segment, field)
        return Rejection(SEGMENT_SEQUENCE, _short(exc))
    except (ChildNotValid, ChildNotFound, MaxChildLimitReached, InvalidName) as exc:
        return Rejection(SEGMENT_SEQUENCE, _short(exc))
    except (ValueError, HL7apyException) as exc:
        return Rejection(DATA_TYPE_ERROR, _short(exc))
    return None


def _field_error(line: str, name: str, version: str, exc: Exception, sep: str
                 ) -> Rejection:
    """Find which field of a failing segment hl7apy objects to."""
    for number, value in enumerate(line.split(sep)[1:], start=1):
        if not value:
            continue
        try:
            parse_field(value, name=f"{name}_{number}", version=version,
                        validation_level=_STRICT)
        except (ValueError, MaxLengthReached, HL7apyException) as field_exc:
            kind = "too long" if isinstance(field_exc, MaxLengthReached) else "not a valid value"
            return Rejection(DATA_TYPE_ERROR, f"{name}-{number}: {kind} for its data type",
                             name, number)
    return Rejection(DATA_TYPE_ERROR, f"{name}: {_short(exc)}", name)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
