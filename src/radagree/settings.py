"""The daemon's configuration: one TOML file, then `RADAGREE_<SECTION>__<KEY>` overrides.

Every section is the owning package's own model (ingest's `MllpConfig`, scoring's
`ScoringConfig`), so a key is defined once, next to the code that reads it. Unknown keys are
errors, named with their section, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest import MllpConfig
from outbound import FhirConfig
from review import NotifyConfig, OidcConfig, SmtpConfig, WebConfig
from scoring import ScoringConfig
from scoring.config import LlmSettings

CONFIG_ENV = "RADAGREE_CONFIG"
# The file `load_settings` was given; read by `Settings` while it is being built.
_config_path: ContextVar[str | None] = ContextVar("radagree_config_path", default=None)


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Relative SQLite paths are relative to the working folder.
    url: str = "sqlite:///radagree.db"


class PairingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # How long a final waits for its preliminary before it counts as final_without_prelim.
    window_days: float = Field(7.0, gt=0)
    # How long a preliminary waits for its final before it expires (counted, kept).
    prelim_expiry_days: float = Field(30.0, gt=0)
    expiry_interval_s: float = Field(300.0, gt=0)


class WorkersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Scoring processes (the listener's process does none; parsing has one of its own).
    processes: int = Field(1, ge=1)
    # With `mllp.validation = "strict"`: processes running hl7apy before each ACK (~40
    # messages/s each); they are not niced, being on the ACK path.
    validation_processes: int = Field(1, ge=1)
    # Added to the niceness of the parse, scoring and delivery processes: when the CPU is
    # short the listener's ACKs come first and the backlog waits; 0 keeps them equal.
    nice: int = Field(5, ge=0, le=19)
    # A scoring process's CPU work (reading, matching, classifying) also runs under Linux's
    # SCHED_IDLE: it gets a CPU only when nothing else wants one, so whole-body scoring
    # cannot slow the ACKs; the backlog is scored as soon as the load eases. Its store
    # transactions keep the process's niceness (radagree/children.py says why).
    scoring_idle: bool = True
    # Messages parsed per transaction: small keeps SQLite's write lock short for the ACKs.
    # Parsing now runs beside scoring, not between its batches, so its transactions meet the
    # listener's commits more often: 32 put the full-push ACK p99 at 46-62 ms, 8 at 30-39 ms
    # (bench/ingest_load.py, bench/RESULTS.md issue #14).
    parse_batch: int = Field(8, ge=1)
    # Pairs claimed per batch by a scoring worker, and how often an idle worker looks.
    scoring_batch: int = Field(16, ge=1)
    poll_interval_s: float = Field(0.5, gt=0)
    max_attempts: int = Field(3, ge=1)
    # A worker renews the claims of the batch it is scoring every third of this (an LLM
    # batch may take longer); a claim not renewed for this long belongs to a dead worker
    # (kill -9, lost node) and any replica releases it.
    claim_lease_s: float = Field(60.0, ge=3)
    shutdown_grace_s: float = Field(10.0, gt=0)


class LoggingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "auto": JSON lines when stderr is not a terminal, a readable console when it is.
    format: Literal["auto", "json", "console"] = "auto"
    # Salt of the accession hash in log lines (set one per site so hashes are not guessable).
    accession_salt: SecretStr = SecretStr("radagree")


class RetentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Report text, raw messages and sent bundles older than this are removed; scores stay.
    # 0 keeps everything forever.
    days: float = Field(90.0, ge=0)
    interval_s: float = Field(3600.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RADAGREE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    mllp: MllpConfig = MllpConfig()
    http: HttpConfig = HttpConfig()
    store: StoreConfig = StoreConfig()
    scoring: ScoringConfig = ScoringConfig()
    pairing: PairingConfig = PairingConfig()
    workers: WorkersConfig = WorkersConfig()
    fhir: FhirConfig = FhirConfig()
    # The LLM server (DESIGN.md §5 names it `[llm]`); scoring's own settings model.
    llm: LlmSettings = LlmSettings()
    logging: LoggingConfig = LoggingConfig()
    retention: RetentionConfig = RetentionConfig()
    # The review app (`radagree web`): its address and cookies, OIDC sign-in, e-mail.
    web: WebConfig = WebConfig()
    oidc: OidcConfig = OidcConfig()
    smtp: SmtpConfig = SmtpConfig()
    notify: NotifyConfig = NotifyConfig()

    @property
    def needs_llm(self) -> bool:
        return self.scoring.classifier in ("llm", "hybrid") or self.scoring.explainer == "llm"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then the TOML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_path.get() or os.environ.get(CONFIG_ENV)
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `path` (or $RADAGREE_CONFIG), the environment and `overrides`."""
    if path is None:
        return Settings(**overrides)
    if not path.is_file():
        raise FileNotFoundError(f"configuration file not found: {path}")
    token = _config_path.set(str(path))
    try:
        return Settings(**overrides)
    finally:
        _config_path.reset(token)
