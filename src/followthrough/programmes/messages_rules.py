"""A leader's company-wide message, prefilled from the week: what it says, as a pure function
of the week's confirmed recognitions, the silo map's pair that bounces most, and the
programmes' news. The leader edits it before sending."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SUBJECT_LIMIT = 200
BODY_LIMIT = 10_000


@dataclass(frozen=True)
class Highlight:
    """The department pair whose work came back most (from the silo map)."""

    handed_by: str
    sent_back_by: str
    bounces: int


@dataclass(frozen=True)
class ProgrammeNews:
    buddy_groups: int  # groups in the latest buddy round (0: none yet)
    buddy_met: int  # of them, those who said they met
    lunches_ahead: int  # lunch-and-learn sessions still to come


def draft(
    week: str,
    recognitions: Sequence[tuple[str, str]],
    highlight: Highlight | None,
    news: ProgrammeNews,
) -> tuple[str, str]:
    """The subject and body of the week's message; `recognitions` are (person, what they did)."""
    subject = f"Working across teams: the week of {week}"
    parts = ["Dear all,"]
    if recognitions:
        lines = "\n".join(f"- {person}: {detail}" for person, detail in recognitions)
        parts.append(f"Thank you to the people who fixed problems for more than one team:\n{lines}")
    else:
        parts.append("No recognition was confirmed this week; leads, tell us who helped.")
    if highlight is not None:
        came_back = "request" if highlight.bounces == 1 else "requests"
        parts.append(
            f"Where we can do better: {highlight.bounces} {came_back} {highlight.handed_by} "
            f"handed to {highlight.sent_back_by} came back in the last 30 days. If you work in "
            "either, find out what the other needs before you hand work over."
        )
    programme = []
    if news.buddy_groups:
        programme.append(
            f"In the latest buddy round {news.buddy_met} of {news.buddy_groups} groups met."
        )
    if news.lunches_ahead:
        sessions = "session is" if news.lunches_ahead == 1 else "sessions are"
        programme.append(
            f"{news.lunches_ahead} lunch-and-learn {sessions} coming up: take a place."
        )
    if programme:
        parts.append(" ".join(programme))
    parts.append("Cross-team work is how our customers get their answers. Thank you.")
    return subject, "\n\n".join(parts)


def check(subject: str, body: str) -> dict[str, str]:
    """What is wrong with a message before sending, by field."""
    wrong: dict[str, str] = {}
    if not subject.strip():
        wrong["subject"] = "give the message a subject"
    elif len(subject) > SUBJECT_LIMIT:
        wrong["subject"] = f"keep the subject under {SUBJECT_LIMIT} characters"
    elif not subject.isprintable():
        # A subject is one line (it heads mail and chat); a line break or tab would split it.
        wrong["subject"] = "keep the subject on one line, without tabs or control characters"
    if not body.strip():
        wrong["body"] = "write the message"
    elif len(body) > BODY_LIMIT:
        wrong["body"] = f"keep the message under {BODY_LIMIT} characters"
    return wrong
