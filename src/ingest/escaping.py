"""HL7 escape sequences (v2.5 §2.7), in one place for everything that writes or reads HL7 text:
the ACK builder, replay's ACK reader, the report parser, the tests' and the bench's fixtures.

Reading is python-hl7's `hl7.util.unescape` (separators, `\\Xhh\\`, `\\.br\\` and friends).
Writing is ours: python-hl7's `escape` hex-encodes every non-ASCII character as a latin-1 byte
(wrong in a UTF-8 message, malformed below 0x10), while text here keeps its characters and
the message is encoded in its own charset; only the delimiters and line breaks are escaped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import hl7.containers
import hl7.util


class _DropAll(logging.Filter):
    """python-hl7 logs the whole field on an unknown escape sequence: that is report text,
    which must never reach a log line. Its warnings carry nothing else, so drop them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


logging.getLogger("hl7").addFilter(_DropAll())
logging.getLogger("hl7.util").addFilter(_DropAll())


@dataclass(frozen=True, slots=True)
class Delimiters:
    """MSH-1 and MSH-2 of one message (`DEFAULT`: HL7's recommended `|^~\\&`)."""

    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str

    @classmethod
    def of(cls, field_sep: str, encoding_chars: str) -> Delimiters:
        """From MSH-1 and MSH-2; characters a sender left out keep their defaults."""
        default, enc = DEFAULT, encoding_chars
        return cls(field_sep or default.field,
                   enc[0:1] or default.component, enc[1:2] or default.repetition,
                   enc[2:3] or default.escape, enc[3:4] or default.subcomponent)

    @classmethod
    def from_msh(cls, msh: str) -> Delimiters:
        """From an MSH segment's text; ValueError when it is not one."""
        if not msh.startswith("MSH") or len(msh) < 5:
            raise ValueError("not an MSH segment")
        sep = msh[3]
        return cls.of(sep, msh[4:].split(sep, 1)[0])

    def escape_text(self, text: str) -> str:
        """`text` as an HL7 field value: delimiters as `\\F\\ \\S\\ \\R\\ \\T\\ \\E\\`, CR
        and LF as `\\X0D\\` / `\\X0A\\`, so no free text can break a message's structure."""
        esc = self.escape
        table = {esc: f"{esc}E{esc}", self.field: f"{esc}F{esc}",
                 self.component: f"{esc}S{esc}", self.repetition: f"{esc}R{esc}",
                 self.subcomponent: f"{esc}T{esc}", "\r": f"{esc}X0D{esc}",
                 "\n": f"{esc}X0A{esc}"}
        return "".join(table.get(c, c) for c in text)

    def unescape_text(self, value: str, app_map: dict[str, str] | None = None) -> str:
        """An HL7 field value as text (python-hl7); `app_map` overrides sequences such as
        the highlighting `H`/`N`."""
        container = hl7.containers.Message(
            separator="\r", esc=self.escape,
            separators="\r" + self.field + self.repetition + self.component + self.subcomponent,
        )
        return str(hl7.util.unescape(container, value, app_map))


DEFAULT = Delimiters("|", "^", "~", "\\", "&")


def escape(text: str, delimiters: Delimiters = DEFAULT) -> str:
    return delimiters.escape_text(text)


def unescape(value: str, delimiters: Delimiters = DEFAULT) -> str:
    return delimiters.unescape_text(value)
