"""Who may do what, and which pairs a person may see: one role check and one SQL condition,
used by every page, export, API call, query and change.

`check(principal, permit)` is the only role check: each handler, query and action names the
permit it needs (`PERMITS` says which roles hold it) and a refusal is `Denied`, which the web
layer answers 403 and audits as a denial. `visible(principal)` is the pair condition:
trainee, the pairs whose preliminary they wrote; attending, the pairs whose final they
signed; program director and administrator, all; anything else (no practitioner id on the
account) sees nothing. Applying it in the query that fetches a pair by id is what makes id
guessing useless: a pair outside it is "not found for you", answered 403.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from review.people import Principal
from review.sources import pairs
from review.tables import ADMIN, ATTENDING, DIRECTOR, ROLES, TRAINEE

# permit -> (roles holding it, what a refusal says)
PERMITS: dict[str, tuple[frozenset[str], str]] = {
    "pairs": (frozenset(ROLES), "signed-in people only"),
    "own_cases": (frozenset({TRAINEE}), "this page is a trainee's"),
    "signed_cases": (frozenset({ATTENDING}), "this page is an attending's"),
    "cohort": (frozenset({DIRECTOR, ADMIN}),
               "the cohort is for program directors and administrators"),
    "grade": (frozenset({ATTENDING}), "only the attending who signed the final grades it"),
    "answer": (frozenset({ATTENDING}), "only the attending answers an appeal"),
    "appeal": (frozenset({TRAINEE}), "only the trainee who wrote the preliminary appeals"),
    "mark_conference": (frozenset({ATTENDING, DIRECTOR, ADMIN}),
                        "attendings and program directors choose conference cases"),
    "audit": (frozenset({ADMIN}), "the audit log is for administrators"),
    "accounts": (frozenset({ADMIN}), "accounts are for administrators"),
}


class Denied(Exception):
    """The person may not do this (answered 403, audited as a denial)."""

    def __init__(self, message: str, permit: str = "") -> None:
        super().__init__(message)
        self.permit = permit


def allowed(principal: Principal, permit: str) -> bool:
    return principal.role in PERMITS[permit][0]


def check(principal: Principal, permit: str) -> None:
    """`Denied` unless the person's role holds `permit` (a `KeyError` for an unknown one: a
    misspelt permit fails loudly in the tests, never open)."""
    roles, message = PERMITS[permit]
    if principal.role not in roles:
        raise Denied(message, permit)


def visible(principal: Principal) -> ColumnElement[bool]:
    if principal.sees_cohort:
        return true()
    if not principal.practitioner_id:
        return false()
    if principal.is_trainee:
        return pairs.c.trainee_id == principal.practitioner_id
    if principal.is_attending:
        return pairs.c.attending_id == principal.practitioner_id
    return false()
