"""radagree review: the web app where trainees, attendings and program directors see,
discuss and correct the feedback (issue #13).

Reads `ingest`'s pairs and reports and `scoring`'s result types (and its visualisation);
writes only its own tables: verdicts (the labels), appeals, comments, conference marks,
accounts, notifications and the append-only audit log.
"""

from review.agreement import AgreementCollector, LiveAgreement, live_agreement
from review.calibrate import Fit, fit_store, toml_snippet
from review.config import NotifyConfig, OidcConfig, SmtpConfig, WebConfig
from review.notify import Notifier
from review.people import AccountError, Principal, add_user
from review.tables import ROLES, metadata

__all__ = [
    "ROLES",
    "AccountError",
    "AgreementCollector",
    "Fit",
    "LiveAgreement",
    "Notifier",
    "NotifyConfig",
    "OidcConfig",
    "Principal",
    "SmtpConfig",
    "WebConfig",
    "add_user",
    "fit_store",
    "live_agreement",
    "metadata",
    "toml_snippet",
]
