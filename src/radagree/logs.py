"""structlog for the daemon: JSON lines for machines, a readable console for people, and a
redaction processor that keeps report text, patient identifiers and names out of every line.

Redaction is by allow-list, not by pattern: a value reaches the output only if its key is one
we know carries no patient data (`SAFE_KEYS`), or it is a number or a boolean. So a developer
who writes `log.info("scored", text=report)` or `log.info(f"scored {report}")` gets
`[redacted]`, not a leak. An `accession` is replaced by a salted hash: lines about one study
can be followed without the log revealing which study it is. Records from other libraries'
stdlib loggers (httpx logs URLs) go through the same chain: their text is withheld, except
for the loggers in `TEXT_LOGGERS`, whose messages are fixed texts of their own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from typing import Any

import structlog

# Keys whose string values are written by radagree itself from fixed vocabularies or
# configuration (never from a message or a report).
SAFE_KEYS = frozenset({
    "timestamp", "level", "event", "component", "logger", "accession_hash", "ack", "error",
    "error_code", "type", "result", "state", "reason", "host", "port", "http_port",
    "mllp_port", "store", "worker", "sink", "outcome", "stage", "peer", "tls", "mutual_tls",
    "grace_s", "after_s", "cap", "count", "pairs", "pair", "version", "kind", "status",
    "attempts", "seconds", "exc_type", "library_text",
})
# Libraries whose log messages are their own fixed texts about their own lifecycle, never a
# request or a value from one: uvicorn's server logger ("Uvicorn running on
# http://127.0.0.1:8081", "Shutting down"). Its request lines go to `uvicorn.access`, which
# is not here (and is switched off: URLs name pairs).
TEXT_LOGGERS = frozenset({"uvicorn.error"})
_EVENT = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
REDACTED = "[redacted]"


def accession_hash(accession: str, salt: str | None = None) -> str:
    salt = salt if salt is not None else os.environ.get("RADAGREE_LOG_SALT", "radagree")
    return hashlib.sha256(f"{salt}|{accession}".encode()).hexdigest()[:16]


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """The last word before rendering: anything not known to be safe is withheld."""
    if "accession" in event_dict:
        accession = event_dict.pop("accession")
        if accession:
            event_dict["accession_hash"] = accession_hash(str(accession))
    out: dict[str, Any] = {}
    for key, value in event_dict.items():
        if key == "event":
            out[key] = value if isinstance(value, str) and _EVENT.match(value) else REDACTED
        elif _safe(key, value):
            out[key] = value
        else:
            out[key] = REDACTED
    return out


def _safe(key: str, value: Any) -> bool:
    if isinstance(value, bool | int | float) or value is None:
        return True
    return key in SAFE_KEYS and isinstance(value, str) and len(value) <= 200


def add_component(logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """`component` = the logger's name (`ingest.mllp`, `radagree.daemon`, `httpx`, ...)."""
    name = event_dict.pop("logger", None) or getattr(logger, "name", None)
    event_dict.setdefault("component", name or "radagree")
    return event_dict


def _drop_exception_text(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict:
    """A traceback quotes values (SQL parameters, report text): keep only the type."""
    exc = event_dict.pop("exc_info", None)
    if exc:
        info = sys.exc_info() if exc is True else exc
        if isinstance(info, tuple) and info[0] is not None:
            event_dict["exc_type"] = info[0].__name__
    return event_dict


def configure_logging(json_lines: bool | None = None, level: str = "INFO") -> None:
    """JSON lines when stderr is not a terminal (or `json_lines`), console otherwise."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    renderer: Any = (structlog.processors.JSONRenderer() if json_lines
                     else structlog.dev.ConsoleRenderer(colors=False))
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_component,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_exception_text,
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared[:-1], _foreign_event, redact],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Chatty libraries: their INFO lines carry URLs and SQL; warnings still come through.
    for name in ("httpx", "httpcore", "apscheduler", "sqlalchemy", "alembic", "hl7"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _foreign_event(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A stdlib record's message is free text: keep only which logger said something, and
    the first line of what it said where the logger is one of `TEXT_LOGGERS`."""
    record = event_dict.get("_record")
    message = event_dict.get("event")
    if (isinstance(record, logging.LogRecord) and record.name in TEXT_LOGGERS
            and isinstance(message, str) and message.strip()):
        event_dict["library_text"] = message.strip().splitlines()[0][:200]
    event_dict["event"] = "library_log"
    return event_dict


def configure_from(config: Any) -> None:
    """From the `[logging]` section (radagree.settings.LoggingConfig)."""
    os.environ["RADAGREE_LOG_SALT"] = config.accession_salt.get_secret_value()
    fmt = {"auto": None, "json": True, "console": False}[config.format]
    configure_logging(fmt, config.level)
