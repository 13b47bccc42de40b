"""radagree review: the web app where trainees, attendings and program directors see,
discuss and correct the feedback (issue #13).

Reads `ingest`'s pairs and reports and `scoring`'s result types (and its visualisation);
writes only its own tables: verdicts (the labels), appeals, comments, conference marks,
accounts, notifications and the append-only audit log.
"""

from review.agreement import (
    ALL,
    AgreementCollector,
    Label,
    LiveAgreement,
    latest_labels,
    live_agreement,
)
from review.config import NotifyConfig, OidcConfig, SmtpConfig, WebConfig
from review.notify import Notifier
from review.people import AccountError, Principal, add_user, deactivate
from review.tables import ROLES, metadata

__all__ = [
    "ALL",
    "ROLES",
    "AccountError",
    "AgreementCollector",
    "Label",
    "LiveAgreement",
    "Notifier",
    "NotifyConfig",
    "OidcConfig",
    "Principal",
    "SmtpConfig",
    "WebConfig",
    "add_user",
    "deactivate",
    "latest_labels",
    "live_agreement",
    "metadata",
]
