"""The demo's training programme: the communication module rolled out in waves, with an effect
built into the history — people who completed it break half as many promises afterwards.

The roll-out is fixed before the history is simulated (who completes, and when), so the
simulation can ask, at each promise, whether its maker had completed the module yet; the
cohorts, sessions, attendance and completions are then written through the training
programme's service, like a learning lead would. With `lift` 0 the same roll-out is written
and nothing changes in the history: the effect report must then find no effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from followthrough.demo.company import Company
from followthrough.learning import service as learning

MODULE = "Communication"
# The share of the promises a person would have broken that they keep after completing.
LIFT = 0.9
# Weeks after the history's start at which each wave completes; every fourth person is in none.
WAVES = (9, 13, 17)


@dataclass(frozen=True)
class Rollout:
    """Who completed the module and when (by handle), and how much it helps them."""

    completed: dict[str, datetime]
    lift: float

    def keep_chance(self, handle: str, usual: float, at: datetime) -> float:
        """The chance `handle` keeps a promise made at `at`, whose usual chance is `usual`."""
        done = self.completed.get(handle)
        if done is None or at < done:
            return usual
        return usual + (1.0 - usual) * self.lift


def plan_rollout(company: Company, start: datetime, *, lift: float = LIFT) -> Rollout:
    """Everyone in a team, in a fixed order, dealt into the waves and the not-yet group."""
    people = sorted({h for team in company.members.values() for h in team})
    completed: dict[str, datetime] = {}
    for n, handle in enumerate(people):
        slot = n % (len(WAVES) + 1)
        if slot < len(WAVES):
            completed[handle] = start + timedelta(weeks=WAVES[slot])
    return Rollout(completed, lift)


def write_programme(session: Session, company: Company, rollout: Rollout) -> None:
    """The catalog, and one cohort per wave: two sessions in its last fortnight, everyone
    present, everyone completed at the wave's date."""
    catalog = learning.seed_catalog(session, min(rollout.completed.values()) - timedelta(weeks=4))
    module = catalog[MODULE]
    waves: dict[datetime, list[str]] = {}
    for handle, at in sorted(rollout.completed.items()):
        waves.setdefault(at, []).append(handle)
    for number, (at, handles) in enumerate(sorted(waves.items()), 1):
        opened = at - timedelta(weeks=2)
        cohort = learning.open_cohort(session, module, f"Wave {number}", None, opened)
        meetings = [
            learning.add_session(
                session, cohort, at - timedelta(days=d), at - timedelta(days=d) + timedelta(hours=2)
            )
            for d in (8, 1)
        ]
        ids = [company.people[h] for h in handles]
        for person_id in ids:
            learning.enrol(session, cohort, person_id, opened)
        for meeting in meetings:
            learning.record_attendance(session, meeting, dict.fromkeys(ids, True), None, at)
        for person_id in ids:
            learning.complete(session, cohort, person_id, at)
