"""The game's frozen records as plain JSON values, and back, for storing them in the database.

Round trips are exact: `team_round_from_json(team_round_json(r)) == r`. Unknown keys are
refused so a stored record that no longer fits the code fails loudly instead of half-loading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

from followthrough.practice.game.decisions import Decisions, Policies, Targets, Theme
from followthrough.practice.game.effects import Adjustment, PublishedCorrelations, TeamLevels
from followthrough.practice.game.session import TeamRound

JSON = dict[str, Any]


def decisions_json(decisions: Decisions) -> JSON:
    """Decisions as a JSON object (themes and targets by their value)."""
    policies = decisions.policies
    return {
        "training": {theme.value: float(amount) for theme, amount in decisions.training.items()},
        "buddy_system": decisions.buddy_system,
        "job_shadowing": decisions.job_shadowing,
        "lunch_and_learn_sessions": decisions.lunch_and_learn_sessions,
        "recognition": float(decisions.recognition),
        "staffing": {department: int(staff) for department, staff in decisions.staffing.items()},
        "policies": {
            "handoffs_must_be_accepted": policies.handoffs_must_be_accepted,
            "update_every_hours": policies.update_every_hours,
            "promise_discipline": policies.promise_discipline,
            "targets": policies.targets.value,
        },
    }


def decisions_from_json(value: Mapping[str, Any]) -> Decisions:
    _only(value, {f.name for f in fields(Decisions)})
    policies = value.get("policies", {})
    _only(policies, {f.name for f in fields(Policies)})
    return Decisions(
        training={Theme(theme): float(amount) for theme, amount in value["training"].items()},
        buddy_system=bool(value["buddy_system"]),
        job_shadowing=bool(value["job_shadowing"]),
        lunch_and_learn_sessions=int(value["lunch_and_learn_sessions"]),
        recognition=float(value["recognition"]),
        staffing={department: int(staff) for department, staff in value["staffing"].items()},
        policies=Policies(
            handoffs_must_be_accepted=bool(policies["handoffs_must_be_accepted"]),
            update_every_hours=policies["update_every_hours"],
            promise_discipline=bool(policies["promise_discipline"]),
            targets=Targets(policies["targets"]),
        ),
    )


def team_round_json(result: TeamRound) -> JSON:
    """A team's round result as a JSON object, decisions and published adjustment nested."""
    record: JSON = {}
    for f in fields(TeamRound):
        record[f.name] = getattr(result, f.name)
    record["decisions"] = decisions_json(result.decisions)
    record["published"] = asdict(result.published)
    record["events"] = list(result.events)
    return record


def team_round_from_json(value: Mapping[str, Any]) -> TeamRound:
    _only(value, {f.name for f in fields(TeamRound)})
    numbers = {
        name: value[name]
        for name in value
        if name not in ("decisions", "published", "events", "round")
    }
    return TeamRound(
        round=int(value["round"]),
        decisions=decisions_from_json(value["decisions"]),
        published=Adjustment(**value["published"]),
        events=tuple(value["events"]),
        **{name: float(number) for name, number in numbers.items()},
    )


def levels_json(levels: Mapping[str, TeamLevels]) -> JSON:
    return {department: asdict(level) for department, level in levels.items()}


def levels_from_json(value: Mapping[str, Any]) -> dict[str, TeamLevels]:
    return {department: TeamLevels(**level) for department, level in value.items()}


def correlations_json(correlations: PublishedCorrelations) -> JSON:
    return asdict(correlations)


def correlations_from_json(value: Mapping[str, Any]) -> PublishedCorrelations:
    _only(value, {f.name for f in fields(PublishedCorrelations)})
    return PublishedCorrelations(**{name: float(number) for name, number in value.items()})


def _only(value: Mapping[str, Any], known: set[str]) -> None:
    unknown = set(value) - known
    if unknown:
        raise ValueError(f"unknown fields in a stored game record: {sorted(unknown)}")
