"""Who is acting, and who is accountable for what arrives at a team: facts of the organisation.

They live here, at the bottom, because every domain asks them (requests, promises, Insight,
the web's sign-in) and the organisation needs them itself (a team's duty owner in the
snapshot); nothing here knows about requests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is acting, and the facts about them that authorisation needs."""

    person_id: int
    is_admin: bool = False
    team_ids: frozenset[int] = frozenset()
    lead_of: frozenset[int] = frozenset()


def effective_duty_owner(duty_owner_id: int | None, lead_id: int | None) -> int | None:
    """The person accountable for new requests to a team: its duty owner, else its lead."""
    return duty_owner_id if duty_owner_id is not None else lead_id
