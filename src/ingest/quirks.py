"""How senders differ from the standard and from each other, in one place, each with the
sender it was found in. The readers (`ingest.header`, `ingest.message`, `ingest.people`)
call these where a strict reading would refuse or misread a message that carries a usable
report; a new quirk belongs here, with its test, rather than inside a reader.

Imports nothing of ingest: every reader may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# MSH-18 values that do not mean what they say: declared ASCII that is not (bytes above
# 0x7F); latin-1 still decodes every byte.
CHARSET_ALIASES = {"ASCII": "latin-1"}

# OBX-11 values that can stand for the report's status when OBR-25 is empty.
OBX_REPORT_STATUSES = ("P", "F", "C")


def resolve_status(declared: str, obx_statuses: Iterable[str]) -> tuple[str, str]:
    """(status, why not): the OBR's own status, else the one status its OBX-11 agree on.

    Some senders (dcm4che's v2.3.1 sample) leave OBR-25 empty and mark every OBX final;
    the report's status is then theirs. Blank OBX-11 say nothing; two different values, or
    one that is not P/F/C, leave the report without a status and the reason names both.
    """
    if declared:
        return declared, ""
    seen = sorted({s.strip().upper() for s in obx_statuses} - {""})
    if not seen:
        return "", "and no OBX-11 result status either"
    if len(seen) > 1:
        return "", f"and its OBX-11 result statuses disagree ({', '.join(seen)})"
    if seen[0] not in OBX_REPORT_STATUSES:
        return "", (f"and its OBX-11 result status {seen[0]!r} cannot stand for the report's "
                    f"({', '.join(OBX_REPORT_STATUSES)})")
    return seen[0], ""


def split_run_on_obx(lines: list[str], sep: str) -> Iterator[str]:
    """The segments, with OBX that run on inside an OBR line split out again.

    Messages copied from web pages lose their segment terminators (HAPI's sample file:
    `OBR|...|01^LOCHLEAR, JUDY| OBX||TX|FIND^FINDINGS^L|1|This is a test...| OBX||TX|...`).
    A field separator followed by `OBX` and a field separator cannot occur inside an OBR's
    own fields (text there has its separators escaped), so it marks a lost terminator.
    """
    run_on = re.compile(re.escape(sep) + r" ?(?=OBX" + re.escape(sep) + ")")
    for line in lines:
        if line.startswith("OBR") and run_on.search(line):
            yield from run_on.split(line)
        else:
            yield line


def person_in_first_component(components: list[str]) -> bool:
    """Whether a person field carries the person as a CNN in its first component's
    sub-components (`A456&Attending&Alan&&&Dr&&&HOSP`, then times in later components), as
    v2.3's CM and v2.5's NDL have it for OBR-32..35, rather than as XCN components
    (`A456^Attending^Alan^^^Dr^^^HOSP`), which most senders write instead. A second
    component of digits only is an NDL start time, not a family name."""
    return "&" in components[0] or (len(components) > 1 and components[1].strip().isdigit())
