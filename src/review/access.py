"""Which pairs a person may see: one SQL condition, used by every page, export and API call.

Trainee: the pairs whose preliminary they wrote. Attending: the pairs whose final they signed.
Program director and administrator: all. Anything else (no practitioner id on the account)
sees nothing. Applying the same condition in the query that fetches a pair by id is what makes
id guessing useless: a pair outside it is "not found for you", answered 403.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from review.people import Principal
from review.sources import pairs


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
